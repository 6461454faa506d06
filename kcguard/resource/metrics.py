"""Prometheus metrics for the core's events (the ``[metrics]`` extra: prometheus-client).

``PrometheusObserver(registry)`` is an ``events.Observer``: pass it to
``build_validator(settings, observer=...)`` and it counts token checks by
outcome, key-set fetches by reason and result, introspection calls, and
keeps the key and token-cache gauges. No web framework here: the app serves
``exposition(...)`` wherever it likes.

Several worker processes (gunicorn, granian): prometheus-client's
multiprocess mode. ``PROMETHEUS_MULTIPROC_DIR`` must name an empty directory
before the server starts its workers (each worker writes its values there,
any worker's scrape reads them all). Gauges say how workers combine: keys held and
the last good key set are the worst live worker's (``livemin``), cache
entries the sum over live workers (``livesum``); ``multiprocess_registry(dir)``
is what a scrape reads then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .events import OUTCOMES, Observer

LAST_GOOD_KEYS = "kcguard_jwks_last_success_timestamp_seconds"
#: Introspection takes a round trip to Keycloak: buckets from 5 ms to 5 s.
INTROSPECTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PrometheusObserver(Observer):
    """The core's events as Prometheus series, each labelled with the configured issuer."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.validations = Counter(
            "kcguard_token_validations",
            "Token checks by issuer and outcome (insufficient_scope is counted besides the check's ok/cache_hit).",
            ["issuer", "outcome"],
            registry=registry,
        )
        self.jwks_fetches = Counter(
            "kcguard_jwks_fetches",
            "Key-set (JWKS) fetches by issuer, reason and result.",
            ["issuer", "reason", "result"],
            registry=registry,
        )
        self.jwks_keys = Gauge(
            "kcguard_jwks_keys",
            "Usable signing keys held (the fewest of any live worker).",
            ["issuer"],
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.jwks_last_success = Gauge(
            LAST_GOOD_KEYS,
            "When the last good key set was loaded, Unix time (the oldest of any live worker).",
            ["issuer"],
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.introspections = Counter(
            "kcguard_introspection_requests",
            "Calls to Keycloak's introspection endpoint by issuer and result.",
            ["issuer", "result"],
            registry=registry,
        )
        self.introspection_seconds = Histogram(
            "kcguard_introspection_duration_seconds",
            "How long Keycloak's introspection endpoint took to answer.",
            ["issuer"],
            registry=registry,
            buckets=INTROSPECTION_BUCKETS,
        )
        self.token_cache = Gauge(
            "kcguard_token_cache_entries",
            "Verified tokens remembered (summed over live workers).",
            ["issuer"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        if registry is not None:
            registry.register(KeySetAge(self.jwks_last_success.collect))

    def for_issuer(self, issuer: str) -> Observer:
        return _IssuerMetrics(self, issuer)


class _IssuerMetrics(Observer):
    """One issuer's label children, made once: a token check costs one dict lookup and one increment."""

    def __init__(self, metrics: PrometheusObserver, issuer: str) -> None:
        self._metrics = metrics
        self._issuer = issuer
        self._outcomes = {outcome: metrics.validations.labels(issuer, outcome) for outcome in OUTCOMES}
        self._cache = metrics.token_cache.labels(issuer)

    def for_issuer(self, issuer: str) -> Observer:
        return self._metrics.for_issuer(issuer)

    def validation(self, outcome: str) -> None:
        counter = self._outcomes.get(outcome)
        if counter is None:  # an outcome added to the core later still counts
            counter = self._outcomes[outcome] = self._metrics.validations.labels(self._issuer, outcome)
        counter.inc()

    def jwks_fetch(self, reason: str, result: str, keys: int) -> None:
        self._metrics.jwks_fetches.labels(self._issuer, reason.replace(" ", "_"), result).inc()
        if keys:
            self._metrics.jwks_keys.labels(self._issuer).set(keys)
        if result == "ok":
            self._metrics.jwks_last_success.labels(self._issuer).set(time.time())

    def introspection(self, result: str, seconds: float) -> None:
        self._metrics.introspections.labels(self._issuer, result).inc()
        self._metrics.introspection_seconds.labels(self._issuer).observe(seconds)

    def token_cache_size(self, size: int) -> None:
        self._cache.set(size)


class KeySetAge(Collector):
    """``kcguard_jwks_seconds_since_last_success``: now minus the last good key set, computed at scrape time."""

    def __init__(self, source: Callable[[], Iterable[Metric]], clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._clock = clock

    def collect(self) -> Iterable[Metric]:
        age = GaugeMetricFamily(
            "kcguard_jwks_seconds_since_last_success",
            "Seconds since the last good key set was loaded (the oldest of any live worker).",
            labels=["issuer"],
        )
        now = self._clock()
        for family in self._source():
            if family.name != LAST_GOOD_KEYS:
                continue
            for sample in family.samples:
                age.add_metric([sample.labels["issuer"]], max(0.0, now - sample.value))
        yield age


def multiprocess_registry(multiprocess_dir: str) -> CollectorRegistry:
    """What a scrape reads in multiprocess mode: every worker's values from ``multiprocess_dir``."""
    combined = CollectorRegistry()
    workers = MultiProcessCollector(combined, path=multiprocess_dir)
    combined.register(KeySetAge(workers.collect))
    return combined


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition format of ``registry`` (served as prometheus-client's ``CONTENT_TYPE_LATEST``)."""
    return generate_latest(registry)
