"""Run the API: ``python server.py`` for development, ``gunicorn "server:create_app()"`` in production."""

from __future__ import annotations

import sys

from dotenv import load_dotenv
from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from kcguard.app import create_app as _create_app
from kcguard.app.logs import configure_logging
from kcguard.app.settings import AppSettings
from kcguard.config import ConfigError


def create_app() -> Flask:
    """Load ``.env`` (real environment variables win), set up logging (``LOG_FORMAT``) and build the app."""
    load_dotenv(override=False)
    settings = AppSettings.from_env()
    configure_logging(settings)
    return _create_app(settings)


class PathOnlyLogHandler(WSGIRequestHandler):
    """The development server's access log without query strings (``/callback``'s holds the sign-in code)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path
        self.path = path.split("?", 1)[0]
        try:
            super().log_request(code, size)
        finally:
            self.path = path


def main() -> int:
    load_dotenv(override=False)
    try:
        settings = AppSettings.from_env()
    except ConfigError as error:
        print(f"server.py: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    _create_app(settings).run(
        host=settings.host, port=settings.port, debug=False, threaded=True, request_handler=PathOnlyLogHandler
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
