"""Property: whatever arrives in the Authorization header, every protected route answers a clean 4xx.

Never a 5xx, always a JSON body with ``error``, always a ``WWW-Authenticate``
challenge on 401/403. Tokens are random text, random JWT-shaped strings, and
mutations of a validly signed token from the test-only issuer.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcguard.app import create_app
from kcguard.devstack import free_port
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


def send_everywhere(client, header: str) -> None:
    for method, path in PROTECTED:
        response = client.open(path, method=method, headers={"Authorization": header}, json={"title": "t"})
        assert_clean_refusal_or_success(response)


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
