"""DPoP at the API (RFC 9449 sections 4.3 and 7): each defect gets its exact status, error and challenge.

Tokens come from the test-only issuer, bound to a key with ``cnf.jkt`` the
way Keycloak binds them (payload ``typ`` "DPoP"), because Keycloak will not
sign the broken proofs and tokens these tests need.
"""

from __future__ import annotations

import time

import pytest

from tests.support.dpop import new_key, proof_claims, public_jwk, sign_proof
from tests.support.hostile import b64url, forge, hmac_signed
from tests.support.local_issuer import LocalIssuer

BASE = "http://localhost"
URL = BASE + "/api/private"
METADATA = BASE + "/.well-known/oauth-protected-resource"
ALGS = "ES256 RS256 PS256 EdDSA"
BEARER_CHALLENGE = f'Bearer realm="local", resource_metadata="{METADATA}"'
DPOP_CHALLENGE = f'DPoP algs="{ALGS}", resource_metadata="{METADATA}"'


@pytest.fixture(scope="module")
def key():
    return new_key("ES256")


def bound_token(issuer: LocalIssuer, key, **claims) -> str:
    return issuer.sign(typ="DPoP", cnf={"jkt": key.thumbprint(), "kc-jkt-type": "DPoP"}, **claims)


def send(app, token: str, proofs: list[str] | str | None = None, *, scheme: str = "DPoP", method="GET", path=None):
    headers = [("Authorization", f"{scheme} {token}")]
    proofs = [proofs] if isinstance(proofs, str) else proofs or []
    headers += [("DPoP", proof) for proof in proofs]
    book = {"title": "t", "author": "a", "num_pages": 1, "cost": 1}
    return app.test_client().open(path or URL.removeprefix(BASE), method=method, headers=headers, json=book)


def proof_for(key, token: str, method: str = "GET", url: str = URL, **overrides) -> str:
    return sign_proof(key, proof_claims(method, url, token, **overrides))


def assert_refused(response, status: int, error: str, description: str, challenge: str) -> None:
    assert response.status_code == status
    assert response.json == {"error": error, "error_description": description}
    assert response.headers["WWW-Authenticate"] == challenge
    assert response.headers["Cache-Control"] == "no-store"


def dpop_error(error: str, description: str) -> str:
    return (
        f'{BEARER_CHALLENGE}, DPoP algs="{ALGS}", error="{error}", '
        f'error_description="{description}", resource_metadata="{METADATA}"'
    )


def bearer_error(error: str, description: str) -> str:
    return (
        f'Bearer realm="local", error="{error}", error_description="{description}", '
        f'resource_metadata="{METADATA}", {DPOP_CHALLENGE}'
    )


