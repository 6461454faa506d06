"""What token validation needs to know, and nothing else.

An app that uses the core builds ``ResourceSettings(issuer=..., audience=...)``
itself, or reads the ``OIDC_*`` variables with ``ResourceSettings.from_env()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import ConfigError, EnvSettings, check_bounds, check_url, discovery_url_of, realm_of, setting
from .dpop import DEFAULT_DPOP_ALGORITHMS, DPoPSettings

#: Algorithms a resource server may sensibly allow; "none" and HMAC are never
#: accepted because the keys come from a public JWKS (RFC 8725 section 3.1).
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: OIDC_DPOP: accept DPoP-bound tokens beside Bearer ones, only them, or neither (RFC 9449).
DPOP_POLICIES = ("allowed", "required", "off")


@dataclass(frozen=True)
class ResourceSettings(EnvSettings):
    """Issuer, audience, algorithms, clock leeway, key and token caches, optional introspection."""

    issuer: str = setting("OIDC_ISSUER", "http://localhost:8080/realms/myorg", strip_slash=True)
    audience: str = setting("OIDC_AUDIENCE", "test_api_resource")
    discovery_url: str = setting("OIDC_DISCOVERY_URL", "")
    jwks_url: str = setting("OIDC_JWKS_URL", "")
    algorithms: tuple[str, ...] = setting("OIDC_ALGORITHMS", ("RS256",))
    leeway: int = setting("OIDC_LEEWAY", 30, minimum=0, maximum=300)
    jwks_cache_ttl: float = setting("OIDC_JWKS_CACHE_TTL", 600.0, minimum=1, maximum=86_400)
    jwks_refresh_cooldown: float = setting("OIDC_JWKS_REFRESH_COOLDOWN", 30.0, minimum=1, maximum=3_600)
    #: Unknown-kid refetches allowed at once; the budget refills at one per cooldown.
    jwks_refetch_burst: int = setting("OIDC_JWKS_REFETCH_BURST", 1, minimum=1, maximum=10)
    #: Last good keys are used through an outage for at most this long after the last good fetch.
    jwks_max_staleness: float = setting("OIDC_JWKS_MAX_STALENESS", 86_400.0, minimum=1, maximum=30 * 86_400)
    #: How long a request may wait for a key fetch it needs (no keys yet, unknown kid).
    key_fetch_wait: float = setting("OIDC_KEY_FETCH_WAIT", 1.0, minimum=0, maximum=30)
    http_timeout: float = setting("OIDC_HTTP_TIMEOUT", 5.0, minimum=0, maximum=60)
    allow_insecure_http: bool = setting("OIDC_ALLOW_INSECURE_HTTP", False)
    token_cache_size: int = setting("OIDC_TOKEN_CACHE_SIZE", 10_000, minimum=0, maximum=1_000_000)
    introspection: bool = setting("OIDC_INTROSPECTION", False)
    introspection_client_id: str = setting("OIDC_INTROSPECTION_CLIENT_ID", "test_api_resource")
    introspection_client_secret: str = setting("OIDC_INTROSPECTION_CLIENT_SECRET", "", secret=True)
    introspection_cache_ttl: float = setting("OIDC_INTROSPECTION_CACHE_TTL", 10.0, minimum=0, maximum=3_600)
    dpop: str = setting("OIDC_DPOP", "allowed")
    dpop_algorithms: tuple[str, ...] = setting("OIDC_DPOP_ALGORITHMS", DEFAULT_DPOP_ALGORITHMS)
    dpop_max_age: float = setting("OIDC_DPOP_MAX_AGE", 60.0, minimum=1)
    dpop_max_skew: float = setting("OIDC_DPOP_MAX_SKEW", 5.0, minimum=0)
    dpop_nonces: bool = setting("OIDC_DPOP_NONCES", False)
    public_url: str = setting("PUBLIC_URL", "", strip_slash=True)
    resource_metadata: bool = setting("OIDC_RESOURCE_METADATA", True)
    resource_name: str = setting("RESOURCE_NAME", "kcguard demo API")
    #: Several issuers (Keycloak realms as tenants), each ``issuer[|audience[|discovery URL]]``;
    #: when set, the first one replaces ``issuer`` and ``discovery_url`` (the browser sign-in uses it).
    issuers: tuple[str, ...] = setting("OIDC_ISSUERS", ())

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.issuers:
            self._take_first_issuer()
        if not self.discovery_url:
            object.__setattr__(self, "discovery_url", discovery_url_of(self.issuer))
        check_url("OIDC_ISSUER", self.issuer, allow_insecure_http=True)
        check_url("OIDC_DISCOVERY_URL", self.discovery_url, allow_insecure_http=self.allow_insecure_http)
        if self.jwks_url:
            check_url("OIDC_JWKS_URL", self.jwks_url, allow_insecure_http=self.allow_insecure_http)
        if not self.audience:
            raise ConfigError("OIDC_AUDIENCE must not be empty: tokens meant for other APIs would pass")
        unknown = [alg for alg in self.algorithms if alg not in SUPPORTED_ALGORITHMS]
        if unknown or not self.algorithms:
            raise ConfigError(
                f"OIDC_ALGORITHMS must list asymmetric JWS algorithms from {sorted(SUPPORTED_ALGORITHMS)}, "
                f"got {','.join(self.algorithms) or 'nothing'}"
            )
        if self.http_timeout <= 0:
            raise ConfigError("OIDC_HTTP_TIMEOUT must be greater than 0")
        if self.jwks_max_staleness < self.jwks_cache_ttl:
            raise ConfigError(
                f"OIDC_JWKS_MAX_STALENESS ({self.jwks_max_staleness:g}) must be at least "
                f"OIDC_JWKS_CACHE_TTL ({self.jwks_cache_ttl:g})"
            )
        if self.introspection and not self.introspection_client_secret:
            raise ConfigError("OIDC_INTROSPECTION=1 needs OIDC_INTROSPECTION_CLIENT_SECRET")
        object.__setattr__(self, "dpop", self.dpop.lower())
        if self.dpop not in DPOP_POLICIES:
            raise ConfigError(f"OIDC_DPOP must be one of {', '.join(DPOP_POLICIES)}, got {self.dpop!r}")
        try:
            self.dpop_settings  # noqa: B018 - checks the DPoP values once, at start-up
        except ValueError as error:
            raise ConfigError(f"OIDC_DPOP_ALGORITHMS: {error}") from None
        if self.public_url:
            check_url("PUBLIC_URL", self.public_url, allow_insecure_http=self.allow_insecure_http)
            parts = urlsplit(self.public_url)
            if parts.path.strip("/") or parts.query or parts.fragment:
                # RFC 9728 section 3.1 puts the metadata at <origin>/.well-known/oauth-protected-resource<path>;
                # the core serves it at the app's root, so the public URL is an origin.
                raise ConfigError(f"PUBLIC_URL must be an origin like https://api.example.org, got {self.public_url!r}")
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    @property
    def dpop_settings(self) -> DPoPSettings:
        return DPoPSettings(
            algorithms=self.dpop_algorithms,
            max_age=self.dpop_max_age,
            max_skew=self.dpop_max_skew,
            nonces=self.dpop_nonces,
        )
        if len(self.issuers) > 1:
            self.per_issuer()  # each issuer's own checks, at start-up rather than on the first request

    def _take_first_issuer(self) -> None:
        entries = [parse_issuer_entry(entry) for entry in self.issuers]
        names = [issuer for issuer, _, _ in entries]
        if len(set(names)) != len(names):
            raise ConfigError(f"OIDC_ISSUERS names an issuer twice: {', '.join(names)}")
        if self.jwks_url and len(entries) > 1:
            raise ConfigError("OIDC_JWKS_URL works with one issuer only; leave it empty with several OIDC_ISSUERS")
        issuer, _, discovery_url = entries[0]
        object.__setattr__(self, "issuer", issuer)
        object.__setattr__(self, "discovery_url", discovery_url or discovery_url_of(issuer))

    def per_issuer(self) -> list[ResourceSettings]:
        """One settings object per configured issuer (just ``[self]`` without ``OIDC_ISSUERS``)."""
        if not self.issuers:
            return [self]
        result = []
        for issuer, audience, discovery_url in map(parse_issuer_entry, self.issuers):
            result.append(
                dataclasses.replace(
                    self,
                    issuers=(),
                    issuer=issuer,
                    audience=audience or self.audience,
                    discovery_url=discovery_url or discovery_url_of(issuer),
                )
            )
        return result

    @property
    def realm(self) -> str:
        """The ``realm`` of the ``WWW-Authenticate`` challenge: Keycloak's realm name."""
        return realm_of(self.issuer)


def parse_issuer_entry(entry: str) -> tuple[str, str, str]:
    """``issuer[|audience[|discovery URL]]`` from ``OIDC_ISSUERS``; empty parts mean the defaults."""
    parts = [part.strip() for part in entry.split("|")]
    if len(parts) > 3 or not parts[0]:
        raise ConfigError(f"OIDC_ISSUERS entries are issuer[|audience[|discovery URL]], got {entry!r}")
    issuer, audience, discovery_url = [*parts, "", ""][:3]
    check_url("OIDC_ISSUERS", issuer, allow_insecure_http=True)
    return issuer.rstrip("/"), audience, discovery_url.rstrip("/")
