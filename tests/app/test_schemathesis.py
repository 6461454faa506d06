"""Schemathesis against the running API, driven by its own /openapi.json, with a real Keycloak token.

Every operation, every phase (the document's examples, coverage of
boundaries and invalid values, random fuzzing, stateful POST -> GET through
the document's links) and every check (no 5xx, statuses, headers and bodies
conform to the document, invalid data refused, valid data accepted,
unauthenticated requests refused). Bounded: few examples per operation, one
worker, deterministic generation (which also means no example database), and
a time budget.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.live import LiveServer

pytestmark = pytest.mark.keycloak

#: Upper bound on the whole run (the run normally takes far less).
TIME_BUDGET_SECONDS = 120


def test_schemathesis_finds_nothing(make_app, get_token, tmp_path):
    token = get_token("test_api_client", "books.read books.admin test_api_access")["access_token"]
    with LiveServer(make_app(web_client_id="")) as server:
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/openapi.json",
            "--url",
            server.url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            "8",
            "--generation-deterministic",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--max-failures",
            "20",
            "--no-color",
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS, cwd=tmp_path, check=False
        )
    output = (result.stdout + result.stderr).replace(token, "<token>")
    assert result.returncode == 0, output
