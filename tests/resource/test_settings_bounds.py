"""Settings out of their sensible range stop start-up with a message naming the variable."""

from __future__ import annotations

import pytest

from kcguard.app.settings import AppSettings
from kcguard.client.settings import ClientSettings
from kcguard.config import ConfigError
from kcguard.resource.settings import ResourceSettings

CLIENT = {"CLIENT_ID": "c", "CLIENT_SECRET": "s"}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OIDC_LEEWAY", "1e9", "OIDC_LEEWAY must be at most 300"),
        ("OIDC_LEEWAY", "301", "OIDC_LEEWAY must be at most 300"),
        ("OIDC_LEEWAY", "-1", "OIDC_LEEWAY must be at least 0"),
        ("OIDC_JWKS_REFRESH_COOLDOWN", "0", "OIDC_JWKS_REFRESH_COOLDOWN must be at least 1"),
        ("OIDC_JWKS_REFRESH_COOLDOWN", "nan", "OIDC_JWKS_REFRESH_COOLDOWN must be a finite number"),
        ("OIDC_JWKS_REFRESH_COOLDOWN", "-5", "OIDC_JWKS_REFRESH_COOLDOWN must be at least 1"),
        ("OIDC_JWKS_CACHE_TTL", "inf", "OIDC_JWKS_CACHE_TTL must be a finite number"),
        ("OIDC_JWKS_CACHE_TTL", "0", "OIDC_JWKS_CACHE_TTL must be at least 1"),
        ("OIDC_JWKS_CACHE_TTL", "1e12", "OIDC_JWKS_CACHE_TTL must be at most 86400"),
        ("OIDC_HTTP_TIMEOUT", "0", "OIDC_HTTP_TIMEOUT must be greater than 0"),
        ("OIDC_HTTP_TIMEOUT", "-1", "OIDC_HTTP_TIMEOUT must be at least 0"),
        ("OIDC_HTTP_TIMEOUT", "inf", "OIDC_HTTP_TIMEOUT must be a finite number"),
        ("OIDC_HTTP_TIMEOUT", "61", "OIDC_HTTP_TIMEOUT must be at most 60"),
        ("OIDC_TOKEN_CACHE_SIZE", "1e9", "OIDC_TOKEN_CACHE_SIZE must be at most 1e+06"),
        ("OIDC_TOKEN_CACHE_SIZE", "-1", "OIDC_TOKEN_CACHE_SIZE must be at least 0"),
        ("OIDC_INTROSPECTION_CACHE_TTL", "nan", "OIDC_INTROSPECTION_CACHE_TTL must be a finite number"),
        ("OIDC_INTROSPECTION_CACHE_TTL", "1e9", "OIDC_INTROSPECTION_CACHE_TTL must be at most 3600"),
        ("OIDC_KEY_FETCH_WAIT", "31", "OIDC_KEY_FETCH_WAIT must be at most 30"),
        ("OIDC_KEY_FETCH_WAIT", "-0.5", "OIDC_KEY_FETCH_WAIT must be at least 0"),
        ("OIDC_JWKS_REFETCH_BURST", "0", "OIDC_JWKS_REFETCH_BURST must be at least 1"),
        ("OIDC_JWKS_REFETCH_BURST", "1000", "OIDC_JWKS_REFETCH_BURST must be at most 10"),
        ("OIDC_JWKS_MAX_STALENESS", "inf", "OIDC_JWKS_MAX_STALENESS must be a finite number"),
        ("OIDC_JWKS_MAX_STALENESS", "60", "OIDC_JWKS_MAX_STALENESS (60) must be at least OIDC_JWKS_CACHE_TTL (600)"),
    ],
)
def test_resource_setting_out_of_bounds_is_refused(variable: str, value: str, message: str):
    with pytest.raises(ConfigError) as raised:
        ResourceSettings.from_env({variable: value})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CLIENT_TIMEOUT", "inf", "CLIENT_TIMEOUT must be a finite number"),
        ("CLIENT_TIMEOUT", "61", "CLIENT_TIMEOUT must be at most 60"),
        ("TOKEN_EXPIRY_MARGIN", "nan", "TOKEN_EXPIRY_MARGIN must be a finite number"),
        ("TOKEN_EXPIRY_MARGIN", "1e9", "TOKEN_EXPIRY_MARGIN must be at most 3600"),
    ],
)
def test_client_setting_out_of_bounds_is_refused(variable: str, value: str, message: str):
    with pytest.raises(ConfigError) as raised:
        ClientSettings.from_env({**CLIENT, variable: value})
    assert str(raised.value).startswith(message)


def test_unknown_log_level_is_a_config_error():
    with pytest.raises(ConfigError) as raised:
        AppSettings.from_env({"LOG_LEVEL": "foo"})
    assert str(raised.value) == "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'FOO'"


def test_bounds_at_their_limits_are_accepted():
    settings = ResourceSettings.from_env(
        {"OIDC_LEEWAY": "300", "OIDC_JWKS_REFRESH_COOLDOWN": "1", "OIDC_HTTP_TIMEOUT": "60", "LOG_LEVEL": "debug"}
    )
    assert (settings.leeway, settings.jwks_refresh_cooldown, settings.http_timeout) == (300, 1.0, 60.0)
    assert AppSettings.from_env({"LOG_LEVEL": "debug"}).log_level == "DEBUG"


PRODUCTION = {"APP_ENV": "production", "WEB_CLIENT_ID": ""}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "OIDC_ISSUER": "http://keycloak.example/realms/myorg",
                "OIDC_DISCOVERY_URL": "https://keycloak.example/realms/myorg/.well-known/openid-configuration",
            },
            "OIDC_ISSUER uses plain http on a non-loopback host (keycloak.example) and APP_ENV=production",
        ),
        (
            {"OIDC_ISSUER": "https://keycloak.example/realms/myorg", "OIDC_ALLOW_INSECURE_HTTP": "1"},
            "OIDC_ALLOW_INSECURE_HTTP=1 is refused when APP_ENV=production",
        ),
    ],
)
def test_production_refuses_plain_http_to_keycloak(env: dict[str, str], message: str):
    with pytest.raises(ConfigError) as raised:
        AppSettings.from_env({**PRODUCTION, **env})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    "issuer", ["http://localhost:8080/realms/myorg", "http://127.0.0.1:8080/realms/myorg", "https://kc.example/r/x"]
)
def test_production_accepts_https_and_loopback_issuers(issuer: str):
    assert AppSettings.from_env({**PRODUCTION, "OIDC_ISSUER": issuer}).resource.issuer == issuer
