"""Fetching Keycloak's OpenID Connect metadata: bounded, checked, never at import."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..config import ConfigError, check_url
from .fetch import MAX_DOCUMENT_BYTES, ProviderUnavailable, request_json

__all__ = ["MAX_DOCUMENT_BYTES", "ProviderMetadata", "ProviderUnavailable", "fetch_json"]

logger = logging.getLogger(__name__)


def fetch_json(url: str, *, timeout: float, allow_insecure_http: bool) -> dict[str, Any]:
    """GET a JSON object: checked URL, no redirects, bounded size and total time."""
    return request_json(url, timeout=timeout, allow_insecure_http=allow_insecure_http)


class ProviderMetadata:
    """The issuer's discovery document, fetched on first use and kept once good.

    The document's ``issuer`` must equal the configured issuer exactly
    (OpenID Connect Discovery 1.0, section 4.3), so a misconfigured URL fails
    loudly instead of trusting another realm's keys. Every endpoint it names
    passes the same plain-http check as the configured URLs: the client's
    secret goes to ``token_endpoint``, the API's secret and the user's token
    to ``introspection_endpoint``.
    """

    def __init__(self, discovery_url: str, issuer: str, *, timeout: float, allow_insecure_http: bool) -> None:
        self._url = discovery_url
        self._issuer = issuer
        self._timeout = timeout
        self._allow_insecure_http = allow_insecure_http
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def endpoint(self, name: str) -> str:
        """Return an endpoint URL such as ``jwks_uri`` or ``token_endpoint``, checked like a configured one."""
        document = self._load()
        url = document.get(name)
        if not isinstance(url, str) or not url:
            raise ProviderUnavailable(f"discovery document has no {name}")
        try:
            return check_url(f"{name} from the discovery document", url, allow_insecure_http=self._allow_insecure_http)
        except ConfigError as error:
            raise ProviderUnavailable(str(error)) from None

    def document(self) -> dict[str, Any]:
        """A copy of the whole checked document (for an OpenID client such as the browser sign-in)."""
        return dict(self._load())

    def _load(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                document = fetch_json(self._url, timeout=self._timeout, allow_insecure_http=self._allow_insecure_http)
                if document.get("issuer") != self._issuer:
                    raise ProviderUnavailable(
                        f"discovery document names issuer {document.get('issuer')!r}, expected {self._issuer!r}"
                    )
                self._document = document
                logger.info("loaded OpenID Connect metadata for %s", self._issuer)
            return self._document
