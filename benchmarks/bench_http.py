"""The HTTP API (gridguard-http): visits recorded over loopback, and the FHIR export.

1. Visits in batches of 50: N visits (default 10,000) posted by one client
   with keep-alive to ``gridguard serve`` (one uvicorn worker, SQLite) in its
   own process, as an administrator's token. Reference, in the same run: the
   same batches recorded through the Python API (``Sweep.record``) into a
   copy of the same store.
2. Single-visit requests: M requests (default 2,000), one visit each.
   References in the same run: a bare Starlette endpoint served the same
   way (uvicorn, one worker) that decodes the body and inserts one row into
   SQLite with a commit, and ``Sweep.record`` called once per visit in
   process.
3. FHIR export of the Huayuan demo community (``gridguard demo``): one
   Bundle of everything, built in process.

Besides requests/s (wall time, which a loaded machine drags down) each
server's CPU time per request is printed: user + system time of the server
process (``/proc/PID/stat``) over the requests, which holds still under load.
The load average is printed with the figures.

Plain python: ``python benchmarks/bench_http.py [--visits N] [--singles M] [--no-fhir]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import gridguard  # noqa: E402
from gridguard import LOCAL_ADMIN  # noqa: E402
from gridguard.testing import sample_records  # noqa: E402

try:
    from gridguard_http.auth import TokenStore
except ImportError:  # the plugin from the tree
    sys.path.insert(0, str(ROOT / "plugins" / "gridguard-http" / "src"))
    from gridguard_http.auth import TokenStore

START = dt.datetime(2020, 1, 26, 1, 0, tzinfo=dt.UTC)
HOUSEHOLDS = ("h1", "h2", "h3")


def visits(n: int, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.UUID(int=offset + k + 1)),
            "at": (START + dt.timedelta(seconds=offset + k)).isoformat(),
            "household_id": HOUSEHOLDS[k % 3],
            "team_id": "t1" if k % 3 < 2 else None,
            "outcome": "not_home",
        }
        for k in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BARE_APP = """
import json, sqlite3, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

conn = sqlite3.connect(sys.argv[1], check_same_thread=False, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = NORMAL")
conn.execute("CREATE TABLE IF NOT EXISTS visits (id TEXT PRIMARY KEY, at TEXT, household_id TEXT,"
             " team_id TEXT, outcome TEXT)")

def insert(body):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT OR IGNORE INTO visits VALUES (?, ?, ?, ?, ?)",
                 (body["id"], body["at"], body["household_id"], body["team_id"], body["outcome"]))
    conn.execute("COMMIT")

async def visits(request):
    from anyio import to_thread
    body = json.loads(await request.body())
    await to_thread.run_sync(insert, body)
    return JSONResponse({"written": 1}, status_code=201)

