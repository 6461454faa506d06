"""A small, bounded load generator: a fixed number of requests per thread, latencies kept per kind."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import requests


@dataclass
class LoadResult:
    """Latencies in seconds and status codes, by request kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def percentile(self, kind: str, fraction: float) -> float:
        values = sorted(self.latencies[kind])
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else float("nan")

    def summary(self) -> str:
        rows = [f"{'kind':<14} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses"]
        for kind in sorted(self.latencies):
            values = self.latencies[kind]
            counts = {status: self.statuses[kind].count(status) for status in sorted(set(self.statuses[kind]))}
            rows.append(
                f"{kind:<14} {len(values):>5} {1000 * self.percentile(kind, 0.5):>8.1f} "
                f"{1000 * self.percentile(kind, 0.99):>8.1f} {1000 * max(values):>8.1f}  {counts}"
            )
        return "\n".join(rows)


Request = tuple[str, str, dict[str, str]]


def run_load(base_url: str, plans: list[list[Request]], *, timeout: float = 30) -> LoadResult:
    """One thread per plan sends its (kind, path, headers) requests in order, once each."""
    result = LoadResult()
    lock = threading.Lock()

    def worker(plan: list[Request]) -> None:
        with requests.Session() as session:
            for kind, path, headers in plan:
                started = time.perf_counter()
                response = session.get(base_url + path, headers=headers, timeout=timeout)
                elapsed = time.perf_counter() - started
                with lock:
                    result.latencies[kind].append(elapsed)
                    result.statuses[kind].append(response.status_code)
                    if response.status_code >= 500:
                        result.errors[kind].append(response.text)

    workers = [threading.Thread(target=worker, args=(plan,), daemon=True) for plan in plans]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=timeout * len(plans[0]))
    return result
