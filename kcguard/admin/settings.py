"""Which Keycloak realm ``kcguard.admin`` manages, and as which service account."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError, EnvSettings, check_bounds, check_url, realm_of, setting


@dataclass(frozen=True)
class AdminSettings(EnvSettings):
    """The realm (from the issuer), Keycloak's admin URL and the admin client's credentials."""

    issuer: str = setting("OIDC_ISSUER", "http://localhost:8080/realms/myorg", strip_slash=True)
    server_url: str = setting("KEYCLOAK_ADMIN_URL", "", strip_slash=True)
    client_id: str = setting("ADMIN_CLIENT_ID", "api_admin")
    client_secret: str = setting("ADMIN_CLIENT_SECRET", "", secret=True)
    timeout: float = setting("ADMIN_TIMEOUT", 10.0, minimum=1, maximum=60)
    #: Where the registration access tokens of the clients it added are kept (one per client, 0600).
    token_store: str = setting("ADMIN_TOKEN_STORE", "")

    def __post_init__(self) -> None:
        check_bounds(self)
        check_url("OIDC_ISSUER", self.issuer, allow_insecure_http=True)
        if not self.token_store:
            default = Path.home() / ".config" / "kcguard" / "registration-tokens.json"
            object.__setattr__(self, "token_store", str(default))
        if "/realms/" not in self.issuer:
            raise ConfigError(f"OIDC_ISSUER must look like <keycloak>/realms/<realm>, got {self.issuer!r}")
        if not self.server_url:
            object.__setattr__(self, "server_url", self.issuer.split("/realms/", 1)[0])
        check_url("KEYCLOAK_ADMIN_URL", self.server_url, allow_insecure_http=False)
        if not self.client_secret:
            raise ConfigError("ADMIN_CLIENT_SECRET must be set (in the environment or .env)")

    @property
    def realm(self) -> str:
        return realm_of(self.issuer)
