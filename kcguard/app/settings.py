"""The demo service's settings: how it listens, its database, the browser sign-in, and the core's settings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import LOOPBACK_HOSTS, ConfigError, EnvSettings, check_bounds, check_url, setting
from ..resource.settings import ResourceSettings

#: A SECRET_KEY with fewer different characters than this is a word or a pattern, not a random key.
MIN_SECRET_KEY_VARIETY = 10


def weak_secret_key(key: str) -> bool:
    """True for a key anyone could guess: short, the demo value, one repeated character, a repeated pattern."""
    if len(key) < 32 or key.startswith("demo-only") or len(set(key)) < MIN_SECRET_KEY_VARIETY:
        return True
    return any(len(key) % size == 0 and key == key[:size] * (len(key) // size) for size in range(1, len(key) // 2 + 1))


def check_public_url(url: str) -> str:
    """PUBLIC_URL is an origin (``scheme://host[:port]``), https unless the host is loopback."""
    check_url("PUBLIC_URL", url, allow_insecure_http=False)
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"PUBLIC_URL must be an origin such as https://app.example.com, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(f"PUBLIC_URL must use https off loopback, got {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class AppSettings(EnvSettings):
    """Everything ``create_app`` needs; token validation's part is ``resource``."""

    resource: ResourceSettings = field(default_factory=ResourceSettings)
    host: str = setting("HOST", "127.0.0.1")
    port: int = setting("PORT", 50100, minimum=1, maximum=65535)
    database: str = setting("DATABASE", "")
    #: PostgreSQL (``postgresql://user:password@host:5432/db``) instead of the SQLite file, for replicas.
    database_url: str = setting("DATABASE_URL", "", secret=True)
    database_pool_size: int = setting("DATABASE_POOL_SIZE", 5, minimum=1, maximum=100)
    web_client_id: str = setting("WEB_CLIENT_ID", "web_app", empty_is_value=True)
    app_env: str = setting("APP_ENV", "development")
    secret_key: str = setting("SECRET_KEY", "", secret=True)
    #: The origin browsers use (``https://app.example.com``): ``redirect_uri`` is built from it, not from ``Host``.
    public_url: str = setting("PUBLIC_URL", "", strip_slash=True)
    log_level: str = setting("LOG_LEVEL", "INFO")
    #: /openapi.json and the explorer at /docs: auto (on unless APP_ENV=production), on or off.
    api_docs: str = setting("API_DOCS", "auto")
    #: /api/recent-sign-in (the step-up demo, RFC 9470) needs a sign-in this recent.
    step_up_max_age: int = setting("STEP_UP_MAX_AGE", 300, minimum=0)
    #: ``text`` (one line per record) or ``json`` (one JSON object per line).
    log_format: str = setting("LOG_FORMAT", "text")
    #: ``on``: ``GET /metrics`` on the app; ``off``; or a port for a listener of its own on 127.0.0.1.
    metrics: str = setting("METRICS", "on")
    #: prometheus-client's multiprocess directory; set it (empty) before a multi-worker server starts.
    metrics_dir: str = setting("PROMETHEUS_MULTIPROC_DIR", "")

    def __post_init__(self) -> None:
        check_bounds(self)
        object.__setattr__(self, "app_env", self.app_env.lower())
        object.__setattr__(self, "log_level", self.log_level.upper())
        object.__setattr__(self, "api_docs", self.api_docs.lower())
        if self.api_docs not in ("auto", "on", "off"):
            raise ConfigError(f"API_DOCS must be auto, on or off, got {self.api_docs!r}")
        object.__setattr__(self, "log_format", self.log_format.lower())
        object.__setattr__(self, "metrics", self.metrics.lower())
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be text or json, got {self.log_format!r}")
        if self.metrics not in ("on", "off") and not (self.metrics.isdigit() and 0 < int(self.metrics) < 65536):
            raise ConfigError(f"METRICS must be on, off or a port number, got {self.metrics!r}")
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            # The value is not repeated: it may hold a password.
            raise ConfigError("DATABASE_URL must be a postgresql:// URL (or empty for the SQLite file DATABASE)")
        if self.app_env not in ("development", "production"):
            raise ConfigError(f"APP_ENV must be development or production, got {self.app_env!r}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.app_env == "production":
            self._check_production_transport()
        if self.public_url:
            object.__setattr__(self, "public_url", check_public_url(self.public_url))
        if self.public_url != self.resource.public_url and self.public_url:
            # One PUBLIC_URL: the core's DPoP htu and RFC 9728 resource follow the app's origin.
            object.__setattr__(self, "resource", dataclasses.replace(self.resource, public_url=self.public_url))
        if self.app_env == "production" and self.web_client_id:
            if weak_secret_key(self.secret_key):
                raise ConfigError(
                    "SECRET_KEY must be set to 32+ random characters (not the demo value, not a repeated "
                    "character or pattern) when APP_ENV=production and the browser sign-in is on"
                )
            if not self.public_url:
                raise ConfigError(
                    "PUBLIC_URL must be set (e.g. https://app.example.com) when APP_ENV=production and the "
                    "browser sign-in is on: the sign-in's redirect_uri is built from it, not from the Host header"
                )

    @property
    def docs_enabled(self) -> bool:
        """Serve /openapi.json and /docs: on in development, off in production unless API_DOCS=on."""
        return self.api_docs == "on" or (self.api_docs == "auto" and self.app_env != "production")

    @property
    def metrics_port(self) -> int | None:
        """The port of the separate metrics listener (``METRICS=<port>``), if any."""
        return int(self.metrics) if self.metrics.isdigit() else None

    def _check_production_transport(self) -> None:
        """In production, tokens and keys never travel over plain http except on loopback.

        ``OIDC_ALLOW_INSECURE_HTTP=1`` exists for the compose network; a
        production deployment that needs it is trusting every hop between
        the API and Keycloak, so it is refused rather than warned about.
        """
        if self.resource.allow_insecure_http:
            raise ConfigError("OIDC_ALLOW_INSECURE_HTTP=1 is refused when APP_ENV=production: use https")
        parts = urlsplit(self.resource.issuer)
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"OIDC_ISSUER uses plain http on a non-loopback host ({parts.hostname}) "
                "and APP_ENV=production: use https"
            )
