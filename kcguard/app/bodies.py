"""Request bodies: one size limit however the body is framed.

Flask enforces ``MAX_CONTENT_LENGTH`` against the ``Content-Length``
header; a chunked body has none, and Werkzeug then silently cuts it at the
limit, so an oversized chunked body reached the route truncated and was
answered 400. ``limit_chunked_bodies`` reads such a body up to one byte over
the limit first, so both framings get the same 413.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any


def limit_chunked_bodies(wsgi_app: Callable[..., Iterable[bytes]], max_bytes: int) -> Callable[..., Iterable[bytes]]:
    """Wrap ``wsgi_app`` so a body without ``Content-Length`` is buffered (at most ``max_bytes`` + 1) and measured."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(max_bytes + 1)
            # An honest length lets Werkzeug apply MAX_CONTENT_LENGTH (413) exactly as for a framed body.
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body if len(body) <= max_bytes else b"")
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is no longer chunked
        return wsgi_app(environ, start_response)

    return app
