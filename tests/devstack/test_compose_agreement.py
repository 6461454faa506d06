"""docker-compose.yml and the no-Docker launcher describe the same stack.

No Docker engine runs where these tests run, so the compose file is checked
by reading it: same Keycloak version, realm file, ports, environment names
and issuer as the launcher and the settings defaults.
"""

from __future__ import annotations

import dataclasses
import json
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
    assert postgres["environment"] == {"POSTGRES_USER": env_example["KC_DB_USERNAME"], "POSTGRES_DB": "keycloak"}
    assert env_example["POSTGRES_PASSWORD"] == env_example["KC_DB_PASSWORD"]
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
    assert {"KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"} <= set(env_example)
    assert compose["services"]["keycloak"]["env_file"][0]["path"] == ".env.example"


def test_api_and_client_agree_on_the_issuer(compose):
    issuer = f"{devstack.public_url(devstack.DEFAULT_HTTP_PORT)}/realms/{devstack.REALM}"
    assert issuer == AppSettings().resource.issuer == ClientSettings.__dataclass_fields__["issuer"].default
    environment = compose["services"]["client"]["environment"]
    assert environment["OIDC_ISSUER"] == issuer
    assert environment["OIDC_DISCOVERY_URL"] == (
        f"http://keycloak:{devstack.DEFAULT_HTTP_PORT}/realms/{devstack.REALM}/.well-known/openid-configuration"
    )
    api = ResourceSettings.from_env(compose["services"]["api"]["environment"])
    assert (api.issuer, api.discovery_url) == (issuer, environment["OIDC_DISCOVERY_URL"])


def test_api_accepts_both_realms_like_the_launchers_demo(compose):
    internal = f"http://keycloak:{devstack.DEFAULT_HTTP_PORT}"
    expected = devstack.demo_issuers(devstack.public_url(devstack.DEFAULT_HTTP_PORT), internal)
    settings = ResourceSettings.from_env(compose["services"]["api"]["environment"])
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
    # .env.example (the compose env_file) says 127.0.0.1 for the host; the container must override it.
    assert compose["services"]["api"]["environment"]["HOST"] == "0.0.0.0"  # noqa: S104


@pytest.mark.parametrize("settings", [ResourceSettings, AppSettings, ClientSettings, AdminSettings])
def test_every_setting_the_code_reads_is_in_env_example(env_example, settings):
    read = {f.metadata["variable"].name for f in dataclasses.fields(settings) if "variable" in f.metadata}
    assert len(read) >= 5, "no environment names declared"
    assert read <= set(env_example), sorted(read - set(env_example))


def test_compose_services_use_only_known_settings(compose, env_example):
    for service in ("api", "client"):
        assert set(compose["services"][service]["environment"]) <= set(env_example)
