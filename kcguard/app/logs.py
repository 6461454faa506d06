"""Logs: text or one JSON object per line (``LOG_FORMAT``), every line of a request with its request id.

The request id comes from the caller's ``X-Request-ID`` when that is a short
safe token, else it is made here; the response echoes it, and a logging
filter puts it on every record logged while the request runs (a context
variable, so threads and workers never mix them up). Nothing here logs a
header, a query string or a body: the access line has the path and the
route template only, since ``/callback``'s query carries the sign-in code.
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextvars import ContextVar

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

from .settings import AppSettings

REQUEST_ID_HEADER = "X-Request-ID"
#: What a caller's request id may look like; anything else is replaced, never logged.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"

request_id: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("kcguard.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: AppSettings) -> None:
    """One handler on the root logger (stderr) in the chosen format, with the request id on each line.

    Under gunicorn, its workers' own loggers get the same format; in JSON
    mode gunicorn's access log is left to the app's access line (which
    carries the request id and the route).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "kcguard", False)]:
        root.removeHandler(old)
    handler.kcguard = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    if settings.log_format == "json":
        for existing in logging.getLogger("gunicorn.error").handlers:
            existing.setFormatter(handler.formatter)
            existing.addFilter(RequestIdFilter())
        logging.getLogger("gunicorn.access").disabled = True


def init_app(app: Flask, settings: AppSettings) -> None:
    """Request ids on every request; in JSON mode, one access line per request."""
    log_access = settings.log_format == "json"

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if SAFE_REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
        g.request_id_token = request_id.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid is None:
            return response
        response.headers[REQUEST_ID_HEADER] = rid
        if log_access:
            rule = request.url_rule
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": rule.rule if rule is not None else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 3),
                },
            )
        return response

    @app.teardown_request
    def _forget(exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)
