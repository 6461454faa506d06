"""Manage the API's callers in Keycloak: add, rotate, list, disable, enable, remove.

``python -m kcguard.admin add-client reporting_job --scope books.read``
creates a confidential service-account client that gets the API's audience
and exactly the optional scopes named, and prints its secret once.

The ``api_admin`` service account it authenticates as holds one admin role,
``create-client``: it registers new clients through Keycloak's client
registration service, where the realm's client registration policies
(keycloak/realm-export.json) bound what it may create (the API's scopes
only, no protocol mappers, no redirect URIs). It cannot read, change or
delete any existing client, client scope, user or realm setting. Each client
it creates comes with a registration access token that manages that one
client; those tokens are kept in ``ADMIN_TOKEN_STORE`` (a 0600 file) and are
what rotate-secret, list, disable, enable and remove use.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

from .settings import AdminSettings

#: Client scope that puts the API into ``aud``; every caller needs it.
AUDIENCE_SCOPE = "test_api_resource-audience"
BASE_SCOPES = ("basic", "roles", "profile", "service_account", AUDIENCE_SCOPE)
#: Scopes Keycloak itself may offer that are not the API's to hand out.
KEYCLOAK_SCOPES = frozenset(
    {"openid", "offline_access", "email", "web-origins", "acr", "phone", "address", "microprofile-jwt", "organization"}
)
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
    enabled: bool | None
    scopes: tuple[str, ...]
    created: str


class TokenStore:
    """The registration access tokens of the clients this tool added, per issuer, in one 0600 JSON file.

    A registration access token lets its holder manage exactly one client;
    Keycloak replaces it on every update, so the new one is written back at
    once (atomically, never world-readable).
    """

    def __init__(self, path: str | Path, issuer: str) -> None:
        self.path = Path(path)
        self.issuer = issuer

    def _load_all(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise AdminError(f"cannot read the token store {self.path} (ADMIN_TOKEN_STORE)") from None
        if not isinstance(data, dict):
            raise AdminError(f"the token store {self.path} is not a JSON object")
        return data

    def clients(self) -> dict[str, str]:
        return dict(self._load_all().get(self.issuer, {}))

    def get(self, client_id: str) -> str | None:
        return self.clients().get(client_id)

    def put(self, client_id: str, token: str | None) -> None:
        """Remember ``token`` for ``client_id``; ``None`` forgets the client."""
        data = self._load_all()
        tokens = data.setdefault(self.issuer, {})
        if token is None:
            tokens.pop(client_id, None)
        else:
            tokens[client_id] = token
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        except OSError as error:
            raise AdminError(f"cannot write the token store {self.path} ({error.strerror})") from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


class ClientAdmin:
    """API-client management through Keycloak's client registration service."""

    def __init__(self, settings: AdminSettings) -> None:
        self._openid = KeycloakOpenID(
            server_url=settings.server_url,
            realm_name=settings.realm,
            client_id=settings.client_id,
            client_secret_key=settings.client_secret,
            timeout=int(settings.timeout),
        )
        self._timeout = settings.timeout
        self._registration_url = f"{settings.server_url}/realms/{settings.realm}/clients-registrations/default"
        self.tokens = TokenStore(settings.token_store, settings.issuer)

    def _admin_token(self) -> str:
        try:
            return self._openid.token(grant_type="client_credentials")["access_token"]
        except KeycloakConnectionError:
            raise AdminUnreachable("Keycloak is unreachable while trying to sign in as the admin client") from None
        except KeycloakAuthenticationError:
            raise AdminRefused("Keycloak refused the admin client's credentials (ADMIN_CLIENT_ID/SECRET)") from None
        except KeycloakError as error:
            raise AdminError(f"Keycloak refused the admin client a token (HTTP {error.response_code})") from None

    def _registration(
        self, method: str, token: str, what: str, client_id: str = "", payload: dict[str, Any] | None = None
    ) -> requests.Response:
        url = f"{self._registration_url}/{client_id}" if client_id else self._registration_url
        try:
            return requests.request(
                method,
                url,
                json=payload,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException:
            raise AdminUnreachable(f"Keycloak is unreachable while trying to {what}") from None

    def _managed(self, method: str, client_id: str, what: str, payload: dict[str, Any] | None = None) -> dict:
        """One call with the client's registration access token; the token Keycloak sends back is stored."""
        token = self.tokens.get(client_id)
        if token is None:
            raise AdminError(f"no client {client_id!r} was added with this tool (see `list`); it is left alone")
        if payload is not None:
            payload = {"clientId": client_id, **payload}
        response = self._registration(method, token, what, client_id, payload)
        if response.status_code == 401:
            raise AdminRefused(
                f"Keycloak no longer accepts the registration token of {client_id!r} (removed, or disabled "
                "outside this tool?); a realm admin can issue a new one"
            )
        if not response.ok:
            raise AdminError(f"Keycloak refused to {what} (HTTP {response.status_code}{_reason(response)})")
        if method == "DELETE":
            self.tokens.put(client_id, None)
            return {}
        body = response.json()
        if body.get("registrationAccessToken"):
            self.tokens.put(client_id, body["registrationAccessToken"])
        return body

    def optional_scopes(self) -> set[str]:
        """The API scopes a client may be given: the realm's advertised scopes, less the base and Keycloak's own."""
        try:
            supported = self._openid.well_known().get("scopes_supported", [])
        except KeycloakConnectionError:
            raise AdminUnreachable("Keycloak is unreachable while trying to list the realm's scopes") from None
        except KeycloakError as error:
            raise AdminError(f"Keycloak refused to list the realm's scopes (HTTP {error.response_code})") from None
        return set(supported) - set(BASE_SCOPES) - KEYCLOAK_SCOPES

    def add_client(self, client_id: str, scopes: Sequence[str]) -> str:
        """Register the client; return its secret (shown once, kept by nobody but Keycloak)."""
        if not CLIENT_ID_PATTERN.fullmatch(client_id):
            raise AdminError("client id must be 3-63 characters: lowercase letters, digits, '_', '.', '-'")
        known = self.optional_scopes()
        unknown = sorted(set(scopes) - known)
        if unknown:
            raise AdminError(f"unknown scope(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
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
        what = f"create client {client_id!r}"
        response = self._registration("POST", self._admin_token(), what, payload=payload)
        if response.status_code == 400 and "in use" in _reason(response):
            raise AdminError(f"client {client_id!r} already exists")
        if response.status_code in (401, 403):
            raise AdminRefused(f"Keycloak refused to {what}{_reason(response)}")
        if not response.ok:
            raise AdminError(f"Keycloak refused to {what} (HTTP {response.status_code}{_reason(response)})")
        body = response.json()
        self.tokens.put(client_id, body["registrationAccessToken"])
        return body["secret"]

    def rotate_secret(self, client_id: str) -> str:
        """A new secret; the old one stops working at once (Keycloak 26 without the rotation policy)."""
        secret = secrets.token_urlsafe(48)
        self._managed("PUT", client_id, f"rotate {client_id!r}'s secret", {"secret": secret})
        return secret

    def list_clients(self) -> list[ApiClientInfo]:
        """The clients this tool added, as Keycloak has them now."""
        rows = []
        for client_id in sorted(self.tokens.clients()):
            try:
                client = self._managed("GET", client_id, f"read client {client_id!r}")
            except AdminRefused:
                rows.append(ApiClientInfo(client_id, None, (), "-"))
                continue
            rows.append(
                ApiClientInfo(
                    client_id,
                    bool(client.get("enabled")) and bool(client.get("serviceAccountsEnabled")),
                    tuple(sorted(client.get("optionalClientScopes", []))),
                    client.get("attributes", {}).get(CREATED_ATTRIBUTE, "-"),
                )
            )
        return rows

    def set_enabled(self, client_id: str, enabled: bool) -> None:
        """Switch the client's service account (its only grant) off or on.

        Not Keycloak's ``enabled`` flag: a disabled client's registration
        access token is refused too, so it could not be enabled again here.
        """
        action = "enable" if enabled else "disable"
        self._managed("PUT", client_id, f"{action} {client_id!r}", {"serviceAccountsEnabled": enabled})

    def remove(self, client_id: str) -> None:
        self._managed("DELETE", client_id, f"remove {client_id!r}")


def _reason(response: requests.Response) -> str:
    """Keycloak's own explanation (error_description), if it sent one; it never holds a secret."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    description = body.get("error_description") or body.get("errorMessage")
    return f": {str(description)[:300]}" if description else ""
