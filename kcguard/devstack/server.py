"""One Keycloak process on 127.0.0.1 with the realms imported (myorg, and partner as a second tenant): dev mode,
or a clustered node.

Each run gets a fresh Keycloak home (scripts, config, a new ``data``
directory) that links to the cached distribution's libraries, so runs never
share state and the cache stays pristine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from . import distribution, java
from .errors import DevStackError
from .processes import free_port, rss_bytes

logger = logging.getLogger(__name__)

REALM = "myorg"
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
REALM_FILE = PROJECT_ROOT / "keycloak" / "realm-export.json"
#: A second realm whose service client's tokens also name the API's audience (several issuers, OIDC_ISSUERS).
PARTNER_REALM = "partner"
PARTNER_REALM_FILE = PROJECT_ROOT / "keycloak" / "partner-realm.json"
#: Every realm file the launcher (and docker-compose.yml) imports.
REALM_FILES = (REALM_FILE, PARTNER_REALM_FILE)
ADMIN_USERNAME = "admin"
#: The environment Keycloak is configured through, here and in docker-compose.yml.
KEYCLOAK_ENVIRONMENT = (
    "KC_BOOTSTRAP_ADMIN_USERNAME",
    "KC_BOOTSTRAP_ADMIN_PASSWORD",
    "KC_HOSTNAME",
    "KC_HOSTNAME_BACKCHANNEL_DYNAMIC",
    "KC_HTTP_PORT",
    "KC_HTTP_MANAGEMENT_PORT",
    "KC_HEALTH_ENABLED",
    "KC_DB",
    "KC_DB_URL",
    "KC_DB_USERNAME",
    "KC_DB_PASSWORD",
    "KC_METRICS_ENABLED",
    "KC_CACHE",
)
#: Build-time options of the clustered (production-mode) server image, built once and cached.
CLUSTER_BUILD_OPTIONS = {"KC_DB": "postgres", "KC_HEALTH_ENABLED": "true", "KC_METRICS_ENABLED": "true"}


def import_name(realm_file: Path) -> str:
    """The file name a realm file gets in ``data/import``: ``<realm>-realm.json``, one per realm."""
    return f"{json.loads(realm_file.read_text())['realm']}-realm.json"


def make_home(dist: Path, quarkus: Path | None = None, realm_files: Sequence[Path] = ()) -> Path:
    """A fresh Keycloak home: own bin/kc.sh, conf, lib/quarkus and data; shared read-only libraries.

    ``quarkus`` is a built server image (``lib/quarkus`` after ``kc.sh build``) to use instead of the
    distribution's; ``realm_files`` go into ``data/import``.
    """
    home = Path(tempfile.mkdtemp(prefix="kcguard-keycloak-"))
    (home / "bin").mkdir()
    shutil.copy2(dist / "bin" / "kc.sh", home / "bin" / "kc.sh")
    shutil.copytree(dist / "conf", home / "conf")
    (home / "lib").mkdir()
    shutil.copytree(quarkus or dist / "lib" / "quarkus", home / "lib" / "quarkus")
    shutil.copy2(dist / "lib" / "quarkus-run.jar", home / "lib" / "quarkus-run.jar")
    for shared in ("lib/lib", "lib/app", "themes", "providers"):
        (home / shared).symlink_to(dist / shared)
    (home / "data" / "import").mkdir(parents=True)
    for realm_file in realm_files:
        shutil.copy2(realm_file, home / "data" / "import" / import_name(realm_file))
    return home


def cluster_server_image(timeout: float = 600.0) -> Path:
    """The server image for production mode (``kc.sh build`` with ``CLUSTER_BUILD_OPTIONS``), built once.

    ``kc.sh start`` without ``--optimized`` would rebuild it on every start (a minute or more of
    CPU per node); the result is a small ``lib/quarkus`` directory, cached beside the distribution.
    """
    dist = distribution.ensure_distribution()
    key = hashlib.sha256(json.dumps(sorted(CLUSTER_BUILD_OPTIONS.items())).encode()).hexdigest()[:12]
    image = distribution.cache_dir() / f"keycloak-{distribution.KEYCLOAK_VERSION}-build-{key}"
    if (image / "build-system.properties").exists():
        return image
    runtime = java.find_java()
    home = make_home(dist)
    try:
        logger.info("Building Keycloak's production-mode server image once (%s)...", image.name)
        environment = {
            **{name: value for name, value in os.environ.items() if not name.startswith("KC_")},
            "JAVA_HOME": str(runtime.home),
            **CLUSTER_BUILD_OPTIONS,
        }
        build = subprocess.Popen(
            [str(home / "bin" / "kc.sh"), "build"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = build.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DevStackError(f"kc.sh build did not finish within {timeout:.0f} s") from None
        finally:
            with contextlib.suppress(ProcessLookupError):  # kc.sh and its JVM, whatever happened
                os.killpg(build.pid, signal.SIGKILL)
            build.wait(timeout=10)
        if build.returncode != 0:
            raise DevStackError("kc.sh build failed:\n" + "\n".join(output.splitlines()[-20:]))
        with contextlib.suppress(OSError):  # another process may have cached the same image meanwhile
            os.rename(home / "lib" / "quarkus", image)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return image


class KeycloakServer:
    """One Keycloak process on 127.0.0.1 with the realm imported; a context manager.

    Dev mode (``start-dev``, in-memory database unless ``db_url``) by default; with ``cluster_port``, a
    production-mode node of an Infinispan cluster on the shared PostgreSQL ``db_url`` (see ``cluster``).
    """

    def __init__(
        self,
        *,
        http_port: int | None = None,
        management_port: int | None = None,
        hostname: str | None = None,
        realm_files: Sequence[Path] = REALM_FILES,
        admin_password: str | None = None,
        db_url: str | None = None,
        db_username: str | None = None,
        db_password: str | None = None,
        startup_timeout: float = 240.0,
        cluster_port: int | None = None,
        import_realm: bool = True,
    ) -> None:
        self.http_port = http_port or free_port()
        self.management_port = management_port or free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.hostname = hostname or self.url
        self.realm_files = tuple(realm_files)
        self.admin_username = ADMIN_USERNAME
        self.admin_password = admin_password or secrets.token_urlsafe(18)
        self._database = {"KC_DB": "dev-mem"}
        if db_url:
            # A PostgreSQL database keeps the realm (and clients added to it) across restarts.
            self._database = {
                "KC_DB": "postgres",
                "KC_DB_URL": db_url,
                "KC_DB_USERNAME": db_username or "",
                "KC_DB_PASSWORD": db_password or "",
            }
        self.startup_timeout = startup_timeout
        #: Clustered (production mode, Infinispan over JGroups on 127.0.0.1:cluster_port) when set.
        self.cluster_port = cluster_port
        if cluster_port and not db_url:
            raise DevStackError("a clustered Keycloak needs a shared PostgreSQL database (db_url)")
        self.import_realm = import_realm
        self.startup_seconds: float | None = None
        self.rss_bytes: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._home: Path | None = None

    @property
    def issuer(self) -> str:
        return f"{self.hostname}/realms/{REALM}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def log_path(self) -> Path:
        if self._home is None:
            raise DevStackError("Keycloak has not been started")
        return self._home / "keycloak.log"

    def __enter__(self) -> KeycloakServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        runtime = java.find_java()
        image = cluster_server_image() if self.cluster_port else None
        realm_files = self.realm_files if self.import_realm else ()
        self._home = make_home(distribution.ensure_distribution(), image, realm_files)
        environment = {
            # Only the KC_* settings below reach Keycloak, whatever the caller's environment holds.
            **{name: value for name, value in os.environ.items() if not name.startswith("KC_")},
            "JAVA_HOME": str(runtime.home),
            "KC_BOOTSTRAP_ADMIN_USERNAME": self.admin_username,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            "KC_HOSTNAME": self.hostname,
            "KC_HOSTNAME_BACKCHANNEL_DYNAMIC": "true",
            "KC_HTTP_PORT": str(self.http_port),
            "KC_HTTP_MANAGEMENT_PORT": str(self.management_port),
            "KC_HEALTH_ENABLED": "true",
            **self._database,
        }
        command = [str(self._home / "bin" / "kc.sh"), "start-dev", "--http-host=127.0.0.1"]
        if self.cluster_port:
            # start-dev never clusters: production mode with the prebuilt image, plain HTTP on loopback,
            # and JGroups (discovery through the JGROUPS_PING table, Keycloak's default) on 127.0.0.1 too.
            environment.update(CLUSTER_BUILD_OPTIONS, KC_CACHE="ispn")
            command[1:2] = ["start", "--optimized", "--http-enabled=true"]
            command += [
                "--cache-embedded-network-bind-address=127.0.0.1",
                f"--cache-embedded-network-bind-port={self.cluster_port}",
            ]
        if self.import_realm:
            command.append("--import-realm")
        logger.info(
            "Starting Keycloak %s on %s (Java %d, log: %s)...",
            distribution.KEYCLOAK_VERSION,
            self.url,
            runtime.version,
            self.log_path,
        )
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        self.rss_bytes = rss_bytes(self._process.pid)
        logger.info(
            "Keycloak ready at %s in %.1f s, using %d MiB of memory (pid %d)",
            self.url,
            self.startup_seconds,
            self.rss_bytes // 2**20,
            self._process.pid,
        )

    def _wait_ready(self, started: float) -> None:
        health = f"http://127.0.0.1:{self.management_port}/health/ready"
        deadline = started + self.startup_timeout
        next_report = started + 10
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise DevStackError(f"Keycloak exited during start-up.\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(health, timeout=2).status_code == 200:
                    return
            if time.monotonic() >= next_report:
                logger.info("  still starting... %d s", time.monotonic() - started)
                next_report += 10
            time.sleep(0.5)
        raise DevStackError(
            f"Keycloak was not ready within {self.startup_timeout:.0f} s ({health}).\n{self.log_tail()}"
        )

    def cluster_size(self) -> int | None:
        """How many nodes this one sees in its Infinispan cluster (metric ``vendor_cluster_size``), if known."""
        if not self.cluster_port:
            return None
        with contextlib.suppress(requests.RequestException):
            metrics = requests.get(f"http://127.0.0.1:{self.management_port}/metrics", timeout=5)
            for line in metrics.text.splitlines():
                if line.startswith("vendor_cluster_size{"):
                    return int(float(line.rsplit(" ", 1)[1]))
        return None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except (OSError, DevStackError):
            return "(no Keycloak log)"
        return "--- last lines of the Keycloak log ---\n" + "\n".join(text)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the process group started here (kc.sh and its JVM) and remove the run's home."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            logger.info("Keycloak stopped (pid %d)", process.pid)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None
