"""Benchmark: this API against its peers and its server choices, in one run, on this machine.

One local issuer (the tests' OpenID provider on 127.0.0.1) signs one
Keycloak-shaped RS256 token; wrk (one thread, the same connections and
duration for every load) then measures, one after the other:

1. this API under each production-server candidate: granian (the default),
   gunicorn with sync workers, gunicorn with gthread workers; on the public,
   private, private-scoped and books routes, and on ``bench/app.py``'s pair of
   routes whose answers are identical, so their ratio is the cost of protection alone;
2. the peers with the same issuer, audience and token: the tutorial server
   (``bench/peers/tutorial_server.py``: Flask + Authlib 1.6.12, key set fetched
   once at import, only ``exp``/``iss`` checked; its own ``bench/peers/.venv``)
   under gunicorn, and express-oauth2-jwt-bearer (``bench/peers/express_server.js``,
   Node, one process; ``npm ci`` in ``bench/peers/``);
3. this API with the verified-token cache off and distinct tokens: every request verified;
4. one worker's memory: idle, after 10,000 and after 100,000 distinct verified tokens;
5. in-process: uncached validation against a bare RS256 verify, a cache hit, and
   cProfile's top entries for an uncached validation and a protected request.

It writes ``bench/results.json`` and ``bench/results.md`` and puts the tables
into README.md between the ``bench:start``/``bench:end`` markers.

    .venv/bin/python bench/run.py            # ~8 minutes; needs wrk (Debian: apt-get install wrk) and Node/npm
    .venv/bin/python bench/run.py --quick    # ~1 s per load, results in a temporary directory: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
# The tests' local issuer and bench/app.py live outside the installed package.
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from joserfc import jws  # noqa: E402
from joserfc.jws import JWSRegistry  # noqa: E402
from joserfc.util import urlsafe_b64decode  # noqa: E402

from kcguard.app import create_app  # noqa: E402
from kcguard.client import ApiClient, ClientSettings  # noqa: E402
from kcguard.client.dpop import DPoPKey  # noqa: E402
from kcguard.devstack import (  # noqa: E402
    DEFAULT_WORKERS,
    GUNICORN_OPTIONS,
    demo_client_secrets,
    free_port,
    production_command,
    stop_process,
    wait_http,
)
from tests.support.local_issuer import AUDIENCE, LocalIssuer  # noqa: E402

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
PRODUCTION = "granian"
#: The scope the one token carries: enough for every route measured.
SCOPE = "profile test_api_access books.read"
#: (name, path, with the token) for this API; the peers have the first three routes.
API_LOADS = (
    ("public", "/api/public", False),
    ("private", "/api/private", True),
    ("private-scoped", "/api/private-scoped", True),
    ("books", "/api/books", True),
    ("identical body, public", "/bench/public", False),
    ("identical body, protected", "/bench/protected", True),
)
PEER_LOADS = API_LOADS[:3]
BENCH_APP = "bench.app:create_app"


@dataclass(frozen=True)
class Server:
    """How to start one server under test on a given port."""

    name: str
    command: Callable[[int], list[str]]
    cwd: Path
    environment: Callable[[int], dict[str, str]]
    ready_path: str = "/readyz"
    #: Processes that each fetch the key set once.
    workers: int = DEFAULT_WORKERS


@dataclass
class Run:
    """What one benchmark run needs everywhere: the issuer, the token, wrk's settings."""

    issuer: LocalIssuer
    token: str
    workdir: Path
    seconds: int
    connections: int
    quick: bool


# --- wrk -------------------------------------------------------------------------------------------


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench: wrk is not installed. On Debian/Ubuntu: apt-get install wrk (as root; .ci/run does it in CI)"
        )


def wrk(
    run: Run,
    url: str,
    *,
    token: str | None = None,
    token_file: Path | None = None,
    seconds: int = 0,
    once: bool = False,
) -> dict:
    seconds = seconds or run.seconds
    command = ["wrk", "-t1", f"-c{run.connections}", f"-d{seconds}s", "-s", str(BENCH / "wrk_report.lua")]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command.append(url)
    if token_file:
        command += ["--", str(token_file), *(["once"] if once else [])]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    report = json.loads(output.split("WRK_JSON ", 1)[1].splitlines()[0])
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    report["errors"] = report["non_2xx"] + report["socket_errors"]
    return report


