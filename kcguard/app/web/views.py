"""The sign-in pages: OpenID Connect authorization code + PKCE against Keycloak.

Authlib's Flask client (``oauth.py``: metadata from the issuer-checked
discovery document, pending sign-ins in the database) sends ``state``,
``nonce`` and an S256 code challenge, exchanges the code and validates the
ID token (signature, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``). The
tokens are kept server-side (``sessions``); the cookie holds random ids only.
Sign-out is a POST with a CSRF token; Keycloak ends sessions here through
the back-channel logout endpoint.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from ...config import LOOPBACK_HOSTS
from ...resource import InsufficientUserAuthentication, challenge
from ...resource.discovery import ProviderUnavailable
from ...resource.flask import current_validator
from ..api import caller, step_up_max_age
from ..db import get_db
from . import sessions
from .backchannel import InvalidLogoutToken, validate_logout_token
from .oauth import KeycloakClient

logger = logging.getLogger(__name__)

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")
#: Step-up parameters passed on to Keycloak, when well-formed.
_ACR_VALUES = re.compile(r"[A-Za-z0-9 _.:/-]{1,200}")
#: Claims shown on the profile page, in this order, when present.
PROFILE_CLAIMS = ("name", "preferred_username", "email", "email_verified", "sub", "iss", "aud", "auth_time", "exp")
#: OAuth 2.0 / OpenID Connect error codes shown by name on the error page; any other text is not shown.
KNOWN_ERRORS = frozenset(
    {
        "access_denied",
        "login_required",
        "interaction_required",
        "consent_required",
        "account_selection_required",
        "temporarily_unavailable",
        "server_error",
        "invalid_request",
        "invalid_scope",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_response_type",
    }
)
#: Expired sessions are deleted at most this often per process, besides at each sign-in.
PURGE_INTERVAL = 300.0
UNREACHABLE = "Keycloak cannot be reached right now. Try again in a moment."


class UntrustedHost(Exception):
    """The request's Host is not the app's address, and no PUBLIC_URL says what is."""


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


@bp.app_context_processor
def _sign_out_form() -> dict[str, str]:
    """The CSRF token the sign-out form in every page's header carries."""
    current = g.get("sign_in")
    return {"csrf_token": current.csrf_token if current else ""}


def _keycloak() -> KeycloakClient:
    return current_app.extensions["kcguard.oauth"].keycloak


def _current() -> sessions.SignIn | None:
    connection = get_db()
    now = time.time()
    if now - current_app.extensions.get("kcguard.sessions_purged", 0.0) >= PURGE_INTERVAL:
        current_app.extensions["kcguard.sessions_purged"] = now
        sessions.purge_expired(connection, now)
    g.sign_in = sessions.load(connection, session.get("sid"), now)
    return g.sign_in


def _external(endpoint: str) -> str:
    """An absolute URL of this app: from PUBLIC_URL, else from a loopback Host (development), else refused."""
    public_url = current_app.config["SETTINGS"].public_url
    if public_url:
        return public_url + url_for(endpoint)
    if urlsplit(f"//{request.host}").hostname not in LOOPBACK_HOSTS:
        raise UntrustedHost
    return url_for(endpoint, _external=True)


def _display_name(userinfo: dict) -> str:
    return str(userinfo.get("name") or userinfo.get("preferred_username") or userinfo.get("sub"))


def _failed(message: str, status: int = 400) -> ResponseReturnValue:
    return render_template("error.html", message=message, signed_in=False), status


@bp.errorhandler(UntrustedHost)
def _untrusted_host(_error: UntrustedHost) -> ResponseReturnValue:
    return _failed("This address is not the app's address: the operator must set PUBLIC_URL.")


@bp.get("/")
def index() -> ResponseReturnValue:
    current = _current()
    name = _display_name(current.userinfo) if current else ""
    return render_template("index.html", signed_in=current is not None, name=name)


@bp.get("/login")
def login() -> ResponseReturnValue:
    """Start the sign-in; ``max_age`` and ``acr_values`` (from a step-up refusal) go on to Keycloak."""
    redirect_uri = _external("web.callback")
    extra: dict[str, str] = {}
    max_age = request.args.get("max_age", "")
    if max_age.isdigit() and len(max_age) < 10:
        extra["max_age"] = max_age
    acr_values = request.args.get("acr_values", "")
    if _ACR_VALUES.fullmatch(acr_values):
        extra["acr_values"] = acr_values
    after = request.args.get("next", "")
    if after.startswith("/") and not after.startswith("//") and "\\" not in after:
        session["after_sign_in"] = after
    try:
        return _keycloak().authorize_redirect(redirect_uri, **extra)
    except (requests.RequestException, ProviderUnavailable) as error:
        logger.warning("sign-in could not start: %s", error)
        return _failed(UNREACHABLE, 503)


