"""Keycloak's admin REST API as the bootstrap admin, for tests that change a realm (keys, clients)."""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Callable, Iterator

import requests

from tests.support.keycloak import Keycloak


class RealmAdmin:
    """Just enough of Keycloak's admin REST API to rotate realm keys, change a client and end sessions."""

    def __init__(self, keycloak: Keycloak) -> None:
        response = requests.post(
            f"{keycloak.url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": keycloak.admin_username,
                "password": keycloak.admin_password,
            },
            timeout=10,
        )
        assert response.status_code == 200, "the Keycloak admin credentials were refused"
        self._headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self._base = f"{keycloak.url}/admin/realms/myorg"

    def get(self, path: str):
        response = requests.get(self._base + path, headers=self._headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def rs256_kids(self) -> dict[str, str]:
        """Active RS256 signing keys: kid -> key provider (component) id."""
        keys = self.get("/keys")["keys"]
        return {k["kid"]: k["providerId"] for k in keys if k["algorithm"] == "RS256" and k["status"] == "ACTIVE"}

    def add_rsa_key(self, priority: int) -> str:
        realm_id = self.get("")["id"]
        component = {
            "name": f"rotated-{uuid.uuid4().hex[:8]}",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {"priority": [str(priority)], "enabled": ["true"], "active": ["true"], "algorithm": ["RS256"]},
        }
        response = requests.post(f"{self._base}/components", json=component, headers=self._headers, timeout=10)
        assert response.status_code == 201, response.text
        return response.headers["Location"].rsplit("/", 1)[1]

    def disable_key_provider(self, component_id: str) -> None:
        component = self.get(f"/components/{component_id}")
        component["config"]["enabled"] = ["false"]
        response = requests.put(
            f"{self._base}/components/{component_id}", json=component, headers=self._headers, timeout=10
        )
        assert response.status_code == 204, response.text

    def client(self, client_id: str) -> dict:
        """The representation of the client ``client_id`` (its ``id`` is Keycloak's internal id)."""
        [client] = self.get(f"/clients?clientId={client_id}")
        return client

    def delete_client(self, client_id: str) -> None:
        internal = self.client(client_id)["id"]
        response = requests.delete(f"{self._base}/clients/{internal}", headers=self._headers, timeout=10)
        assert response.status_code == 204, response.text

    def update_client(self, client: dict) -> None:
        response = requests.put(f"{self._base}/clients/{client['id']}", json=client, headers=self._headers, timeout=10)
        assert response.status_code == 204, response.text

    @contextlib.contextmanager
    def changed_client(self, client_id: str, change: Callable[[dict], None]) -> Iterator[dict]:
        """``change`` applied to the client ``client_id`` for the duration of the block; restored after."""
        client = self.client(client_id)
        original = copy.deepcopy(client)
        change(client)
        self.update_client(client)
        try:
            yield client
        finally:
            self.update_client(original)

    def user_sessions(self, username: str) -> list[dict]:
        [user] = self.get(f"/users?username={username}&exact=true")
        return self.get(f"/users/{user['id']}/sessions")

    def end_session(self, session_id: str) -> None:
        """End a user session as an admin would; Keycloak then sends the back-channel logouts."""
        response = requests.delete(f"{self._base}/sessions/{session_id}", headers=self._headers, timeout=10)
        assert response.status_code == 204, response.text