# --- servers ---------------------------------------------------------------------------------------


def api_environment(run: Run, **extra: str) -> dict[str, str]:
    """This API's settings for the local issuer (real environment values for these keys are replaced)."""
    return {
        **os.environ,
        "OIDC_ISSUER": run.issuer.issuer,
        "OIDC_DISCOVERY_URL": f"{run.issuer.issuer}/.well-known/openid-configuration",
        "OIDC_JWKS_URL": "",
        "OIDC_AUDIENCE": AUDIENCE,
        "OIDC_ALGORITHMS": "RS256",
        "OIDC_INTROSPECTION": "0",
        "OIDC_TOKEN_CACHE_SIZE": "10000",
        "DATABASE": str(run.workdir / "books.sqlite"),
        "WEB_CLIENT_ID": "",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def gunicorn_command(port: int, *worker_options: str) -> list[str]:
    bind = ["--bind", f"127.0.0.1:{port}", "--workers", str(DEFAULT_WORKERS), *worker_options]
    return [sys.executable, "-m", "gunicorn", *bind, *GUNICORN_OPTIONS, f"{BENCH_APP}()"]


def api_servers(run: Run, **extra: str) -> list[Server]:
    """The production-server candidates, each serving this API with its production options."""
    environment = lambda port: api_environment(run, **extra)  # noqa: E731
    return [
        Server(
            PRODUCTION,
            lambda port: production_command("127.0.0.1", port, DEFAULT_WORKERS, app=BENCH_APP),
            ROOT,
            environment,
        ),
        Server("gunicorn sync", lambda port: gunicorn_command(port), ROOT, environment),
        Server(
            "gunicorn gthread",
            lambda port: gunicorn_command(port, "--worker-class", "gthread", "--threads", "4"),
            ROOT,
            environment,
        ),
    ]


def tutorial_server(run: Run) -> Server:
    python = ensure_tutorial_venv()
    return Server(
        "tutorial (Flask + Authlib 1.6.12, gunicorn sync)",
        lambda port: [
            str(python),
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(DEFAULT_WORKERS),
            "tutorial_server:app",
        ],
        PEERS,
        lambda port: {**os.environ, "ISSUER": run.issuer.issuer},
        ready_path="/api/public",
    )


def node_server(run: Run) -> Server:
    ensure_node_modules()
    return Server(
        "express-oauth2-jwt-bearer (Node, 1 process)",
        lambda port: ["node", "express_server.js"],
        PEERS,
        lambda port: {**os.environ, "ISSUER": run.issuer.issuer, "AUDIENCE": AUDIENCE, "PORT": str(port)},
        ready_path="/api/public",
        workers=1,
    )


def ensure_tutorial_venv() -> Path:
    """bench/peers/.venv with requirements-tutorial.txt, (re)created when the requirements change."""
    venv, requirements = PEERS / ".venv", PEERS / "requirements-tutorial.txt"
    python, stamp = venv / "bin" / "python", venv / "requirements.installed"
    if not (stamp.exists() and stamp.read_text() == requirements.read_text()):
        print("bench: creating bench/peers/.venv for the tutorial peer...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
            check=True,
            timeout=600,
        )
        stamp.write_text(requirements.read_text())
    return python


def ensure_node_modules() -> None:
    """``npm ci`` in bench/peers/ unless its node_modules already match package-lock.json."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("bench: the Node peer needs node and npm (Debian: apt-get install nodejs npm)")
    lock, installed = PEERS / "package-lock.json", PEERS / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("bench: npm ci in bench/peers/ for the Node peer...", file=sys.stderr)
    npm = shutil.which("npm") or "npm"
    subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=PEERS, check=True, timeout=600)


@contextlib.contextmanager
def started(server: Server, run: Run) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``server``, wait until it answers, and stop it afterwards; yields (base URL, process)."""
    port = free_port()
    log = run.workdir / f"{server.name.split()[0]}-{port}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            server.command(port),
            cwd=server.cwd,
            env=server.environment(port),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}{server.ready_path}", 60, process)
        yield base, process
    except Exception:
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        stop_process(process)
        # Workers whose server died hard (or was killed) would live on: end the server's own group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def warm_up(run: Run, base: str, workers: int, fetches_before: int) -> None:
    """Until every worker has loaded the keys: a second of load, then new connections (bounded).

    A keep-alive connection stays with the worker that accepted it, so one wrk
    run may leave a worker cold; each fresh connection may land on another.
    """
    wrk(run, f"{base}/api/private", token=run.token, seconds=1)
    headers = {"Authorization": f"Bearer {run.token}", "Connection": "close"}
    for _ in range(200):
        if run.issuer.jwks_fetches - fetches_before >= workers:
            return
        requests.get(f"{base}/api/private", headers=headers, timeout=10)


