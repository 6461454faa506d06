"""The token client's command line (``python client.py``).

With no arguments: fetch a token and call the three demo routes, printing a
table. ``call`` sends any method to any path; ``token`` shows the claims of
the token Keycloak issued (decoded, not verified: for debugging only). The
client secret comes from the environment or ``.env``, never from arguments,
and is never printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from typing import Any

import requests

from ..config import ConfigError
from .settings import ClientSettings
from .tokens import ApiClient, InvalidClient, InvalidScope, KeycloakUnreachable, TokenError

EXIT_OK = 0
EXIT_TOKEN_ERROR = 1
EXIT_CONFIG = 2
EXIT_KEYCLOAK_UNREACHABLE = 3
EXIT_INVALID_CLIENT = 4
EXIT_INVALID_SCOPE = 5
EXIT_API_ERROR = 6
EXIT_API_UNREACHABLE = 7
DEFAULT_ROUTES = ("/api/public", "/api/private", "/api/private-scoped")
#: How a token failure is reported: exit code and message prefix, most specific first.
TOKEN_FAILURES = (
    (KeycloakUnreachable, EXIT_KEYCLOAK_UNREACHABLE, "Keycloak unreachable: "),
    (InvalidClient, EXIT_INVALID_CLIENT, "bad client credentials: "),
    (InvalidScope, EXIT_INVALID_SCOPE, "scope refused: "),
    (TokenError, EXIT_TOKEN_ERROR, ""),
)


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT verification: never use this to authorize anything."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _summary(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:80]
    if isinstance(body, dict) and "error" in body:
        return f"{body['error']}: {body.get('error_description', '')}"
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return json.dumps(body)[:80]


def run_default(client: ApiClient) -> int:
    response = client.tokens.get_token_response()
    print(
        f"{response.get('token_type', 'Bearer')} token for {client.settings.client_id}: "
        f"scope {response.get('scope', '')!r}, expires in {response.get('expires_in')} s"
    )
    print(f"{'ROUTE':<22}{'STATUS':<8}RESULT")
    worst = EXIT_OK
    for route in DEFAULT_ROUTES:
        answer = client.request("GET", route)
        print(f"{route:<22}{answer.status_code:<8}{_summary(answer)[:100]}")
        if answer.status_code != 200:
            worst = EXIT_API_ERROR
    print(f"({client.tokens.token_requests} token request(s) for {len(DEFAULT_ROUTES)} calls)")
    return worst


def run_call(client: ApiClient, args: argparse.Namespace) -> int:
    body = None
    if args.data is not None:
        try:
            body = json.loads(args.data)
        except ValueError as error:
            print(f"client.py: --data is not JSON: {error}", file=sys.stderr)
            return EXIT_CONFIG
    answer = client.request(args.method.upper(), args.path, json=body, authenticate=not args.anonymous)
    try:
        print(json.dumps(answer.json(), indent=2))
    except ValueError:
        print(answer.text)
    if answer.status_code >= 400:
        print(f"client.py: the API answered {answer.status_code}: {_summary(answer)}", file=sys.stderr)
        return EXIT_API_ERROR
    return EXIT_OK


def run_token(client: ApiClient, args: argparse.Namespace) -> int:
    token = client.tokens.get_token()
    if args.raw:
        print(token)
    else:
        print(json.dumps(decode_claims(token), indent=2, sort_keys=True))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="client.py",
        description="Get client-credentials tokens from Keycloak and call the API. "
        "Configuration: CLIENT_ID, CLIENT_SECRET, OIDC_ISSUER, API_URL ... from the environment or .env.",
    )
    parser.add_argument(
        "--scope", default=None, help='space-separated scopes to request, e.g. "books.read" (default: CLIENT_SCOPE)'
    )
    parser.add_argument(
        "--dpop", action="store_true", help="ask for DPoP-bound tokens and sign a proof per call (or CLIENT_DPOP=1)"
    )
    parser.add_argument(
        "--from-api",
        action="store_true",
        help="find Keycloak from API_URL's /.well-known/oauth-protected-resource (or CLIENT_ISSUER_FROM_API=1)",
    )
    commands = parser.add_subparsers(dest="command")
    call = commands.add_parser("call", help="call any API path")
    call.add_argument("method", help="GET, POST, ...")
    call.add_argument("path", help="for example /api/books")
    call.add_argument("--data", help="a JSON body")
    call.add_argument("--anonymous", action="store_true", help="send no token")
    token = commands.add_parser("token", help="print the token's claims (decoded, NOT verified)")
    token.add_argument("--raw", action="store_true", help="print the token itself, e.g. for curl")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides: dict[str, Any] = {} if args.scope is None else {"scope": args.scope}
        if args.dpop:
            overrides["dpop"] = True
        if args.from_api:
            overrides["issuer_from_api"] = True
        settings = ClientSettings.from_env(**overrides)
    except ConfigError as error:
        print(f"client.py: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        client = ApiClient(settings)
    except (OSError, ValueError) as error:
        print(f"client.py: configuration error: the DPoP key could not be loaded: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.command == "call":
            return run_call(client, args)
        if args.command == "token":
            return run_token(client, args)
        return run_default(client)
    except TokenError as error:
        code, prefix = next((code, prefix) for kind, code, prefix in TOKEN_FAILURES if isinstance(error, kind))
        print(f"client.py: {prefix}{error}", file=sys.stderr)
        return code
    except requests.RequestException as error:
        print(f"client.py: the API at {settings.api_url} is unreachable ({type(error).__name__})", file=sys.stderr)
        return EXIT_API_UNREACHABLE
