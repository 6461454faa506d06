"""The development stack without Docker: Java, the Keycloak distribution, Keycloak processes, the demo."""

from .demo import (
    DEFAULT_API_PORT,
    DEFAULT_HTTP_PORT,
    DEFAULT_MANAGEMENT_PORT,
    GUNICORN_ARGS,
    demo_client_secrets,
    demo_issuers,
    public_url,
)
from .distribution import KEYCLOAK_VERSION, ensure_distribution
from .errors import DevStackError
from .java import JavaRuntime, find_java
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
    "GUNICORN_ARGS",
    "KEYCLOAK_ENVIRONMENT",
    "KEYCLOAK_VERSION",
    "PARTNER_REALM",
    "PARTNER_REALM_FILE",
    "REALM",
    "REALM_FILE",
    "REALM_FILES",
    "DevStackError",
    "JavaRuntime",
    "KeycloakServer",
    "demo_client_secrets",
    "demo_issuers",
    "ensure_distribution",
    "find_java",
    "free_port",
    "import_name",
    "public_url",
    "stop_process",
    "wait_http",
]
