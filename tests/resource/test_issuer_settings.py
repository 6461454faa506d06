"""OIDC_ISSUERS: the syntax, what it supersedes, and the mistakes that stop start-up."""

from __future__ import annotations

import dataclasses

import pytest

from kcguard.config import ConfigError
from kcguard.resource import ResourceSettings


@pytest.mark.parametrize(
    ("issuers", "message"),
    [
        (("http://127.0.0.1:1/realms/a", "http://127.0.0.1:1/realms/a/"), "names an issuer twice"),
        (("http://127.0.0.1:1/realms/a|aud|http://x/|extra",), "issuer\\[\\|audience"),
        (("|aud",), "issuer\\[\\|audience"),
        (("not-a-url",), "absolute http"),
    ],
)
def test_bad_issuer_lists_name_the_variable(issuers: tuple[str, ...], message: str):
    with pytest.raises(ConfigError, match=f"OIDC_ISSUERS.*{message}|{message}"):
        ResourceSettings(issuers=issuers)


def test_issuers_supersede_the_single_issuer_and_need_no_jwks_url():
    settings = ResourceSettings.from_env(
        {
            "OIDC_ISSUER": "http://127.0.0.1:1/realms/old",
            "OIDC_ISSUERS": "http://127.0.0.1:2/realms/a, http://127.0.0.1:3/realms/b|x",
        }
    )
    assert settings.issuer == "http://127.0.0.1:2/realms/a"
    assert settings.discovery_url == "http://127.0.0.1:2/realms/a/.well-known/openid-configuration"
    assert [(one.issuer, one.audience) for one in settings.per_issuer()] == [
        ("http://127.0.0.1:2/realms/a", "test_api_resource"),
        ("http://127.0.0.1:3/realms/b", "x"),
    ]
    with pytest.raises(ConfigError, match="OIDC_JWKS_URL works with one issuer only"):
        dataclasses.replace(settings, jwks_url="http://127.0.0.1:2/certs")
