"""Reading settings from the environment: one generic reader for every settings class.

Each settings dataclass (``resource.settings``, ``app.settings``,
``client.settings``, ``admin.settings``) declares its fields with
``setting("VARIABLE", default, ...)``; ``from_env`` fills them from the
process environment (``server.py`` and ``client.py`` load ``.env`` into it
first with python-dotenv; real variables win). This is the only module that
reads ``os.environ``. A bad value stops start-up with a message naming the
variable, never a stack trace deep inside a request.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Variable:
    """How one field is read: its variable name, bounds, and how an empty value counts."""

    name: str
    minimum: float | None = None
    maximum: float | None = None
    #: An empty value means "empty" (e.g. WEB_CLIENT_ID= turns the sign-in off) instead of "default".
    empty_is_value: bool = False
    #: URLs are compared exactly elsewhere; a trailing slash is dropped when read.
    strip_slash: bool = False


def setting(
    name: str,
    default: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    secret: bool = False,
    empty_is_value: bool = False,
    strip_slash: bool = False,
) -> Any:
    """A dataclass field read from the variable ``name``; ``secret`` keeps it out of ``repr``."""
    variable = Variable(name, minimum, maximum, empty_is_value, strip_slash)
    return dataclasses.field(default=default, repr=not secret, metadata={"variable": variable})


def _parse(variable: Variable, kind: Any, raw: str) -> Any:
    name = variable.name
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ConfigError(f"{name} must be 1/0 (or true/false), got {raw!r}")
    if kind in (int, float):
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if kind is int:
            if not math.isfinite(value) or value != int(value):
                raise ConfigError(f"{name} must be a whole number, got {raw!r}")
            return int(value)
        return value
    if typing.get_origin(kind) is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw.rstrip("/") if variable.strip_slash else raw


def check_bounds(settings: Any) -> None:
    """Refuse NaN, infinities and values outside each field's declared bounds, naming the variable."""
    for field in dataclasses.fields(settings):
        variable = field.metadata.get("variable")
        value = getattr(settings, field.name)
        if variable is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value):
            raise ConfigError(f"{variable.name} must be a finite number, got {value!r}")
        if variable.minimum is not None and value < variable.minimum:
            raise ConfigError(f"{variable.name} must be at least {variable.minimum:g}, got {value:g}")
        if variable.maximum is not None and value > variable.maximum:
            raise ConfigError(f"{variable.name} must be at most {variable.maximum:g}, got {value:g}")


def _nested_fields(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints[f.name])}


def split_overrides(cls: type, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Sort flat keyword overrides into ``cls``'s own fields and those of its nested settings."""
    own_names = {f.name for f in dataclasses.fields(cls)}
    nested = _nested_fields(cls)
    own: dict[str, Any] = {}
    inner: dict[str, dict[str, Any]] = {name: {} for name in nested}
    nested_names = {name: {f.name for f in dataclasses.fields(kind)} for name, kind in nested.items()}
    for key, value in overrides.items():
        target = next((name for name, names in nested_names.items() if key in names), None)
        if target is not None and key not in own_names:
            inner[target][key] = value
        elif key in own_names:
            own[key] = value
        else:
            raise TypeError(f"{cls.__name__} has no setting {key!r}")
    return own, inner


def from_env(cls: type[T], env: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """Build ``cls`` from ``env`` (default: ``os.environ``); keyword ``overrides`` win, nested ones included."""
    env = os.environ if env is None else env
    own, inner = split_overrides(cls, overrides)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in inner:
            values[field.name] = from_env(hints[field.name], env, **inner[field.name])
            continue
        variable = field.metadata.get("variable")
        if variable is None or field.name in own:
            continue
        raw = env.get(variable.name)
        if raw is None:
            continue
        raw = raw.strip()
        if raw or variable.empty_is_value:
            values[field.name] = _parse(variable, hints[field.name], raw)
    values.update(own)
    return cls(**values)


class EnvSettings:
    """Mixin for settings dataclasses: ``Settings.from_env()`` reads their declared variables."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Read the settings from ``env`` (default: ``os.environ``); keyword ``overrides`` win."""
        return from_env(cls, env, **overrides)


def replace(settings: T, **overrides: Any) -> T:
    """A copy of ``settings`` with flat ``overrides`` applied, nested settings included."""
    own, inner = split_overrides(type(settings), overrides)
    for name, changes in inner.items():
        if changes:
            own[name] = dataclasses.replace(getattr(settings, name), **changes)
    return dataclasses.replace(settings, **own)


def check_url(name: str, url: str, *, allow_insecure_http: bool) -> str:
    """Refuse URLs that are not absolute http(s), and plain http off loopback.

    Tokens and keys fetched over plain http can be swapped in transit, so it
    is allowed only for loopback hosts or when explicitly switched on.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS and not allow_insecure_http:
        raise ConfigError(
            f"{name} uses plain http on a non-loopback host ({parts.hostname}); "
            "use https, or set OIDC_ALLOW_INSECURE_HTTP=1 on a trusted network"
        )
    return url


def discovery_url_of(issuer: str) -> str:
    """Where an OpenID provider publishes its metadata (OpenID Connect Discovery 1.0, section 4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def realm_of(issuer: str) -> str:
    """The Keycloak realm name is the last path segment of its issuer URL."""
    return urlsplit(issuer).path.rstrip("/").rsplit("/", 1)[-1] or "api"
