"""docker-compose.yml and the no-Docker launcher describe the same stack.

No Docker engine runs where these tests run, so the compose file is checked
by reading it: same Keycloak version, realm file, ports, environment names
and issuer as the launcher and the settings defaults.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from kcguard import devstack
from kcguard.admin import AdminSettings
from kcguard.app.settings import AppSettings
from kcguard.client import ClientSettings
from kcguard.resource import ResourceSettings

ROOT = Path(__file__).resolve().parents[2]
INTERPOLATION = re.compile(r"\$\{([A-Z_]+):-([^}]*)\}")
#: The secrets each service may receive, and no others.
SECRETS_BY_SERVICE = {
    "postgres": {"POSTGRES_PASSWORD", "API_DB_PASSWORD"},
    "keycloak": {"KC_BOOTSTRAP_ADMIN_PASSWORD", "KC_DB_PASSWORD"},
    "api": {"OIDC_INTROSPECTION_CLIENT_SECRET", "SECRET_KEY"},
    "client": {"CLIENT_SECRET"},
}


def variables(*settings: type) -> set[str]:
    """The environment names the settings classes read."""
    return {
        field.metadata["variable"].name
        for cls in settings
        for field in dataclasses.fields(cls)
        if "variable" in field.metadata
    }


def resolved(environment: dict[str, str]) -> dict[str, str]:
    """The environment as compose gives it when neither the shell nor a .env sets anything."""
    return {name: INTERPOLATION.sub(lambda match: match.group(2), str(value)) for name, value in environment.items()}


def received(service: dict) -> set[str]:
    """Every variable name a service's environment names or takes its value from, env files included."""
    environment = service.get("environment", {})
    taken = {match.group(1) for value in environment.values() for match in INTERPOLATION.finditer(str(value))}
    env_files = service.get("env_file", [])
    for entry in [env_files] if isinstance(env_files, str | dict) else env_files:
        path = ROOT / (entry if isinstance(entry, str) else entry["path"])
        if path.exists():
            lines = path.read_text().splitlines()
            taken |= {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}
    return set(environment) | taken


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_keycloak_image_is_the_launchers_version(compose):
    assert compose["services"]["keycloak"]["image"] == f"quay.io/keycloak/keycloak:{devstack.KEYCLOAK_VERSION}"


def test_keycloak_imports_the_same_realm_files(compose):
    keycloak = compose["services"]["keycloak"]
    assert keycloak["command"] == ["start-dev", "--import-realm"]
    mounts = [volume.split(":") for volume in keycloak["volumes"]]
    assert [(ROOT / source).resolve() for source, _, _ in mounts] == list(devstack.REALM_FILES)
    assert [target for _, target, _ in mounts] == [
        f"/opt/keycloak/data/import/{devstack.import_name(path)}" for path in devstack.REALM_FILES
    ]
    assert [target.rsplit("/", 1)[1] for _, target, _ in mounts] == ["myorg-realm.json", "partner-realm.json"]
    assert {mode for _, _, mode in mounts} == {"ro"}


def test_keycloak_environment_names_are_the_launchers(compose):
    environment = compose["services"]["keycloak"]["environment"]
    assert set(environment) <= set(devstack.KEYCLOAK_ENVIRONMENT)
    assert environment["KC_HTTP_PORT"] == str(devstack.DEFAULT_HTTP_PORT)
    assert environment["KC_HTTP_MANAGEMENT_PORT"] == str(devstack.DEFAULT_MANAGEMENT_PORT)
    assert environment["KC_HOSTNAME"] == devstack.public_url(devstack.DEFAULT_HTTP_PORT)
    assert environment["KC_DB"] == "postgres"
    assert environment["KC_DB_URL"] == "jdbc:postgresql://postgres:5432/keycloak"


def test_keycloak_ports_and_health_check_match(compose):
    keycloak = compose["services"]["keycloak"]
    http, management = devstack.DEFAULT_HTTP_PORT, devstack.DEFAULT_MANAGEMENT_PORT
    assert keycloak["ports"] == [f"127.0.0.1:{http}:{http}", f"127.0.0.1:{management}:{management}"]
    check = " ".join(keycloak["healthcheck"]["test"])
    assert f"/dev/tcp/127.0.0.1/{management}" in check
    assert "GET /health/ready" in check


