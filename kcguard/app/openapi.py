"""The API's OpenAPI 3.1 document, generated from the routes themselves.

Each API view carries its summary, body model and responses (``documented``);
the scopes come from the view's own ``@require_auth`` declaration
(``kcguard.resource.flask.required_scopes``), the path parameters from
Flask's URL rules, and the schemas from the pydantic models that validate
the bodies. apispec assembles the document and resolves its references; the
routes stay plain Flask routes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from apispec import APISpec
from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from ..resource.flask import required_scopes

#: The attribute ``documented`` sets on a view.
ATTRIBUTE = "openapi"
SECURITY_SCHEME = "keycloak"
#: What each scope the routes ask for lets a caller do (shown in the explorer's Authorize dialog).
SCOPE_DESCRIPTIONS = {
    "test_api_access": "Call /api/private-scoped.",
    "books.read": "Read the books (the seed's fakebookapi.read).",
    "books.admin": "Add books (the seed's fakebookapi.admin).",
}
_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_METHODS = ("get", "post", "put", "patch", "delete")


class Error(BaseModel):
    """Every refusal: an RFC 6750 / OAuth 2.0 style error code and a human-readable description."""

    error: str
    error_description: str


def documented(
    summary: str,
    *,
    tag: str,
    responses: dict[int, str | type[BaseModel] | dict[str, Any]],
    body: type[BaseModel] | None = None,
    operation_id: str | None = None,
    links: dict[str, Any] | None = None,
) -> Callable[[Any], Any]:
    """Describe a view for the OpenAPI document (put it above ``@require_auth``).

    ``responses`` maps a status to a model (a JSON body), the name of a shared
    response (``"NotFound"``...) or a full OpenAPI response object.
    """

    def mark(view: Any) -> Any:
        setattr(
            view,
            ATTRIBUTE,
            {
                "summary": summary,
                "tag": tag,
                "responses": responses,
                "body": body,
                "operation_id": operation_id,
                "links": links or {},
            },
        )
        return view

    return mark


def _json(schema: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _challenge_header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}, "required": True}


#: Shared responses: the token refusals carry the RFC 6750 challenge, every error the JSON error body.
SHARED_RESPONSES: dict[str, dict[str, Any]] = {
    "BadRequest": {
        "description": "The body or the Authorization header is malformed (``invalid_request``).",
        **_json("Error"),
    },
    "Unauthorized": {
        "description": "No token, a token that fails validation (``invalid_token``), a bad DPoP proof "
        "(``invalid_dpop_proof``, ``use_dpop_nonce``) or a sign-in too old or weak "
        "(``insufficient_user_authentication``). RFC 6750 section 3, RFC 9449 section 7, RFC 9470.",
        "headers": {
            "WWW-Authenticate": _challenge_header(
                'Bearer realm="…", error="invalid_token", error_description="…", resource_metadata="…", '
                'DPoP algs="…", resource_metadata="…" (no error without a token; the error goes to the scheme used).'
            ),
        },
        **_json("Error"),
    },
    "Forbidden": {
        "description": "A valid token without the scopes this operation needs (``insufficient_scope``).",
        "headers": {
            "WWW-Authenticate": _challenge_header(
                'Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"'
            ),
        },
        **_json("Error"),
    },
    "NotFound": {"description": "No such resource (``not_found``).", **_json("Error")},
    "PayloadTooLarge": {"description": "The body is larger than 64 KiB.", **_json("Error")},
    "Unavailable": {
        "description": "Keycloak is needed to judge the token and cannot be reached (``temporarily_unavailable``).",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
        **_json("Error"),
    },
}


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a Flask rule and its path parameters (bounds from Werkzeug's converters).

    Werkzeug keeps a bound rule's converters in ``Rule._converters`` only; the
    drift test (docs/openapi.json) notices if that ever changes.
    """
    parameters = []
    for name, converter in rule._converters.items():
        schema: dict[str, Any] = {"type": "string"}
        if isinstance(converter, NumberConverter):
            schema = {"type": "integer"} if converter.num_convert is int else {"type": "number"}
            if converter.min is not None:
                schema["minimum"] = converter.min
            elif not converter.signed:
                schema["minimum"] = 0
            if converter.max is not None:
                schema["maximum"] = converter.max
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _ARGUMENT.sub(r"{\1}", rule.rule), parameters


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _security(view: Any) -> list[dict[str, list[str]]] | None:
    accepted = required_scopes(view)
    return None if accepted is None else [{SECURITY_SCHEME: scopes} for scopes in accepted]


