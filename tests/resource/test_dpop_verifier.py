"""The framework-free DPoP proof check: each rule of RFC 9449 section 4.3, one refusal each."""

from __future__ import annotations

import time
import warnings

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, RSAKey

from kcguard.resource.dpop import (
    DPoPBindingMismatch,
    DPoPSettings,
    DPoPVerifier,
    InvalidDPoPProof,
    MemoryReplayCache,
    NonceSource,
    UseDPoPNonce,
    normalize_htu,
)
from tests.support.dpop import new_key, proof_claims, public_jwk, sign_proof
from tests.support.hostile import b64url, forge, hmac_signed

URL = "https://api.example.org/api/private"
#: A made-up access token: header {"alg":"RS256"}, payload {"sub":"x"}, signature the bytes "signature".
#: The verifier only hashes it for ath, so it need not be signed by anyone.
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def key() -> ECKey:
    return new_key("ES256")


def verify(proof: str, key, verifier: DPoPVerifier | None = None, **overrides):
    arguments = {"method": "GET", "url": URL, "access_token": TOKEN, "jkt": key.thumbprint(), **overrides}
    return (verifier or DPoPVerifier()).verify(proof, **arguments)


def refused(proof: str, key, description: str, error: type = InvalidDPoPProof, **overrides) -> None:
    with pytest.raises(error) as raised:
        verify(proof, key, **overrides)
    assert raised.value.description == description
    assert raised.value.status_code == 401


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_a_valid_proof_gives_the_key_thumbprint(alg: str):
    key = new_key(alg)
    proof = verify(sign_proof(key, proof_claims("GET", URL, TOKEN), alg=alg), key)
    assert proof.jkt == key.thumbprint()
    assert proof.claims["htu"] == URL


def test_the_query_and_fragment_of_the_request_are_not_part_of_htu(key):
    assert verify(sign_proof(key, proof_claims("GET", URL, TOKEN)), key, url=URL + "?page=2").jkt == key.thumbprint()


@pytest.mark.parametrize(
    ("header", "description"),
    [
        ({"typ": None}, "The DPoP proof header typ must be 'dpop+jwt'."),
        ({"typ": "JWT"}, "The DPoP proof header typ must be 'dpop+jwt'."),
        ({"typ": "at+jwt"}, "The DPoP proof header typ must be 'dpop+jwt'."),
        ({"jwk": None}, "The DPoP proof header has no jwk."),
        ({"jwk": "not a key"}, "The DPoP proof header has no jwk."),
        ({"crit": ["b64"], "b64": True}, "The DPoP proof header may not use crit or b64."),
    ],
)
def test_header_defects_are_refused(key, header, description):
    refused(sign_proof(key, proof_claims("GET", URL, TOKEN), header=header), key, description)


def test_alg_none_is_refused(key):
    proof = forge({"typ": "dpop+jwt", "alg": "none", "jwk": public_jwk(key)}, proof_claims("GET", URL, TOKEN))
    refused(proof + "c2ln", key, "The DPoP proof algorithm is not allowed.")


def test_hs256_with_the_public_key_as_secret_is_refused(key):
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": public_jwk(key)}
    proof = hmac_signed(header, proof_claims("GET", URL, TOKEN), key.as_pem(private=False))
    refused(proof, key, "The DPoP proof algorithm is not allowed.")


def test_an_algorithm_outside_the_allowlist_is_refused():
    key = new_key("ES384")
    refused(
        sign_proof(key, proof_claims("GET", URL, TOKEN), alg="ES384"), key, "The DPoP proof algorithm is not allowed."
    )


def test_a_private_key_in_the_header_is_refused(key):
    header = {"jwk": key.as_dict(private=True)}
    refused(
        sign_proof(key, proof_claims("GET", URL, TOKEN), header=header), key, "The DPoP proof jwk must be a public key."
    )


def test_a_key_that_does_not_fit_the_algorithm_is_refused(key):
    rsa = new_key("RS256")
    proof = sign_proof(rsa, proof_claims("GET", URL, TOKEN), alg="RS256", header={"jwk": public_jwk(key)})
    refused(proof, key, "The DPoP proof jwk does not fit the algorithm.")


def test_a_short_rsa_key_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about the short key we want here
        weak = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    proof = sign_proof(weak, proof_claims("GET", URL, TOKEN), alg="RS256")
    refused(proof, weak, "The DPoP proof RSA key must have at least 2048 bits.")


