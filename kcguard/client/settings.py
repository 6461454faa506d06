"""Where the token client gets tokens and which API it calls."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError, EnvSettings, check_bounds, check_url, discovery_url_of, setting

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class ClientSettings(EnvSettings):
    """The client's credentials, Keycloak's URLs, the API's URL and the timeouts."""

    issuer: str = setting("OIDC_ISSUER", "http://localhost:8080/realms/myorg", strip_slash=True)
    discovery_url: str = setting("OIDC_DISCOVERY_URL", "")
    token_url: str = setting("OIDC_TOKEN_URL", "")
    client_id: str = setting("CLIENT_ID", "")
    client_secret: str = setting("CLIENT_SECRET", "", secret=True)
    auth_method: str = setting("CLIENT_AUTH_METHOD", "client_secret_basic")
    scope: str = setting("CLIENT_SCOPE", "test_api_access", empty_is_value=True)
    api_url: str = setting("API_URL", "http://127.0.0.1:50100", strip_slash=True)
    timeout: float = setting("CLIENT_TIMEOUT", 10.0, minimum=0, maximum=60)
    expiry_margin: float = setting("TOKEN_EXPIRY_MARGIN", 30.0, minimum=0, maximum=3_600)
    allow_insecure_http: bool = setting("OIDC_ALLOW_INSECURE_HTTP", False)
    #: Ask for DPoP-bound tokens and sign a proof per call (RFC 9449).
    dpop: bool = setting("CLIENT_DPOP", False)
    #: The DPoP key (a P-256 PEM or JWK file); default: a new key per process.
    dpop_key_file: str = setting("CLIENT_DPOP_KEY_FILE", "")
    #: Find the issuer from API_URL's RFC 9728 metadata instead of OIDC_ISSUER.
    issuer_from_api: bool = setting("CLIENT_ISSUER_FROM_API", False)

    def __post_init__(self) -> None:
        check_bounds(self)
        if not self.discovery_url:
            object.__setattr__(self, "discovery_url", discovery_url_of(self.issuer))
        check_url("OIDC_DISCOVERY_URL", self.discovery_url, allow_insecure_http=self.allow_insecure_http)
        if self.token_url:
            check_url("OIDC_TOKEN_URL", self.token_url, allow_insecure_http=self.allow_insecure_http)
        check_url("API_URL", self.api_url, allow_insecure_http=self.allow_insecure_http)
        if self.auth_method not in CLIENT_AUTH_METHODS:
            raise ConfigError(f"CLIENT_AUTH_METHOD must be one of {', '.join(CLIENT_AUTH_METHODS)}")
        if not self.client_id or not self.client_secret:
            raise ConfigError("CLIENT_ID and CLIENT_SECRET must be set (in the environment or .env)")
        if self.timeout <= 0:
            raise ConfigError("CLIENT_TIMEOUT must be greater than 0")
