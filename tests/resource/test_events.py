"""The core reports each token check's outcome, key-set fetch and cache size to its observer, without Flask.

Tokens are signed by the local test issuer, because Keycloak will not sign
the wrong ones.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from kcguard.devstack import free_port
from kcguard.resource import InsufficientScope, InvalidToken, ResourceSettings, ValidationUnavailable, build_validator
from kcguard.resource.events import Observer
from tests.support.auth import bearer
from tests.support.hostile import forge, hmac_signed
from tests.support.local_issuer import LocalIssuer


class Recorder(Observer):
    """Remembers every event, with the issuer it was reported for."""

    def __init__(self, issuer: str = "") -> None:
        self.issuer = issuer
        self.events: list[tuple[Any, ...]] = []

    def for_issuer(self, issuer: str) -> Recorder:
        bound = Recorder(issuer)
        bound.events = self.events
        return bound

    def validation(self, outcome: str) -> None:
        self.events.append(("validation", self.issuer, outcome))

    def jwks_fetch(self, reason: str, result: str, keys: int) -> None:
        self.events.append(("jwks", self.issuer, reason, result, keys))

    def token_cache_size(self, size: int) -> None:
        self.events.append(("cache", self.issuer, size))

    def outcomes(self) -> list[str]:
        return [event[2] for event in self.events if event[0] == "validation"]


def validator_for(issuer: LocalIssuer, recorder: Recorder, **overrides: Any):
    settings = ResourceSettings(issuer=issuer.issuer, jwks_refresh_cooldown=60, http_timeout=2, **overrides)
    return build_validator(settings, observer=recorder)


def hostile_token(issuer: LocalIssuer, outcome: str) -> str:
    """A token the local issuer's validator refuses with ``outcome``."""
    now = int(time.time())
    hs256_header = {"alg": "HS256", "kid": issuer.key.kid}
    makers = {
        "expired": lambda: issuer.sign(exp=now - 120, iat=now - 420),
        "not_yet_valid": lambda: issuer.sign(nbf=now + 600),
        "bad_signature": lambda: issuer.sign(key=LocalIssuer.new_key(issuer.key.kid)),
        "unknown_kid": lambda: issuer.sign(key=LocalIssuer.new_key("stranger")),
        "disallowed_algorithm": lambda: hmac_signed(hs256_header, issuer.claims(), issuer.key.as_pem(private=False)),
        "wrong_issuer": lambda: issuer.sign(iss="http://127.0.0.1:1/realms/other"),
        "wrong_audience": lambda: issuer.sign(aud="another-api"),
        "not_access_token": lambda: issuer.sign(typ="ID"),
        "malformed": lambda: "not-a-jwt",
    }
    return makers[outcome]()


@pytest.mark.parametrize(
    "outcome",
    [
        "expired",
        "not_yet_valid",
        "bad_signature",
        "unknown_kid",
        "disallowed_algorithm",
        "wrong_issuer",
        "wrong_audience",
        "not_access_token",
        "malformed",
    ],
)
def test_each_refusal_is_reported_with_its_outcome(local_issuer: LocalIssuer, outcome: str):
    recorder = Recorder()
    validator = validator_for(local_issuer, recorder)
    with pytest.raises(InvalidToken):
        validator.authenticate_token(hostile_token(local_issuer, outcome))
    assert recorder.outcomes() == [outcome]
    assert {event[1] for event in recorder.events} == {local_issuer.issuer}


def test_a_good_token_is_ok_once_then_a_cache_hit(local_issuer: LocalIssuer):
    recorder = Recorder()
    validator = validator_for(local_issuer, recorder)
    token = local_issuer.sign()
    for _ in range(3):
        validator.authenticate_token(token)
    assert recorder.outcomes() == ["ok", "cache_hit", "cache_hit"]
    assert ("jwks", local_issuer.issuer, "initial load", "ok", 1) in recorder.events
    assert ("cache", local_issuer.issuer, 1) in recorder.events


def test_a_missing_scope_is_reported_besides_the_check(local_issuer: LocalIssuer):
    recorder = Recorder()
    validator = validator_for(local_issuer, recorder)
    token = validator.authenticate_token(local_issuer.sign(scope="profile"))
    with pytest.raises(InsufficientScope):
        validator.validate_token(token, ["books.admin"], None)
    assert recorder.outcomes() == ["ok", "insufficient_scope"]


