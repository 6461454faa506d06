"""Checking that logs hold no token and no demo secret."""

from __future__ import annotations

from tests.support.keycloak import DEMO_SECRETS


def assert_nothing_secret_logged(text: str, tokens: list[str]) -> None:
    """Neither the tokens (nor their signatures' start) nor any demo client secret appear in ``text``."""
    for token in tokens:
        assert token not in text
        assert token.split(".")[2][:16] not in text
    for secret in DEMO_SECRETS.values():
        assert secret not in text