app = Starlette(routes=[Route("/visits", visits, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    """The load average, as ``uptime`` prints it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def serve_bare(db: Path, port: int) -> subprocess.Popen[bytes]:
    return _started(
        subprocess.Popen(
            [sys.executable, "-c", BARE_APP, str(db), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        port,
    )


def serve(db: Path, tokens: Path, port: int) -> subprocess.Popen[bytes]:
    code = "import sys; from gridguard_http.cli import serve; serve(sys.argv[1:])"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins" / "gridguard-http" / "src")}
    args = ["--db", f"sqlite:///{db}", "--tokens", str(tokens), "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args, "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return _started(proc, port)


def _started(proc: subprocess.Popen[bytes], port: int) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def post_all(port: int, token: str, bodies: list[Any], pid: int) -> tuple[float, float]:
    """Post ``bodies`` one request each: (wall seconds, the server's CPU seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for warm in bodies[:1]:  # a first request loads what the server loads lazily
        conn.request("POST", "/visits", json.dumps(warm), headers)
        conn.getresponse().read()
    bodies = bodies[1:]
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/visits", json.dumps(body), headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status not in (200, 201):
            raise RuntimeError(f"{answer.status}")
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    conn.close()
    return elapsed, cpu


def python_reference(db: Path, batches: list[list[dict[str, Any]]]) -> tuple[float, float]:
    """Record ``batches`` with ``Sweep.record`` in process: (wall seconds, CPU seconds)."""
    from gridguard.model import Visit
    from gridguard.serialization import from_dict
    from gridguard.sweep import Sweep, VisitRecord

    with gridguard.open(db) as ws:
        sweep = Sweep(ws)
        sweep.record([VisitRecord(from_dict(Visit, v)) for v in batches[0]])
        cpu, started = time.process_time(), time.perf_counter()
        for batch in batches[1:]:
            sweep.record([VisitRecord(from_dict(Visit, v)) for v in batch])
        return time.perf_counter() - started, time.process_time() - cpu


def bench_visits(n: int, singles: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base.db"
        with gridguard.open(base) as ws:
            ws.add(sample_records())
        db, copy = Path(folder) / "http.db", Path(folder) / "python.db"
        shutil.copyfile(base, db)
        shutil.copyfile(base, copy)
        tokens = Path(folder) / "tokens.json"
        token = TokenStore(tokens).create(LOCAL_ADMIN)[1]
        port = free_port()
        proc = serve(db, tokens, port)
        try:
            everything = visits(n + 50)
            batches = [everything[i : i + 50] for i in range(0, n + 50, 50)]
            http_s, http_cpu = post_all(port, token, batches, proc.pid)
            single = visits(singles + 1, offset=n + 50)
            single_s, single_cpu = post_all(port, token, single, proc.pid)
        finally:
            proc.terminate()
            proc.wait()
        port = free_port()
        bare = serve_bare(Path(folder) / "bare.db", port)
        try:
            bare_s, bare_cpu = post_all(port, "", single, bare.pid)
        finally:
            bare.terminate()
            bare.wait()
        py_s, py_cpu = python_reference(copy, batches)
        py_single_s, py_single_cpu = python_reference(copy, [[v] for v in single])
        with gridguard.open(db) as ws:
            from gridguard.model import Visit

            stored = ws.count(Visit)
    assert stored == n + 50 + singles + 1, stored
    print(f"({load()})")
    print(
        f"visits over HTTP, batches of 50: {n:,} in {http_s:.2f} s = {n / http_s:,.0f} visits/s;"
        f" server CPU {http_cpu / n * 1e6:.0f} us/visit"
    )
    print(
        f"  Python API, same batches:       {n:,} in {py_s:.2f} s = {n / py_s:,.0f} visits/s;"
        f" CPU {py_cpu / n * 1e6:.0f} us/visit"
    )
    print(f"  HTTP / Python: {py_s / http_s:.2f}x the speed, {py_cpu / http_cpu:.2f}x the CPU")
    per = 1e3 / singles
    print(
        f"single-visit requests: {singles:,} in {single_s:.2f} s = {singles / single_s:,.0f}"
        f" requests/s; server CPU {single_cpu * per:.2f} ms/request"
    )
    print(
        f"  bare Starlette + one SQLite insert: {singles / bare_s:,.0f} requests/s;"
        f" server CPU {bare_cpu * per:.2f} ms/request"
    )
    print(
        f"  Python API, one visit a call: {singles / py_single_s:,.0f} calls/s;"
        f" CPU {py_single_cpu * per:.2f} ms/call"
    )
    print(
        f"  gridguard server CPU / bare: {single_cpu / bare_cpu:.2f}x;"
        f" / Python API: {single_cpu / py_single_cpu:.2f}x"
    )
    print(f"  ({load()})")


def bench_fhir() -> None:
    from click.testing import CliRunner
    from gridguard_http.fhir import bundle

    from gridguard.cli import main

    with tempfile.TemporaryDirectory() as folder:
        run = CliRunner().invoke(main, ["demo", "--json", "--out", folder])
        assert run.exit_code == 0, run.output
        with gridguard.open(Path(folder) / "huayuan.db") as ws:
            cpu, started = time.process_time(), time.perf_counter()
            data = bundle(ws)
            built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
            cpu, started = time.process_time(), time.perf_counter()
            text = json.dumps(data, ensure_ascii=False)
            encoded, encoded_cpu = time.perf_counter() - started, time.process_time() - cpu
    entries = len(data["entry"])
    print(
        f"FHIR export of the demo community: {entries:,} resources in {built:.2f} s"
        f" ({built_cpu:.2f} s CPU) + {encoded:.2f} s to JSON ({encoded_cpu:.2f} s CPU),"
        f" {len(text) / 1e6:.1f} MB"
    )
    print(f"  ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--no-fhir", action="store_true")
    args = parser.parse_args()
    bench_visits(args.visits, args.singles)
    if not args.no_fhir:
        bench_fhir()


if __name__ == "__main__":
    main()
