"""The API plus a benchmark-only pair of routes whose answers are byte for byte the same.

``/bench/public`` and ``/bench/protected`` differ only in ``@require_auth()``, so
their throughput ratio measures what protecting a route costs, and nothing
of the demo routes' different answers (the private route also returns the
caller's subject, scopes and roles).
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask.typing import ResponseReturnValue

import server
from kcguard.resource.flask import require_auth

bp = Blueprint("bench", __name__, url_prefix="/bench")
BODY = {"message": "The same answer, with or without a token."}


@bp.get("/public")
def public() -> ResponseReturnValue:
    return BODY


@bp.get("/protected")
@require_auth()
def protected() -> ResponseReturnValue:
    return BODY


def create_app() -> Flask:
    app = server.create_app()
    app.register_blueprint(bp)
    return app
