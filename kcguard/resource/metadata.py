"""OAuth 2.0 Protected Resource Metadata (RFC 9728), free of any web framework.

The document tells a client that knows only the API's URL which
authorization server issues tokens for it, which scopes exist and how to
present tokens; the ``resource_metadata`` parameter of every 401 challenge
points to it (RFC 9728 section 5.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WELL_KNOWN_PATH = "/.well-known/oauth-protected-resource"


def protected_resource_metadata(
    *,
    resource: str,
    issuer: str,
    scopes: Sequence[str],
    dpop_algorithms: Sequence[str],
    dpop_required: bool,
    resource_name: str = "",
) -> dict[str, Any]:
    """The RFC 9728 section 2 document; DPoP members only when the API accepts DPoP."""
    document: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": list(scopes),
        "bearer_methods_supported": ["header"],
    }
    if dpop_algorithms:
        document["dpop_signing_alg_values_supported"] = list(dpop_algorithms)
        document["dpop_bound_access_tokens_required"] = dpop_required
    if resource_name:
        document["resource_name"] = resource_name
    return document
