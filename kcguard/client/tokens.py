"""A client-credentials client for Keycloak that callers can build on.

``TokenClient`` fetches tokens with Authlib's ``OAuth2Session`` (which does
the client authentication, ``client_secret_basic`` or ``client_secret_post``)
and caches one token per scope set until shortly before it expires; one
fetch happens at a time however many threads ask. ``BearerAuth`` is a
requests auth hook that attaches the token and, on a 401 from the API, drops
it, fetches a new one and resends the request once. ``ApiClient`` puts the
two together over one ``requests.Session`` (connection reuse, bounded
timeouts, a small retry on connection errors and 5xx from Keycloak).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from ..config import discovery_url_of
from ..resource.discovery import ProviderMetadata, ProviderUnavailable, fetch_json
from ..resource.metadata import WELL_KNOWN_PATH
from .dpop import DPoPKey
from .settings import ClientSettings

logger = logging.getLogger(__name__)

#: Used when Keycloak's answer has no ``expires_in`` (it always sends one).
DEFAULT_EXPIRES_IN = 60


class TokenError(Exception):
    """A token could not be had; ``error`` is the OAuth 2.0 code where Keycloak gave one."""

    def __init__(self, message: str, error: str = "", description: str = "") -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class KeycloakUnreachable(TokenError):
    """Keycloak did not answer, or answered with a server error, after the retries."""


class InvalidClient(TokenError):
    """Keycloak refused the client's id or secret."""


class InvalidScope(TokenError):
    """The client asked for a scope it may not have."""


def _with_retries(session: requests.Session, *, retry_statuses: tuple[int, ...]) -> requests.Session:
    """Retry connection errors (and ``retry_statuses``) twice with backoff; never a read timeout.

    Keycloak's token endpoint is safe to retry on 502/503/504; the API is
    retried only when the connection failed, before any request was sent.
    """
    retry = Retry(
        total=2,
        connect=2,
        read=0,
        status=2,
        backoff_factor=0.3,
        status_forcelist=retry_statuses,
        allowed_methods=None,
        raise_on_status=False,
    )
    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(max_retries=retry))
    session.headers["User-Agent"] = "kcguard-client"
    return session


def issuer_of_api(api_url: str, *, timeout: float, allow_insecure_http: bool) -> str:
    """The authorization server named by the API's RFC 9728 metadata, found from the API's URL alone.

    RFC 9728 section 3.3: the document's ``resource`` must be the URL it was
    asked for, or an attacker's document could point the client elsewhere.
    """
    url = api_url.rstrip("/") + WELL_KNOWN_PATH
    try:
        document = fetch_json(url, timeout=timeout, allow_insecure_http=allow_insecure_http)
    except ProviderUnavailable as error:
        raise TokenError(f"The API's resource metadata could not be read: {error}") from None
    if document.get("resource") != api_url.rstrip("/"):
        raise TokenError(f"The API's resource metadata names resource {document.get('resource')!r}, not {api_url!r}")
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
        raise TokenError("The API's resource metadata names no authorization server")
    return servers[0]


