"""Keycloak as a two-node cluster on one PostgreSQL: the nodes share realms, clients, revocations and keys.

The API is configured with node 2's URL for discovery and keys while tokens
come from node 1: both nodes name the same issuer (``KC_HOSTNAME``). The
last test stops node 1, so it stays last.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from kcguard.admin import AdminSettings, ClientAdmin
from kcguard.app import create_app
from kcguard.devstack import KeycloakCluster, KeycloakServer
from tests.support.auth import bearer
from tests.support.keycloak import DEMO_SECRETS, Keycloak, revoke, token_request

pytestmark = pytest.mark.keycloak


def _node(cluster: KeycloakCluster, number: int) -> Keycloak:
    server: KeycloakServer = cluster.nodes[number - 1]
    return Keycloak(server.url, server.issuer, server.admin_username, server.admin_password, server)


def _api_reading(node: Keycloak, tmp_path, **overrides: Any) -> Any:
    """The API trusting the cluster's issuer, with discovery and keys from ``node`` only."""
    return create_app(
        issuer=node.issuer,
        discovery_url=node.discovery_url,
        database=str(tmp_path / f"books-{uuid.uuid4().hex}.sqlite"),
        **overrides,
    ).test_client()


def _introspect(node: Keycloak, token: str) -> dict[str, Any]:
    response = requests.post(
        f"{node.token_url}/introspect",
        data={"token": token},
        auth=("test_api_resource", DEMO_SECRETS["test_api_resource"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_both_nodes_see_a_cluster_of_two_with_one_issuer(keycloak_cluster: KeycloakCluster):
    assert [node.cluster_size() for node in keycloak_cluster.nodes] == [2, 2]
    node1, node2 = _node(keycloak_cluster, 1), _node(keycloak_cluster, 2)
    documents = [requests.get(node.discovery_url, timeout=10).json() for node in (node1, node2)]
    assert documents[0]["issuer"] == documents[1]["issuer"] == keycloak_cluster.issuer
    # Back-channel URLs follow the node asked (KC_HOSTNAME_BACKCHANNEL_DYNAMIC), so node 2 serves its own keys.
    assert documents[1]["jwks_uri"].startswith(f"{node2.url}/")


def test_token_from_node_1_is_accepted_by_the_api_reading_node_2(keycloak_cluster: KeycloakCluster, tmp_path):
    node1, node2 = _node(keycloak_cluster, 1), _node(keycloak_cluster, 2)
    api = _api_reading(node2, tmp_path)
    response = token_request(node1, "test_api_client")
    assert response.status_code == 200, response.text
    answer = api.get("/api/private", headers=bearer(response.json()))
    assert answer.status_code == 200
    assert answer.json["client_id"] == "test_api_client"


def test_client_added_through_node_1_gets_a_token_from_node_2(keycloak_cluster: KeycloakCluster):
    node1, node2 = _node(keycloak_cluster, 1), _node(keycloak_cluster, 2)
    admin = ClientAdmin(
        AdminSettings(issuer=node1.issuer, server_url=node1.url, client_secret=DEMO_SECRETS["api_admin"])
    )
    client_id = f"caller_{uuid.uuid4().hex[:10]}"
    secret = admin.add_client(client_id, ["books.read"])
    response = token_request(node2, client_id, "books.read", secret)
    assert response.status_code == 200, response.text
    assert "books.read" in response.json()["scope"].split()


def test_token_revoked_at_node_1_is_inactive_at_node_2(keycloak_cluster: KeycloakCluster, tmp_path):
    node1, node2 = _node(keycloak_cluster, 1), _node(keycloak_cluster, 2)
    token = token_request(node1, "test_api_client").json()["access_token"]
    secret = DEMO_SECRETS["test_api_resource"]
    api = _api_reading(
        node2, tmp_path, introspection=True, introspection_client_secret=secret, introspection_cache_ttl=0.0
    )
    assert _introspect(node2, token)["active"] is True
    assert api.get("/api/private", headers=bearer(token)).status_code == 200

    revoke(node1, token)
    assert _introspect(node2, token) == {"active": False}
    response = api.get("/api/private", headers=bearer(token))
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": "The token is no longer active."}


def test_node_2_keeps_issuing_tokens_the_api_accepts_when_node_1_stops(keycloak_cluster: KeycloakCluster, tmp_path):
    node2 = _node(keycloak_cluster, 2)
    api = _api_reading(node2, tmp_path)
    keycloak_cluster.nodes[0].stop()
    keycloak_cluster.wait_for_size(1)
    assert keycloak_cluster.nodes[1].cluster_size() == 1

    response = token_request(node2, "test_api_client")
    assert response.status_code == 200, response.text
    answer = api.get("/api/private", headers=bearer(response.json()))
    assert answer.status_code == 200
    assert answer.json["client_id"] == "test_api_client"