def test_no_keys_is_unavailable_and_a_failed_fetch_is_reported(local_issuer: LocalIssuer):
    recorder = Recorder()
    validator = validator_for(local_issuer, recorder)
    local_issuer.down = True
    with pytest.raises(ValidationUnavailable):
        validator.authenticate_token(local_issuer.sign())
    assert recorder.outcomes() == ["unavailable"]
    assert [event[0] for event in recorder.events] == ["jwks", "validation"]
    assert recorder.events[0][3:] == ("failed", 0)


def test_the_default_observer_does_nothing_and_needs_nothing(local_issuer: LocalIssuer):
    validator = build_validator(ResourceSettings(issuer=local_issuer.issuer))
    assert validator.authenticate_token(local_issuer.sign())["iss"] == local_issuer.issuer


def test_the_core_reports_without_prometheus_client_installed():
    """Nothing outside kcguard.resource.metrics imports prometheus_client (the contract checks it too)."""
    import kcguard.resource.events as events
    import kcguard.resource.validator as validator

    assert "prometheus_client" not in vars(events)
    assert "prometheus_client" not in vars(validator)


@pytest.fixture
def second_issuer():
    with LocalIssuer(port=free_port()) as issuer:
        yield issuer


def test_several_issuers_each_judge_their_own_tokens(local_issuer: LocalIssuer, second_issuer: LocalIssuer):
    recorder = Recorder()
    settings = ResourceSettings(issuers=(local_issuer.issuer, f"{second_issuer.issuer}|other-api"))
    validator = build_validator(settings, observer=recorder)
    assert validator.authenticate_token(local_issuer.sign())["iss"] == local_issuer.issuer
    assert validator.authenticate_token(second_issuer.sign(aud="other-api"))["iss"] == second_issuer.issuer
    with pytest.raises(InvalidToken):
        validator.authenticate_token(second_issuer.sign())  # the second issuer's audience is other-api
    assert [(event[1], event[2]) for event in recorder.events if event[0] == "validation"] == [
        (local_issuer.issuer, "ok"),
        (second_issuer.issuer, "ok"),
        (second_issuer.issuer, "wrong_audience"),
    ]


def test_a_token_of_an_unconfigured_issuer_is_refused_before_any_request(
    local_issuer: LocalIssuer, second_issuer: LocalIssuer
):
    with LocalIssuer(port=free_port()) as third:
        recorder = Recorder()
        validator = build_validator(ResourceSettings(issuers=(local_issuer.issuer, second_issuer.issuer)), recorder)
        for token in (third.sign(), local_issuer.sign(iss=third.issuer), forge({"alg": "RS256"}, {"sub": "x"})):
            with pytest.raises(InvalidToken, match="issuer is not accepted"):
                validator.authenticate_token(token)
        assert third.requests == local_issuer.requests == second_issuer.requests == 0
        assert recorder.outcomes() == ["wrong_issuer"] * 3
        assert {event[1] for event in recorder.events} == {"none"}


def test_an_unreadable_token_is_malformed_before_any_issuer_is_chosen(
    local_issuer: LocalIssuer, second_issuer: LocalIssuer
):
    recorder = Recorder()
    validator = build_validator(ResourceSettings(issuers=(local_issuer.issuer, second_issuer.issuer)), recorder)
    for token in ("a.b", "a.!!!.c", forge({"alg": "RS256"}, ["not", "an", "object"])):  # type: ignore[arg-type]
        with pytest.raises(InvalidToken, match="malformed"):
            validator.authenticate_token(token)
    assert recorder.outcomes() == ["malformed"] * 3
    assert local_issuer.requests == second_issuer.requests == 0


def test_a_dpop_bound_token_sent_as_bearer_is_reported_as_needing_its_proof(local_issuer: LocalIssuer):
    recorder = Recorder()
    validator = validator_for(local_issuer, recorder)
    with pytest.raises(InvalidToken, match="bound to a DPoP key"):
        validator.authenticate_token(local_issuer.sign(typ="DPoP", cnf={"jkt": "A" * 43}))
    assert recorder.outcomes() == ["dpop_required"]


def test_an_app_with_several_issuers_serves_each_issuers_tokens(
    local_issuer: LocalIssuer, second_issuer: LocalIssuer, make_local_app
):
    client = make_local_app(issuers=(local_issuer.issuer, second_issuer.issuer)).test_client()
    for token in (local_issuer.sign(), second_issuer.sign()):
        for _ in range(2):  # verified, then from the issuer's own verified-token cache
            response = client.get("/api/private", headers=bearer(token))
            assert response.status_code == 200
    third = client.get("/api/private", headers=bearer(LocalIssuer(port=free_port()).sign()))
    assert third.status_code == 401
    assert third.json["error_description"] == "The token's issuer is not accepted here."
