"""Key rotation, unknown-kid floods, Keycloak outages and hangs, with a local test issuer."""

from __future__ import annotations

import time

from kcguard.devstack import free_port
from tests.support.auth import bearer
from tests.support.clock import SteppedClock
from tests.support.local_issuer import LocalIssuer

#: Generous slack over a configured bound: the tests check bounds, not speed.
SLACK = 2.0
#: The default OIDC_KEY_FETCH_WAIT.
WAIT = 1.0


def get(app, token: str, path: str = "/api/private"):
    return app.test_client().get(path, headers=bearer(token))


def keys_of(app):
    return app.extensions["kcguard.validator"].keys


def stepped(app) -> SteppedClock:
    """Give ``app``'s key cache a clock the test moves by hand."""
    clock = SteppedClock()
    keys_of(app).clock = clock
    return clock


def test_keys_are_not_fetched_before_they_are_needed(local_app, local_issuer: LocalIssuer):
    assert local_app.test_client().get("/api/public").status_code == 200
    assert local_app.test_client().get("/healthz").status_code == 200
    assert local_issuer.jwks_fetches == 0


def test_key_rotated_in_right_after_start_up_is_accepted_within_the_cooldown(local_app, local_issuer: LocalIssuer):
    assert get(local_app, local_issuer.sign()).status_code == 200
    assert local_issuer.jwks_fetches == 1

    new_key = LocalIssuer.new_key("key-2")
    local_issuer.keys.insert(0, new_key)
    # The initial load does not spend the unknown-kid budget (OIDC_JWKS_REFETCH_BURST).
    assert get(local_app, local_issuer.sign(key=new_key)).status_code == 200
    assert local_issuer.jwks_fetches == 2
    assert get(local_app, local_issuer.sign(key=new_key)).status_code == 200
    assert get(local_app, local_issuer.sign(key=local_issuer.keys[1])).status_code == 200
    assert local_issuer.jwks_fetches == 2


def test_unknown_kid_flood_fetches_the_jwks_at_most_once_per_cooldown(local_app, local_issuer: LocalIssuer):
    clock = stepped(local_app)
    assert get(local_app, local_issuer.sign()).status_code == 200
    assert local_issuer.jwks_fetches == 1
    strangers = [LocalIssuer.new_key(f"forged-{i}") for i in range(3)]
    statuses = [get(local_app, local_issuer.sign(key=strangers[i % 3])).status_code for i in range(60)]
    assert statuses == [401] * 60
    assert local_issuer.jwks_fetches == 2  # the initial load + one refetch per cooldown
    clock.advance(59)
    assert [get(local_app, local_issuer.sign(key=strangers[0])).status_code for _ in range(10)] == [401] * 10
    assert local_issuer.jwks_fetches == 2
    clock.advance(1)
    assert [get(local_app, local_issuer.sign(key=strangers[1])).status_code for _ in range(10)] == [401] * 10
    assert local_issuer.jwks_fetches == 3


def test_unknown_kid_refetch_waits_for_the_cooldown(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_refresh_cooldown=5)
    clock = stepped(app)
    stranger = LocalIssuer.new_key("forged")
    for _ in range(5):
        assert get(app, local_issuer.sign(key=stranger)).status_code == 401
        clock.advance(5)
    # The initial load (which the first request waited for), then one refetch per elapsed cooldown.
    assert local_issuer.jwks_fetches == 5


