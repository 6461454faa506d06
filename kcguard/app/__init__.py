"""The demo service: an API and a browser sign-in protected by the core.

Shaped like Flask's tutorial app: ``create_app`` only hands off to each
part's ``init_app`` and registers the blueprints.
"""

from __future__ import annotations

import logging
import os
import secrets
from typing import Any

from flask import Flask

from .. import config
from ..resource import build_validator
from ..resource import flask as resource
from ..resource.dpop import DPoPVerifier, NonceSource
from . import api, books, db, errors, explorer, logs, metrics, replay, web
from .bodies import limit_chunked_bodies
from .openapi import documented
from .settings import AppSettings

#: Request bodies are small JSON documents; anything larger gets 413, chunked or not.
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: AppSettings | None = None, **overrides: Any) -> Flask:
    """Build the service from ``settings`` (default: the environment) plus flat ``overrides``.

    Nothing here talks to Keycloak or touches the disk: keys load on the first
    request that needs them and the database on its first use, so the API
    starts (and serves public routes) while Keycloak is down.
    """
    settings = config.replace(settings, **overrides) if settings else AppSettings.from_env(**overrides)
    logging.getLogger("kcguard").setLevel(settings.log_level)

    app = Flask(__name__)
    app.wsgi_app = limit_chunked_bodies(app.wsgi_app, MAX_BODY_BYTES)  # type: ignore[method-assign]
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=MAX_BODY_BYTES, STEP_UP_MAX_AGE=settings.step_up_max_age)
    app.config["DATABASE"] = settings.database or os.path.join(app.instance_path, "kcguard.sqlite")
    app.secret_key = settings.secret_key or secrets.token_urlsafe(32)

    app.session_interface = web.SessionInterface(settings)
    logs.init_app(app, settings)
    validator = build_validator(settings.resource, observer=metrics.init_app(app, settings))
    # Workers that share SECRET_KEY accept each other's DPoP nonces.
    nonce_secret = resource.nonce_secret_from(settings.secret_key)
    dpop = _shared_dpop(settings, nonce_secret)
    resource.init_app(app, settings.resource, validator, nonce_secret=nonce_secret, dpop=dpop)
    if settings.resource.resource_metadata:
        describe = documented(
            "Who issues tokens for this API (RFC 9728)", tag="discovery", responses={200: api.ResourceMetadata}
        )
        describe(app.view_functions["oauth_protected_resource"])
    db.init_app(app, books.create_schema, *([replay.create_schema] if settings.database_url else []))
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    if settings.docs_enabled:
        explorer.init_app(app)
    if settings.web_client_id:
        web.init_app(app, settings)
    errors.init_app(app)
    return app


def _shared_dpop(settings: AppSettings, nonce_secret: bytes | None) -> DPoPVerifier | None:
    """With PostgreSQL, DPoP proof ids are remembered there (shared by every replica), not per process."""
    if not settings.database_url or settings.resource.dpop == "off":
        return None
    dpop_settings = settings.resource.dpop_settings
    nonces = NonceSource(dpop_settings.nonce_lifetime, nonce_secret) if dpop_settings.nonces else None
    return DPoPVerifier(dpop_settings, replay_cache=replay.DatabaseReplayCache(), nonces=nonces)
