"""Manage the API's callers in Keycloak: add, rotate, list, disable, enable, remove.

``python -m kcguard.admin add-client reporting_job --scope books.read``
creates a confidential service-account client that gets the API's audience
and exactly the optional scopes named, and prints its secret once. Keycloak
stores (and hashes) the clients; this drives its admin REST API through
python-keycloak, authenticated as the ``api_admin`` service account, whose
only roles are ``manage-clients``, ``view-clients`` and ``query-clients`` in
this realm: it cannot touch users, realm settings or the master realm.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

from .settings import AdminSettings

#: Client scope that puts the API into ``aud``; every caller needs it.
AUDIENCE_SCOPE = "test_api_resource-audience"
BASE_SCOPES = ("basic", "roles", "profile", "service_account", AUDIENCE_SCOPE)
CREATED_ATTRIBUTE = "kcguard.created"
CLIENT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{2,62}")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
EXIT_REFUSED = 4


class AdminError(Exception):
    """A request the command refuses or Keycloak refused; the message says what to fix."""

    exit_code = EXIT_ERROR


class AdminUnreachable(AdminError):
    """Keycloak did not answer."""

    exit_code = EXIT_UNREACHABLE


class AdminRefused(AdminError):
    """Keycloak refused the admin client's credentials or permissions."""

    exit_code = EXIT_REFUSED


@dataclass(frozen=True)
class ApiClientInfo:
    client_id: str
    enabled: bool
    scopes: tuple[str, ...]
    created: str


class ClientAdmin:
    """API-client management over Keycloak's admin REST API."""

    def __init__(self, settings: AdminSettings) -> None:
        self._admin = KeycloakAdmin(
            server_url=settings.server_url,
            realm_name=settings.realm,
            client_id=settings.client_id,
            client_secret_key=settings.client_secret,
            timeout=int(settings.timeout),
        )

    def _call(self, action: Callable[[], object], what: str) -> object:
        try:
            return action()
        except KeycloakConnectionError:
            raise AdminUnreachable(f"Keycloak is unreachable while trying to {what}") from None
        except KeycloakAuthenticationError:
            raise AdminRefused("Keycloak refused the admin client's credentials (ADMIN_CLIENT_ID/SECRET)") from None
        except KeycloakError as error:
            if error.response_code == 403:
                raise AdminRefused(f"the admin client may not {what} (missing realm-management role)") from None
            raise AdminError(f"Keycloak refused to {what} (HTTP {error.response_code})") from None

    def _internal_id(self, client_id: str) -> str:
        internal = self._call(lambda: self._admin.get_client_id(client_id), f"look up client {client_id!r}")
        if not internal:
            raise AdminError(f"no client {client_id!r} in this realm")
        client = self._call(lambda: self._admin.get_client(internal), f"read client {client_id!r}")
        if AUDIENCE_SCOPE not in client.get("defaultClientScopes", []) or client.get("publicClient"):
            raise AdminError(f"{client_id!r} is not an API client of this realm; it is left alone")
        return internal

    def optional_scopes(self) -> set[str]:
        """The API scopes a client may be given: the realm's client scopes that go into ``scope``."""
        scopes = self._call(self._admin.get_client_scopes, "list client scopes")
        return {
            scope["name"]
            for scope in scopes
            if scope.get("attributes", {}).get("include.in.token.scope") == "true"
            and scope["name"] not in BASE_SCOPES
            and scope.get("protocol") == "openid-connect"
        }

    def add_client(self, client_id: str, scopes: Sequence[str]) -> str:
        """Create the client; return its secret (shown once, stored hashed by nobody but Keycloak)."""
        if not CLIENT_ID_PATTERN.fullmatch(client_id):
            raise AdminError("client id must be 3-63 characters: lowercase letters, digits, '_', '.', '-'")
        known = self.optional_scopes()
        unknown = sorted(set(scopes) - known)
        if unknown:
            raise AdminError(f"unknown scope(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if self._call(lambda: self._admin.get_client_id(client_id), f"look up client {client_id!r}"):
            raise AdminError(f"client {client_id!r} already exists")
        created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload = {
            "clientId": client_id,
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": False,
            "clientAuthenticatorType": "client-secret",
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "attributes": {CREATED_ATTRIBUTE: created},
            "defaultClientScopes": list(BASE_SCOPES),
            "optionalClientScopes": sorted(set(scopes)),
        }
        internal = self._call(lambda: self._admin.create_client(payload), f"create client {client_id!r}")
        secret = self._call(lambda: self._admin.get_client_secrets(internal), "read the new secret")
        return secret["value"]

    def rotate_secret(self, client_id: str) -> str:
        """A new secret; the old one stops working at once (Keycloak 26 without the rotation policy)."""
        internal = self._internal_id(client_id)
        secret = self._call(lambda: self._admin.generate_client_secrets(internal), f"rotate {client_id!r}'s secret")
        return secret["value"]

    def list_clients(self) -> list[ApiClientInfo]:
        clients = self._call(self._admin.get_clients, "list clients")
        return [
            ApiClientInfo(
                client["clientId"],
                bool(client.get("enabled")),
                tuple(sorted(client.get("optionalClientScopes", []))),
                client.get("attributes", {}).get(CREATED_ATTRIBUTE, "-"),
            )
            for client in sorted(clients, key=lambda c: c["clientId"])
            if AUDIENCE_SCOPE in client.get("defaultClientScopes", []) and not client.get("publicClient")
        ]

    def set_enabled(self, client_id: str, enabled: bool) -> None:
        internal = self._internal_id(client_id)
        action = "enable" if enabled else "disable"
        self._call(lambda: self._admin.update_client(internal, {"enabled": enabled}), f"{action} {client_id!r}")

    def remove(self, client_id: str) -> None:
        internal = self._internal_id(client_id)
        self._call(lambda: self._admin.delete_client(internal), f"remove {client_id!r}")
