"""A clock that tests move by hand, to step over TTLs and cooldowns without sleeping."""

from __future__ import annotations

import time


class SteppedClock:
    """Monotonic seconds that advance only when told to."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
