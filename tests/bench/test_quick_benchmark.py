"""bench/run.py --quick: the whole benchmark, a second per load, so it cannot silently break.

It asserts that the run completes and writes the side-by-side table with no
failed request; it never asserts a speed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (Debian: apt-get install wrk)")
@pytest.mark.skipif(shutil.which("npm") is None, reason="the Node peer needs node and npm")
def test_quick_benchmark_writes_the_side_by_side_table_without_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    assert "| server | public rps | private rps | private / public |" in table
    for row in ("this API, granian (production)", "this API, gunicorn sync", "this API, gunicorn gthread",
                "tutorial server", "express-oauth2-jwt-bearer"):  # fmt: skip
        assert f"| {row}" in table
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["errors"] == 0
    assert results["dpop"]["errors"] == 0 and results["dpop"]["requests"] > 0
    assert "| private with a fresh DPoP proof per request (granian) |" in table
    assert [goal["goal"] for goal in results["goals"]][:3] == [
        "this API's private rps / Node peer's private rps",
        "identical-body protected / public (production server)",
        "uncached validation / bare RS256 verify",
    ]
    assert table in result.stdout
