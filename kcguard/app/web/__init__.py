"""Browser sign-in: Keycloak's authorization code flow with PKCE, sessions kept server-side."""

from __future__ import annotations

import logging

from authlib.integrations.flask_client import OAuth
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from .. import db
from ..settings import AppSettings
from . import sessions, views


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked ``Secure`` whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def init_app(app: Flask, settings: AppSettings) -> None:
    """Register the Keycloak client and the sign-in pages (no network until someone signs in)."""
    if not settings.secret_key:
        logging.getLogger(__name__).warning(
            "SECRET_KEY is not set: using a random key, so sign-ins end with this process "
            "and are not shared between workers"
        )
    oauth = OAuth(app)
    oauth.register(
        "keycloak",
        client_id=settings.web_client_id,
        server_metadata_url=settings.resource.discovery_url,
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "default_timeout": settings.resource.http_timeout,
        },
    )
    app.extensions["kcguard.oauth"] = oauth
    app.session_interface = SessionInterface()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="kcguard")
    db.add_schema(app, sessions.create_schema)
    app.register_blueprint(views.bp)
