"""Every setting the server and the client read, parsed and validated once.

Values come from the process environment (``server.py`` and ``client.py``
load ``.env`` into it first with python-dotenv; real variables win). A bad
value stops start-up with a message naming the variable, never a stack trace
deep inside a request.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: Algorithms a resource server may sensibly allow; "none" and HMAC are never
#: accepted because the keys come from a public JWKS (RFC 8725 section 3.1).
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, "").strip() or default


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0) -> float:
    raw = _text(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    value = _number(env, name, default, minimum=minimum)
    if value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {env.get(name)!r}")
    return int(value)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = _text(env, name, "0").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1/0 (or true/false), got {env.get(name)!r}")


def check_url(name: str, url: str, *, allow_insecure_http: bool) -> str:
    """Refuse URLs that are not absolute http(s), and plain http off loopback.

    Tokens and keys fetched over plain http can be swapped in transit, so it
    is allowed only for loopback hosts or when explicitly switched on.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS and not allow_insecure_http:
        raise ConfigError(
            f"{name} uses plain http on a non-loopback host ({parts.hostname}); "
            "use https, or set OIDC_ALLOW_INSECURE_HTTP=1 on a trusted network"
        )
    return url


def realm_of(issuer: str) -> str:
    """The Keycloak realm name is the last path segment of its issuer URL."""
    return urlsplit(issuer).path.rstrip("/").rsplit("/", 1)[-1] or "api"


