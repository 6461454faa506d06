"""What the api_admin credential itself may do in the real Keycloak: register bounded clients, nothing else.

kcguard.admin's own rules run on the caller's side; these tests hold Keycloak
to the narrower rights the realm gives the service account (one admin role,
``create-client``, plus the realm's client registration policies), so a
stolen ADMIN_CLIENT_SECRET cannot reach web_app, shared client scopes or
other clients' secrets.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import requests

from tests.support.keycloak import Keycloak, token_request
from tests.support.realm_admin import RealmAdmin

pytestmark = pytest.mark.keycloak

REALM = "myorg"


@pytest.fixture(scope="module")
def realm_admin(keycloak: Keycloak) -> RealmAdmin:
    """Keycloak's bootstrap admin, only to look up what api_admin may not see."""
    return RealmAdmin(keycloak)


@pytest.fixture(scope="module")
def as_api_admin(keycloak: Keycloak) -> Callable[..., requests.Response]:
    """A request to Keycloak with a fresh api_admin access token (client credentials)."""

    def call(method: str, path: str, **kwargs) -> requests.Response:
        token = token_request(keycloak, "api_admin").json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(method, f"{keycloak.url}{path}", headers=headers, timeout=10, **kwargs)

    return call


def internal_id(realm_admin: RealmAdmin, client_id: str) -> str:
    return realm_admin.client(client_id)["id"]


def registration_request(**fields) -> dict:
    return {"clientId": f"probe_{uuid.uuid4().hex[:10]}", "serviceAccountsEnabled": True, **fields}


def test_the_service_account_holds_create_client_and_no_other_admin_role(realm_admin):
    service_account = realm_admin.get(f"/clients/{internal_id(realm_admin, 'api_admin')}/service-account-user")
    management = internal_id(realm_admin, "realm-management")
    effective = realm_admin.get(f"/users/{service_account['id']}/role-mappings/clients/{management}/composite")
    assert [role["name"] for role in effective] == ["create-client"]


def test_cannot_update_web_app(as_api_admin, realm_admin):
    web_app = internal_id(realm_admin, "web_app")
    hijack = {"redirectUris": ["https://attacker.example/*"]}
    assert as_api_admin("PUT", f"/admin/realms/{REALM}/clients/{web_app}", json=hijack).status_code == 403
    through_registration = as_api_admin(
        "PUT", f"/realms/{REALM}/clients-registrations/default/web_app", json={"clientId": "web_app", **hijack}
    )
    assert through_registration.status_code == 403
    assert "https://attacker.example/*" not in realm_admin.client("web_app")["redirectUris"]


@pytest.mark.parametrize("scope", ["test_api_resource-audience", "books.admin"])
def test_cannot_add_a_protocol_mapper_to_a_shared_client_scope(as_api_admin, realm_admin, scope):
    scope_id = next(found["id"] for found in realm_admin.get("/client-scopes") if found["name"] == scope)
    mapper = {
        "name": "attacker-audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {"included.custom.audience": "attacker", "access.token.claim": "true"},
    }
    path = f"/admin/realms/{REALM}/client-scopes/{scope_id}/protocol-mappers/models"
    assert as_api_admin("POST", path, json=mapper).status_code == 403
    mappers = realm_admin.get(f"/client-scopes/{scope_id}/protocol-mappers/models")
    assert "attacker-audience" not in [mapper["name"] for mapper in mappers]


@pytest.mark.parametrize("client_id", ["test_api_resource", "test_api_client", "reporting_client"])
def test_cannot_read_another_clients_secret(as_api_admin, realm_admin, client_id):
    internal = internal_id(realm_admin, client_id)
    assert as_api_admin("GET", f"/admin/realms/{REALM}/clients/{internal}/client-secret").status_code == 403
    assert as_api_admin("POST", f"/admin/realms/{REALM}/clients/{internal}/client-secret").status_code == 403
    registered = as_api_admin("GET", f"/realms/{REALM}/clients-registrations/default/{client_id}")
    assert registered.status_code == 403


def test_cannot_list_clients_or_scopes_or_create_clients_through_the_admin_api(as_api_admin):
    assert as_api_admin("GET", f"/admin/realms/{REALM}/clients").status_code == 403
    assert as_api_admin("GET", f"/admin/realms/{REALM}/client-scopes").status_code == 403
    created = as_api_admin("POST", f"/admin/realms/{REALM}/clients", json=registration_request())
    assert created.status_code == 403


@pytest.mark.parametrize(
    ("fields", "policy"),
    [
        ({"standardFlowEnabled": True, "redirectUris": ["https://attacker.example/cb"]}, "No Redirect URIs"),
        ({"rootUrl": "https://attacker.example"}, "No Redirect URIs"),
        (
            {
                "protocolMappers": [
                    {
                        "name": "audience",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {"included.custom.audience": "attacker", "access.token.claim": "true"},
                    }
                ]
            },
            "No Protocol Mappers",
        ),
        ({"optionalClientScopes": ["email"]}, "Allowed Client Scopes"),
    ],
)
def test_registration_policies_bound_what_it_may_create(as_api_admin, fields, policy):
    path = f"/realms/{REALM}/clients-registrations/default"
    response = as_api_admin("POST", path, json=registration_request(**fields))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response.json()["error_description"].startswith(f"Policy '{policy}' rejected request")


def test_a_registration_token_manages_only_its_own_client(as_api_admin, realm_admin, keycloak: Keycloak):
    created = as_api_admin("POST", f"/realms/{REALM}/clients-registrations/default", json=registration_request())
    assert created.status_code == 201
    own_token = {"Authorization": f"Bearer {created.json()['registrationAccessToken']}"}
    base = f"{keycloak.url}/realms/{REALM}/clients-registrations/default"
    assert requests.get(f"{base}/test_api_client", headers=own_token, timeout=10).status_code == 401
    hijack = {"clientId": "web_app", "redirectUris": ["https://attacker.example/*"]}
    assert requests.put(f"{base}/web_app", json=hijack, headers=own_token, timeout=10).status_code == 401
    assert requests.get(f"{base}/{created.json()['clientId']}", headers=own_token, timeout=10).status_code == 200
    assert "https://attacker.example/*" not in realm_admin.client("web_app")["redirectUris"]


@pytest.mark.parametrize(
    ("fields", "policy"),
    [
        ({"standardFlowEnabled": True, "redirectUris": ["https://attacker.example/cb"]}, "No Redirect URIs"),
        (
            {
                "protocolMappers": [
                    {
                        "name": "role",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-hardcoded-role-mapper",
                        "config": {"role": "realm-management.realm-admin"},
                    }
                ]
            },
            "No Protocol Mappers",
        ),
        ({"optionalClientScopes": ["email"]}, "Allowed Client Scopes"),
    ],
)
def test_updates_with_a_registration_token_obey_the_same_policies(as_api_admin, keycloak: Keycloak, fields, policy):
    created = as_api_admin("POST", f"/realms/{REALM}/clients-registrations/default", json=registration_request())
    assert created.status_code == 201
    client = created.json()
    own_token = {"Authorization": f"Bearer {client['registrationAccessToken']}"}
    url = f"{keycloak.url}/realms/{REALM}/clients-registrations/default/{client['clientId']}"
    response = requests.put(url, json={"clientId": client["clientId"], **fields}, headers=own_token, timeout=10)
    assert response.status_code == 403
    assert response.json()["error_description"].startswith(f"Policy '{policy}' rejected request")