def test_cached_keys_keep_working_while_keycloak_is_down(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app()
    assert get(app, local_issuer.sign()).status_code == 200
    local_issuer.down = True
    assert get(app, local_issuer.sign()).status_code == 200
    stranger = LocalIssuer.new_key("while-down")
    response = get(app, local_issuer.sign(key=stranger))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert app.test_client().get("/readyz").status_code == 200


def test_failed_ttl_refresh_keeps_the_last_good_keys(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_cache_ttl=10, jwks_refresh_cooldown=5)
    clock = stepped(app)
    assert get(app, local_issuer.sign()).status_code == 200
    local_issuer.down = True
    clock.advance(10)
    assert get(app, local_issuer.sign()).status_code == 200
    keys_of(app).join(10)
    assert get(app, local_issuer.sign()).status_code == 200  # within the cooldown: no new attempt
    clock.advance(5)
    assert get(app, local_issuer.sign()).status_code == 200
    keys_of(app).join(10)
    assert local_issuer.jwks_fetches == 3


def test_api_starts_without_keycloak_and_validates_once_it_is_up(make_local_app):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/realms/local"
    app = make_local_app(issuer=issuer, http_timeout=1)
    clock = stepped(app)
    client = app.test_client()
    assert client.get("/api/public").status_code == 200
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["error"] == "not_ready"

    with LocalIssuer(port=port) as local_issuer:
        assert local_issuer.issuer == issuer
        clock.advance(30)  # a failed load is retried once per cooldown
        response = get(app, local_issuer.sign())
        assert response.status_code == 200
        assert client.get("/readyz").status_code == 200


def test_private_route_answers_503_while_no_key_was_ever_loaded(make_local_app):
    port = free_port()
    app = make_local_app(issuer=f"http://127.0.0.1:{port}/realms/local", http_timeout=1)
    with LocalIssuer(port=free_port()) as elsewhere:
        response = get(app, elsewhere.sign())
    assert response.status_code == 503
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "Signing keys are not available yet; try again shortly.",
    }
    assert response.headers["Retry-After"] == "5"


def test_first_request_while_keycloak_hangs_answers_503_within_the_wait_bound(
    local_issuer: LocalIssuer, make_local_app
):
    app = make_local_app(http_timeout=10)
    local_issuer.hang = True
    started = time.monotonic()
    response = get(app, local_issuer.sign())
    assert time.monotonic() - started < WAIT + SLACK
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_unknown_kid_while_keycloak_hangs_answers_401_within_the_wait_bound(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(http_timeout=10)
    assert get(app, local_issuer.sign()).status_code == 200
    local_issuer.hang = True
    started = time.monotonic()
    response = get(app, local_issuer.sign(key=LocalIssuer.new_key("during-hang")))
    assert time.monotonic() - started < WAIT + SLACK
    assert response.status_code == 401
    assert response.json["error_description"] == "The token was signed with an unknown key."
    # While that refetch still hangs, tokens signed with a cached key pass without waiting for it.
    started = time.monotonic()
    assert get(app, local_issuer.sign()).status_code == 200
    assert time.monotonic() - started < SLACK


def test_ttl_refresh_runs_in_the_background_while_keycloak_hangs(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(http_timeout=10, jwks_cache_ttl=10)
    clock = stepped(app)
    assert get(app, local_issuer.sign()).status_code == 200
    local_issuer.hang = True
    clock.advance(10)
    started = time.monotonic()
    statuses = [get(app, local_issuer.sign()).status_code for _ in range(5)]
    assert time.monotonic() - started < SLACK
    assert statuses == [200] * 5
    assert keys_of(app).fetch_count == 2  # one background refresh, not one per request


def test_key_withdrawn_by_the_issuer_is_not_trusted_after_the_next_refresh(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_cache_ttl=10)
    clock = stepped(app)
    old_token = local_issuer.sign()
    assert get(app, old_token).status_code == 200  # now in the verified-token cache
    new_key = LocalIssuer.new_key("key-2")
    local_issuer.keys = [new_key]
    clock.advance(10)
    assert get(app, local_issuer.sign(key=new_key)).status_code == 200
    keys_of(app).join(10)
    refused = get(app, old_token)
    assert refused.status_code == 401
    assert refused.json["error_description"] == "The token was signed with an unknown key."


def test_last_good_keys_are_refused_after_the_maximum_staleness(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_cache_ttl=10, jwks_max_staleness=60)
    clock = stepped(app)
    token = local_issuer.sign()
    assert get(app, token).status_code == 200
    local_issuer.down = True
    clock.advance(60)
    assert get(app, token).status_code == 200
    keys_of(app).join(10)
    clock.advance(1)
    response = get(app, token)
    assert response.status_code == 503
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "Signing keys could not be refreshed for too long; try again shortly.",
    }
    assert response.headers["Retry-After"] == "5"
    assert app.test_client().get("/readyz").status_code == 503
    local_issuer.down = False
    clock.advance(30)
    assert get(app, token).status_code == 200  # the refresh it started succeeds in the background ...
    keys_of(app).join(10)
    assert get(app, token).status_code == 200
