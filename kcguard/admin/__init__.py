"""Manage the API's client-credentials callers in Keycloak through its client registration service."""

from .service import AdminError, AdminRefused, AdminUnreachable, ApiClientInfo, ClientAdmin, TokenStore
from .settings import AdminSettings

__all__ = [
    "AdminError",
    "AdminRefused",
    "AdminSettings",
    "AdminUnreachable",
    "ApiClientInfo",
    "ClientAdmin",
    "TokenStore",
]
