"""Settings from CAREAPP_* variables: database URL, secret key, time zone, rate limits; bad values explained."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from careapp import create_app
from careapp.config import database_url, from_environment


@pytest.fixture
def no_careapp_variables(monkeypatch):
    """create_app reads the real environment: start each test from none of our settings."""
    for name in list(os.environ):
        if name.startswith("CAREAPP_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("given, used", [
    ("postgresql://user@host/db", "postgresql+psycopg://user@host/db"),
    ("postgres://user:secret@host:5433/db", "postgresql+psycopg://user:secret@host:5433/db"),
    ("postgresql+psycopg://user@host/db", "postgresql+psycopg://user@host/db"),
    ("sqlite:////var/lib/careapp/careapp.db", "sqlite:////var/lib/careapp/careapp.db"),
])
def test_database_url_uses_psycopg_3_for_postgresql(given, used):
    assert database_url(given) == used


def test_careapp_database_url_reaches_sqlalchemy(tmp_path):
    settings = from_environment(str(tmp_path), {"CAREAPP_DATABASE_URL": "postgresql://user@host/db"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@host/db"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    settings = from_environment(str(tmp_path), {})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "careapp.db")


def test_secret_key_is_generated_once_in_the_instance_folder_and_reused(tmp_path, no_careapp_variables):
    first = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    second = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(bytes.fromhex(first)) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # readable by the service's user only
    (tmp_path / "elsewhere").mkdir()
    assert from_environment(str(tmp_path / "elsewhere"), {})["SECRET_KEY"] != first


def test_secret_key_from_the_environment_wins_and_writes_no_file(tmp_path):
    settings = from_environment(str(tmp_path), {"CAREAPP_SECRET_KEY": "from-the-vault"})
    assert settings["SECRET_KEY"] == "from-the-vault"
    assert not (tmp_path / "secret_key").exists()


def test_timezone_defaults_to_the_sub_districts_zone(tmp_path):
    assert from_environment(str(tmp_path), {})["TIMEZONE"] == "Asia/Shanghai"
    assert from_environment(str(tmp_path), {"CAREAPP_TIMEZONE": "Asia/Urumqi"})["TIMEZONE"] == "Asia/Urumqi"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_an_unknown_timezone_stops_start_up_with_a_message(tmp_path, zone):
    with pytest.raises(SystemExit) as stopped:
        from_environment(str(tmp_path), {"CAREAPP_TIMEZONE": zone})
    assert str(stopped.value) == f"CAREAPP_TIMEZONE {zone!r} is not a known time zone"


def test_the_command_reports_a_bad_timezone_without_a_traceback(tmp_path):
    env = {**os.environ, "CAREAPP_INSTANCE_PATH": str(tmp_path), "CAREAPP_TIMEZONE": "Mars/Olympus_Mons"}
    done = subprocess.run([sys.executable, "-m", "careapp", "init-db"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "CAREAPP_TIMEZONE 'Mars/Olympus_Mons' is not a known time zone" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("value, enabled", [(None, True), ("on", True), ("1", True), ("off", False),
                                            ("OFF", False), ("0", False), ("false", False), ("no", False)])
def test_rate_limits_are_on_unless_switched_off(tmp_path, value, enabled):
    env = {} if value is None else {"CAREAPP_RATE_LIMITS": value}
    assert from_environment(str(tmp_path), env)["RATELIMIT_ENABLED"] is enabled


def test_rate_limits_off_reaches_the_app(tmp_path, no_careapp_variables):
    no_careapp_variables.setenv("CAREAPP_RATE_LIMITS", "off")
    assert create_app(instance_path=str(tmp_path)).config["RATELIMIT_ENABLED"] is False


def test_a_number_setting_that_is_not_a_number_stops_start_up_with_a_message(tmp_path):
    with pytest.raises(SystemExit) as stopped:
        from_environment(str(tmp_path), {"CAREAPP_DAYCARE_MIN_AGE": "sixty"})
    assert str(stopped.value) == "CAREAPP_DAYCARE_MIN_AGE must be a whole number, not 'sixty'"


def test_instance_folder_comes_from_careapp_instance_path(tmp_path, no_careapp_variables):
    no_careapp_variables.setenv("CAREAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app()
    assert app.instance_path == str(tmp_path / "instance")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "instance" / "careapp.db")


def test_redis_rate_limits_without_the_redis_client_stop_start_up_with_a_message(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a))
    with pytest.raises(SystemExit) as stopped:
        from_environment(str(tmp_path), {"CAREAPP_RATE_LIMIT_STORAGE": "redis://redis.internal:6379/0"})
    assert "the Redis client is not installed" in str(stopped.value) and ".[redis]" in str(stopped.value)
    assert from_environment(str(tmp_path), {})["RATELIMIT_STORAGE_URI"] == "memory://"
