"""The whole demo without Docker: Keycloak, then the API under the production server, then the client."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from ..config import EnvSettings, check_bounds, setting
from .cluster import KeycloakCluster
from .errors import DevStackError
from .postgres import PostgresServer
from .processes import stop_process, wait_http
from .server import PARTNER_REALM, PROJECT_ROOT, REALM, REALM_FILE, KeycloakServer

logger = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 8080
DEFAULT_MANAGEMENT_PORT = 9000
DEFAULT_API_PORT = 50100
DEFAULT_WORKERS = 2
#: The API's production server: granian's WSGI interface, chosen by measurement (bench/run.py).
#: The access log shows the path without its query string: /callback's query carries the sign-in's
#: authorization code. Stopping waits for requests in flight (at most 30 s).
GRANIAN_OPTIONS = (
    "--interface",
    "wsgi",
    "--factory",
    "--no-ws",
    "--access-log",
    "--access-log-fmt",
    '%(addr)s [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms',
    "--workers-kill-timeout",
    "30",
)
#: The app factory, in granian's spelling and gunicorn's.
GRANIAN_APP, GUNICORN_APP = "server:create_app", "server:create_app()"
#: The alternative production server, gunicorn (after ``--bind``; workers from ``WEB_CONCURRENCY``).
GUNICORN_OPTIONS = (
    "--no-control-socket",
    "--access-logfile",
    "-",
    # The path without its query string: /callback's query carries the sign-in's authorization code.
    "--access-logformat",
    '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
)
GUNICORN_ARGS = (*GUNICORN_OPTIONS, GUNICORN_APP)


@dataclass(frozen=True)
class ServeSettings(EnvSettings):
    """Where and how wide the production server listens (``scripts/serve``, the Dockerfile)."""

    host: str = setting("HOST", "127.0.0.1")
    port: int = setting("PORT", DEFAULT_API_PORT, minimum=1, maximum=65535)
    workers: int = setting("WEB_CONCURRENCY", DEFAULT_WORKERS, minimum=1, maximum=64)

    def __post_init__(self) -> None:
        check_bounds(self)


def production_command(host: str, port: int, workers: int = DEFAULT_WORKERS, app: str = GRANIAN_APP) -> list[str]:
    """The command that serves the API for real (scripts/serve, the Dockerfile, the demo)."""
    bind = ["--host", host, "--port", str(port), "--workers", str(workers)]
    return [sys.executable, "-m", "granian", *bind, *GRANIAN_OPTIONS, app]


def serve(settings: ServeSettings) -> None:
    """Replace this process with the production server, so that it receives the signals itself.

    From the project folder when run from a checkout (``server.py`` is there);
    otherwise (an installed package, the Dockerfile) from the current folder.
    """
    command = production_command(settings.host, settings.port, settings.workers)
    if (PROJECT_ROOT / "server.py").exists():
        os.chdir(PROJECT_ROOT)
    os.execv(command[0], command)  # noqa: S606 - no shell: the arguments are passed as they are


def demo_client_secrets(realm_file: Path = REALM_FILE) -> dict[str, str]:
    """The demo-only client secrets, read from the realm export (their one home besides .env.example)."""
    realm = json.loads(realm_file.read_text())
    return {client["clientId"]: client["secret"] for client in realm["clients"] if client.get("secret")}


def demo_issuers(public: str, internal: str) -> str:
    """``OIDC_ISSUERS`` for the demo's two realms: issuers under ``public``, metadata read from ``internal``."""
    return ",".join(
        f"{public}/realms/{realm}||{internal}/realms/{realm}/.well-known/openid-configuration"
        for realm in (REALM, PARTNER_REALM)
    )


def public_url(port: int) -> str:
    """Keycloak's public URL in the demo: the hostname tokens name as issuer (as in docker-compose.yml)."""
    return f"http://localhost:{port}"


def run_demo(args: argparse.Namespace) -> int:
    """Keycloak, then the API under its production server, then the client's calls; up until Ctrl-C."""
    api_url = f"http://127.0.0.1:{args.api_port}"
    with _server_from_args(args) as keycloak, tempfile.TemporaryDirectory(prefix="kcguard-metrics-") as metrics:
        environment = {
            **os.environ,
            "OIDC_ISSUER": keycloak.issuer,
            "OIDC_DISCOVERY_URL": f"{keycloak.url}/realms/{REALM}/.well-known/openid-configuration",
            "OIDC_ISSUERS": demo_issuers(keycloak.hostname, keycloak.url),
            # prometheus-client's multiprocess mode: an empty directory before gunicorn starts its workers.
            "PROMETHEUS_MULTIPROC_DIR": metrics,
            "PORT": str(args.api_port),
            "API_URL": api_url,
        }
        api_command = production_command("127.0.0.1", args.api_port)
        logger.info("Starting the API on %s (granian, %d workers)...", api_url, DEFAULT_WORKERS)
        api = subprocess.Popen(api_command, cwd=PROJECT_ROOT, env=environment)
        try:
            wait_http(f"{api_url}/readyz", 60, api)
            logger.info("Running the client: python client.py")
            client = subprocess.run([sys.executable, "client.py"], cwd=PROJECT_ROOT, env=environment, check=False)
            if client.returncode != 0:
                raise DevStackError(f"client.py exited with code {client.returncode}")
            if args.exit:
                return 0
            logger.info(
                "Demo is up: API %s (browser sign-in at %s/ as alice, password in .env.example), "
                "Keycloak %s (admin console user %r, password %s). Ctrl-C stops both.",
                api_url,
                api_url,
                keycloak.url,
                keycloak.admin_username,
                keycloak.admin_password,
            )
            with contextlib.suppress(KeyboardInterrupt):
                api.wait()
        finally:
            stop_process(api)
    return 0


