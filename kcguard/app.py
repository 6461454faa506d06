"""The application factory: settings in, a wired Flask app out, no I/O."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
from typing import Any

import requests
from flask import Flask

from . import api, books, db, web
from .config import ServerSettings
from .errors import register_error_handlers
from .introspection import Introspector
from .keys import KeyCache
from .oidc import ProviderMetadata
from .protector import require_auth
from .validator import KeycloakTokenValidator

#: Request bodies are small JSON documents; anything larger gets 413 before it is read.
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: ServerSettings | None = None, **overrides: Any) -> Flask:
    """Build the API from ``settings`` (default: the environment) plus ``overrides``.

    Nothing here talks to Keycloak: keys load on the first request that needs
    them, so the API starts (and serves public routes) while Keycloak is down.
    """
    if settings is None:
        settings = ServerSettings.from_env(**overrides)
    elif overrides:
        settings = dataclasses.replace(settings, **overrides)
    logging.getLogger("kcguard").setLevel(settings.log_level)

    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.secret_key = settings.secret_key or secrets.token_urlsafe(32)
    if not settings.secret_key and settings.web_client_id:
        logging.getLogger(__name__).warning(
            "SECRET_KEY is not set: using a random key, so sign-ins end with this process "
            "and are not shared between gunicorn workers"
        )
    app.config["DATABASE"] = settings.database or os.path.join(app.instance_path, "kcguard.sqlite")
    os.makedirs(os.path.dirname(os.path.abspath(app.config["DATABASE"])), exist_ok=True)
    books.init_db(app.config["DATABASE"])
    db.init_app(app)

    session = requests.Session()
    session.headers["User-Agent"] = "kcguard-api"
    metadata = ProviderMetadata(
        session,
        settings.discovery_url,
        settings.issuer,
        timeout=settings.http_timeout,
        allow_insecure_http=settings.allow_insecure_http,
    )
    keys = KeyCache(
        session,
        metadata,
        jwks_url=settings.jwks_url,
        ttl=settings.jwks_cache_ttl,
        cooldown=settings.jwks_refresh_cooldown,
        timeout=settings.http_timeout,
        allow_insecure_http=settings.allow_insecure_http,
    )
    introspector = None
    if settings.introspection:
        introspector = Introspector(
            session,
            metadata,
            client_id=settings.introspection_client_id,
            client_secret=settings.introspection_client_secret,
            timeout=settings.http_timeout,
        )
    app.extensions["kcguard.keys"] = keys
    require_auth.init_app(app, KeycloakTokenValidator(settings, keys, introspector))

    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    if settings.web_client_id:
        web.init_app(app, settings)
    register_error_handlers(app)
    return app
