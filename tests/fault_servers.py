"""Real processes for the fault tests (tests/test_faults.py): a private PostgreSQL server the test may stop
and start at will (the suite's shared server must never be restarted: other tests use it at the same time),
and `careapp serve` (gunicorn) pointed at a database."""
from __future__ import annotations

import ctypes
import glob
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.smtp_server import free_port

PROJECT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test run is killed, so no gunicorn outlives it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian keeps them out of PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder on a free port, trust authentication.

    initdb and the server refuse to run as root, so under root they run as the ``postgres`` user."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="careapp-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        try:
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                      "--no-sync")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr or done.stdout}\n"
                               f"{self.server_log()}")

    def server_log(self) -> str:
        try:
            return self.log.read_text()[-3000:]
        except OSError:
            return ""

    def start(self) -> None:
        # Small: the machine is shared. fsync off: the test stops the server, never the machine, and the
        # operating system keeps every write a stopped server made (a fast stop also checkpoints).
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   "-c shared_buffers=16MB -c max_connections=40 -c fsync=off")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data))

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


class CareappServe:
    """`careapp serve` (gunicorn, sync workers) on a free port, after `careapp init-db`."""

    def __init__(self, database_url: str, instance_path: str, *, workers: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CAREAPP_DATABASE_URL": database_url, "CAREAPP_INSTANCE_PATH": instance_path,
                    "CAREAPP_RATE_LIMITS": "off", "CAREAPP_SECRET_KEY": "faults-test",
                    "CAREAPP_PASSWORD_HASH": "scrypt:1024:8:1"}
        self.env.pop("CAREAPP_TEST_DATABASE_URL", None)
        self.workers = workers
        self.process: subprocess.Popen | None = None

    @staticmethod
    def init_db(database_url: str, instance_path: str) -> None:
        env = {**os.environ, "CAREAPP_DATABASE_URL": database_url, "CAREAPP_INSTANCE_PATH": instance_path}
        subprocess.run([sys.executable, "-m", "careapp", "init-db"], env=env, cwd=PROJECT, check=True,
                       capture_output=True, timeout=120)

    def start(self) -> CareappServe:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "careapp", "serve", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers)],
            env=self.env, cwd=PROJECT, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("careapp serve exited during start-up")
            if len(self.worker_pids()) == self.workers:
                try:
                    requests.get(self.url + "/api/v1/openapi.json", timeout=5)
                    return self
                except (requests.ConnectionError, requests.Timeout):
                    pass
            time.sleep(0.1)
        raise RuntimeError("careapp serve did not start in 60 s")

    def worker_pids(self) -> set[int]:
        """The gunicorn workers: the children of the master, which is the `careapp serve` process itself."""
        pid = self.process.pid
        try:
            return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        except FileNotFoundError:
            return set()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=45)  # gunicorn lets its workers finish their requests first
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
