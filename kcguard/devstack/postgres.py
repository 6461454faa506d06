"""A throwaway PostgreSQL server on 127.0.0.1 from Debian's ``postgresql`` package (initdb + pg_ctl).

The Keycloak cluster needs a database its nodes share, and the API's
replicas need one too; the tests and ``python -m kcguard.devstack cluster``
start one here instead of asking for Docker. Passwords are checked
(scram-sha-256), so a role's password is really its own.
"""

from __future__ import annotations

import glob
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import DevStackError
from .processes import free_port

logger = logging.getLogger(__name__)

SUPERUSER = "postgres"


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PostgresServer:
    """One PostgreSQL server in a fresh temporary directory; a context manager that removes it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.superuser_password = secrets.token_urlsafe(18)
        self._bin: Path | None = None
        self._workdir: Path | None = None
        self._as_user: list[str] = []

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise DevStackError("no PostgreSQL server binaries (Debian package postgresql) to start one")
        self._bin = Path(binaries[-1]).parent
        workdir = Path(tempfile.mkdtemp(prefix="kcguard-postgres-"))
        self._workdir = workdir
        password_file = workdir / "superuser-password"
        password_file.write_text(self.superuser_password + "\n")
        password_file.chmod(0o600)
        if os.geteuid() == 0:  # initdb refuses to run as root: use Debian's postgres user
            if not shutil.which("runuser"):
                raise DevStackError("running as root without runuser to start PostgreSQL as another user")
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(workdir, "postgres")
            shutil.chown(password_file, "postgres")
        data = workdir / "data"
        initdb = [str(self._bin / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=scram-sha-256"]
        self._run([*self._as_user, *initdb, f"--pwfile={password_file}"], timeout=120)
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off -c max_connections=200"
        self._run(
            [*self._pg_ctl(), "-o", options, "-l", str(workdir / "postgres.log"), "-w", "-t", "60", "start"],
            timeout=90,
        )
        logger.info("PostgreSQL ready on 127.0.0.1:%d", self.port)

    def _pg_ctl(self) -> list[str]:
        assert self._bin is not None and self._workdir is not None
        return [*self._as_user, str(self._bin / "pg_ctl"), "-D", str(self._workdir / "data")]

    def _run(self, command: list[str], timeout: float, env: dict[str, str] | None = None) -> None:
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=timeout, env=env)
        except subprocess.CalledProcessError as error:
            output = (error.stderr or error.stdout or b"").decode(errors="replace").strip()[-2000:]
            raise DevStackError(f"{Path(command[len(self._as_user)]).name} failed: {output}") from None
        except subprocess.TimeoutExpired:
            raise DevStackError(f"{Path(command[len(self._as_user)]).name} did not finish in {timeout:.0f} s") from None

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser (psql over TCP)."""
        assert self._bin is not None
        env = {**os.environ, "PGPASSWORD": self.superuser_password}
        command = [str(self._bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        self._run([*command, "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", statement], 30, env)

    def create_database(self, name: str, owner: str, password: str) -> None:
        """A login role with ``password`` and a database it owns."""
        self.sql(f"CREATE ROLE {_quote_identifier(owner)} LOGIN PASSWORD {_quote_literal(password)}")
        self.sql(f"CREATE DATABASE {_quote_identifier(name)} OWNER {_quote_identifier(owner)}")

    def url(self, database: str, user: str, password: str) -> str:
        """A libpq URL (``DATABASE_URL``) for ``user`` on ``database``."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def jdbc_url(self, database: str) -> str:
        """Keycloak's ``KC_DB_URL`` for ``database`` (user and password go separately)."""
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self._workdir is None:
            return
        if self._bin is not None and (self._workdir / "data" / "postmaster.pid").exists():
            subprocess.run([*self._pg_ctl(), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60, check=False)
            logger.info("PostgreSQL stopped (127.0.0.1:%d)", self.port)
        shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None
