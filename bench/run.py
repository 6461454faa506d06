"""Benchmark: what a private request costs against a public one, on this machine.

Starts Keycloak (``KEYCLOAK_URL`` or the no-Docker launcher) and the API under
gunicorn with the production settings (2 sync workers, as in the Dockerfile),
then loads it with wrk on 127.0.0.1, each run bounded in time:

- ``/api/public``, ``/api/private`` and ``/api/private-scoped`` with one real token;
- ``/api/private`` with many distinct real tokens (verified-token cache misses).

In-process it times validation alone against a bare RS256 verification with
the same key, and counts the client's token requests over a burst of calls.
Results go to ``bench/results.json`` and ``bench/results.md``, and the table
into README.md between the ``bench:start``/``bench:end`` markers.

    .venv/bin/python bench/run.py            # needs wrk (Debian package "wrk")
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kcguard.app import create_app
from kcguard.client import ApiClient, ClientSettings
from kcguard.devstack import (
    GUNICORN_ARGS,
    REALM,
    KeycloakServer,
    demo_client_secrets,
    free_port,
    stop_process,
    wait_http,
)
from kcguard.devstack.server import PROJECT_ROOT

BENCH = Path(__file__).resolve().parent
DEMO_SECRET = demo_client_secrets()["test_api_client"]
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
PUBLIC_WITH_HEADER = "/api/public, token sent but unused"


@contextlib.contextmanager
def keycloak() -> Iterator[tuple[str, str]]:
    """(base URL, issuer) of a Keycloak with the realm: KEYCLOAK_URL, or one started here."""
    url = os.environ.get("KEYCLOAK_URL", "").rstrip("/")
    if url:
        issuer = requests.get(f"{url}/realms/{REALM}/.well-known/openid-configuration", timeout=10).json()["issuer"]
        yield url, issuer
        return
    with KeycloakServer() as server:
        yield server.url, server.issuer


def fetch_tokens(url: str, count: int, scope: str = "") -> list[str]:
    session = requests.Session()
    tokens = []
    for _ in range(count):
        response = session.post(
            f"{url}/realms/{REALM}/protocol/openid-connect/token",
            data={"grant_type": "client_credentials", **({"scope": scope} if scope else {})},
            auth=("test_api_client", DEMO_SECRET),
            timeout=10,
        )
        response.raise_for_status()
        tokens.append(response.json()["access_token"])
    return tokens


@contextlib.contextmanager
def gunicorn(url: str, issuer: str, workdir: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """The API under gunicorn with the production arguments; yields (base URL, log file)."""
    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    environment = {
        **os.environ,
        **settings,
        "OIDC_ISSUER": issuer,
        "OIDC_DISCOVERY_URL": f"{url}/realms/{REALM}/.well-known/openid-configuration",
        "DATABASE": str(workdir / "books.sqlite"),
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/readyz", 30, process)
        yield base, log
    finally:
        stop_process(process)


def warm_up(api: str, token: str, connections: int) -> None:
    """Concurrent requests for a second, so every worker has loaded the keys and verified the token."""
    wrk(f"{api}/api/private", 1, connections, token=token)


def jwks_fetches(log: Path) -> int:
    """Key-set fetches (successful or not) that the API's workers logged."""
    return len(re.findall(r"signing keys|JWKS", log.read_text(errors="replace")))


def wrk(url: str, seconds: int, connections: int, token: str | None = None, token_file: Path | None = None) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(BENCH / "wrk_report.lua")]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command.append(url)
    if token_file:
        command += ["--", str(token_file)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    report = json.loads(output.split("WRK_JSON ", 1)[1].splitlines()[0])
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def per_call_us(function: Callable[[], object], iterations: int) -> float:
    """Median of five timed batches, in microseconds per call."""
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations):
            function()
        batches.append((time.perf_counter() - started) / iterations * 1e6)
    return statistics.median(batches)


def validation_timings(url: str, issuer: str, tokens: list[str], workdir: Path) -> dict:
    """Validation alone, in this process: uncached, cache hit, and a bare RS256 verify."""
    settings = {
        "issuer": issuer,
        "discovery_url": f"{url}/realms/{REALM}/.well-known/openid-configuration",
        "database": str(workdir / "timing.sqlite"),
        "web_client_id": "",
    }
    uncached = create_app(token_cache_size=0, **settings).extensions["kcguard.validator"]
    cached_app = create_app(**settings)
    cached = cached_app.extensions["kcguard.validator"]
    token = tokens[0]
    cached.authenticate_token(token)
    uncached.authenticate_token(token)

    header_b64, payload_b64, signature_b64 = token.split(".")
    from joserfc.util import urlsafe_b64decode

    signature = urlsafe_b64decode(signature_b64.encode())
    signing_input = f"{header_b64}.{payload_b64}".encode()
    kid = json.loads(urlsafe_b64decode(header_b64.encode()))["kid"]
    public_key = cached.keys.get(kid).public_key

    def bare_verify() -> None:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())

    cycle = iter(tokens * 1000)
    return {
        "bare_rs256_verify_us": per_call_us(bare_verify, 2000),
        "uncached_validation_us": per_call_us(lambda: uncached.authenticate_token(next(cycle)), 2000),
        "cache_hit_us": per_call_us(lambda: cached.authenticate_token(token), 20000),
    }


