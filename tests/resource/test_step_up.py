"""Step-up authentication (RFC 9470): a route asks for a recent or stronger sign-in; the challenge says which."""

from __future__ import annotations

import time

import pytest
from flask import jsonify

from kcguard.resource.flask import require_auth
from tests.support.local_issuer import LocalIssuer

METADATA = "http://localhost/.well-known/oauth-protected-resource"
DPOP = f'DPoP algs="ES256 RS256 PS256 EdDSA", resource_metadata="{METADATA}"'


@pytest.fixture
def app(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(step_up_max_age=300)
    app.add_url_rule("/gold", view_func=require_auth(acr_values=["gold"], max_age=60)(lambda: jsonify(ok=True)))
    return app


def get(app, token: str, path: str = "/api/recent-sign-in"):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def assert_step_up(response, description: str, params: str) -> None:
    assert response.status_code == 401
    assert response.json == {"error": "insufficient_user_authentication", "error_description": description}
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="local", error="insufficient_user_authentication", error_description="{description}", '
        f'{params}, resource_metadata="{METADATA}", {DPOP}'
    )


def test_a_recent_sign_in_passes(app, local_issuer: LocalIssuer):
    response = get(app, local_issuer.sign(auth_time=int(time.time()) - 10))
    assert response.status_code == 200
    assert response.json["message"] == "Hello! You signed in within the last 300 seconds."


def test_an_old_sign_in_is_asked_to_sign_in_again(app, local_issuer: LocalIssuer):
    response = get(app, local_issuer.sign(auth_time=int(time.time()) - 301))
    assert_step_up(response, "This request needs a sign-in within the last 300 seconds.", 'max_age="300"')


def test_a_token_without_auth_time_is_asked_for_a_sign_in(app, local_issuer: LocalIssuer):
    response = get(app, local_issuer.sign())
    assert_step_up(response, "This request needs a sign-in by a person (the token has no auth_time).", 'max_age="300"')


@pytest.mark.parametrize("acr", ["silver", None, 1])
def test_a_weaker_acr_is_asked_for_the_listed_one(app, local_issuer: LocalIssuer, acr):
    response = get(app, local_issuer.sign(acr=acr, auth_time=int(time.time())), "/gold")
    assert_step_up(response, "This request needs a stronger sign-in.", 'acr_values="gold", max_age="60"')


def test_the_right_acr_and_a_recent_sign_in_pass(app, local_issuer: LocalIssuer):
    assert get(app, local_issuer.sign(acr="gold", auth_time=int(time.time())), "/gold").status_code == 200


def test_scopes_are_checked_before_the_sign_in(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app()
    app.add_url_rule("/s", view_func=require_auth("books.admin", max_age=60)(lambda: jsonify(ok=True)))
    assert get(app, local_issuer.sign(), "/s").status_code == 403
