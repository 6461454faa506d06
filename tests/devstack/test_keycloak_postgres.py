"""Keycloak started by the launcher against PostgreSQL keeps an added client across a restart."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcguard.admin import AdminSettings, ClientAdmin
from kcguard.devstack import DevStackError, KeycloakServer, free_port
from tests.support.keycloak import DEMO_SECRETS, token_request, unavailable

pytestmark = pytest.mark.keycloak


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 (Debian's postgresql package); yields its JDBC URL."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        unavailable("no PostgreSQL server binaries (Debian package postgresql) to start one")
    bin_dir = Path(binaries[-1]).parent
    as_user: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="kcguard-postgres-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: use Debian's postgres user
        if not shutil.which("runuser"):
            unavailable("running as root without runuser to start PostgreSQL as another user")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(workdir, "postgres")
    data, port = workdir / "data", free_port()
    run = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "keycloak", "-A", "trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off"
    subprocess.run(
        [*run, "-o", options, "-l", str(workdir / "postgres.log"), "-w", "-t", "60", "start"],
        check=True,
        capture_output=True,
        timeout=90,
    )
    try:
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "keycloak", "keycloak"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        yield f"jdbc:postgresql://127.0.0.1:{port}/keycloak"
    finally:
        subprocess.run([*run, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def test_added_client_survives_a_keycloak_restart(postgres: str):
    server = KeycloakServer(db_url=postgres, db_username="keycloak", db_password=secrets.token_urlsafe(12))
    client_id = f"caller_{secrets.token_hex(5)}"
    try:
        server.start()
    except DevStackError as error:
        unavailable(f"the launcher could not start Keycloak on PostgreSQL: {error}")
    try:
        admin = ClientAdmin(
            AdminSettings(issuer=server.issuer, server_url=server.url, client_secret=DEMO_SECRETS["api_admin"])
        )
        secret = admin.add_client(client_id, ["books.read"])
        assert token_request(server, client_id, secret=secret).status_code == 200
    finally:
        server.stop()

    server.start()
    try:
        response = token_request(server, client_id, secret=secret)
        assert response.status_code == 200
        assert "Realm 'myorg' already exists. Import skipped" in server.log_path.read_text()
    finally:
        server.stop()
