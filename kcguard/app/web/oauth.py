"""Authlib's Flask OAuth client with two storage points moved, each by overriding Authlib's own hooks.

- Pending sign-ins (``state``, ``nonce``, PKCE verifier): Authlib's
  framework integration keeps them in the session cookie; ``PendingSignIns``
  keeps them in the database (``pending``), bound to a per-browser id.
- Provider metadata: Authlib trusts whatever document ``server_metadata_url``
  answers; ``KeycloakClient`` takes it from the core's ``ProviderMetadata``,
  which refuses a document whose ``issuer`` is not ``OIDC_ISSUER`` (the same
  check the API's keys go through).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App, OAuth

from ...resource.discovery import ProviderMetadata
from ..db import get_db
from . import pending

#: The session-cookie key of the browser id that pending sign-ins are bound to.
BROWSER_KEY = "browser"


def browser_id(session: Any, *, create: bool = False) -> str | None:
    browser = session.get(BROWSER_KEY)
    if not isinstance(browser, str) or not browser:
        if not create:
            return None
        browser = session[BROWSER_KEY] = secrets.token_urlsafe(24)
    return browser


class PendingSignIns(FlaskIntegration):
    """State data in the database instead of the cookie: bounded per browser, one tab never clears another's."""

    def set_state_data(self, session: Any, state: str, data: dict[str, Any]) -> None:
        pending.save(get_db(), browser_id(session, create=True), state, data)

    def get_state_data(self, session: Any, state: str | None) -> dict[str, Any] | None:
        browser = browser_id(session)
        if browser is None or not isinstance(state, str) or not state:
            return None
        return pending.load(get_db(), browser, state)

    def clear_state_data(self, session: Any, state: str | None) -> None:
        browser = browser_id(session)
        if browser is not None and isinstance(state, str) and state:
            pending.delete(get_db(), browser, state)


class KeycloakClient(FlaskOAuth2App):
    """Authlib's OpenID client, its metadata taken from an issuer-checked ``ProviderMetadata``."""

    provider: ProviderMetadata

    def load_server_metadata(self) -> dict[str, Any]:
        if "_loaded_at" not in self.server_metadata:
            self.server_metadata.update(self.provider.document(), _loaded_at=time.time())
        return self.server_metadata


class KeycloakOAuth(OAuth):
    oauth2_client_cls = KeycloakClient
    framework_integration_cls = PendingSignIns