def client_burst(url: str, issuer: str, api: str, calls: int) -> dict:
    settings = ClientSettings(
        issuer=issuer,
        discovery_url=f"{url}/realms/{REALM}/.well-known/openid-configuration",
        client_id="test_api_client",
        client_secret=DEMO_SECRET,
        api_url=api,
    )
    client = ApiClient(settings)
    statuses = [client.request("GET", "/api/private").status_code for _ in range(calls)]
    return {"calls": calls, "ok": statuses.count(200), "token_requests": client.tokens.token_requests}


def markdown(results: dict) -> str:
    load = f"Load (wrk, 1 thread, {results['connections']} connections, {results['seconds']} s each)"
    rows = [
        f"| {load} | requests/s | p50 ms | p99 ms | non-2xx | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, run in results["load"].items():
        rows.append(
            f"| `{name}` | {run['rps']:,.0f} | {run['p50_us'] / 1000:.2f} | {run['p99_us'] / 1000:.2f} "
            f"| {run['non_2xx']} | {run['socket_errors']} |"
        )
    timing, ratios, burst = results["validation"], results["ratios"], results["client"]
    rows += [
        "",
        "| Measure | Result | Target |",
        "|---|---:|---|",
        f"| private / public throughput (one token, cached) | {ratios['private_over_public']:.2f} | ≥ 0.95 |",
        f"| private / public with the same token sent but unused | {ratios['private_over_public_with_token']:.2f} | |",
        f"| private-scoped / public throughput | {ratios['scoped_over_public']:.2f} | |",
        f"| private, every token verified (cache off) / public | {ratios['misses_over_public']:.2f} | |",
        f"| bare RS256 verify (cryptography) | {timing['bare_rs256_verify_us']:.1f} µs | |",
        f"| uncached validation (signature + claims) | {timing['uncached_validation_us']:.1f} µs | |",
        f"| verified-token cache hit | {timing['cache_hit_us']:.2f} µs | |",
        f"| uncached validation / bare verify | {ratios['validation_over_bare']:.2f} | ≤ 2 |",
        f"| JWKS fetches during the load runs | {results['jwks_fetches_during_load']} | 0 |",
        f"| client: token requests for {burst['calls']} API calls ({burst['ok']} answered 200) "
        f"| {burst['token_requests']} | 1 |",
        "",
        f"Measured {results['date']} on {results['machine']}.",
    ]
    return "\n".join(rows) + "\n"


def update_readme(table: str) -> None:
    readme = PROJECT_ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    readme.write_text(text[:start] + "\n" + table + text[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=300, help="distinct tokens for the cache-miss run")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench: wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2

    with keycloak() as (url, issuer), tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        token = fetch_tokens(url, 1, "test_api_access")[0]
        many = fetch_tokens(url, args.tokens)
        token_file = workdir / "tokens.txt"
        token_file.write_text("\n".join(many) + "\n")
        misses = f"/api/private, {args.tokens} tokens, cache off"
        with gunicorn(url, issuer, workdir) as (api, log):
            warm_up(api, token, args.connections)
            fetches_before = jwks_fetches(log)
            load = {
                "/api/public": wrk(f"{api}/api/public", args.seconds, args.connections),
                # The same bytes on the wire as a private call, nothing validated: isolates the token's transport.
                PUBLIC_WITH_HEADER: wrk(f"{api}/api/public", args.seconds, args.connections, token=token),
                "/api/private": wrk(f"{api}/api/private", args.seconds, args.connections, token=token),
                "/api/private-scoped": wrk(f"{api}/api/private-scoped", args.seconds, args.connections, token=token),
            }
            fetches_during = jwks_fetches(log) - fetches_before
            burst = client_burst(url, issuer, api, 1000)
        # Every request verified from scratch: distinct tokens and no verified-token cache.
        with gunicorn(url, issuer, workdir, **{"OIDC_TOKEN_CACHE_SIZE": "0"}) as (api, log):
            warm_up(api, token, args.connections)
            fetches_before = jwks_fetches(log)
            load[misses] = wrk(f"{api}/api/private", args.seconds, args.connections, token_file=token_file)
            fetches_during += jwks_fetches(log) - fetches_before
        validation = validation_timings(url, issuer, many, workdir)

    public = load["/api/public"]["rps"]
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "seconds": args.seconds,
        "connections": args.connections,
        "distinct_tokens": args.tokens,
        "load": load,
        "validation": validation,
        "client": burst,
        "jwks_fetches_during_load": fetches_during,
        "ratios": {
            "private_over_public": load["/api/private"]["rps"] / public,
            "private_over_public_with_token": load["/api/private"]["rps"] / load[PUBLIC_WITH_HEADER]["rps"],
            "scoped_over_public": load["/api/private-scoped"]["rps"] / public,
            "misses_over_public": load[misses]["rps"] / public,
            "validation_over_bare": validation["uncached_validation_us"] / validation["bare_rs256_verify_us"],
        },
    }
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (BENCH / "results.md").write_text(table)
    if not args.no_readme:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