def measure(server: Server, run: Run, loads: tuple[tuple[str, str, bool], ...]) -> dict:
    """Warm every worker up (keys loaded, token verified), then each load; JWKS fetches counted around the loads."""
    fetches_before = run.issuer.jwks_fetches
    with started(server, run) as (base, _):
        warm_up(run, base, server.workers, fetches_before)
        fetches = run.issuer.jwks_fetches
        results = {name: wrk(run, f"{base}{path}", token=run.token if auth else None) for name, path, auth in loads}
        return {"loads": results, "jwks_fetches": run.issuer.jwks_fetches - fetches}


# --- memory ----------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def sign(issuer: LocalIssuer, **claims: object) -> str:
    """A Keycloak-shaped token that outlives the whole run (a full run takes longer than Keycloak's 300 s)."""
    return issuer.sign(exp=int(time.time()) + 3600, **claims)


def sign_many(issuer: LocalIssuer, count: int, path: Path) -> Path:
    with open(path, "w") as output:
        for _ in range(count):
            output.write(sign(issuer) + "\n")
    return path


def memory(run: Run, counts: tuple[int, int], rps_hint: float) -> dict:
    """One worker's RSS idle and after ``counts`` distinct tokens, with a cache large enough for all of them.

    wrk stops sending once every token went out, but waits out its duration; the duration is
    therefore sized from ``rps_hint`` (two workers' cache-miss throughput) and the count
    actually sent is reported.
    """
    first = sign_many(run.issuer, counts[0], run.workdir / "memory-1.txt")
    rest = sign_many(run.issuer, counts[1] - counts[0], run.workdir / "memory-2.txt")
    server = api_servers(run, OIDC_TOKEN_CACHE_SIZE=str(counts[1]))[0]
    single = Server(
        server.name,
        lambda port: production_command("127.0.0.1", port, 1, app=BENCH_APP),
        server.cwd,
        server.environment,
    )
    with started(single, run) as (base, process):
        (worker,) = worker_pids(process.pid)
        requests.get(f"{base}/api/private", headers={"Authorization": f"Bearer {run.token}"}, timeout=10)
        idle = rss_kib(worker)
        reports, rss = [], []
        for count, tokens in ((counts[0], first), (counts[1] - counts[0], rest)):
            seconds = min(300, int(count / (0.4 * rps_hint)) + 2)
            reports.append(wrk(run, f"{base}/api/private", token_file=tokens, seconds=seconds, once=True))
            rss.append(rss_kib(worker))
    sent = [
        min(report["requests"], count)
        for report, count in zip(reports, (counts[0], counts[1] - counts[0]), strict=True)
    ]
    return {
        "cache_size": counts[1],
        "idle_kib": idle,
        "after_kib": {str(sent[0]): rss[0], str(sent[0] + sent[1]): rss[1]},
        "errors": sum(report["errors"] for report in reports),
        "bytes_per_cached_token": (rss[1] - idle) * 1024 / max(1, sent[0] + sent[1]),
    }


# --- in-process timings and profiles -------------------------------------------------------------


def per_call_us(functions: dict[str, tuple[Callable[[], object], int]], rounds: int = 7) -> dict[str, float]:
    """Median CPU time per call, in microseconds, of each ``name: (function, calls per batch)``.

    The batches take turns (one of each per round), and CPU time leaves out
    the time other processes hold the core, so a busy shared machine skews
    the ratios between them as little as it can.
    """
    batches: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, (function, calls) in functions.items():
            started_at = time.process_time()
            for _ in range(calls):
                function()
            batches[name].append((time.process_time() - started_at) / calls * 1e6)
    return {f"{name}_us": statistics.median(values) for name, values in batches.items()}


