"""Each way a token can be wrong gets 401 invalid_token (or 400 for a malformed header), never a 5xx.

Tokens here are signed by a test-only issuer on 127.0.0.1, because Keycloak
will not produce them.
"""

from __future__ import annotations

import time

import pytest

from tests.support.auth import bearer
from tests.support.hostile import forge, hmac_signed
from tests.support.local_issuer import LocalIssuer

METADATA = "http://localhost/.well-known/oauth-protected-resource"


def call(app, token: str | None = None, header: str | None = None, path: str = "/api/private"):
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers = bearer(token)
    return app.test_client().get(path, headers=headers)


def assert_invalid_token(response, description: str) -> None:
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": description}
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="local", error="invalid_token", error_description="')
    assert response.headers["Cache-Control"] == "no-store"


def test_valid_local_token_is_accepted(local_app, local_issuer: LocalIssuer):
    response = call(local_app, local_issuer.sign())
    assert response.status_code == 200
    assert response.json["scopes"] == ["profile", "test_api_access"]


def test_alg_none_is_rejected(local_app, local_issuer: LocalIssuer):
    token = forge({"alg": "none", "kid": local_issuer.key.kid, "typ": "JWT"}, local_issuer.claims())
    assert_invalid_token(call(local_app, token), "The token algorithm is not allowed.")
    assert local_issuer.jwks_fetches == 0


def test_hs256_signed_with_the_public_key_is_rejected(local_app, local_issuer: LocalIssuer):
    public_pem = local_issuer.key.as_pem(private=False)
    token = hmac_signed({"alg": "HS256", "kid": local_issuer.key.kid}, local_issuer.claims(), public_pem)
    assert_invalid_token(call(local_app, token), "The token algorithm is not allowed.")


def test_hs256_is_rejected_even_when_allowlisted_by_mistake(local_issuer: LocalIssuer):
    from kcguard.config import ConfigError
    from kcguard.resource import ResourceSettings

    with pytest.raises(ConfigError, match="OIDC_ALGORITHMS"):
        ResourceSettings(issuer=local_issuer.issuer, algorithms=("RS256", "HS256"))


def test_forged_signature_is_rejected(local_app, local_issuer: LocalIssuer):
    impostor = LocalIssuer.new_key(local_issuer.key.kid)
    assert_invalid_token(call(local_app, local_issuer.sign(key=impostor)), "The token signature is invalid.")


def test_tampered_claims_are_rejected(local_app, local_issuer: LocalIssuer):
    header, _, signature = local_issuer.sign().split(".")
    claims = forge({}, local_issuer.claims(scope="books.admin")).split(".")[1]
    assert_invalid_token(call(local_app, f"{header}.{claims}.{signature}"), "The token signature is invalid.")


def test_unknown_kid_is_rejected(local_app, local_issuer: LocalIssuer):
    stranger = LocalIssuer.new_key("not-published")
    assert_invalid_token(call(local_app, local_issuer.sign(key=stranger)), "The token was signed with an unknown key.")


def test_missing_kid_is_rejected(local_app, local_issuer: LocalIssuer):
    from joserfc import jwt

    token = jwt.encode({"alg": "RS256"}, local_issuer.claims(), local_issuer.key)
    assert_invalid_token(call(local_app, token), "The token header has no key id (kid).")


def test_wrong_issuer_is_rejected(local_app, local_issuer: LocalIssuer):
    token = local_issuer.sign(iss="http://127.0.0.1:1/realms/other")
    assert_invalid_token(call(local_app, token), "Invalid claim: 'iss'.")


def test_wrong_audience_is_rejected(local_app, local_issuer: LocalIssuer):
    assert_invalid_token(call(local_app, local_issuer.sign(aud=["other_api", "account"])), "Invalid claim: 'aud'.")


def test_missing_audience_is_rejected(local_app, local_issuer: LocalIssuer):
    assert_invalid_token(call(local_app, local_issuer.sign(aud=None)), "Missing claim: 'aud'.")


def test_expired_token_is_rejected(local_app, local_issuer: LocalIssuer):
    now = int(time.time())
    token = local_issuer.sign(iat=now - 400, exp=now - 31)
    assert_invalid_token(call(local_app, token), "The token is expired.")


def test_expiry_within_the_leeway_is_accepted(local_app, local_issuer: LocalIssuer):
    now = int(time.time())
    assert call(local_app, local_issuer.sign(iat=now - 400, exp=now - 10)).status_code == 200


def test_not_yet_valid_token_is_rejected(local_app, local_issuer: LocalIssuer):
    token = local_issuer.sign(nbf=int(time.time()) + 120)
    assert_invalid_token(call(local_app, token), "The token is not yet valid.")


