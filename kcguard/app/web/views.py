"""The sign-in pages: OpenID Connect authorization code + PKCE against Keycloak.

Authlib's Flask client (registered from Keycloak's discovery document for
the public client ``web_app``) sends ``state``, ``nonce`` and an S256 code
challenge, exchanges the code and validates the ID token (signature, ``iss``,
``aud``, ``exp``, ``iat``, ``nonce``). The tokens are kept server-side
(``sessions``); the cookie holds a random id only.
"""

from __future__ import annotations

import json
import logging

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from ...resource import challenge
from ...resource.flask import current_validator
from ..api import caller
from ..db import get_db
from . import sessions

logger = logging.getLogger(__name__)

bp = Blueprint("web", __name__, template_folder="templates")
#: Claims shown on the profile page, in this order, when present.
PROFILE_CLAIMS = ("name", "preferred_username", "email", "email_verified", "sub", "iss", "aud", "auth_time", "exp")


@bp.after_request
def _page_headers(response: Response) -> Response:
    """No framing, no inline scripts, and no Referer that could carry ``/callback``'s code elsewhere."""
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _keycloak():
    return current_app.extensions["kcguard.oauth"].keycloak


def _current() -> sessions.SignIn | None:
    return sessions.load(get_db(), session.get("sid"))


def _display_name(userinfo: dict) -> str:
    return str(userinfo.get("name") or userinfo.get("preferred_username") or userinfo.get("sub"))


def _failed(message: str, status: int = 400) -> ResponseReturnValue:
    return render_template("error.html", message=message, signed_in=False), status


@bp.get("/")
def index() -> ResponseReturnValue:
    current = _current()
    name = _display_name(current.userinfo) if current else ""
    return render_template("index.html", signed_in=current is not None, name=name)


@bp.get("/login")
def login() -> ResponseReturnValue:
    try:
        return _keycloak().authorize_redirect(url_for("web.callback", _external=True))
    except requests.RequestException:
        return _failed("Keycloak cannot be reached right now. Try again in a moment.", 503)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    try:
        token = _keycloak().authorize_access_token()
    except MismatchingStateError:
        return _failed("The sign-in response does not match a sign-in started here (state mismatch). Start again.")
    except OAuthError as error:
        return _failed(f"Keycloak did not sign you in ({error.error}).")
    except JoseError as error:
        logger.warning("ID token refused: %s", error.error)
        return _failed("Keycloak's ID token did not validate (signature, issuer, audience, time or nonce).")
    except requests.RequestException:
        return _failed("Keycloak cannot be reached right now. Try again in a moment.", 503)
    if not token.get("userinfo") or not token.get("id_token"):
        return _failed("Keycloak's answer had no ID token.")
    old = session.get("sid")
    sessions.delete(get_db(), old)
    session.clear()
    sign_in = sessions.SignIn(token["access_token"], token["id_token"], dict(token["userinfo"]))
    session["sid"] = sessions.create(get_db(), sign_in)
    return redirect(url_for("web.profile"))


def _check_access_token(access_token: str) -> tuple[int, dict]:
    """What ``/api/private`` would answer for the session's access token, asked of the core directly."""
    validator = current_validator()
    try:
        token = validator.authenticate_token(access_token)
    except OAuth2Error as error:
        refusal = challenge(error, validator.realm)
        return refusal.status, refusal.body
    return 200, caller(token)


@bp.get("/profile")
def profile() -> ResponseReturnValue:
    current = _current()
    if current is None:
        return redirect(url_for("web.login"))
    api_status, api_body = _check_access_token(current.access_token)
    claims = [(key, current.userinfo[key]) for key in PROFILE_CLAIMS if key in current.userinfo]
    return render_template(
        "profile.html",
        signed_in=True,
        name=_display_name(current.userinfo),
        claims=claims,
        api_status=api_status,
        api_body=json.dumps(api_body, indent=2, sort_keys=True),
    )


@bp.get("/logout")
def logout() -> ResponseReturnValue:
    """Forget the sign-in here, then end Keycloak's session (RP-initiated logout) and come back to ``/``."""
    current = _current()
    sessions.delete(get_db(), session.get("sid"))
    session.clear()
    if current is None:
        return redirect(url_for("web.index"))
    try:
        return _keycloak().logout_redirect(
            post_logout_redirect_uri=url_for("web.index", _external=True),
            id_token_hint=current.id_token,
            client_id=_keycloak().client_id,
        )
    except requests.RequestException:
        return redirect(url_for("web.index"))