def test_a_bound_token_with_a_valid_proof_is_accepted(local_app, local_issuer, key):
    token = bound_token(local_issuer, key)
    for _ in range(3):  # the token comes from the cache after the first call; each proof is checked anew
        response = send(local_app, token, proof_for(key, token))
        assert response.status_code == 200
        assert response.json["scopes"] == ["profile", "test_api_access"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/books"), ("POST", "/api/books")])
def test_the_proof_names_the_method_and_path(local_app, local_issuer, key, method, path):
    token = bound_token(local_issuer, key, scope="books.read books.admin")
    response = send(local_app, token, proof_for(key, token, method, BASE + path), method=method, path=path)
    assert response.status_code == (201 if method == "POST" else 200)


def test_the_query_string_is_not_part_of_htu(local_app, local_issuer, key):
    token = bound_token(local_issuer, key)
    assert send(local_app, token, proof_for(key, token), path="/api/private?page=2").status_code == 200


def test_a_bound_token_with_the_bearer_scheme_is_refused(local_app, local_issuer, key):
    description = "The token is bound to a DPoP key: send it with the DPoP scheme and a DPoP proof."
    for token in (bound_token(local_issuer, key), local_issuer.sign(typ="DPoP")):
        response = send(local_app, token, scheme="Bearer")
        assert_refused(response, 401, "invalid_token", description, bearer_error("invalid_token", description))


def test_an_unbound_token_with_the_dpop_scheme_is_refused(local_app, local_issuer, key):
    token = local_issuer.sign()
    description = "The token is not bound to a DPoP key, so it cannot be sent with the DPoP scheme."
    response = send(local_app, token, proof_for(key, token))
    assert_refused(response, 401, "invalid_token", description, dpop_error("invalid_token", description))


def test_a_bearer_request_with_a_dpop_header_is_ambiguous(local_app, local_issuer, key):
    token = local_issuer.sign()
    description = "A DPoP proof was sent with the Bearer scheme; use the DPoP scheme."
    response = send(local_app, token, proof_for(key, token), scheme="Bearer")
    params = f'error="invalid_request", error_description="{description}"'
    challenge = (
        f'Bearer realm="local", {params}, resource_metadata="{METADATA}", '
        f'DPoP algs="{ALGS}", {params}, resource_metadata="{METADATA}"'
    )
    assert_refused(response, 400, "invalid_request", description, challenge)


@pytest.mark.parametrize(
    ("proofs", "description"),
    [
        ([], "The DPoP proof is missing."),
        (["one", "two"], "Send exactly one DPoP header."),
        (["one, two"], "Send exactly one DPoP header."),
    ],
)
def test_exactly_one_dpop_header_is_needed(local_app, local_issuer, key, proofs, description):
    token = bound_token(local_issuer, key)
    if proofs:
        proofs = [p.replace("one", proof_for(key, token)).replace("two", proof_for(key, token)) for p in proofs]
    response = send(local_app, token, proofs)
    assert_refused(response, 401, "invalid_dpop_proof", description, dpop_error("invalid_dpop_proof", description))


def _defects(key, token: str) -> dict[str, tuple[str, str]]:
    """Each hostile proof for ``token`` with the description the API must answer."""
    claims = proof_claims("GET", URL, token)
    other = new_key("ES256")
    without = {name: {k: v for k, v in claims.items() if k != name} for name in ("jti", "htm", "htu", "iat", "ath")}
    return {
        "typ JWT": (sign_proof(key, claims, header={"typ": "JWT"}), "The DPoP proof header typ must be 'dpop+jwt'."),
        "no typ": (sign_proof(key, claims, header={"typ": None}), "The DPoP proof header typ must be 'dpop+jwt'."),
        "alg none": (
            forge({"typ": "dpop+jwt", "alg": "none", "jwk": public_jwk(key)}, claims, b"sig"),
            "The DPoP proof algorithm is not allowed.",
        ),
        "HS256": (
            hmac_signed({"typ": "dpop+jwt", "alg": "HS256", "jwk": public_jwk(key)}, claims, b"secret"),
            "The DPoP proof algorithm is not allowed.",
        ),
        "private jwk": (
            sign_proof(key, claims, header={"jwk": key.as_dict(private=True)}),
            "The DPoP proof jwk must be a public key.",
        ),
        "no jwk": (sign_proof(key, claims, header={"jwk": None}), "The DPoP proof header has no jwk."),
        "other signer": (sign_proof(key, claims, signing_key=other), "The DPoP proof signature is invalid."),
        "no jti": (sign_proof(key, without["jti"]), "The DPoP proof needs a jti string of at most 256 characters."),
        "no htm": (sign_proof(key, without["htm"]), "The DPoP proof needs an htm string."),
        "no htu": (sign_proof(key, without["htu"]), "The DPoP proof needs an htu string."),
        "no iat": (sign_proof(key, without["iat"]), "The DPoP proof needs a numeric iat."),
        "no ath": (sign_proof(key, without["ath"]), "The DPoP proof needs an ath string."),
        "iat string": (sign_proof(key, {**claims, "iat": str(claims["iat"])}), "The DPoP proof needs a numeric iat."),
        "htu list": (sign_proof(key, {**claims, "htu": [URL]}), "The DPoP proof needs an htu string."),
        "wrong htm": (
            sign_proof(key, {**claims, "htm": "POST"}),
            "The DPoP proof htm does not match the request method.",
        ),
        "wrong htu": (
            sign_proof(key, {**claims, "htu": BASE + "/api/books"}),
            "The DPoP proof htu does not match the request URL.",
        ),
        "wrong ath": (
            sign_proof(key, {**claims, "ath": b64url(b"x" * 32)}),
            "The DPoP proof ath does not match the access token.",
        ),
        "old iat": (
            sign_proof(key, {**claims, "iat": int(time.time()) - 61}),
            "The DPoP proof iat is outside the accepted time window.",
        ),
        "future iat": (
            sign_proof(key, {**claims, "iat": int(time.time()) + 30}),
            "The DPoP proof iat is outside the accepted time window.",
        ),
        "bad base64": ("e!yJ.eyJ.sig", "The DPoP proof is not a compact JWS."),
        "bad header JSON": (f"{b64url(b'{oops')}.e30.c2ln", "The DPoP proof is malformed."),
        "bad payload JSON": (sign_proof(key, b"{oops"), "The DPoP proof payload is not JSON."),
        "oversized": ("a" * 9000, "The DPoP proof is longer than 8192 characters."),
    }


DEFECTS = list(_defects(new_key("ES256"), "t"))


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_proof_defect_is_invalid_dpop_proof(local_app, local_issuer, key, defect):
    token = bound_token(local_issuer, key)
    proof, description = _defects(key, token)[defect]
    response = send(local_app, token, proof)
    assert_refused(response, 401, "invalid_dpop_proof", description, dpop_error("invalid_dpop_proof", description))


def test_a_replayed_proof_is_refused(local_app, local_issuer, key):
    token = bound_token(local_issuer, key)
    proof = proof_for(key, token)
    assert send(local_app, token, proof).status_code == 200
    description = "The DPoP proof was already used."
    response = send(local_app, token, proof)
    assert_refused(response, 401, "invalid_dpop_proof", description, dpop_error("invalid_dpop_proof", description))


def test_a_proof_by_another_key_is_a_binding_mismatch(local_app, local_issuer, key):
    token = bound_token(local_issuer, key)
    description = "The DPoP proof key is not the key the access token is bound to."
    response = send(local_app, token, proof_for(new_key("ES256"), token))
    assert_refused(response, 401, "invalid_token", description, dpop_error("invalid_token", description))


def test_dpop_required_refuses_bearer_tokens(local_issuer, make_local_app, key):
    app = make_local_app(dpop="required")
    description = "This API accepts only DPoP-bound tokens, sent with the DPoP scheme and a proof."
    response = send(app, local_issuer.sign(), scheme="Bearer")
    challenge = (
        f'DPoP algs="{ALGS}", error="invalid_token", error_description="{description}", resource_metadata="{METADATA}"'
    )
    assert_refused(response, 401, "invalid_token", description, challenge)
    assert app.test_client().get("/api/private").headers["WWW-Authenticate"] == DPOP_CHALLENGE
    token = bound_token(local_issuer, key)
    assert send(app, token, proof_for(key, token)).status_code == 200


def test_dpop_off_refuses_the_dpop_scheme(local_issuer, make_local_app, key):
    app = make_local_app(dpop="off")
    token = bound_token(local_issuer, key)
    description = "The Authorization header must use the Bearer scheme."
    challenge = (
        f'Bearer realm="local", error="invalid_request", error_description="{description}", '
        f'resource_metadata="{METADATA}"'
    )
    assert_refused(send(app, token, proof_for(key, token)), 400, "invalid_request", description, challenge)
    assert app.test_client().get("/api/private").headers["WWW-Authenticate"] == BEARER_CHALLENGE


def test_nonces_are_asked_for_once_then_accepted(local_issuer, make_local_app, key):
    app = make_local_app(dpop_nonces=True)
    token = bound_token(local_issuer, key)
    description = "The DPoP proof must carry the server's DPoP-Nonce."
    response = send(app, token, proof_for(key, token))
    assert_refused(response, 401, "use_dpop_nonce", description, dpop_error("use_dpop_nonce", description))
    nonce = response.headers["DPoP-Nonce"]
    assert send(app, token, proof_for(key, token, nonce=nonce)).status_code == 200


def test_public_url_is_the_htu_behind_a_proxy(local_issuer, make_local_app, key):
    public = "https://api.example.org"
    app = make_local_app(public_url=public)
    token = bound_token(local_issuer, key)
    assert send(app, token, proof_for(key, token, url=public + "/api/private")).status_code == 200
    response = send(app, token, proof_for(key, token))
    assert response.status_code == 401
    assert f'resource_metadata="{public}/.well-known/oauth-protected-resource"' in response.headers["WWW-Authenticate"]


def test_a_refused_token_is_refused_before_its_proof_is_read(local_app, local_issuer, key):
    token = bound_token(local_issuer, key, exp=int(time.time()) - 3600)
    response = send(local_app, token, "garbage")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_the_validator_alone_refuses_a_bound_token(local_app, local_issuer, key):
    """Code that judges a token itself (not through require_auth) cannot skip the proof by accident."""
    from kcguard.resource import InvalidToken
    from kcguard.resource.flask import current_validator

    token = bound_token(local_issuer, key)
    with local_app.app_context():
        validator = current_validator()
        with pytest.raises(InvalidToken, match="bound to a DPoP key"):
            validator.authenticate_token(token)
        assert validator.authenticate_token(token, proof_follows=True).jkt == key.thumbprint()