def explicit_admin_password(environ: Mapping[str, str], demo_values: Mapping[str, str | None]) -> str | None:
    """The bootstrap admin password the user set, or None: then the launcher makes a random one per run.

    The demo value of .env.example is public, so it counts as unset even when
    a ``cp .env.example .env`` put it into .env.
    """
    value = environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "").strip()
    if not value or value == (demo_values.get("KC_BOOTSTRAP_ADMIN_PASSWORD") or "").strip():
        return None
    return value


def load_environment(root: Path = PROJECT_ROOT) -> str | None:
    """Load ``.env``, then the demo values of ``.env.example`` for anything it leaves out.

    Returns Keycloak's admin password if one was set in the environment or
    ``.env``; never the public one of ``.env.example``.
    """
    load_dotenv(root / ".env", override=False)
    admin_password = explicit_admin_password(os.environ, dotenv_values(root / ".env.example"))
    load_dotenv(root / ".env.example", override=False)
    return admin_password


def _server_from_args(args: argparse.Namespace) -> KeycloakServer:
    """The demo's Keycloak; KC_DB_URL (with KC_DB_USERNAME/PASSWORD) selects PostgreSQL."""
    return KeycloakServer(
        http_port=args.port,
        management_port=args.management_port,
        hostname=public_url(args.port),
        admin_password=getattr(args, "admin_password", None),
        db_url=os.environ.get("KC_DB_URL") or None,
        db_username=os.environ.get("KC_DB_USERNAME"),
        db_password=os.environ.get("KC_DB_PASSWORD"),
    )


def run_keycloak(args: argparse.Namespace) -> int:
    with _server_from_args(args) as keycloak:
        logger.info(
            "Keycloak is up at %s (realm %s, admin %r / %s). Ctrl-C stops it.",
            keycloak.url,
            REALM,
            keycloak.admin_username,
            keycloak.admin_password,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while keycloak._process is not None and keycloak._process.poll() is None:
                time.sleep(1)
    return 0


def run_cluster(args: argparse.Namespace) -> int:
    """Two (``--nodes``) clustered Keycloak nodes on one PostgreSQL; up until Ctrl-C.

    The database is ``KC_DB_URL`` (with ``KC_DB_USERNAME``/``KC_DB_PASSWORD``) when set, otherwise a
    throwaway PostgreSQL started here from Debian's package. Node ``i`` listens on ``--port + i`` and
    ``--management-port + i``; every node issues tokens as ``http://localhost:<--port>``.
    """
    with contextlib.ExitStack() as stack:
        db_url = os.environ.get("KC_DB_URL") or ""
        username = os.environ.get("KC_DB_USERNAME") or "keycloak"
        password = os.environ.get("KC_DB_PASSWORD") or ""
        if not db_url:
            postgres = stack.enter_context(PostgresServer())
            password = password or "keycloak"
            postgres.create_database("keycloak", username, password)
            db_url = postgres.jdbc_url("keycloak")
        cluster = KeycloakCluster(
            db_url=db_url,
            db_username=username,
            db_password=password,
            nodes=args.nodes,
            hostname=public_url(args.port),
            http_ports=[args.port + index for index in range(args.nodes)],
            management_ports=[args.management_port + index for index in range(args.nodes)],
            admin_password=getattr(args, "admin_password", None),
        )
        stack.enter_context(cluster)
        for index, node in enumerate(cluster.nodes, 1):
            logger.info(
                "Node %d: %s (management %d, cluster port %d, %d MiB, pid %d)",
                index,
                node.url,
                node.management_port,
                node.cluster_port,
                (node.rss_bytes or 0) // 2**20,
                node.pid,
            )
        logger.info(
            "Keycloak cluster is up in %.0f s (issuer %s; admin %r / %s). Ctrl-C stops it.",
            cluster.startup_seconds or 0,
            cluster.issuer,
            cluster.nodes[0].admin_username,
            cluster.nodes[0].admin_password,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while cluster.running() and all(node._process.poll() is None for node in cluster.running()):
                time.sleep(1)
    return 0
