"""The verified claims of an access token, as route code sees them."""

from __future__ import annotations

from functools import cached_property
from typing import Any


class AccessToken(dict):
    """The verified claims of an access token, with Keycloak's scopes and roles at hand."""

    def get_scope(self) -> str:
        return self.get("scope", "")

    @cached_property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.get_scope().split())

    @cached_property
    def jkt(self) -> str | None:
        """The RFC 7638 thumbprint of the DPoP key the token is bound to (``cnf.jkt``, RFC 9449 section 6)."""
        cnf = self.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        return jkt if isinstance(jkt, str) and jkt else None

    @property
    def is_dpop_bound(self) -> bool:
        """Bound tokens are accepted only with a proof; Keycloak also marks them with ``typ`` "DPoP"."""
        return self.jkt is not None or self.get("typ") == "DPoP"

    @cached_property
    def realm_roles(self) -> frozenset[str]:
        return _roles(self.get("realm_access"))

    def client_roles(self, client_id: str) -> frozenset[str]:
        resource_access = self.get("resource_access")
        return _roles(resource_access.get(client_id) if isinstance(resource_access, dict) else None)


def _roles(container: Any) -> frozenset[str]:
    roles = container.get("roles") if isinstance(container, dict) else None
    return frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset()