def top_entries(function: Callable[[], object], calls: int, lines: int = 12) -> str:
    """cProfile's top entries by own time, for ``calls`` calls of ``function``."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        function()
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(lines)
    text = out.getvalue()
    return text[text.index("   ncalls") :].rstrip() + "\n"


def in_process(run: Run, tokens: list[str]) -> dict:
    """Validation alone and one protected request, in this process, with the production validator."""
    from werkzeug.test import EnvironBuilder

    from bench.app import bp

    settings = {"issuer": run.issuer.issuer, "database": str(run.workdir / "timing.sqlite"), "web_client_id": ""}
    uncached = create_app(token_cache_size=0, **settings).extensions["kcguard.validator"]
    app = create_app(**settings)
    app.register_blueprint(bp)
    cached = app.extensions["kcguard.validator"]
    cached.authenticate_token(run.token)
    uncached.authenticate_token(run.token)

    header_b64, payload_b64, signature_b64 = run.token.split(".")
    signature = urlsafe_b64decode(signature_b64.encode())
    signing_input = f"{header_b64}.{payload_b64}".encode()
    kid = json.loads(urlsafe_b64decode(header_b64.encode()))["kid"]
    public_key = cached.keys.get(kid).public_key

    def bare_verify() -> None:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())

    def request_of(path: str, token: str | None) -> Callable[[], object]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        environ = EnvironBuilder(path=path, headers=headers).get_environ()

        def call() -> object:
            return b"".join(app(dict(environ), lambda status, headers, exc_info=None: None))

        return call

    registry = JWSRegistry(algorithms=["RS256"])
    key = cached.keys.get(kid)

    iterations = 200 if run.quick else 2000
    cycle = itertools.cycle(tokens)
    public, protected = request_of("/bench/public", None), request_of("/bench/protected", run.token)
    timings = per_call_us(
        {
            "bare_rs256_verify": (bare_verify, iterations),
            "uncached_validation": (lambda: uncached.authenticate_token(next(cycle)), iterations),
            # joserfc's JWS step alone (parse, header checks, signature), key given: the floor under joserfc.
            "joserfc_jws_only": (lambda: jws.deserialize_compact(next(cycle), key, registry=registry), iterations),
            "cache_hit": (lambda: cached.authenticate_token(run.token), 10 * iterations),
            "public_request": (public, iterations),
            "protected_request": (protected, iterations),
        }
    )
    return {
        **timings,
        "profile_uncached_validation": top_entries(lambda: uncached.authenticate_token(next(cycle)), iterations),
        "profile_protected_request": top_entries(protected, iterations),
    }


def client_burst(run: Run, api: str, calls: int) -> dict:
    """The token client calling the private route ``calls`` times: how many tokens it asked for."""
    secret = demo_client_secrets()["test_api_client"]  # the local issuer accepts any; this is the demo one
    settings = ClientSettings(
        issuer=run.issuer.issuer, client_id="test_api_client", client_secret=secret, api_url=api, scope=""
    )
    client = ApiClient(settings)
    statuses = [client.request("GET", "/api/private").status_code for _ in range(calls)]
    return {"calls": calls, "ok": statuses.count(200), "token_requests": client.tokens.token_requests}


def dpop_load(run: Run, private_rps: float) -> dict:
    """Private requests under the production server with a DPoP-bound token and a fresh proof each.

    wrk cannot sign, so the proofs are signed beforehand: one per request the
    private route's measured rate predicts, with room to spare, each sent once
    (a proof sent twice is a replay, answered 401 and counted as an error).
    They are signed just before the run, well inside the API's 60 s proof window.
    """
    key = DPoPKey()
    token = sign(run.issuer, scope=SCOPE, cnf={"jkt": key.jkt}, typ="DPoP")
    fetches_before = run.issuer.jwks_fetches
    with started(api_servers(run)[0], run) as (base, _):
        warm_up(run, base, DEFAULT_WORKERS, fetches_before)
        url = f"{base}/api/private"
        proofs = run.workdir / "dpop-proofs.txt"
        count = int(private_rps * run.seconds * 1.5) + 100
        with open(proofs, "w") as output:
            for _ in range(count):
                output.write(f"{token}\t{key.proof('GET', url, access_token=token)}\n")
        return {**wrk(run, url, token_file=proofs), "proofs": count}


# --- report ----------------------------------------------------------------------------------------


def ratio(load: dict, numerator: str, denominator: str) -> float:
    return load[numerator]["rps"] / load[denominator]["rps"]


def goals(results: dict) -> list[tuple[str, str, str, bool]]:
    """(goal, measured, target, met) for the README."""
    ours = results["servers"][PRODUCTION]["loads"]
    node = results["peers"]["node"]["loads"]
    timing = results["in_process"]
    private_vs_node = ours["private"]["rps"] / node["private"]["rps"]
    identical = ratio(ours, "identical body, protected", "identical body, public")
    validation = timing["uncached_validation_us"] / timing["bare_rs256_verify_us"]
    return [
        ("this API's private rps / Node peer's private rps", f"{private_vs_node:.2f}", "≥ 1.5", private_vs_node >= 1.5),
        ("identical-body protected / public (production server)", f"{identical:.2f}", "≥ 0.95", identical >= 0.95),
        ("uncached validation / bare RS256 verify", f"{validation:.2f}", "≤ 2", validation <= 2),
        ("errors (non-2xx + socket) in all loads", str(results["errors"]), "0", results["errors"] == 0),
        ("JWKS fetches during the loads", str(results["jwks_fetches"]), "0", results["jwks_fetches"] == 0),
        (
            f"the client's token requests for {results['client']['calls']} calls "
            f"({results['client']['ok']} answered 200)",
            str(results["client"]["token_requests"]),
            "1",
            results["client"]["token_requests"] == 1 and results["client"]["ok"] == results["client"]["calls"],
        ),
    ]


def markdown(results: dict) -> str:
    settings = f"wrk -t1 -c{results['connections']} -d{results['seconds']}s"
    rows = [
        f"Side by side ({settings}, one local issuer, one RS256 token):",
        "",
        "| server | public rps | private rps | private / public |",
        "|---|---:|---:|---:|",
    ]
    lines = [
        (f"this API, {name}" + (" (production)" if name == PRODUCTION else ""), group["loads"])
        for name, group in results["servers"].items()
    ]
    lines += [(label, results["peers"][key]["loads"]) for label, key in results["peer_names"].items()]
    for label, loads in lines:
        rows.append(
            f"| {label} | {loads['public']['rps']:,.0f} | {loads['private']['rps']:,.0f} "
            f"| {ratio(loads, 'private', 'public'):.2f} |"
        )
    names = list(results["servers"])
    rows += ["", "This API per route, requests/s (errors):", "", "| route | " + " | ".join(names) + " |"]
    rows.append("|---|" + "---:|" * len(names))
    for load, _, _ in API_LOADS:
        cells = [results["servers"][name]["loads"][load] for name in names]
        rows.append(f"| {load} | " + " | ".join(f"{c['rps']:,.0f} ({c['errors']})" for c in cells) + " |")
    rows.append(
        "| identical-body protected / public | "
        + " | ".join(
            f"{ratio(results['servers'][n]['loads'], 'identical body, protected', 'identical body, public'):.2f}"
            for n in names
        )
        + " |"
    )
    misses, mem, timing = results["misses"], results["memory"], results["in_process"]
    rows += [
        "",
        "| Goal | Measured | Target | Met |",
        "|---|---:|---|---|",
        *(f"| {g} | {m} | {t} | {'yes' if ok else 'no'} |" for g, m, t, ok in goals(results)),
        "",
        "| Measure | Result |",
        "|---|---:|",
        f"| private, every request verified ({misses['tokens']} distinct tokens, cache off), {PRODUCTION} "
        f"| {misses['rps']:,.0f} rps ({misses['rps'] / results['servers'][PRODUCTION]['loads']['public']['rps']:.2f}"
        " of public) |",
        f"| bare RS256 verify (cryptography) | {timing['bare_rs256_verify_us']:.1f} µs |",
        f"| joserfc's JWS step alone (parse, header checks, signature; key given) | "
        f"{timing['joserfc_jws_only_us']:.1f} µs ({timing['joserfc_jws_only_us'] / timing['bare_rs256_verify_us']:.2f}x"
        " bare) |",
        f"| uncached validation (signature + claims) | {timing['uncached_validation_us']:.1f} µs |",
        f"| verified-token cache hit | {timing['cache_hit_us']:.2f} µs |",
        f"| in-process request, identical-body public / protected | {timing['public_request_us']:.1f} / "
        f"{timing['protected_request_us']:.1f} µs |",
        f"| worker RSS idle ({PRODUCTION}, 1 worker) | {mem['idle_kib'] / 1024:.1f} MiB |",
        *(
            f"| worker RSS after {int(count):,} distinct verified tokens (cache size {mem['cache_size']:,}) "
            f"| {kib / 1024:.1f} MiB |"
            for count, kib in mem["after_kib"].items()
        ),
        f"| memory per cached token | {mem['bytes_per_cached_token']:,.0f} bytes |",
        f"| private with a fresh DPoP proof per request ({PRODUCTION}) | {results['dpop']['rps']:,.0f} rps "
        f"({results['dpop']['rps'] / results['servers'][PRODUCTION]['loads']['public']['rps']:.2f} of public, "
        f"{results['dpop']['errors']} errors) |",
        "",
        "Top of cProfile for one uncached validation (own time):",
        "",
        "```",
        timing["profile_uncached_validation"].rstrip(),
        "```",
        "",
        "Top of cProfile for one identical-body protected request, in-process (own time):",
        "",
        "```",
        timing["profile_protected_request"].rstrip(),
        "```",
        "",
        f"Measured {results['date']} on {results['machine']}.",
    ]
    return "\n".join(rows) + "\n"


def update_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    readme.write_text(text[:start] + "\n" + table + text[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per load, small token counts, no README update")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=300, help="distinct tokens for the cache-off run")
    parser.add_argument("--output", type=Path, default=BENCH, help="where results.json and results.md go")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every server started here is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.seconds, args.tokens, args.no_readme = 1, 50, True
    memory_counts = (200, 1000) if args.quick else (10_000, 100_000)
    ensure_wrk()

    with LocalIssuer(free_port()) as issuer, tempfile.TemporaryDirectory() as tmp:
        run = Run(issuer, sign(issuer, scope=SCOPE), Path(tmp), args.seconds, args.connections, args.quick)
        servers = {server.name: measure(server, run, API_LOADS) for server in api_servers(run)}
        peers = {
            "tutorial": measure(tutorial_server(run), run, PEER_LOADS),
            "node": measure(node_server(run), run, PEER_LOADS),
        }
        distinct = [sign(issuer) for _ in range(args.tokens)]
        token_file = run.workdir / "tokens.txt"
        token_file.write_text("\n".join(distinct) + "\n")
        fetches = issuer.jwks_fetches
        with started(api_servers(run, **{"OIDC_TOKEN_CACHE_SIZE": "0"})[0], run) as (base, _):
            warm_up(run, base, DEFAULT_WORKERS, fetches)
            fetches = issuer.jwks_fetches
            misses = {**wrk(run, f"{base}/api/private", token_file=token_file), "tokens": args.tokens}
            misses_fetches = issuer.jwks_fetches - fetches
            burst = client_burst(run, base, 100 if args.quick else 1000)
        memory_results = memory(run, memory_counts, misses["rps"])
        timing = in_process(run, distinct)
        dpop = dpop_load(run, servers[PRODUCTION]["loads"]["private"]["rps"])

    groups = [*servers.values(), *peers.values()]
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "seconds": args.seconds,
        "connections": args.connections,
        "servers": servers,
        "peers": peers,
        "peer_names": {
            "tutorial server (Flask + Authlib 1.6.12, keys once, exp/iss only), gunicorn 2 sync workers": "tutorial",
            "express-oauth2-jwt-bearer 1.10 (Node, 1 process)": "node",
        },
        "misses": misses,
        "memory": memory_results,
        "in_process": timing,
        "dpop": dpop,
        "client": burst,
        "errors": sum(load["errors"] for group in groups for load in group["loads"].values())
        + misses["errors"]
        + memory_results["errors"]
        + dpop["errors"],
        "jwks_fetches": sum(group["jwks_fetches"] for group in groups) + misses_fetches,
    }
    results["goals"] = [dict(zip(("goal", "measured", "target", "met"), g, strict=True)) for g in goals(results)]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.output / "results.md").write_text(table)
    if not args.no_readme:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