def test_token_issued_in_the_future_is_rejected(local_app, local_issuer: LocalIssuer):
    token = local_issuer.sign(iat=int(time.time()) + 120)
    assert_invalid_token(call(local_app, token), "The token was issued in the future.")


@pytest.mark.parametrize("token_type", ["ID", "Refresh", "Logout", "bearer"])
def test_non_access_tokens_are_rejected(local_app, local_issuer: LocalIssuer, token_type: str):
    assert_invalid_token(call(local_app, local_issuer.sign(typ=token_type)), "The token is not an access token.")


def test_rfc9068_at_jwt_header_is_accepted(local_app, local_issuer: LocalIssuer):
    token = local_issuer.sign(header={"typ": "at+jwt"}, typ=None)
    assert call(local_app, token).status_code == 200


def test_token_without_any_type_is_rejected(local_app, local_issuer: LocalIssuer):
    assert_invalid_token(call(local_app, local_issuer.sign(typ=None)), "The token is not an access token.")


def test_non_string_scope_is_rejected(local_app, local_issuer: LocalIssuer):
    token = local_issuer.sign(scope=["test_api_access"])
    assert_invalid_token(call(local_app, token), "Claim 'scope' must be a space-delimited string.")


@pytest.mark.parametrize(
    ("payload", "description"),
    [
        ("not-a-jwt", "The token is malformed."),
        ("a.b.c", "The token is malformed."),
        ("eyJhbGciOiJSUzI1NiJ9.e30", "The token is malformed."),
        ("e30.e30.e30.e30.e30", "The token is malformed."),
    ],
)
def test_garbage_tokens_are_rejected(local_app, payload: str, description: str):
    assert_invalid_token(call(local_app, payload), description)


def test_huge_token_is_rejected_before_parsing(local_app, local_issuer: LocalIssuer):
    token = local_issuer.sign(padding="x" * 20_000)
    assert_invalid_token(call(local_app, token), "The token is longer than 16384 characters.")
    assert local_issuer.jwks_fetches == 0


@pytest.mark.parametrize(
    ("header", "description"),
    [
        ("Basic dXNlcjpwYXNz", "The Authorization header must use the Bearer or DPoP scheme."),
        ("Token abc", "The Authorization header must use the Bearer or DPoP scheme."),
        ("Bearer", "The Bearer token is missing."),
        ("Bearer ", "The Bearer token is missing."),
        ("Bearer two tokens", "The Bearer token has characters RFC 6750 does not allow."),
        ("Bearer abc,def", "The Bearer token has characters RFC 6750 does not allow."),
        ('Bearer abc"def', "The Bearer token has characters RFC 6750 does not allow."),
    ],
)
def test_malformed_authorization_header_is_invalid_request(local_app, header: str, description: str):
    response = call(local_app, header=header)
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request", "error_description": description}
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_bearer_scheme_is_case_insensitive(local_app, local_issuer: LocalIssuer, scheme: str):
    assert call(local_app, header=f"{scheme} {local_issuer.sign()}").status_code == 200


def test_missing_token_gets_a_challenge_without_error_code(local_app):
    response = call(local_app)
    assert response.status_code == 401
    assert response.json["error"] == "missing_authorization"
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="local", resource_metadata="{METADATA}", '
        f'DPoP algs="ES256 RS256 PS256 EdDSA", resource_metadata="{METADATA}"'
    )


def test_insufficient_scope_names_the_scope(local_app, local_issuer: LocalIssuer):
    response = call(local_app, local_issuer.sign(scope="profile"), path="/api/private-scoped")
    assert response.status_code == 403
    assert response.json == {
        "error": "insufficient_scope",
        "error_description": "This request needs the scope(s): test_api_access.",
    }
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="local", error="insufficient_scope", '
        'error_description="This request needs the scope(s): test_api_access.", scope="test_api_access", '
        f'resource_metadata="{METADATA}", DPoP algs="ES256 RS256 PS256 EdDSA", resource_metadata="{METADATA}"'
    )


def test_jku_header_is_never_followed(local_app, local_issuer: LocalIssuer):
    stranger = LocalIssuer.new_key("attacker-key")
    token = local_issuer.sign(key=stranger, header={"jku": "http://127.0.0.1:9/attacker/jwks.json"})
    assert_invalid_token(call(local_app, token), "The token was signed with an unknown key.")
    assert local_issuer.jwks_fetches == 1


def test_kid_of_a_key_of_another_type_is_rejected(local_issuer: LocalIssuer, make_local_app):
    from joserfc.jwk import ECKey

    ec_key = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"})
    local_issuer.keys.append(ec_key)
    app = make_local_app(algorithms=("RS256", "ES256"))
    token = local_issuer.sign(key=LocalIssuer.new_key("ec-1"))
    assert_invalid_token(call(app, token), "The signing key does not fit the token algorithm.")
