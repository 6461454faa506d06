"""The token client's DPoP exchange with a token endpoint that asks for a nonce (RFC 9449 section 8).

Keycloak 26.7.3 does not ask for nonces, so a small test-only endpoint on
127.0.0.1 plays that part.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jws

from kcguard.client import ClientSettings, TokenClient, TokenError
from kcguard.client.dpop import DPoPKey


class NonceEndpoint:
    """Answers use_dpop_nonce until a proof carries its nonce, then a DPoP token (or a Bearer one)."""

    nonce = "server-nonce-1"

    def __init__(self, answer_type: str = "DPoP") -> None:
        self.answer_type = answer_type
        self.proofs: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                claims = json.loads(jws.extract_compact(self.headers["DPoP"].encode()).payload)
                endpoint.proofs.append(claims)
                if claims.get("nonce") != endpoint.nonce:
                    body = {"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce"}
                    self._answer(400, body)
                else:
                    self._answer(200, {"access_token": "a.b.c", "token_type": endpoint.answer_type, "expires_in": 300})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("DPoP-Nonce", endpoint.nonce)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> NonceEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def token_client(url: str) -> TokenClient:
    settings = ClientSettings(client_id="c", client_secret="s", token_url=url, dpop=True)
    return TokenClient(settings)


@pytest.fixture
def endpoint() -> Iterator[NonceEndpoint]:
    with NonceEndpoint() as server:
        yield server


def test_use_dpop_nonce_is_answered_once_with_the_nonce(endpoint: NonceEndpoint):
    client = token_client(endpoint.url)
    assert client.get_token_response()["token_type"] == "DPoP"
    assert [p.get("nonce") for p in endpoint.proofs] == [None, "server-nonce-1"]
    assert [p["htu"] for p in endpoint.proofs] == [endpoint.url] * 2
    assert all("ath" not in p and p["htm"] == "POST" for p in endpoint.proofs)
    assert client.token_requests == 2


def test_the_nonce_is_reused_for_the_next_token_request(endpoint: NonceEndpoint):
    key = DPoPKey()
    first = TokenClient(ClientSettings(client_id="c", client_secret="s", token_url=endpoint.url), dpop_key=key)
    first.get_token("a")
    first.get_token("b")
    assert [p.get("nonce") for p in endpoint.proofs] == [None, "server-nonce-1", "server-nonce-1"]


def test_a_bearer_answer_to_a_dpop_request_is_refused():
    with NonceEndpoint(answer_type="Bearer") as endpoint, pytest.raises(TokenError, match="Bearer token"):
        token_client(endpoint.url).get_token()
