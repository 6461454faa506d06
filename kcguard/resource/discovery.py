"""Fetching Keycloak's OpenID Connect metadata: bounded, checked, never at import."""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from ..config import ConfigError, check_url

logger = logging.getLogger(__name__)

#: Larger answers are not metadata or key sets; refuse them rather than parse them.
MAX_DOCUMENT_BYTES = 512 * 1024


class ProviderUnavailable(Exception):
    """Keycloak could not be reached or answered something unusable."""


def fetch_json(session: requests.Session, url: str, *, timeout: float, allow_insecure_http: bool) -> dict[str, Any]:
    """GET a JSON object with a bounded timeout and size."""
    try:
        check_url("URL from Keycloak", url, allow_insecure_http=allow_insecure_http)
        response = session.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except ConfigError as error:
        raise ProviderUnavailable(str(error)) from None
    except requests.RequestException as error:
        raise ProviderUnavailable(f"{url} unreachable ({type(error).__name__})") from None
    if response.status_code != 200:
        raise ProviderUnavailable(f"{url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise ProviderUnavailable(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = response.json()
    except ValueError:
        raise ProviderUnavailable(f"{url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} did not answer a JSON object")
    return document


class ProviderMetadata:
    """The issuer's discovery document, fetched on first use and kept once good.

    The document's ``issuer`` must equal the configured issuer exactly
    (OpenID Connect Discovery 1.0, section 4.3), so a misconfigured URL fails
    loudly instead of trusting another realm's keys.
    """

    def __init__(
        self,
        session: requests.Session,
        discovery_url: str,
        issuer: str,
        *,
        timeout: float,
        allow_insecure_http: bool,
    ) -> None:
        self._session = session
        self._url = discovery_url
        self._issuer = issuer
        self._timeout = timeout
        self._allow_insecure_http = allow_insecure_http
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def endpoint(self, name: str) -> str:
        """Return an endpoint URL such as ``jwks_uri`` or ``token_endpoint``."""
        document = self._load()
        url = document.get(name)
        if not isinstance(url, str) or not url:
            raise ProviderUnavailable(f"discovery document has no {name}")
        return url

    def document(self) -> dict[str, Any]:
        """A copy of the whole checked document (for an OpenID client such as the browser sign-in)."""
        return dict(self._load())

    def _load(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                document = fetch_json(
                    self._session, self._url, timeout=self._timeout, allow_insecure_http=self._allow_insecure_http
                )
                if document.get("issuer") != self._issuer:
                    raise ProviderUnavailable(
                        f"discovery document names issuer {document.get('issuer')!r}, expected {self._issuer!r}"
                    )
                self._document = document
                logger.info("loaded OpenID Connect metadata for %s", self._issuer)
            return self._document
