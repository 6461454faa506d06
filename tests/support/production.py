"""The API under a production server (gunicorn with the launcher's arguments, or granian), for whole-run tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from kcguard.devstack import GUNICORN_ARGS, free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parents[2]


#: granian's WSGI mode with two workers, as the launcher serves it.
GRANIAN_ARGS = ("--interface", "wsgi", "--workers", "2", "--factory", "server:create_app")


def command_for(server: str, port: int) -> list[str]:
    if server == "granian":
        granian = shutil.which("granian", path=str(Path(sys.executable).parent))
        if granian is None:
            pytest.skip("granian is not installed")
        return [granian, "--host", "127.0.0.1", "--port", str(port), *GRANIAN_ARGS]
    return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS]


@contextlib.contextmanager
def production_server(environment: Mapping[str, str], log_path: Path, server: str = "gunicorn") -> Iterator[str]:
    """Serve ``server:create_app()`` on 127.0.0.1 with ``environment`` added; yield its URL, log into ``log_path``."""
    port = free_port()
    command = command_for(server, port)
    env = {**os.environ, "SECRET_KEY": "test-only-" + "k" * 40, **environment, "PORT": str(port)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", 60, process)
        yield url
    finally:
        stop_process(process)
        # A server killed hard leaves its workers running: end its whole process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
