"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): which logout tokens end sessions.

The local issuer signs the tokens Keycloak would never send; the real
Keycloak's own logout token is in ``test_browser_login.py``.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.support.local_issuer import LocalIssuer
from tests.support.web import is_signed_in, sign_in

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def signin_app(make_local_app):
    return make_local_app(secret_key="t" * 40, http_timeout=2.0)


def logout_token(issuer: LocalIssuer, **claims) -> str:
    """A logout token as Keycloak sends it; ``claims`` change or (with None) remove claims."""
    defaults = {
        "aud": "web_app",
        "sub": "alice-id",
        "sid": "kc-session-1",
        "events": {EVENT: {}},
        "typ": "Logout",
        "azp": None,
        "scope": None,
    }
    return issuer.sign(header={"typ": "logout+jwt"}, **{**defaults, **claims})


def test_a_valid_logout_token_ends_the_sessions_of_its_sid(signin_app, local_issuer):
    client = signin_app.test_client()
    ended = sign_in(signin_app, client, sid="kc-session-1")
    kept = sign_in(signin_app, signin_app.test_client(), sid="kc-session-2")
    response = client.post("/backchannel-logout", data={"logout_token": logout_token(local_issuer)})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert not is_signed_in(signin_app, ended)
    assert is_signed_in(signin_app, kept)


def test_a_logout_token_with_only_sub_ends_all_of_its_subjects_sessions(signin_app, local_issuer):
    first = sign_in(signin_app, signin_app.test_client(), sid="kc-session-1")
    second = sign_in(signin_app, signin_app.test_client(), sid="kc-session-2")
    other = sign_in(signin_app, signin_app.test_client(), sub="bob-id", sid="kc-session-3")
    token = logout_token(local_issuer, sid=None)
    assert signin_app.test_client().post("/backchannel-logout", data={"logout_token": token}).status_code == 200
    assert [is_signed_in(signin_app, s) for s in (first, second, other)] == [False, False, True]


def _forged_key_token(issuer: LocalIssuer) -> str:
    return logout_token(issuer, key=LocalIssuer.new_key(issuer.key.kid))


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda issuer: logout_token(issuer, events=None), id="no-events"),
        pytest.param(lambda issuer: logout_token(issuer, events={"other-event": {}}), id="other-event"),
        pytest.param(lambda issuer: logout_token(issuer, events={EVENT: "yes"}), id="event-not-an-object"),
        pytest.param(lambda issuer: logout_token(issuer, nonce="n-0S6_WzA2Mj"), id="nonce"),
        pytest.param(lambda issuer: logout_token(issuer, aud="another_app"), id="other-audience"),
        pytest.param(lambda issuer: logout_token(issuer, iss="http://127.0.0.1:9/realms/other"), id="other-issuer"),
        pytest.param(lambda issuer: logout_token(issuer, sid=None, sub=None), id="neither-sid-nor-sub"),
        pytest.param(lambda issuer: logout_token(issuer, jti=None), id="no-jti"),
        pytest.param(lambda issuer: logout_token(issuer, iat=None), id="no-iat"),
        pytest.param(lambda issuer: logout_token(issuer, exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda issuer: logout_token(issuer, iat=int(time.time()) + 3600), id="issued-in-the-future"),
        pytest.param(_forged_key_token, id="signed-by-another-key"),
        pytest.param(lambda issuer: issuer.sign(aud="web_app", sid="kc-session-1", typ="ID"), id="an-id-token"),
        pytest.param(lambda issuer: "not.a.jwt", id="garbage"),
        pytest.param(lambda issuer: "", id="empty"),
    ],
)
def test_a_bad_logout_token_is_refused_and_ends_nothing(signin_app, local_issuer, make_token):
    session_id = sign_in(signin_app, signin_app.test_client(), sid="kc-session-1")
    response = signin_app.test_client().post("/backchannel-logout", data={"logout_token": make_token(local_issuer)})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert is_signed_in(signin_app, session_id)


def test_back_channel_logout_takes_no_get(signin_app):
    assert signin_app.test_client().get(f"/backchannel-logout?logout_token={uuid.uuid4()}").status_code == 405
