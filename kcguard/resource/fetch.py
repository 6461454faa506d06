"""Every call the core makes to Keycloak: checked URL, no redirects, a byte limit, a total deadline.

``requests`` bounds each socket read, not the whole exchange: a server that
sends one byte a second keeps a call alive far past its timeout, and a body
is read whole before its size can be checked. Here each call opens its own
connection (urllib3), reads at most ``max_bytes``, and a watchdog shuts the
socket down when the total deadline passes, whatever phase the call is in.
Redirects are answered with an error instead of followed, so a hop can
never lead somewhere ``check_url`` would have refused. Keycloak calls are
rare (discovery once, keys every few minutes, introspection per token per
cache TTL), so no connection is kept between them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from functools import cache
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from ..config import ConfigError, check_url

#: Larger answers are not metadata, key sets or introspection results; refuse them unread.
MAX_DOCUMENT_BYTES = 512 * 1024
_CHUNK = 16 * 1024


class ProviderUnavailable(Exception):
    """Keycloak could not be reached or answered something unusable."""


@cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store plus certifi's (what ``requests`` used), certificates and host names checked."""
    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context


def request_json(
    url: str,
    *,
    timeout: float,
    allow_insecure_http: bool,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> dict[str, Any]:
    """Send one request and return the JSON object of a 200 answer, within ``timeout`` seconds in total."""
    try:
        check_url("URL from Keycloak", url, allow_insecure_http=allow_insecure_http)
    except ConfigError as error:
        raise ProviderUnavailable(str(error)) from None
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        connection: HTTPConnection = HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, ssl_context=_tls_context()
        )
    else:
        connection = HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut)
    watchdog.daemon = True
    started = time.monotonic()
    watchdog.start()
    try:
        connection.request(
            method,
            target,
            body=body,
            headers={"Accept": "application/json", "Accept-Encoding": "identity", **(headers or {})},
            preload_content=False,
            decode_content=False,
        )
        response = connection.getresponse()
        status = response.status
        if 300 <= status < 400:
            raise ProviderUnavailable(f"{url} answered a redirect (HTTP {status}); redirects are not followed")
        if status != 200:
            raise ProviderUnavailable(f"{url} answered HTTP {status}")
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise ProviderUnavailable(f"{url} answered an encoded body although identity was asked for")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise ProviderUnavailable(f"{url} answered more than {max_bytes} bytes")
        content = bytearray()
        while True:
            chunk = response.read(_CHUNK, decode_content=False)
            if not chunk:
                break
            content += chunk
            if len(content) > max_bytes:
                raise ProviderUnavailable(f"{url} answered more than {max_bytes} bytes")
        if expired.is_set():
            raise ProviderUnavailable(f"{url} took longer than {timeout:g} s")
    except (OSError, HTTPException, urllib3.exceptions.HTTPError) as error:
        if expired.is_set() or time.monotonic() - started >= timeout:
            raise ProviderUnavailable(f"{url} took longer than {timeout:g} s") from None
        raise ProviderUnavailable(f"{url} unreachable ({type(error).__name__})") from None
    finally:
        watchdog.cancel()
        connection.close()
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        raise ProviderUnavailable(f"{url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} did not answer a JSON object")
    return document
