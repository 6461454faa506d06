"""Browser sign-in: Keycloak's authorization code flow with PKCE, sessions kept server-side."""

from __future__ import annotations

import logging

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from ...resource.discovery import ProviderMetadata
from .. import db
from ..settings import AppSettings
from . import pending, sessions, views
from .oauth import KeycloakOAuth

COOKIE_NAME = "kcguard"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, named ``__Host-kcguard`` and ``Secure`` when served over HTTPS.

    HTTPS means an ``https`` ``PUBLIC_URL`` or a request that came over
    HTTPS; ``APP_ENV=production`` marks the cookie ``Secure`` in any case.
    The ``__Host-`` prefix makes browsers refuse the cookie unless it is
    ``Secure``, for path ``/`` and without ``Domain``: a sibling subdomain
    cannot plant or overwrite it.

    Requests without the cookie (every API call) get an empty session without
    building a signing serializer, and an untouched empty session is not
    saved: Flask does both on every request otherwise, for nothing.
    """

    def __init__(self, settings: AppSettings) -> None:
        self._https_public_url = settings.public_url.startswith("https://")
        self._production = settings.app_env == "production"

    def _over_https(self) -> bool:
        return self._https_public_url or request.is_secure

    def get_cookie_name(self, app: Flask) -> str:
        return f"__Host-{COOKIE_NAME}" if self._over_https() else COOKIE_NAME

    def get_cookie_secure(self, app: Flask) -> bool:
        return self._over_https() or self._production or super().get_cookie_secure(app)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def init_app(app: Flask, settings: AppSettings) -> None:
    """Register the Keycloak client and the sign-in pages (no network until someone signs in)."""
    if not settings.secret_key:
        logging.getLogger(__name__).warning(
            "SECRET_KEY is not set: using a random key, so sign-ins end with this process "
            "and are not shared between workers"
        )
    resource = settings.resource
    oauth = KeycloakOAuth(app)
    keycloak = oauth.register(
        "keycloak",
        client_id=settings.web_client_id,
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "default_timeout": resource.http_timeout,
        },
    )
    keycloak.provider = ProviderMetadata(
        resource.discovery_url,
        resource.issuer,
        timeout=resource.http_timeout,
        allow_insecure_http=resource.allow_insecure_http,
    )
    app.extensions["kcguard.oauth"] = oauth
    app.session_interface = SessionInterface(settings)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_PATH="/")
    db.add_schema(app, sessions.create_schema)
    db.add_schema(app, pending.create_schema)
    app.register_blueprint(views.bp)
