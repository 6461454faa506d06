"""The demo service's settings: how it listens, its database, the browser sign-in, and the core's settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import ConfigError, EnvSettings, check_bounds, setting
from ..resource.settings import ResourceSettings


@dataclass(frozen=True)
class AppSettings(EnvSettings):
    """Everything ``create_app`` needs; token validation's part is ``resource``."""

    resource: ResourceSettings = field(default_factory=ResourceSettings)
    host: str = setting("HOST", "127.0.0.1")
    port: int = setting("PORT", 50100, minimum=1, maximum=65535)
    database: str = setting("DATABASE", "")
    web_client_id: str = setting("WEB_CLIENT_ID", "web_app", empty_is_value=True)
    app_env: str = setting("APP_ENV", "development")
    secret_key: str = setting("SECRET_KEY", "", secret=True)
    log_level: str = setting("LOG_LEVEL", "INFO")

    def __post_init__(self) -> None:
        check_bounds(self)
        object.__setattr__(self, "app_env", self.app_env.lower())
        object.__setattr__(self, "log_level", self.log_level.upper())
        if self.app_env not in ("development", "production"):
            raise ConfigError(f"APP_ENV must be development or production, got {self.app_env!r}")
        weak_key = len(self.secret_key) < 32 or self.secret_key.startswith("demo-only")
        if self.app_env == "production" and self.web_client_id and weak_key:
            raise ConfigError(
                "SECRET_KEY must be set to 32+ random characters (not the demo value) "
                "when APP_ENV=production and the browser sign-in is on"
            )
