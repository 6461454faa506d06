"""A test-only OpenID provider on 127.0.0.1: discovery, a JWKS, and tokens signed on demand.

Keycloak never signs an ``alg: none`` token or one with a forged ``kid``; this
issuer does, so the validator's refusals can be shown one by one. It also
counts JWKS fetches and can play dead (``down``: 503) or hang (``hang``:
accept the connection and never answer), for rotation and outage tests.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

AUDIENCE = "test_api_resource"


@cache
def _first_key() -> RSAKey:
    """One RSA key for every test's issuer: generating 2048-bit keys is slow."""
    return LocalIssuer.new_key("key-1")


class LocalIssuer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}/realms/local"
        self.keys: list[RSAKey] = [_first_key()]
        self.jwks_fetches = 0
        #: Every request this issuer answered (discovery, keys, anything else).
        self.requests = 0
        self.token_requests = 0
        self.down = False
        self.hang = False
        #: Merged into the discovery document (e.g. a hostile introspection_endpoint).
        self.metadata: dict[str, Any] = {}
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def new_key(kid: str) -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})

    @property
    def key(self) -> RSAKey:
        return self.keys[0]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": [AUDIENCE, "account"],
            "sub": str(uuid.uuid4()),
            "azp": "test_api_client",
            "typ": "Bearer",
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "scope": "profile test_api_access",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, key: RSAKey | None = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid, **(header or {})}, self.claims(**claims), key)

    def _documents(self) -> dict[str, dict[str, Any]]:
        base = f"http://127.0.0.1:{self.port}/realms/local"
        return {
            "/realms/local/.well-known/openid-configuration": {
                "issuer": self.issuer,
                "jwks_uri": f"{base}/protocol/openid-connect/certs",
                "token_endpoint": f"{base}/protocol/openid-connect/token",
                "authorization_endpoint": f"{base}/protocol/openid-connect/auth",
                "end_session_endpoint": f"{base}/protocol/openid-connect/logout",
                **self.metadata,
            },
            "/realms/local/protocol/openid-connect/certs": {"keys": [k.as_dict(private=False) for k in self.keys]},
        }

    def __enter__(self) -> LocalIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests += 1
                if self.path.endswith("/certs"):
                    issuer.jwks_fetches += 1
                if issuer.hang:
                    issuer._released.wait(120)  # bounded: __exit__ releases it
                    self.close_connection = True
                    return
                document = issuer._documents().get(self.path)
                if issuer.down or document is None:
                    self.send_response(503 if issuer.down else 404)
                    self.end_headers()
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                """The token endpoint: any client-credentials request gets a fresh token (for load tests)."""
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(min(length, 64 * 1024))
                if issuer.down or not self.path.endswith("/token"):
                    self.send_response(503 if issuer.down else 404)
                    self.end_headers()
                    return
                issuer.token_requests += 1
                token = {"access_token": issuer.sign(), "token_type": "Bearer", "expires_in": 300}
                body = json.dumps(token).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
