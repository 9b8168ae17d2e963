"""Shared pieces of the issue 7 benchmark (bench/run.py): percentiles, process memory, ports, the server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CAREAPP = str(Path(sys.executable).with_name("careapp"))


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1) of a list of numbers."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- memory: the kernel's high-water mark of a process's resident set ---

def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM of a process in MB (its peak resident memory since it started)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_pids(parent: int) -> list[int]:
    """The direct children of a process (gunicorn's workers, for its master)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The second field (the name) may hold spaces: the parent pid is the 2nd field after its ")".
        if int(stat.rpartition(")")[2].split()[1]) == parent:
            children.append(int(entry.name))
    return children


# --- careapp's commands and server as subprocesses ---

def careapp_env(url: str, instance: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CAREAPP_DATABASE_URL": url, "CAREAPP_INSTANCE_PATH": instance,
           "CAREAPP_SECRET_KEY": "careapp-bench-secret", "CAREAPP_RATE_LIMITS": "off"}
    env.update(extra)
    return env


def run_careapp(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CAREAPP, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"careapp {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class GunicornProcess:
    """A gunicorn on a free port, as a subprocess: started, waited for until every worker is forked, stopped."""

    name = "gunicorn"
    ready_path, ready_status, ready_timeout = "/", 200, 60.0

    def __init__(self, workers: int, log_path: str, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(self.command(), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_gunicorn(self.process, f"{self.url}{self.ready_path}", self.ready_status, workers, self.log.name,
                          self.name, self.ready_timeout)

    def command(self) -> list[str]:
        raise NotImplementedError

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def worker_peak_rss_mb(self) -> float:
        return max((peak_rss_mb(pid) for pid in self.worker_pids()), default=0.0)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Server(GunicornProcess):
    """``careapp serve`` (gunicorn) on a free port, as a subprocess."""

    name, ready_path = "careapp serve", "/login"

    def __init__(self, env: dict[str, str], workers: int, log_path: str):
        super().__init__(workers, log_path, env)

    def command(self) -> list[str]:
        return [CAREAPP, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]


def wait_for_gunicorn(process: subprocess.Popen, url: str, status: int, workers: int, log_name: str, name: str,
                      timeout: float) -> None:
    """Until ``url`` answers ``status`` and all ``workers`` are forked (a burst must not wait for a fork)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}; see {log_name}")
        try:
            if requests.get(url, timeout=2).status_code == status and len(child_pids(process.pid)) >= workers:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} did not answer within {timeout} s")
