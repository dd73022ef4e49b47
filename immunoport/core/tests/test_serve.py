"""`immunoport serve` as an operator runs it: a real process answering real HTTP."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def embedded_env(tmp_path):
    """A fresh embedded installation: SQLite and files under a temporary ./var/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_"))}
    env["IMMUNOPORT_VAR_DIR"] = str(tmp_path / "var")
    return env


def immunoport(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "immunoport.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, **kwargs,
    )  # fmt: skip


def test_serve_answers_http_with_a_task_worker_beside_it(embedded_env, tmp_path):
    migrated = immunoport(embedded_env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "immunoport.cli", "serve", "--port", str(port), "--workers", "1"],
        env=embedded_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the server never answered"
        assert 'data-figure="Studies"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/immunoport/site.css") as css:
            assert b".figures" in css.read()
        workers = subprocess.run(
            ["pgrep", "-f", "immunoport.cli worker", "-P", str(server.pid)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert workers.stdout.strip(), "no task worker runs beside the web server"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert server.returncode is not None
    assert (tmp_path / "var" / "immunoport.sqlite3").exists()


def test_a_wrong_setting_stops_the_command_with_its_name(embedded_env):
    embedded_env["IMMUNOPORT_TASK_BACKEND"] = "celery"
    result = immunoport(embedded_env, "check")
    assert result.returncode != 0
    assert "IMMUNOPORT_TASK_BACKEND='celery' must be one of: database, immediate" in result.stderr
