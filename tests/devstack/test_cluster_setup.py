"""The launcher's cluster and PostgreSQL pieces, checked without starting Keycloak."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from kcguard.devstack import DevStackError, KeycloakCluster, KeycloakServer, PostgresServer


def test_a_clustered_keycloak_needs_a_shared_database():
    with pytest.raises(DevStackError, match="needs a shared PostgreSQL database"):
        KeycloakServer(cluster_port=7800)


def test_cluster_nodes_share_one_issuer_and_use_their_own_ports():
    cluster = KeycloakCluster(
        db_url="jdbc:postgresql://127.0.0.1:5432/keycloak",
        db_username="keycloak",
        db_password="x",
        hostname="http://localhost:8080",
        http_ports=[8080, 8081],
        management_ports=[9000, 9001],
    )
    first, second = cluster.nodes
    assert first.issuer == second.issuer == cluster.issuer == "http://localhost:8080/realms/myorg"
    assert (first.http_port, second.http_port) == (8080, 8081)
    assert (first.management_port, second.management_port) == (9000, 9001)
    assert first.cluster_port != second.cluster_port
    assert (first.import_realm, second.import_realm) == (True, False)
    assert first.admin_password == second.admin_password


def test_each_database_role_has_its_own_password(postgres: PostgresServer):
    postgres.create_database("own_db", "own_role", "right-password")
    with psycopg.connect(postgres.url("own_db", "own_role", "right-password")) as connection:
        assert connection.execute("SELECT current_user, current_database()").fetchone() == ("own_role", "own_db")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.url("own_db", "own_role", "wrong-password")).close()


def test_compose_init_script_creates_the_apis_own_role_and_database(postgres: PostgresServer):
    """postgres/create-api-database.sh, run as the postgres image runs it, against a real PostgreSQL."""
    script = Path(__file__).resolve().parents[2] / "postgres" / "create-api-database.sh"
    environment = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGPASSWORD": postgres.superuser_password,
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        "API_DB_USER": "kcguard",
        "API_DB_PASSWORD": "it's-a-demo",
    }
    subprocess.run(["/bin/sh", str(script)], env=environment, check=True, capture_output=True, timeout=60)
    with psycopg.connect(postgres.url("kcguard", "kcguard", "it's-a-demo".replace("'", "%27"))) as connection:
        assert connection.execute("SELECT current_user, current_database()").fetchone() == ("kcguard", "kcguard")
