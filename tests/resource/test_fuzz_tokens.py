"""Property: whatever arrives in the Authorization and DPoP headers, every protected route answers a clean 4xx.

Never a 5xx, always a JSON body with ``error``, always a ``WWW-Authenticate``
challenge on 401/403. Tokens are random text, random JWT-shaped strings, and
mutations of a validly signed token from the test-only issuer; DPoP proofs
likewise, sent with a validly bound token.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcguard.app import create_app
from kcguard.devstack import free_port
from tests.support.dpop import new_key, proof_claims, public_jwk, sign_proof
from tests.support.hostile import b64url, forge
from tests.support.local_issuer import LocalIssuer

PROTECTED = [
    ("GET", "/api/private"),
    ("GET", "/api/private-scoped"),
    ("GET", "/api/books"),
    ("GET", "/api/books/1"),
    ("POST", "/api/books"),
]
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    with LocalIssuer(port=free_port()) as issuer:
        app = create_app(
            issuer=issuer.issuer,
            database=str(tmp_path_factory.mktemp("fuzz") / "books.sqlite"),
            jwks_refresh_cooldown=3600,
        )
        yield app.test_client(), issuer


def assert_clean_refusal_or_success(response) -> None:
    assert response.status_code < 500
    assert response.is_json
    if response.status_code >= 400:
        assert isinstance(response.json.get("error"), str)
    if response.status_code in (401, 403):
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="local"')


def send_everywhere(client, header: str, proof: str | None = None) -> None:
    headers = {"Authorization": header} if proof is None else {"Authorization": header, "DPoP": proof}
    for method, path in PROTECTED:
        response = client.open(path, method=method, headers=headers, json={"title": "t"})
        assert_clean_refusal_or_success(response)


@pytest.fixture(scope="module")
def dpop_key():
    return new_key("ES256")


def bound_token(issuer: LocalIssuer, key) -> str:
    return issuer.sign(typ="DPoP", cnf={"jkt": key.thumbprint()}, scope="test_api_access books.read books.admin")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=HEADER_TEXT)
def test_random_authorization_headers(fuzz_target, header: str):
    send_everywhere(fuzz_target[0], header)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "jku"]), JSON_VALUES, max_size=4),
    claims=st.dictionaries(st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "sub", "typ", "scope"]), JSON_VALUES),
    signature=st.binary(max_size=300),
)
def test_random_jwt_shaped_tokens(fuzz_target, header, claims, signature):
    token = forge(header, claims, signature)
    send_everywhere(fuzz_target[0], f"Bearer {token}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_valid_tokens(fuzz_target, data):
    client, issuer = fuzz_target
    token = issuer.sign()
    mutation = data.draw(st.sampled_from(["flip", "truncate", "swap", "claims", "header"]))
    if mutation == "flip":
        index = data.draw(st.integers(0, len(token) - 1))
        replacement = data.draw(st.sampled_from("ABCabc019-_.="))
        token = token[:index] + replacement + token[index + 1 :]
    elif mutation == "truncate":
        token = token[: data.draw(st.integers(0, len(token) - 1))]
    elif mutation == "swap":
        parts = token.split(".")
        token = ".".join(data.draw(st.permutations(parts)))
    else:
        header, claims, signature = token.split(".")
        value = b64url(json.dumps(data.draw(JSON_VALUES)).encode())
        token = f"{value}.{claims}.{signature}" if mutation == "header" else f"{header}.{value}.{signature}"
    send_everywhere(client, f"Bearer {token}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(proof=HEADER_TEXT)
def test_random_dpop_headers(fuzz_target, dpop_key, proof: str):
    client, issuer = fuzz_target
    send_everywhere(client, f"DPoP {bound_token(issuer, dpop_key)}", proof)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.dictionaries(st.sampled_from(["typ", "alg", "jwk", "crit", "b64", "kid"]), JSON_VALUES, max_size=4),
    claims=st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), JSON_VALUES, max_size=6),
    signature=st.binary(max_size=300),
)
def test_random_proof_shaped_jwts(fuzz_target, dpop_key, header, claims, signature):
    client, issuer = fuzz_target
    send_everywhere(client, f"DPoP {bound_token(issuer, dpop_key)}", forge(header, claims, signature))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_valid_proofs(fuzz_target, dpop_key, data):
    """Validly signed proofs with one part changed: the header, a claim, or the bytes."""
    client, issuer = fuzz_target
    token = bound_token(issuer, dpop_key)
    claims = proof_claims("GET", "http://localhost/api/private", token)
    mutation = data.draw(st.sampled_from(["claim", "header", "flip", "truncate"]))
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(dpop_key)}
    if mutation == "claim":
        claims[data.draw(st.sampled_from([*sorted(claims), "nonce"]))] = data.draw(JSON_VALUES)
    elif mutation == "header":
        header[data.draw(st.sampled_from(["typ", "jwk", "crit", "b64"]))] = data.draw(JSON_VALUES)
    proof = sign_proof(dpop_key, claims, header={k: v for k, v in header.items() if k != "alg"})
    if mutation == "flip":
        index = data.draw(st.integers(0, len(proof) - 1))
        proof = proof[:index] + data.draw(st.sampled_from("ABCabc019-_.=")) + proof[index + 1 :]
    elif mutation == "truncate":
        proof = proof[: data.draw(st.integers(0, len(proof) - 1))]
    send_everywhere(client, f"DPoP {token}", proof)
