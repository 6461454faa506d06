"""The one way tests put a token on a request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def bearer(token: str | Mapping[str, Any]) -> dict[str, str]:
    """``Authorization: Bearer ...`` for a token, or for a token endpoint's JSON answer."""
    if not isinstance(token, str):
        token = token["access_token"]
    return {"Authorization": f"Bearer {token}"}
