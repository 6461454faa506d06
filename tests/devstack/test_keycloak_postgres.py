"""Keycloak started by the launcher against PostgreSQL keeps an added client across a restart."""

from __future__ import annotations

import secrets

import pytest

from kcguard.admin import AdminSettings, ClientAdmin
from kcguard.devstack import DevStackError, KeycloakServer, PostgresServer
from tests.support.keycloak import DEMO_SECRETS, token_request, unavailable

pytestmark = pytest.mark.keycloak


def test_added_client_survives_a_keycloak_restart(postgres: PostgresServer, tmp_path):
    password = secrets.token_urlsafe(12)
    postgres.create_database("keycloak_restart", "keycloak_restart", password)
    server = KeycloakServer(
        db_url=postgres.jdbc_url("keycloak_restart"), db_username="keycloak_restart", db_password=password
    )
    client_id = f"caller_{secrets.token_hex(5)}"
    try:
        server.start()
    except DevStackError as error:
        unavailable(f"the launcher could not start Keycloak on PostgreSQL: {error}")
    try:
        admin = ClientAdmin(
            AdminSettings(
                issuer=server.issuer,
                server_url=server.url,
                client_secret=DEMO_SECRETS["api_admin"],
                token_store=str(tmp_path / "registration-tokens.json"),
            )
        )
        secret = admin.add_client(client_id, ["books.read"])
        assert token_request(server, client_id, secret=secret).status_code == 200
    finally:
        server.stop()

    server.start()
    try:
        response = token_request(server, client_id, secret=secret)
        assert response.status_code == 200
        assert "Realm 'myorg' already exists. Import skipped" in server.log_path.read_text()
    finally:
        server.stop()
