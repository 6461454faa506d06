"""client.http (VS Code REST Client) and ci.http (httpyac) send the same requests, and ci.http passes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.keycloak import DEMO_SECRETS, Keycloak
from tests.support.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
HTTPYAC = ROOT / "node_modules" / ".bin" / "httpyac"


def requests_of(path: Path) -> list[dict[str, object]]:
    """Each request of an .http file: method, path, which token, body, and the expected status."""
    found = []
    for block in path.read_text().split("\n###")[1:]:
        lines = block.splitlines()
        request_line = next(line for line in lines if re.match(r"(GET|POST|PUT|PATCH|DELETE) ", line))
        method, url = request_line.split(" ", 1)
        token = re.search(r"Authorization: Bearer \{\{(\w+)\.", block)
        expect = re.search(r"\(expect (\d{3})", lines[0]) or re.search(r"^\?\? status == (\d{3})$", block, re.M)
        body = [line for line in lines if line.startswith(("{", "&", "grant_type"))]
        found.append(
            {
                "method": method,
                "path": url.split("}}", 1)[1],
                "token": token.group(1) if token else None,
                "name": (re.search(r"# @name (\w+)", block) or [None, None])[1],
                "body": [re.sub(r"\{\{\$\w+ CLIENT_SECRET\}\}", "SECRET", line) for line in body],
                "status": int(expect.group(1)) if expect else None,
            }
        )
    return found


def test_ci_http_mirrors_client_http():
    vscode, ci = requests_of(ROOT / "client.http"), requests_of(ROOT / "ci.http")
    assert len(vscode) == 12
    assert all(request["status"] for request in vscode)
    assert ci == vscode


@pytest.mark.keycloak
def test_ci_http_passes_against_the_live_stack(keycloak: Keycloak, live_api: LiveServer):
    if not HTTPYAC.exists() or not shutil.which("node"):
        message = "httpyac is not installed (npm ci installs it from package-lock.json)"
        if os.environ.get("REQUIRE_KEYCLOAK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    environment = {
        **os.environ,
        "KEYCLOAK_REALM_URL": keycloak.realm_url,
        "API_URL": live_api.url,
        "CLIENT_SECRET": DEMO_SECRETS["test_api_client"],
    }
    result = subprocess.run(
        [str(HTTPYAC), "send", "ci.http", "--all", "--output", "short"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "12 requests processed (12 succeeded)" in result.stdout