def _discovery_default(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class ServerSettings:
    """How the API listens and how it validates Keycloak's access tokens."""

    host: str = "127.0.0.1"
    port: int = 50100
    issuer: str = "http://localhost:8080/realms/myorg"
    discovery_url: str = ""
    jwks_url: str = ""
    audience: str = "test_api_resource"
    algorithms: tuple[str, ...] = ("RS256",)
    leeway: int = 30
    jwks_cache_ttl: float = 600.0
    jwks_refresh_cooldown: float = 30.0
    http_timeout: float = 5.0
    allow_insecure_http: bool = False
    token_cache_size: int = 10_000
    introspection: bool = False
    introspection_client_id: str = "test_api_resource"
    introspection_client_secret: str = dataclasses.field(default="", repr=False)
    introspection_cache_ttl: float = 10.0
    database: str = ""
    web_client_id: str = "web_app"
    app_env: str = "development"
    secret_key: str = dataclasses.field(default="", repr=False)
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not self.discovery_url:
            object.__setattr__(self, "discovery_url", _discovery_default(self.issuer))
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
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be between 1 and 65535, got {self.port}")
        if self.http_timeout <= 0:
            raise ConfigError("OIDC_HTTP_TIMEOUT must be greater than 0")
        if self.introspection and not self.introspection_client_secret:
            raise ConfigError("OIDC_INTROSPECTION=1 needs OIDC_INTROSPECTION_CLIENT_SECRET")
        if self.app_env not in ("development", "production"):
            raise ConfigError(f"APP_ENV must be development or production, got {self.app_env!r}")
        weak_key = len(self.secret_key) < 32 or self.secret_key.startswith("demo-only")
        if self.app_env == "production" and self.web_client_id and weak_key:
            raise ConfigError(
                "SECRET_KEY must be set to 32+ random characters (not the demo value) "
                "when APP_ENV=production and the browser sign-in is on"
            )

    @property
    def realm(self) -> str:
        return realm_of(self.issuer)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ServerSettings:
        """Read the settings from ``env`` (default: ``os.environ``); ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "host": _text(env, "HOST", cls.host),
            "port": _integer(env, "PORT", cls.port, minimum=1),
            "issuer": _text(env, "OIDC_ISSUER", cls.issuer).rstrip("/"),
            "discovery_url": _text(env, "OIDC_DISCOVERY_URL"),
            "jwks_url": _text(env, "OIDC_JWKS_URL"),
            "audience": _text(env, "OIDC_AUDIENCE", cls.audience),
            "algorithms": tuple(a.strip() for a in _text(env, "OIDC_ALGORITHMS", "RS256").split(",") if a.strip()),
            "leeway": _integer(env, "OIDC_LEEWAY", cls.leeway),
            "jwks_cache_ttl": _number(env, "OIDC_JWKS_CACHE_TTL", cls.jwks_cache_ttl),
            "jwks_refresh_cooldown": _number(env, "OIDC_JWKS_REFRESH_COOLDOWN", cls.jwks_refresh_cooldown),
            "http_timeout": _number(env, "OIDC_HTTP_TIMEOUT", cls.http_timeout),
            "allow_insecure_http": _flag(env, "OIDC_ALLOW_INSECURE_HTTP"),
            "token_cache_size": _integer(env, "OIDC_TOKEN_CACHE_SIZE", cls.token_cache_size),
            "introspection": _flag(env, "OIDC_INTROSPECTION"),
            "introspection_client_id": _text(env, "OIDC_INTROSPECTION_CLIENT_ID", cls.introspection_client_id),
            "introspection_client_secret": _text(env, "OIDC_INTROSPECTION_CLIENT_SECRET"),
            "introspection_cache_ttl": _number(env, "OIDC_INTROSPECTION_CACHE_TTL", cls.introspection_cache_ttl),
            "database": _text(env, "DATABASE"),
            "web_client_id": env.get("WEB_CLIENT_ID", cls.web_client_id).strip(),
            "app_env": _text(env, "APP_ENV", cls.app_env).lower(),
            "secret_key": _text(env, "SECRET_KEY"),
            "log_level": _text(env, "LOG_LEVEL", cls.log_level).upper(),
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class ClientSettings:
    """Where the token client gets tokens and which API it calls."""

    issuer: str = "http://localhost:8080/realms/myorg"
    discovery_url: str = ""
    token_url: str = ""
    client_id: str = ""
    client_secret: str = dataclasses.field(default="", repr=False)
    auth_method: str = "client_secret_basic"
    scope: str = "test_api_access"
    api_url: str = "http://127.0.0.1:50100"
    timeout: float = 10.0
    expiry_margin: float = 30.0
    allow_insecure_http: bool = False

    def __post_init__(self) -> None:
        if not self.discovery_url:
            object.__setattr__(self, "discovery_url", _discovery_default(self.issuer))
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ClientSettings:
        """Read the settings from ``env`` (default: ``os.environ``); ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "issuer": _text(env, "OIDC_ISSUER", cls.issuer).rstrip("/"),
            "discovery_url": _text(env, "OIDC_DISCOVERY_URL"),
            "token_url": _text(env, "OIDC_TOKEN_URL"),
            "client_id": _text(env, "CLIENT_ID"),
            "client_secret": _text(env, "CLIENT_SECRET"),
            "auth_method": _text(env, "CLIENT_AUTH_METHOD", cls.auth_method),
            "scope": env.get("CLIENT_SCOPE", cls.scope).strip(),
            "api_url": _text(env, "API_URL", cls.api_url).rstrip("/"),
            "timeout": _number(env, "CLIENT_TIMEOUT", cls.timeout),
            "expiry_margin": _number(env, "TOKEN_EXPIRY_MARGIN", cls.expiry_margin),
            "allow_insecure_http": _flag(env, "OIDC_ALLOW_INSECURE_HTTP"),
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class AdminSettings:
    """Which Keycloak realm ``kcguard.admin`` manages, and as which service account."""

    issuer: str = "http://localhost:8080/realms/myorg"
    server_url: str = ""
    client_id: str = "api_admin"
    client_secret: str = dataclasses.field(default="", repr=False)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        check_url("OIDC_ISSUER", self.issuer, allow_insecure_http=True)
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> AdminSettings:
        """Read the settings from ``env`` (default: ``os.environ``); ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "issuer": _text(env, "OIDC_ISSUER", cls.issuer).rstrip("/"),
            "server_url": _text(env, "KEYCLOAK_ADMIN_URL").rstrip("/"),
            "client_id": _text(env, "ADMIN_CLIENT_ID", cls.client_id),
            "client_secret": _text(env, "ADMIN_CLIENT_SECRET"),
            "timeout": _number(env, "ADMIN_TIMEOUT", cls.timeout),
        }
        values.update(overrides)
        return cls(**values)
