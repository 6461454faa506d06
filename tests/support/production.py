"""The API under the production server (gunicorn, two workers, the launcher's arguments), for whole-run tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from kcguard.devstack import GUNICORN_ARGS, free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def production_server(environment: Mapping[str, str], log_path: Path) -> Iterator[str]:
    """Serve ``server:create_app()`` on 127.0.0.1 with ``environment`` added; yield its URL, log into ``log_path``."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS]
    env = {**os.environ, "SECRET_KEY": "test-only-" + "k" * 40, **environment, "PORT": str(port)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", 60, process)
        yield url
    finally:
        stop_process(process)
