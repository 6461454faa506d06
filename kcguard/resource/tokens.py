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
    def realm_roles(self) -> frozenset[str]:
        return _roles(self.get("realm_access"))

    def client_roles(self, client_id: str) -> frozenset[str]:
        resource_access = self.get("resource_access")
        return _roles(resource_access.get(client_id) if isinstance(resource_access, dict) else None)


def _roles(container: Any) -> frozenset[str]:
    roles = container.get("roles") if isinstance(container, dict) else None
    return frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset()