def _error_message(code: object) -> str:
    if isinstance(code, str) and code in KNOWN_ERRORS:
        return f"Keycloak did not sign you in ({code})."
    return "Keycloak did not sign you in."


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    try:
        token = _keycloak().authorize_access_token()
    except MismatchingStateError:
        return _failed("The sign-in response does not match a sign-in started here (state mismatch). Start again.")
    except OAuthError as error:
        return _failed(_error_message(error.error))
    except JoseError as error:
        logger.warning("ID token refused: %s", error.error)
        return _failed("Keycloak's ID token did not validate (signature, issuer, audience, time or nonce).")
    except (requests.RequestException, ProviderUnavailable) as error:
        logger.warning("sign-in could not finish: %s", error)
        return _failed(UNREACHABLE, 503)
    if not token.get("userinfo") or not token.get("id_token"):
        return _failed("Keycloak's answer had no ID token.")
    sessions.delete(get_db(), session.pop("sid", None))
    sign_in = sessions.SignIn(token["access_token"], token["id_token"], dict(token["userinfo"]))
    session["sid"] = sessions.create(get_db(), sign_in)
    return redirect(session.pop("after_sign_in", None) or url_for("web.profile"))


def _check_access_token(access_token: str, max_age: int | None = None) -> tuple[int, dict, OAuth2Error | None]:
    """What ``/api/private`` (or, with ``max_age``, ``/api/recent-sign-in``) would answer, asked of the core."""
    validator = current_validator()
    try:
        token = validator.authenticate_token(access_token)
        if max_age is not None:
            validator.check_authentication(token, None, max_age)
    except OAuth2Error as error:
        refusal = challenge(error, validator.realm)
        return refusal.status, refusal.body, error
    return 200, caller(token), None


@bp.get("/profile")
def profile() -> ResponseReturnValue:
    current = _current()
    if current is None:
        return redirect(url_for("web.login"))
    api_status, api_body, _ = _check_access_token(current.access_token)
    claims = [(key, current.userinfo[key]) for key in PROFILE_CLAIMS if key in current.userinfo]
    return render_template(
        "profile.html",
        signed_in=True,
        name=_display_name(current.userinfo),
        claims=claims,
        api_status=api_status,
        api_body=json.dumps(api_body, indent=2, sort_keys=True),
    )


@bp.get("/recent")
def recent() -> ResponseReturnValue:
    """Step-up demo (RFC 9470): a page that needs a recent sign-in signs the user in again.

    When the core refuses the session's token with
    ``insufficient_user_authentication``, the browser goes back to Keycloak
    with that refusal's ``max_age`` / ``acr_values`` (Keycloak then asks for
    the password again) and returns here. One such round trip per refusal,
    so the page cannot loop.
    """
    current = _current()
    if current is None:
        return redirect(url_for("web.login", next=url_for("web.recent")))
    api_status, api_body, error = _check_access_token(current.access_token, step_up_max_age())
    retried = session.pop("step_up_pending", False)
    if isinstance(error, InsufficientUserAuthentication) and not retried:
        session["step_up_pending"] = True
        params: dict[str, Any] = {"next": url_for("web.recent")}
        if error.max_age is not None:
            params["max_age"] = error.max_age
        if error.acr_values:
            params["acr_values"] = " ".join(error.acr_values)
        return redirect(url_for("web.login", **params))
    return render_template(
        "recent.html",
        signed_in=True,
        name=_display_name(current.userinfo),
        api_status=api_status,
        api_body=json.dumps(api_body, indent=2, sort_keys=True),
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Forget the sign-in here, then end Keycloak's session (RP-initiated logout, by POST) and come back to ``/``.

    A POST with the session's CSRF token, so a link or image on another site
    cannot sign anyone out. The ID token goes to Keycloak in a form body
    (OpenID Connect RP-Initiated Logout 1.0 allows POST), never in a URL.
    """
    current = _current()
    if current is None:
        session.pop("sid", None)
        return redirect(url_for("web.index"), 303)
    if not hmac.compare_digest(request.form.get("csrf_token", ""), current.csrf_token):
        return _failed("The sign-out form was not sent by this app (CSRF token mismatch).")
    sessions.delete(get_db(), session.pop("sid", None))
    g.sign_in = None
    try:
        end_session = _keycloak().load_server_metadata().get("end_session_endpoint")
    except (requests.RequestException, ProviderUnavailable) as error:
        logger.warning("signed out here only, Keycloak's metadata is unavailable: %s", error)
        end_session = None
    if not isinstance(end_session, str) or not end_session:
        return redirect(url_for("web.index"), 303)
    return render_template(
        "signing_out.html",
        signed_in=False,
        end_session_endpoint=end_session,
        fields={
            "id_token_hint": current.id_token,
            "client_id": _keycloak().client_id,
            "post_logout_redirect_uri": _external("web.index"),
        },
    )


@bp.post("/backchannel-logout")
def backchannel_logout() -> ResponseReturnValue:
    """Keycloak ended a session: end ours (OpenID Connect Back-Channel Logout 1.0, section 2.8)."""
    settings = current_app.config["SETTINGS"]
    validator = current_validator()
    try:
        claims = validate_logout_token(
            request.form.get("logout_token", ""),
            keys=validator.keys,
            issuer=settings.resource.issuer,
            client_id=settings.web_client_id,
            algorithms=settings.resource.algorithms,
            leeway=settings.resource.leeway,
        )
    except InvalidLogoutToken as error:
        logger.warning("back-channel logout refused: %s", error)
        response = jsonify(error="invalid_request", error_description=str(error))
        response.status_code = 400
        return response
    ended = sessions.delete_by_keycloak_session(get_db(), sid=claims.get("sid"), subject=claims.get("sub"))
    logger.info("back-channel logout ended %d session(s)", ended)
    return Response(status=200)
