"""The official Keycloak distribution, downloaded once with Maven into a cache directory."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import DevStackError

logger = logging.getLogger(__name__)

KEYCLOAK_VERSION = "26.7.3"
KEYCLOAK_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:tar.gz"


def cache_dir() -> Path:
    return Path(os.environ.get("KEYCLOAK_CACHE_DIR") or Path.home() / ".cache" / "kcguard")


def ensure_distribution(cache: Path | None = None) -> Path:
    """The unpacked Keycloak distribution, downloaded with Maven on first use."""
    cache = cache or cache_dir()
    home = cache / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / "bin" / "kc.sh").exists():
        return home
    mvn = shutil.which("mvn")
    if not mvn:
        raise DevStackError(
            f"Keycloak {KEYCLOAK_VERSION} is not in {cache} and Maven (mvn) is not installed to fetch it. "
            f"Install Maven, or unpack {KEYCLOAK_ARTIFACT} into {home}."
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as work:
        logger.info("Downloading Keycloak %s (about 180 MB) with Maven, once...", KEYCLOAK_VERSION)
        command = [mvn, "-B", "dependency:copy", f"-Dartifact={KEYCLOAK_ARTIFACT}", f"-DoutputDirectory={work}"]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
            tail: list[str] = []
            for line in process.stdout or ():
                tail = [*tail[-19:], line.rstrip()]
                if "keycloak-quarkus-dist" in line or "ERROR" in line:
                    logger.info("  mvn: %s", line.strip()[:160])
        if process.returncode != 0:
            raise DevStackError("Maven could not download Keycloak:\n" + "\n".join(tail))
        archive = next(Path(work).glob("*.tar.gz"))
        logger.info("Unpacking %s...", archive.name)
        shutil.unpack_archive(archive, work, filter="tar")
        with contextlib.suppress(OSError):
            os.rename(Path(work) / f"keycloak-{KEYCLOAK_VERSION}", home)
    if not (home / "bin" / "kc.sh").exists():
        raise DevStackError(f"unpacking Keycloak into {home} failed")
    return home
