"""The development stack without Docker: Java, the Keycloak distribution, Keycloak processes, the demo."""

from .cluster import KeycloakCluster
from .demo import (
    DEFAULT_API_PORT,
    DEFAULT_HTTP_PORT,
    DEFAULT_MANAGEMENT_PORT,
    GUNICORN_ARGS,
    demo_client_secrets,
    public_url,
)
from .distribution import KEYCLOAK_VERSION, ensure_distribution
from .errors import DevStackError
from .java import JavaRuntime, find_java
from .postgres import PostgresServer
from .processes import free_port, stop_process, wait_http
from .server import KEYCLOAK_ENVIRONMENT, REALM, REALM_FILE, KeycloakServer

__all__ = [
    "DEFAULT_API_PORT",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_MANAGEMENT_PORT",
    "GUNICORN_ARGS",
    "KEYCLOAK_ENVIRONMENT",
    "KEYCLOAK_VERSION",
    "REALM",
    "REALM_FILE",
    "DevStackError",
    "JavaRuntime",
    "KeycloakCluster",
    "KeycloakServer",
    "PostgresServer",
    "demo_client_secrets",
    "ensure_distribution",
    "find_java",
    "free_port",
    "public_url",
    "stop_process",
    "wait_http",
]
