"""Run the demo stack without Docker: Keycloak from its official distribution, then the API.

``python -m kcguard.devstack demo`` downloads the pinned Keycloak with Maven
(once, into a cache directory), starts it in dev mode with the ``myorg``
realm imported into an in-memory database, starts the API, runs the client
against it and keeps both up until Ctrl-C. ``keycloak`` runs Keycloak alone;
``cluster`` runs two Keycloak nodes clustered on one PostgreSQL (a throwaway
one from Debian's package unless ``KC_DB_URL`` is set); ``java`` says which
Java runtime would be used; ``serve`` runs the API under its production server
(``scripts/serve``, the Dockerfile). The test fixtures use
``KeycloakServer`` directly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from ..config import ConfigError
from .demo import (
    DEFAULT_API_PORT,
    DEFAULT_HTTP_PORT,
    DEFAULT_MANAGEMENT_PORT,
    ServeSettings,
    load_environment,
    run_cluster,
    run_demo,
    run_keycloak,
    serve,
)
from .distribution import ensure_distribution
from .errors import DevStackError
from .java import find_java
from .server import PROJECT_ROOT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcguard.devstack", description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("demo", "Keycloak + the API + the client's calls"),
        ("keycloak", "Keycloak alone"),
        ("cluster", "two clustered Keycloak nodes on one PostgreSQL"),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help="Keycloak HTTP port")
        command.add_argument("--management-port", type=int, default=DEFAULT_MANAGEMENT_PORT)
        if name == "demo":
            command.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
            command.add_argument("--exit", action="store_true", help="stop after the client's calls")
        if name == "cluster":
            command.add_argument("--nodes", type=int, default=2, help="how many nodes (ports count up from --port)")
    commands.add_parser("java", help="print the Java runtime Keycloak would use")
    commands.add_parser("download", help="download the pinned Keycloak distribution")
    commands.add_parser("serve", help="the API under its production server (HOST, PORT, WEB_CONCURRENCY)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        # Production: .env only, never the demo values of .env.example.
        load_dotenv(override=False)
        try:
            serve(ServeSettings.from_env())
        except ConfigError as error:
            print(f"devstack serve: configuration error: {error}", file=sys.stderr)
            return 2
    # .env first, then the demo values of .env.example for anything it leaves out;
    # Keycloak's admin password is never the public demo one.
    args.admin_password = load_environment(PROJECT_ROOT)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "java":
            runtime = find_java()
            print(f"Java {runtime.version} at {runtime.home}")
            return 0
        if args.command == "download":
            print(ensure_distribution())
            return 0
        runners = {"demo": run_demo, "keycloak": run_keycloak, "cluster": run_cluster}
        return runners[args.command](args)
    except DevStackError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 1


signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
sys.exit(main())