def _operation(rule: Rule, view: Any, meta: dict[str, Any]) -> dict[str, Any]:
    _, parameters = _path(rule)
    operation: dict[str, Any] = {
        "operationId": meta["operation_id"] or _camel(view.__name__),
        "summary": meta["summary"],
        "tags": [meta["tag"]],
        "responses": {},
    }
    if view.__doc__:
        operation["description"] = view.__doc__.strip()
    if parameters:
        operation["parameters"] = parameters
    if meta["body"] is not None:
        operation["requestBody"] = {"required": True, **_json(meta["body"].__name__)}
    responses: dict[str, Any] = {}
    for status, answer in sorted(meta["responses"].items()):
        if isinstance(answer, type):
            answer = {"description": answer.__doc__.strip().splitlines()[0], **_json(answer.__name__)}
        responses[str(status)] = answer
    security = _security(view)
    if security is not None:
        operation["security"] = security
        responses.setdefault("400", "BadRequest")
        responses["401"] = "Unauthorized"
        if any(group for group in required_scopes(view) or []):
            responses["403"] = "Forbidden"
        responses["503"] = "Unavailable"
    if meta["body"] is not None:
        responses["413"] = "PayloadTooLarge"
    for status, link in meta["links"].items():
        responses[str(status)] = {**responses[str(status)], "links": link}
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _schemas(models: list[type[BaseModel]], bodies: set[type[BaseModel]]) -> dict[str, Any]:
    """JSON Schemas (2020-12, as OpenAPI 3.1 uses them): bodies as validated, answers as serialized."""
    modes = [(model, "validation" if model in bodies else "serialization") for model in models]
    _, definitions = models_json_schema(modes, ref_template="#/components/schemas/{model}")
    return definitions.get("$defs", {})


def build_document(app: Flask, issuer: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s documented routes; OAuth 2.0 URLs are Keycloak's under ``issuer``."""
    spec = APISpec(
        title="kcguard demo API",
        version=version("kcguard"),
        openapi_version="3.1.0",
        info={
            "description": "A Flask API protected by Keycloak (an OAuth 2.0 resource server). "
            "Bearer tokens are Keycloak access tokens for the audience the API is configured with; "
            "errors are JSON `{error, error_description}`, token refusals add an RFC 6750 "
            "`WWW-Authenticate` challenge.",
        },
    )
    views: list[tuple[Rule, Any, dict[str, Any]]] = []
    models: list[type[BaseModel]] = [Error]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, ATTRIBUTE, None)
        if meta is None:
            continue
        views.append((rule, view, meta))
        models += [m for m in (meta["body"], *meta["responses"].values()) if isinstance(m, type) and m not in models]
    bodies = {meta["body"] for _, _, meta in views if meta["body"] is not None}
    for name, schema in sorted(_schemas(models, bodies).items()):
        spec.components.schema(name, component=schema)
    for name, response in SHARED_RESPONSES.items():
        spec.components.response(name, component=response)
    scopes = sorted({s for _, view, _ in views for group in required_scopes(view) or [] for s in group})
    scope_map = {scope: SCOPE_DESCRIPTIONS.get(scope, scope) for scope in scopes}
    endpoints = f"{issuer}/protocol/openid-connect"
    spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "oauth2",
            "description": "Keycloak. Machines: client credentials (a confidential client and its secret). "
            "People: authorization code with PKCE (S256) through a public client.",
            "flows": {
                "clientCredentials": {"tokenUrl": f"{endpoints}/token", "scopes": scope_map},
                "authorizationCode": {
                    "authorizationUrl": f"{endpoints}/auth",
                    "tokenUrl": f"{endpoints}/token",
                    "scopes": scope_map,
                },
            },
        },
    )
    paths: dict[str, dict[str, Any]] = {}
    for rule, view, meta in views:
        path, _ = _path(rule)
        for method in _METHODS:
            if method.upper() in (rule.methods or ()):
                paths.setdefault(path, {})[method] = _operation(rule, view, meta)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


#: The issuer the committed copy (docs/openapi.json) is generated with: the demo stack's.
DEMO_ISSUER = "http://localhost:8080/realms/myorg"


def render(document: dict[str, Any]) -> str:
    """The document as the committed file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the OpenAPI document: ``python -m kcguard.app openapi > docs/openapi.json``."""
    from . import create_app

    parser = argparse.ArgumentParser(prog="python -m kcguard.app openapi", description=main.__doc__)
    parser.add_argument("--issuer", default=DEMO_ISSUER, help=f"the Keycloak realm's issuer (default {DEMO_ISSUER})")
    args = parser.parse_args(argv)
    app = create_app(issuer=args.issuer, web_client_id="", api_docs="on")
    sys.stdout.write(render(build_document(app, args.issuer)))
    return 0