class TokenClient:
    """Client-credentials tokens, cached per scope until ``expiry_margin`` before expiry.

    With ``settings.dpop`` the tokens are DPoP-bound (RFC 9449): every token
    request carries a proof signed by ``dpop_key``, and a ``use_dpop_nonce``
    answer is retried once with Keycloak's nonce.
    """

    def __init__(
        self,
        settings: ClientSettings,
        clock: Callable[[], float] = time.monotonic,
        dpop_key: DPoPKey | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        keycloak_statuses = (502, 503, 504)
        self._oauth = _with_retries(
            OAuth2Session(settings.client_id, settings.client_secret, token_endpoint_auth_method=settings.auth_method),
            retry_statuses=keycloak_statuses,
        )
        self._oauth.hooks["response"].append(self._remember_nonce)
        self._metadata: ProviderMetadata | None = None
        self.dpop_key = dpop_key
        if self.dpop_key is None and settings.dpop:
            self.dpop_key = DPoPKey.from_file(settings.dpop_key_file) if settings.dpop_key_file else DPoPKey()
        self._tokens: dict[str, tuple[str, float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._metadata_lock = threading.Lock()
        #: Token requests sent to Keycloak; lets tests and the benchmark count them.
        self.token_requests = 0

    def _provider_metadata(self) -> ProviderMetadata:
        """Keycloak's discovery document: from the settings, or found through the API's metadata."""
        with self._metadata_lock:
            if self._metadata is None:
                issuer, discovery_url = self._settings.issuer, self._settings.discovery_url
                if self._settings.issuer_from_api:
                    issuer = issuer_of_api(
                        self._settings.api_url,
                        timeout=self._settings.timeout,
                        allow_insecure_http=self._settings.allow_insecure_http,
                    )
                    discovery_url = discovery_url_of(issuer)
                self._metadata = ProviderMetadata(
                    discovery_url,
                    issuer,
                    timeout=self._settings.timeout,
                    allow_insecure_http=self._settings.allow_insecure_http,
                )
            return self._metadata

    @property
    def token_url(self) -> str:
        if self._settings.token_url:
            return self._settings.token_url
        try:
            return self._provider_metadata().endpoint("token_endpoint")
        except ProviderUnavailable as error:
            raise KeycloakUnreachable(f"Keycloak discovery failed: {error}") from None

    def get_token(self, scope: str | None = None) -> str:
        """A valid access token for ``scope`` (default: the configured scope)."""
        return self.get_token_response(scope)["access_token"]

    def get_token_response(self, scope: str | None = None) -> dict[str, Any]:
        """The cached (or freshly fetched) token response for ``scope``."""
        key = self._settings.scope if scope is None else scope
        with self._lock:
            cached = self._tokens.get(key)
            if cached and self._clock() < cached[1]:
                return cached[2]
            response = self._fetch(key)
            expires_in = float(response.get("expires_in") or DEFAULT_EXPIRES_IN)
            margin = min(self._settings.expiry_margin, expires_in / 2)
            self._tokens[key] = (response["access_token"], self._clock() + expires_in - margin, response)
            return response

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the API refused it) unless a newer one already replaced it."""
        with self._lock:
            for key, cached in list(self._tokens.items()):
                if cached[0] == token:
                    del self._tokens[key]

    def _remember_nonce(self, response: requests.Response, **kwargs: Any) -> None:
        """Keycloak may hand out a DPoP nonce on any token response (RFC 9449 section 8)."""
        if response.headers.get("DPoP-Nonce") and self.dpop_key is not None:
            self.dpop_key.remember_nonce(response.url, response.headers["DPoP-Nonce"])

    def _fetch(self, scope: str) -> dict[str, Any]:
        token_url = self.token_url
        for attempt in range(2):
            try:
                return self._fetch_once(token_url, scope)
            except TokenError as error:
                if error.error != "use_dpop_nonce" or attempt or self.dpop_key is None:
                    raise
                logger.info("Keycloak asked for a DPoP nonce; retrying once with it")
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch_once(self, token_url: str, scope: str) -> dict[str, Any]:
        self.token_requests += 1
        extra: dict[str, Any] = {"scope": scope} if scope else {}
        if self.dpop_key is not None:
            extra["headers"] = {"DPoP": self.dpop_key.proof("POST", token_url)}
        try:
            response = self._oauth.fetch_token(
                token_url,
                grant_type="client_credentials",
                timeout=self._settings.timeout,
                # A redirect would carry the client's secret to a URL nobody checked.
                allow_redirects=False,
                **extra,
            )
        except OAuthError as error:
            raise self._oauth_error(error.error, error.description or "") from None
        except requests.RequestException as error:
            raise KeycloakUnreachable(f"Keycloak token endpoint unreachable ({type(error).__name__})") from None
        except ValueError:
            raise KeycloakUnreachable("Keycloak's token endpoint did not answer a JSON object") from None
        if not isinstance(response.get("access_token"), str):
            raise TokenError("Keycloak's token response has no access_token")
        if self.dpop_key is not None and str(response.get("token_type", "")).lower() != "dpop":
            raise TokenError("Keycloak answered a Bearer token to a DPoP token request")
        logger.info("fetched a token for %s (scope %r)", self._settings.client_id, response.get("scope", ""))
        return dict(response)

    def _oauth_error(self, error: str, description: str) -> TokenError:
        message = f"{error}: {description}" if description else error
        if error in ("invalid_client", "unauthorized_client"):
            # Keycloak 26 answers a wrong secret with 401 unauthorized_client.
            return InvalidClient(
                f"Keycloak refused client {self._settings.client_id!r} ({message})", error, description
            )
        if error == "invalid_scope":
            return InvalidScope(f"Keycloak refused the scope ({message})", error, description)
        return TokenError(f"Keycloak refused the token request ({message})", error, description)


class BearerAuth(requests.auth.AuthBase):
    """Attach a cached token; on a 401 from the API, fetch a new one and resend once."""

    def __init__(self, tokens: TokenClient, scope: str | None = None) -> None:
        self._tokens = tokens
        self._scope = scope

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._sign(request, self._tokens.get_token(self._scope))
        request.register_hook("response", self._retry_on_401)
        return request

    def _sign(self, request: requests.PreparedRequest, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"

    def _token_refused(self, response: requests.Response) -> bool:
        """Whether the 401 refused the token itself, so a new one is fetched before the retry."""
        return True

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_kcguard_retried", False):
            return response
        if self._token_refused(response):
            self._tokens.invalidate(response.request.headers.get("Authorization", "").partition(" ")[2])
        retry = response.request.copy()
        retry._kcguard_retried = True  # type: ignore[attr-defined]
        self._sign(retry, self._tokens.get_token(self._scope))
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        logger.info("the API answered 401; retrying once")
        new_response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response


class DPoPAuth(BearerAuth):
    """``Authorization: DPoP <token>`` with a fresh proof per request (RFC 9449 section 7).

    A 401 is retried once with a new proof: with the API's nonce after
    ``use_dpop_nonce``, with the same token after ``invalid_dpop_proof``,
    otherwise with a new token.
    """

    def __init__(self, tokens: TokenClient, scope: str | None = None) -> None:
        super().__init__(tokens, scope)
        if tokens.dpop_key is None:
            raise ValueError("DPoPAuth needs a TokenClient with a DPoP key")
        self._key = tokens.dpop_key

    def _sign(self, request: requests.PreparedRequest, token: str) -> None:
        request.headers["Authorization"] = f"DPoP {token}"
        method, url = request.method or "GET", request.url or ""
        request.headers["DPoP"] = self._key.proof(method, url, access_token=token)

    def _token_refused(self, response: requests.Response) -> bool:
        challenge = response.headers.get("WWW-Authenticate", "")
        return 'error="use_dpop_nonce"' not in challenge and 'error="invalid_dpop_proof"' not in challenge

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.headers.get("DPoP-Nonce"):
            self._key.remember_nonce(response.url, response.headers["DPoP-Nonce"])
        return super()._retry_on_401(response, **kwargs)


class ApiClient:
    """Calls the API with tokens from ``TokenClient`` (DPoP-bound when ``settings.dpop``)."""

    def __init__(self, settings: ClientSettings, tokens: TokenClient | None = None) -> None:
        self.settings = settings
        self.tokens = tokens or TokenClient(settings)
        self._session = _with_retries(requests.Session(), retry_statuses=())
        self._auth = DPoPAuth if self.tokens.dpop_key is not None else BearerAuth

    def request(
        self, method: str, path: str, *, json: Any = None, scope: str | None = None, authenticate: bool = True
    ) -> requests.Response:
        """Send ``method path`` to the API; ``requests.RequestException`` if it cannot be reached."""
        url = self.settings.api_url + "/" + path.lstrip("/")
        auth = self._auth(self.tokens, scope) if authenticate else None
        return self._session.request(method, url, json=json, auth=auth, timeout=self.settings.timeout)
