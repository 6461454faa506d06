"""A client-credentials client for Keycloak-protected APIs: cached tokens, one retry on a 401."""

from .dpop import DPoPKey
from .settings import ClientSettings
from .tokens import (
    ApiClient,
    BearerAuth,
    DPoPAuth,
    InvalidClient,
    InvalidScope,
    KeycloakUnreachable,
    TokenClient,
    TokenError,
    issuer_of_api,
)

__all__ = [
    "ApiClient",
    "BearerAuth",
    "ClientSettings",
    "DPoPAuth",
    "DPoPKey",
    "InvalidClient",
    "InvalidScope",
    "KeycloakUnreachable",
    "TokenClient",
    "TokenError",
    "issuer_of_api",
]
