"""The command line of ``kcguard.admin``: ``python -m kcguard.admin --help``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..config import ConfigError
from .service import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, AdminError, ClientAdmin
from .settings import AdminSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kcguard.admin",
        description="Manage the API's client-credentials callers in Keycloak "
        "(as ADMIN_CLIENT_ID/ADMIN_CLIENT_SECRET from the environment or .env).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-client", help="create a caller and print its secret once")
    add.add_argument("client_id")
    add.add_argument("--scope", action="append", default=[], help="an optional scope it may request (repeatable)")
    for name, helptext in (
        ("rotate-secret", "give a client a new secret (the old one stops working)"),
        ("disable", "refuse the client tokens (its service account is switched off)"),
        ("enable", "allow the client tokens again"),
        ("remove", "delete the client"),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("client_id")
        if name == "remove":
            command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser("list", help="the clients added with this tool, with their scopes")
    return parser


def run(admin: ClientAdmin, args: argparse.Namespace) -> int:
    if args.command == "add-client":
        secret = admin.add_client(args.client_id, args.scope)
        print(f"created {args.client_id} with scopes: {' '.join(sorted(set(args.scope))) or '(none)'}")
        print(f"client secret (shown once, store it now): {secret}")
    elif args.command == "rotate-secret":
        print(f"new secret for {args.client_id} (the old one no longer works): {admin.rotate_secret(args.client_id)}")
    elif args.command == "list":
        print(f"{'CLIENT':<28}{'ENABLED':<9}{'CREATED':<22}SCOPES")
        for client in admin.list_clients():
            enabled = "?" if client.enabled is None else "yes" if client.enabled else "no"
            print(f"{client.client_id:<28}{enabled:<9}{client.created:<22}{' '.join(client.scopes)}")
    elif args.command in ("disable", "enable"):
        admin.set_enabled(args.client_id, args.command == "enable")
        print(f"{args.client_id} {args.command}d")
    else:
        if not args.yes:
            answer = input(f"Remove client {args.client_id!r}? Its callers lose access. [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("not removed")
                return EXIT_ERROR
        admin.remove(args.client_id)
        print(f"{args.client_id} removed")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        admin = ClientAdmin(AdminSettings.from_env())
        return run(admin, args)
    except ConfigError as error:
        print(f"admin: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except AdminError as error:
        print(f"admin: {error}", file=sys.stderr)
        return error.exit_code
    except EOFError:
        print("\nnot removed (no answer)", file=sys.stderr)
        return EXIT_ERROR
