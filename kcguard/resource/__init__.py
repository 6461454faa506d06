"""The reusable core: validate Keycloak access tokens in any Python API.

Nothing here imports a web framework; ``kcguard.resource.flask`` is the
Flask glue (``init_app`` and ``require_auth``).
"""

from .errors import Challenge, InsufficientScope, InvalidRequest, InvalidToken, ValidationUnavailable, challenge
from .settings import ResourceSettings
from .tokens import AccessToken
from .validator import KeycloakTokenValidator, build_validator

__all__ = [
    "AccessToken",
    "Challenge",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "KeycloakTokenValidator",
    "ResourceSettings",
    "ValidationUnavailable",
    "build_validator",
    "challenge",
]
