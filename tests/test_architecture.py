"""The import-linter contracts hold, and an import that breaks one fails them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the package under ``root`` with the project's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_project(target: Path) -> Path:
    shutil.copytree(ROOT / "kcguard", target / "kcguard", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_contracts_hold(tmp_path):
    result = lint_imports(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("resource/keys.py", "import flask", "The core imports no web framework"),
        ("resource/validator.py", "import prometheus_client", "The core needs no metrics library"),
        ("resource/validator.py", "from ..app import create_app", "The core imports nothing of the app"),
        ("client/tokens.py", "from ..app import api", "Client, admin and launcher stand beside the app"),
        ("devstack/demo.py", "from ..admin import service", "Client, admin and launcher are independent"),
    ],
)
def test_an_import_against_the_architecture_fails_the_check(tmp_path, module: str, line: str, contract: str):
    root = copy_project(tmp_path)
    path = root / "kcguard" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(root)
    assert result.returncode == 1
    verdicts = [line.rsplit(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith(contract)]
    assert verdicts[0] == "BROKEN", result.stdout