def test_a_signature_by_another_key_is_refused(key):
    proof = sign_proof(key, proof_claims("GET", URL, TOKEN), signing_key=new_key("ES256"))
    refused(proof, key, "The DPoP proof signature is invalid.")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat", "ath"])
def test_a_missing_claim_is_refused(key, claim):
    claims = proof_claims("GET", URL, TOKEN)
    del claims[claim]
    refused(sign_proof(key, claims), key, MISSING[claim])


MISSING = {
    "jti": "The DPoP proof needs a jti string of at most 256 characters.",
    "htm": "The DPoP proof needs an htm string.",
    "htu": "The DPoP proof needs an htu string.",
    "iat": "The DPoP proof needs a numeric iat.",
    "ath": "The DPoP proof needs an ath string.",
}


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("jti", 12345),
        ("jti", ""),
        ("jti", "x" * 257),
        ("htm", ["GET"]),
        ("htu", {"url": URL}),
        ("iat", str(int(time.time()))),
        ("iat", True),
        ("iat", None),
        ("ath", 1),
    ],
)
def test_a_claim_of_the_wrong_type_is_refused(key, claim, value):
    claims = proof_claims("GET", URL, TOKEN)
    claims[claim] = value
    proof = sign_proof(key, {k: v for k, v in claims.items() if v is not None})
    refused(proof, key, MISSING[claim])


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"htm": "POST"}, "The DPoP proof htm does not match the request method."),
        ({"htm": "get"}, "The DPoP proof htm does not match the request method."),
        ({"htu": "https://api.example.org/api/books"}, "The DPoP proof htu does not match the request URL."),
        ({"htu": "https://other.example.org/api/private"}, "The DPoP proof htu does not match the request URL."),
        ({"htu": "http://api.example.org/api/private"}, "The DPoP proof htu does not match the request URL."),
        ({"htu": "https://api.example.org:8443/api/private"}, "The DPoP proof htu does not match the request URL."),
        ({"htu": "not a url"}, "The DPoP proof htu does not match the request URL."),
        ({"ath": b64url(b"\0" * 32)}, "The DPoP proof ath does not match the access token."),
        ({"iat": -120}, "The DPoP proof iat is outside the accepted time window."),
        ({"iat": +120}, "The DPoP proof iat is outside the accepted time window."),
    ],
)
def test_a_proof_for_another_request_is_refused(key, overrides, description):
    if "iat" in overrides:
        # Seconds from now, taken when the test runs: collection may be minutes earlier in a whole run.
        overrides = {"iat": int(time.time()) + overrides["iat"]}
    refused(sign_proof(key, proof_claims("GET", URL, TOKEN, **overrides)), key, description)


def test_a_proof_for_another_token_is_refused(key):
    proof = sign_proof(key, proof_claims("GET", URL, "another-token"))
    refused(proof, key, "The DPoP proof ath does not match the access token.")


@pytest.mark.parametrize(
    "htu",
    [
        "HTTPS://API.example.org/api/private",
        "https://api.example.org:443/api/private",
        "https://api.example.org/api/%70rivate",
    ],
)
def test_htu_is_compared_after_normalisation(key, htu):
    assert verify(sign_proof(key, proof_claims("GET", URL, TOKEN, htu=htu)), key).jkt == key.thumbprint()


def test_normalize_htu_drops_query_fragment_and_default_port():
    assert normalize_htu("http://Host:80/a%2fb?x=1#y") == "http://host/a%2Fb"
    assert normalize_htu("https://[::1]:8443") == "https://[::1]:8443/"
    assert normalize_htu("ftp://host/x") is None
    assert normalize_htu("https://user:pw@host/") is None


def test_iat_window_edges(key):
    now = time.time()
    verifier = DPoPVerifier(DPoPSettings(max_age=60, max_skew=5), clock=lambda: now)
    assert verify(sign_proof(key, proof_claims("GET", URL, TOKEN, iat=int(now) - 59)), key, verifier)
    assert verify(sign_proof(key, proof_claims("GET", URL, TOKEN, iat=int(now) + 4)), key, verifier)


def test_a_replayed_proof_is_refused(key):
    verifier = DPoPVerifier()
    proof = sign_proof(key, proof_claims("GET", URL, TOKEN))
    verify(proof, key, verifier)
    with pytest.raises(InvalidDPoPProof, match="already used"):
        verify(proof, key, verifier)


