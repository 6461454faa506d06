"""The smallest Flask app protected by kcguard's core: ``OIDC_ISSUER=... flask --app examples/minimal_app run``."""

from __future__ import annotations

from flask import Flask

from kcguard.resource import ResourceSettings
from kcguard.resource.flask import current_token, init_app, require_auth


def create_app(settings: ResourceSettings | None = None) -> Flask:
    app = Flask(__name__)
    init_app(app, settings or ResourceSettings.from_env())  # OIDC_ISSUER, OIDC_AUDIENCE, ...

    @app.get("/hello")
    @require_auth("test_api_access")
    def hello():
        return {"hello": current_token["sub"], "scopes": sorted(current_token.scopes)}

    return app
