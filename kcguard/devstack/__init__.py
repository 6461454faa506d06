"""The development stack without Docker: Java, the Keycloak distribution, Keycloak processes, the demo."""

from .cluster import KeycloakCluster
from .demo import (
    DEFAULT_API_PORT,
    DEFAULT_HTTP_PORT,
    DEFAULT_MANAGEMENT_PORT,
    DEFAULT_WORKERS,
    GRANIAN_OPTIONS,
    GUNICORN_ARGS,
    GUNICORN_OPTIONS,
    ServeSettings,
    demo_client_secrets,
    demo_issuers,
    production_command,
    public_url,
)
from .distribution import KEYCLOAK_VERSION, ensure_distribution
from .errors import DevStackError
from .java import JavaRuntime, find_java
from .postgres import PostgresServer
from .processes import free_port, stop_process, wait_http
from .server import (
    KEYCLOAK_ENVIRONMENT,
    PARTNER_REALM,
    PARTNER_REALM_FILE,
    REALM,
    REALM_FILE,
    REALM_FILES,
    KeycloakServer,
    import_name,
)

__all__ = [
    "DEFAULT_API_PORT",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_MANAGEMENT_PORT",
    "DEFAULT_WORKERS",
    "GRANIAN_OPTIONS",
    "GUNICORN_ARGS",
    "GUNICORN_OPTIONS",
    "KEYCLOAK_ENVIRONMENT",
    "KEYCLOAK_VERSION",
    "PARTNER_REALM",
    "PARTNER_REALM_FILE",
    "REALM",
    "REALM_FILE",
    "REALM_FILES",
    "DevStackError",
    "JavaRuntime",
    "KeycloakCluster",
    "KeycloakServer",
    "PostgresServer",
    "ServeSettings",
    "demo_client_secrets",
    "demo_issuers",
    "ensure_distribution",
    "find_java",
    "free_port",
    "import_name",
    "production_command",
    "public_url",
    "stop_process",
    "wait_http",
]