def test_a_refused_proof_does_not_use_up_its_jti(key):
    verifier = DPoPVerifier()
    proof = sign_proof(key, proof_claims("GET", URL, TOKEN))
    with pytest.raises(DPoPBindingMismatch):
        verify(proof, key, verifier, jkt="another-thumbprint")
    assert verify(proof, key, verifier).jkt == key.thumbprint()


@pytest.mark.parametrize("jkt", ["another-thumbprint", None, 42, ""])
def test_a_thumbprint_mismatch_is_an_invalid_token(key, jkt):
    proof = sign_proof(key, proof_claims("GET", URL, TOKEN))
    refused(proof, key, "The DPoP proof key is not the key the access token is bound to.", DPoPBindingMismatch, jkt=jkt)
    assert DPoPBindingMismatch.error == "invalid_token"


@pytest.mark.parametrize(
    ("proof", "description"),
    [
        ("", "The DPoP proof is missing."),
        ("a.b", "The DPoP proof is not a compact JWS."),
        ("a.b.c.d", "The DPoP proof is not a compact JWS."),
        ("eyJ!.e30.c2ln", "The DPoP proof is not a compact JWS."),
        ("a.b.c", "The DPoP proof is malformed."),
        (f"{b64url(b'{not json')}.e30.c2ln", "The DPoP proof is malformed."),
        (f"{b64url(b'[1]')}.e30.c2ln", "The DPoP proof is malformed."),
        ("x" * 9000, "The DPoP proof is longer than 8192 characters."),
    ],
)
def test_garbage_is_refused(key, proof, description):
    refused(proof, key, description)


@pytest.mark.parametrize(
    ("payload", "description"),
    [
        (b"{not json", "The DPoP proof payload is not JSON."),
        (b"\xff\xfe", "The DPoP proof payload is not JSON."),
        (b"[1, 2]", "The DPoP proof payload is not a JSON object."),
    ],
)
def test_a_signed_payload_that_is_no_json_object_is_refused(key, payload, description):
    refused(sign_proof(key, payload), key, description)


def test_a_huge_signed_header_is_refused(key):
    proof = sign_proof(key, proof_claims("GET", URL, TOKEN), header={"kid": "k" * 3000})
    refused(proof, key, "The DPoP proof is malformed.")


def test_nonces_are_asked_for_and_then_accepted(key):
    now = [1_000_000.0]
    verifier = DPoPVerifier(DPoPSettings(nonces=True, max_age=60), clock=lambda: now[0])
    claims = proof_claims("GET", URL, TOKEN, iat=int(now[0]))
    with pytest.raises(UseDPoPNonce) as raised:
        verify(sign_proof(key, claims), key, verifier)
    nonce = raised.value.nonce
    assert raised.value.headers == {"DPoP-Nonce": nonce}
    assert raised.value.error == "use_dpop_nonce"
    assert verifier.next_nonce() == nonce
    assert verify(sign_proof(key, {**claims, "jti": "j2", "nonce": nonce}), key, verifier).jkt == key.thumbprint()


def test_a_stale_or_forged_nonce_is_answered_with_a_fresh_one(key):
    now = [1_000_000.0]
    verifier = DPoPVerifier(DPoPSettings(nonces=True, nonce_lifetime=300), clock=lambda: now[0])
    old = verifier.next_nonce()
    now[0] += 700
    for nonce in (old, "forged", 7):
        claims = proof_claims("GET", URL, TOKEN, iat=int(now[0]), nonce=nonce)
        with pytest.raises(UseDPoPNonce) as raised:
            verify(sign_proof(key, claims), key, verifier)
        assert raised.value.nonce == verifier.next_nonce() != old


def test_nonces_from_workers_sharing_a_secret_agree():
    first, second = NonceSource(secret=b"s" * 32), NonceSource(secret=b"s" * 32)
    assert second.is_valid(first.current())
    assert not NonceSource().is_valid(first.current())


def test_the_replay_cache_forgets_expired_entries_and_stays_bounded():
    now = [0.0]
    cache = MemoryReplayCache(max_entries=3, clock=lambda: now[0])
    assert cache.first_use("a", 10)
    assert not cache.first_use("a", 10)
    now[0] = 11
    assert cache.first_use("a", 20)
    for name in "bcdef":
        assert cache.first_use(name, 20)
    assert len(cache) == 3


def test_settings_refuse_symmetric_algorithms():
    with pytest.raises(ValueError, match="asymmetric"):
        DPoPSettings(algorithms=("ES256", "HS256"))
