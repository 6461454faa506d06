"""server.py, gunicorn "server:create_app()" and client.py start as the README says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from kcguard.devstack import GUNICORN_ARGS, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(tmp_path) -> dict[str, str]:
    """No Keycloak at all: the API must start anyway."""
    return {
        **os.environ,
        "OIDC_ISSUER": f"http://127.0.0.1:{free_port()}/realms/myorg",
        "DATABASE": str(tmp_path / "db.sqlite"),
        "PORT": str(free_port()),
        "SECRET_KEY": "test-only-" + "k" * 40,
    }


def run_server(command: list[str], environment: dict[str, str]) -> tuple[requests.Response, str]:
    """Start, ask /api/public with a query string, stop; return the answer and the server's log."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{environment['PORT']}"
        wait_http(f"{base}/healthz", 30, process)
        answer = requests.get(f"{base}/api/public?code=not-for-logs", timeout=5)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    return answer, output


def test_python_server_py_serves_without_keycloak_and_logs_no_query_strings(environment):
    answer, log = run_server([sys.executable, "server.py"], environment)
    assert answer.status_code == 200
    assert '"GET /api/public HTTP/1.1" 200' in log
    assert "not-for-logs" not in log


def test_gunicorn_runs_the_factory_with_the_production_arguments(environment):
    bind = f"127.0.0.1:{environment['PORT']}"
    answer, log = run_server([sys.executable, "-m", "gunicorn", "--bind", bind, *GUNICORN_ARGS], environment)
    assert answer.status_code == 200
    assert '"GET /api/public" 200' in log
    assert "not-for-logs" not in log


def test_client_py_without_configuration_says_what_is_missing(environment):
    # Empty values win over a developer's .env (python-dotenv never overrides the environment).
    result = subprocess.run(
        [sys.executable, "client.py"],
        cwd=ROOT,
        env={**environment, "CLIENT_ID": "", "CLIENT_SECRET": ""},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "client.py: configuration error: CLIENT_ID and CLIENT_SECRET must be set (in the environment or .env)\n"
    )


def test_server_py_refuses_an_unknown_log_level_without_a_traceback(environment):
    result = subprocess.run(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env={**environment, "LOG_LEVEL": "foo"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "server.py: configuration error: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'FOO'\n"
    )
