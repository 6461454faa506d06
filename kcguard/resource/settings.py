"""What token validation needs to know, and nothing else.

An app that uses the core builds ``ResourceSettings(issuer=..., audience=...)``
itself, or reads the ``OIDC_*`` variables with ``ResourceSettings.from_env()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError, EnvSettings, check_bounds, check_url, discovery_url_of, realm_of, setting

#: Algorithms a resource server may sensibly allow; "none" and HMAC are never
#: accepted because the keys come from a public JWKS (RFC 8725 section 3.1).
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclass(frozen=True)
class ResourceSettings(EnvSettings):
    """Issuer, audience, algorithms, clock leeway, key and token caches, optional introspection."""

    issuer: str = setting("OIDC_ISSUER", "http://localhost:8080/realms/myorg", strip_slash=True)
    audience: str = setting("OIDC_AUDIENCE", "test_api_resource")
    discovery_url: str = setting("OIDC_DISCOVERY_URL", "")
    jwks_url: str = setting("OIDC_JWKS_URL", "")
    algorithms: tuple[str, ...] = setting("OIDC_ALGORITHMS", ("RS256",))
    leeway: int = setting("OIDC_LEEWAY", 30, minimum=0)
    jwks_cache_ttl: float = setting("OIDC_JWKS_CACHE_TTL", 600.0, minimum=0)
    jwks_refresh_cooldown: float = setting("OIDC_JWKS_REFRESH_COOLDOWN", 30.0, minimum=0)
    http_timeout: float = setting("OIDC_HTTP_TIMEOUT", 5.0, minimum=0)
    allow_insecure_http: bool = setting("OIDC_ALLOW_INSECURE_HTTP", False)
    token_cache_size: int = setting("OIDC_TOKEN_CACHE_SIZE", 10_000, minimum=0)
    introspection: bool = setting("OIDC_INTROSPECTION", False)
    introspection_client_id: str = setting("OIDC_INTROSPECTION_CLIENT_ID", "test_api_resource")
    introspection_client_secret: str = setting("OIDC_INTROSPECTION_CLIENT_SECRET", "", secret=True)
    introspection_cache_ttl: float = setting("OIDC_INTROSPECTION_CACHE_TTL", 10.0, minimum=0)

    def __post_init__(self) -> None:
        check_bounds(self)
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
        if self.introspection and not self.introspection_client_secret:
            raise ConfigError("OIDC_INTROSPECTION=1 needs OIDC_INTROSPECTION_CLIENT_SECRET")

    @property
    def realm(self) -> str:
        """The ``realm`` of the ``WWW-Authenticate`` challenge: Keycloak's realm name."""
        return realm_of(self.issuer)
