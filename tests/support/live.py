"""A WSGI app served over real HTTP on 127.0.0.1, in a thread of the test process."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import make_server


class LiveServer:
    """The app on an ephemeral port; a context manager that stops the server and its thread."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
