"""API replicas as real processes (gunicorn, as in production) on their own ports, sharing one database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kcguard.devstack import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]


class ApiReplica:
    """``gunicorn "server:create_app()"`` on 127.0.0.1 with the given settings; its output goes to a log file."""

    def __init__(self, environment: dict[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Only the settings given: nothing from the caller's environment that names a setting.
        base = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "TMPDIR")}
        self.environment = {**base, "PYTHONUNBUFFERED": "1", **environment}
        self.workers = workers
        self.log = Path(tempfile.mkstemp(prefix="kcguard-replica-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]
        command += ["--no-control-socket", "server:create_app()"]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        self.log.unlink(missing_ok=True)
