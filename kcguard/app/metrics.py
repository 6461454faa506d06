"""Prometheus metrics of the demo service: requests by route template and status, latency, and the core's series.

``METRICS=on`` serves ``GET /metrics`` on the app itself, outside every
blueprint and without ``require_auth`` (a scraper has no token; the test
sends a bad one and still gets 200). ``METRICS=<port>`` serves it on
127.0.0.1:<port> instead: every worker tries to bind that port at start-up,
the first one wins, and since each worker's values sit in the multiprocess
directory, that one worker's listener shows all of them; when it exits, the
next worker to start takes the port over. ``METRICS=off`` counts nothing.
"""

from __future__ import annotations

import atexit
import errno
import logging
import os
import time
from typing import Any
from wsgiref.simple_server import WSGIServer

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from ..config import ConfigError
from ..resource.events import NO_OBSERVER, Observer
from ..resource.metrics import PrometheusObserver, exposition, multiprocess_registry
from .openapi import documented
from .settings import AppSettings

logger = logging.getLogger(__name__)

EXTENSION = "kcguard.metrics"
#: Where the app keeps its own metrics listener (``METRICS=<port>``), when this process won the port.
LISTENER = "kcguard.metrics_listener"
#: Methods that get their own label value; any other becomes OTHER, so a caller cannot grow the label set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: At most this many label sets are remembered (methods are bounded above, routes and statuses by the app).
MAX_LABEL_SETS = 1024
#: Request latency buckets, from 1 ms (a cached token) to 10 s (a slow Keycloak).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """Requests by method, route template and status; latency by method and route template."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "kcguard_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "kcguard_http_request_duration_seconds",
            "Time from the request's arrival in the app to its response, by method and route template.",
            ["method", "route"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

        #: Label children by (method, route, status): made once, since prometheus-client's labels() takes a lock.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            label = method if method in METHODS else "OTHER"
            children = (self.requests.labels(label, route, str(status)), self.latency.labels(label, route))
            if len(self._children) < MAX_LABEL_SETS:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def init_app(app: Flask, settings: AppSettings) -> Observer:
    """Count the app's requests and serve the metrics as ``METRICS`` says; the observer for the core."""
    if settings.metrics == "off":
        return NO_OBSERVER
    if settings.metrics_dir and not os.path.isdir(settings.metrics_dir):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR must be an existing directory, got {settings.metrics_dir!r}")
    disable_created_metrics()  # the *_created series double the output and answer nothing asked here
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    requests = RequestMetrics(registry)
    scraped = multiprocess_registry(settings.metrics_dir) if settings.metrics_dir else registry
    app.extensions[EXTENSION] = registry
    if settings.metrics_dir:
        # At the exit of whichever process serves (a forked worker, even when the app was built before the fork).
        atexit.register(lambda: prometheus_multiprocess.mark_process_dead(os.getpid(), settings.metrics_dir))

    @app.before_request
    def _start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else "unmatched"
            requests.record(request.method, route, response.status_code, time.perf_counter() - started)
        return response

    if settings.metrics_port is None:

        @app.get("/metrics")
        @documented(
            "Prometheus metrics (text exposition format); no token needed",
            tag="health",
            responses={
                200: {
                    "description": "Counters, gauges and histograms of requests, token checks and signing keys.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        )
        def metrics() -> Response:
            return Response(exposition(scraped), headers={"Content-Type": CONTENT_TYPE_LATEST})

    else:
        app.extensions[LISTENER] = serve_elsewhere(settings.metrics_port, scraped)
    return observer


def serve_elsewhere(port: int, registry: CollectorRegistry) -> WSGIServer | None:
    """The metrics on 127.0.0.1:``port`` in a thread of this process, unless another worker has the port."""
    try:
        server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        logger.info("metrics listener on 127.0.0.1:%d is served by another worker", port)
        return None
    logger.info("metrics listener on 127.0.0.1:%d (pid %d)", port, os.getpid())
    return server
