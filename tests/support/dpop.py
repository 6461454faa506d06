"""Building DPoP proofs, honest and hostile (test-only)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from kcguard.resource.dpop import access_token_hash, b64url

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def new_key(alg: str = "ES256") -> Key:
    if alg.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048)
    if alg in ("EdDSA", "Ed25519"):
        return OKPKey.generate_key("Ed25519")
    return ECKey.generate_key({"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg])


def public_jwk(key: Key) -> dict[str, Any]:
    return {k: v for k, v in key.as_dict(private=False).items() if k != "kid"}


def proof_claims(method: str, url: str, access_token: str | None, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign_proof(
    key: Key,
    claims: dict[str, Any] | bytes,
    *,
    alg: str = "ES256",
    header: dict[str, Any] | None = None,
    signing_key: Key | None = None,
) -> str:
    """A proof signed by ``signing_key`` (default ``key``) whose header names ``key``; ``header`` overrides."""
    full_header = {"typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(key), **(header or {})}
    full_header = {k: v for k, v in full_header.items() if v is not None}
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = f"{b64url(json.dumps(full_header).encode())}.{b64url(payload)}"
    # The algorithm model signs directly, so headers joserfc would refuse to write can be tested too.
    signature = jws.JWSRegistry.algorithms[alg].sign(signing_input.encode(), signing_key or key)
    return f"{signing_input}.{b64url(signature)}"


def fetch_dpop_token(token_url: str, key: Any, scope: str = "test_api_access", client_id: str = "dpop_client") -> str:
    """A DPoP-bound token from Keycloak's token endpoint for ``key`` (a ``kcguard.client.dpop.DPoPKey``)."""
    import requests

    from kcguard.devstack import demo_client_secrets

    response = requests.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, demo_client_secrets()[client_id]),
        headers={"DPoP": key.proof("POST", token_url)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
