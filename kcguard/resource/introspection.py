"""Asking Keycloak whether a token is still active (RFC 7662).

A signed JWT stays valid until ``exp`` even after Keycloak revokes it or ends
the session. Introspection closes that gap at the price of a call to
Keycloak, so the validator caches an "active" answer for a few seconds, and
this module caches an "inactive" one until the token's ``exp``: a revoked
token never becomes active again, so asking twice only loads Keycloak.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .discovery import ProviderMetadata, ProviderUnavailable
from .events import INTROSPECTION_ACTIVE, INTROSPECTION_FAILED, INTROSPECTION_INACTIVE, NO_OBSERVER, Observer
from .fetch import request_json
from .token_cache import TokenCache, token_digest

logger = logging.getLogger(__name__)


class Introspector:
    """Calls the introspection endpoint as the API's own confidential client."""

    def __init__(
        self,
        metadata: ProviderMetadata,
        *,
        client_id: str,
        client_secret: str,
        timeout: float,
        allow_insecure_http: bool,
        inactive_cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self._observer = observer
        self._metadata = metadata
        credentials = f"{client_id}:{client_secret}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._timeout = timeout
        self._allow_insecure_http = allow_insecure_http
        self._inactive: TokenCache[bool] = TokenCache(inactive_cache_size, clock)
        self._count_lock = threading.Lock()
        #: Calls sent to Keycloak; tests and the benchmark read it.
        self.calls = 0

    def is_active(self, token: str, expires_at: float | None = None) -> bool:
        """True when Keycloak says the token is active; raises when it can't say."""
        return self.introspect(token, expires_at).get("active") is True

    def introspect(self, token: str, expires_at: float | None = None) -> dict[str, Any]:
        """Keycloak's answer (``active``, and for a bound token ``cnf``); raises when it can't say.

        An "inactive" answer is remembered by the token's digest until
        ``expires_at`` (its ``exp``), so a revoked token replayed in a loop
        costs Keycloak one call.
        """
        digest = token_digest(token)
        if self._inactive.get(digest) is not None:
            return {"active": False}
        with self._count_lock:
            self.calls += 1
        started = time.monotonic()
        try:
            document = request_json(
                self._metadata.endpoint("introspection_endpoint"),
                method="POST",
                body=urlencode({"token": token, "token_type_hint": "access_token"}).encode("ascii"),
                headers={"Authorization": self._authorization, "Content-Type": "application/x-www-form-urlencoded"},
                timeout=self._timeout,
                allow_insecure_http=self._allow_insecure_http,
            )
        except ProviderUnavailable:
            self._observer.introspection(INTROSPECTION_FAILED, time.monotonic() - started)
            raise
        result = INTROSPECTION_ACTIVE if document.get("active") is True else INTROSPECTION_INACTIVE
        self._observer.introspection(result, time.monotonic() - started)
        if document.get("active") is not True and expires_at is not None:
            self._inactive.put(digest, False, expires_at)
        return document
