"""The reusable core: validate Keycloak access tokens in any Python API.

Nothing here imports a web framework; ``kcguard.resource.flask`` is the
Flask glue (``init_app`` and ``require_auth``).
"""

from .dpop import DPoPSettings, DPoPVerifier, MemoryReplayCache, ReplayCache
from .errors import (
    Challenge,
    DPoPError,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidDPoPProof,
    InvalidRequest,
    InvalidToken,
    Offer,
    ValidationUnavailable,
    challenge,
)
from .metadata import WELL_KNOWN_PATH, protected_resource_metadata
from .settings import ResourceSettings
from .tokens import AccessToken
from .validator import KeycloakTokenValidator, build_validator

__all__ = [
    "WELL_KNOWN_PATH",
    "AccessToken",
    "Challenge",
    "DPoPError",
    "DPoPSettings",
    "DPoPVerifier",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "InvalidDPoPProof",
    "InvalidRequest",
    "InvalidToken",
    "KeycloakTokenValidator",
    "MemoryReplayCache",
    "Offer",
    "ReplayCache",
    "ResourceSettings",
    "ValidationUnavailable",
    "build_validator",
    "challenge",
    "protected_resource_metadata",
]
