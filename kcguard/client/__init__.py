"""A client-credentials client for Keycloak-protected APIs: cached tokens, one retry on a 401."""

from .settings import ClientSettings
from .tokens import ApiClient, BearerAuth, InvalidClient, InvalidScope, KeycloakUnreachable, TokenClient, TokenError

__all__ = [
    "ApiClient",
    "BearerAuth",
    "ClientSettings",
    "InvalidClient",
    "InvalidScope",
    "KeycloakUnreachable",
    "TokenClient",
    "TokenError",
]
