"""Asking Keycloak whether a token is still active (RFC 7662).

A signed JWT stays valid until ``exp`` even after Keycloak revokes it or ends
the session. Introspection closes that gap at the price of a call to
Keycloak, so the answer is cached for a few seconds by the validator.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from .discovery import ProviderMetadata, ProviderUnavailable
from .events import INTROSPECTION_ACTIVE, INTROSPECTION_FAILED, INTROSPECTION_INACTIVE, NO_OBSERVER, Observer

logger = logging.getLogger(__name__)


class Introspector:
    """Calls the introspection endpoint as the API's own confidential client."""

    def __init__(
        self,
        session: requests.Session,
        metadata: ProviderMetadata,
        *,
        client_id: str,
        client_secret: str,
        timeout: float,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self._observer = observer
        self._session = session
        self._metadata = metadata
        self._auth = (client_id, client_secret)
        self._timeout = timeout

    def is_active(self, token: str) -> bool:
        """True when Keycloak says the token is active; raises when it can't say."""
        return self.introspect(token).get("active") is True

    def introspect(self, token: str) -> dict[str, Any]:
        """Keycloak's answer (``active``, and for a bound token ``cnf``); raises when it can't say."""
        started = time.monotonic()
        try:
            answer = self._ask(token)
        except ProviderUnavailable:
            self._observer.introspection(INTROSPECTION_FAILED, time.monotonic() - started)
            raise
        result = INTROSPECTION_ACTIVE if answer.get("active") is True else INTROSPECTION_INACTIVE
        self._observer.introspection(result, time.monotonic() - started)
        return answer

    def _ask(self, token: str) -> dict[str, Any]:
        url = self._metadata.endpoint("introspection_endpoint")
        try:
            response = self._session.post(
                url,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
                timeout=self._timeout,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as error:
            raise ProviderUnavailable(f"introspection endpoint unreachable ({type(error).__name__})") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"introspection endpoint answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderUnavailable("introspection endpoint did not answer a JSON object")
        return answer