def test_keycloak_database_is_postgresql_with_the_env_files_credentials(compose, env_example):
    postgres = compose["services"]["postgres"]
    assert resolved(postgres["environment"]) == {
        "POSTGRES_USER": env_example["KC_DB_USERNAME"],
        "POSTGRES_PASSWORD": env_example["POSTGRES_PASSWORD"],
        "POSTGRES_DB": "keycloak",
        "API_DB_USER": env_example["API_DB_USER"],
        "API_DB_PASSWORD": env_example["API_DB_PASSWORD"],
    }
    assert env_example["POSTGRES_PASSWORD"] == env_example["KC_DB_PASSWORD"]
    keycloak = resolved(compose["services"]["keycloak"]["environment"])
    assert (keycloak["KC_DB_USERNAME"], keycloak["KC_DB_PASSWORD"]) == ("keycloak", env_example["KC_DB_PASSWORD"])
    assert compose["services"]["keycloak"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert postgres["volumes"][0] == "keycloak-db:/var/lib/postgresql/data"


def test_api_has_its_own_postgresql_role_and_database(compose, env_example):
    postgres = compose["services"]["postgres"]
    source, target, mode = postgres["volumes"][1].split(":")
    assert target == "/docker-entrypoint-initdb.d/create-api-database.sh" and mode == "ro"
    script = (ROOT / source).read_text()
    assert '-v api_user="$API_DB_USER" -v api_password="$API_DB_PASSWORD"' in script
    assert 'CREATE DATABASE kcguard OWNER :"api_user";' in script
    url = urlsplit(compose["services"]["api"]["environment"]["DATABASE_URL"])
    assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", "postgres", 5432, "/kcguard")
    assert (url.username, url.password) == (env_example["API_DB_USER"], env_example["API_DB_PASSWORD"])
    assert url.username != env_example["KC_DB_USERNAME"] and url.password != env_example["KC_DB_PASSWORD"]
    assert env_example["DATABASE_URL"] == "", "the launcher's demo keeps SQLite unless DATABASE_URL is set"
    assert '".[app,postgres,client]"' in (ROOT / "Dockerfile").read_text(), "the image needs psycopg"


def test_bootstrap_admin_comes_from_the_env_file(compose, env_example):
    environment = compose["services"]["keycloak"]["environment"]
    for name in ("KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"):
        assert environment[name] == f"${{{name}:-{env_example[name]}}}"


def test_every_default_is_the_env_example_value(compose, env_example):
    for name, service in compose["services"].items():
        for value in service.get("environment", {}).values():
            for match in INTERPOLATION.finditer(str(value)):
                assert match.group(2) == env_example[match.group(1)], (name, match.group(1))


@pytest.mark.parametrize("service", sorted(SECRETS_BY_SERVICE))
def test_each_service_receives_only_its_own_secrets(compose, env_example, service):
    definition = compose["services"][service]
    assert "env_file" not in definition
    secrets = {name for name in env_example if "SECRET" in name or "PASSWORD" in name}
    assert received(definition) & secrets == SECRETS_BY_SERVICE[service]


def test_the_api_gets_no_admin_bootstrap_or_database_secret(compose):
    api = received(compose["services"]["api"])
    assert not api & {"ADMIN_CLIENT_SECRET", "KC_BOOTSTRAP_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "KC_DB_PASSWORD"}
    postgres = received(compose["services"]["postgres"])
    assert not postgres & {"CLIENT_SECRET", "OIDC_INTROSPECTION_CLIENT_SECRET", "ADMIN_CLIENT_SECRET", "SECRET_KEY"}


def test_the_api_and_client_get_every_setting_they_read(compose):
    # PORT: the Dockerfile sets it for the production server; DATABASE_URL, not DATABASE;
    # OIDC_ISSUERS (both realms) supersedes OIDC_ISSUER and OIDC_DISCOVERY_URL.
    expected = variables(AppSettings, ResourceSettings) - {"PORT", "DATABASE", "OIDC_ISSUER", "OIDC_DISCOVERY_URL"}
    assert set(compose["services"]["api"]["environment"]) == expected
    assert set(compose["services"]["client"]["environment"]) == variables(ClientSettings)


def test_api_and_client_agree_on_the_issuer(compose):
    issuer = f"{devstack.public_url(devstack.DEFAULT_HTTP_PORT)}/realms/{devstack.REALM}"
    assert issuer == AppSettings().resource.issuer == ClientSettings.__dataclass_fields__["issuer"].default
    environment = compose["services"]["client"]["environment"]
    assert environment["OIDC_ISSUER"] == issuer
    assert environment["OIDC_DISCOVERY_URL"] == (
        f"http://keycloak:{devstack.DEFAULT_HTTP_PORT}/realms/{devstack.REALM}/.well-known/openid-configuration"
    )
    api = ResourceSettings.from_env(resolved(compose["services"]["api"]["environment"])).per_issuer()[0]
    assert (api.issuer, api.discovery_url) == (issuer, environment["OIDC_DISCOVERY_URL"])


def test_api_accepts_both_realms_like_the_launchers_demo(compose):
    internal = f"http://keycloak:{devstack.DEFAULT_HTTP_PORT}"
    expected = devstack.demo_issuers(devstack.public_url(devstack.DEFAULT_HTTP_PORT), internal)
    settings = ResourceSettings.from_env(resolved(compose["services"]["api"]["environment"]))
    assert settings.issuers == tuple(expected.split(","))
    assert [one.realm for one in settings.per_issuer()] == ["myorg", "partner"]


def test_api_workers_share_metrics_through_an_empty_directory(compose):
    api = compose["services"]["api"]
    directory = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert api["tmpfs"] == [f"{directory}:mode=1777"]


def test_api_port_and_dependencies(compose):
    api = compose["services"]["api"]
    port = devstack.DEFAULT_API_PORT
    assert port == AppSettings().port
    assert api["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert api["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "keycloak": {"condition": "service_healthy"},
    }
    assert compose["services"]["client"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert compose["services"]["client"]["environment"]["API_URL"] == f"http://api:{port}"


def test_dockerfile_installs_every_dependency_at_the_pinned_version():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = next(index for index, line in enumerate(lines) if line.startswith("COPY ") and "constraints.txt" in line)
    install = next(index for index, line in enumerate(lines) if "pip install" in line)
    assert copied < install
    assert lines[copied].split()[1:] == ["pyproject.toml", "README.md", "constraints.txt", "./"]
    assert lines[install].split("pip install", 1)[1].split()[:3] == ["--no-cache-dir", "-c", "constraints.txt"]


def test_dockerfile_serves_the_api_like_scripts_serve(compose):
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    command = json.loads(next(line for line in lines if line.startswith("CMD ")).removeprefix("CMD "))
    assert command == ["python", "-m", "kcguard.devstack", "serve"]
    assert "exec .venv/bin/python -m kcguard.devstack serve" in (ROOT / "scripts" / "serve").read_text()
    environment = next(line for line in lines if line.startswith("ENV ")).split()[1:]
    assert environment == [
        "HOST=0.0.0.0",
        f"PORT={devstack.DEFAULT_API_PORT}",
        f"WEB_CONCURRENCY={devstack.DEFAULT_WORKERS}",
    ]
    # .env.example says 127.0.0.1 for the host; the container must override it.
    assert compose["services"]["api"]["environment"]["HOST"] == "0.0.0.0"  # noqa: S104


@pytest.mark.parametrize("settings", [ResourceSettings, AppSettings, ClientSettings, AdminSettings])
def test_every_setting_the_code_reads_is_in_env_example(env_example, settings):
    read = {f.metadata["variable"].name for f in dataclasses.fields(settings) if "variable" in f.metadata}
    assert len(read) >= 5, "no environment names declared"
    assert read <= set(env_example), sorted(read - set(env_example))


def test_compose_services_use_only_known_settings(compose, env_example):
    for service in ("api", "client"):
        assert received(compose["services"][service]) <= set(env_example)
