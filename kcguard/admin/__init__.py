"""Manage the API's client-credentials callers in Keycloak through its admin REST API."""

from .service import AdminError, AdminRefused, AdminUnreachable, ApiClientInfo, ClientAdmin
from .settings import AdminSettings

__all__ = ["AdminError", "AdminRefused", "AdminSettings", "AdminUnreachable", "ApiClientInfo", "ClientAdmin"]
