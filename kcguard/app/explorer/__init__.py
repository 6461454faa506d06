"""The API's description and its explorer: ``/openapi.json`` and Swagger UI at ``/docs``.

Swagger UI's files come from the pinned ``flask-swagger-ui`` package (its
``dist`` folder; no CDN). The page loads only same-origin scripts and styles;
its one script (``static/explorer.js``) reads its settings from the page's
``data-`` attributes, so the Content-Security-Policy needs no inline code.
The browser may call Keycloak's token endpoint (the issuer's origin) and
nothing else outside the API.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, render_template, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from ..openapi import build_document

bp = Blueprint("explorer", __name__, template_folder="templates", static_folder="static", static_url_path="/docs/app")
_DOCUMENT = "kcguard.openapi"
#: The Swagger UI files the page uses, served from the package as they are.
SWAGGER_FILES = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "oauth2-redirect.html",
        "oauth2-redirect.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)


def swagger_dist() -> str:
    """The folder of Swagger UI's files inside the installed ``flask_swagger_ui`` package (not imported)."""
    spec = find_spec("flask_swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the flask-swagger-ui package is not installed (pip install 'kcguard[app]')")
    return os.path.join(next(iter(spec.submodule_search_locations)), "dist")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@bp.after_request
def _page_headers(response: Response) -> Response:
    """Same-origin code only; the browser may reach the API and Keycloak's token endpoint, nothing else."""
    issuer = current_app.config["SETTINGS"].resource.issuer
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {_origin(issuer)}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    )
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def document() -> dict[str, Any]:
    """The app's OpenAPI document, built once per app."""
    app = current_app
    if _DOCUMENT not in app.extensions:
        app.extensions[_DOCUMENT] = build_document(app, app.config["SETTINGS"].resource.issuer)
    return app.extensions[_DOCUMENT]


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    return document()


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    return render_template(
        "explorer.html",
        spec_url=url_for(".openapi_json"),
        redirect_url=url_for(".swagger_file", name="oauth2-redirect.html", _external=True),
    )


@bp.get("/docs/<name>")
def swagger_file(name: str) -> ResponseReturnValue:
    if name not in SWAGGER_FILES:
        abort(404)
    return send_from_directory(swagger_dist(), name, max_age=3600)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
