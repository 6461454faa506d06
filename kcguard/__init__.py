"""kcguard: a Flask API protected by Keycloak-issued OAuth 2.0 bearer tokens."""

from .app import create_app

__all__ = ["create_app"]
