"""The HTTP API (gridguard-http): visits recorded over loopback, and the FHIR export.

1. Visits in batches of 50: N visits (default 10,000) posted by one client
   with keep-alive to ``gridguard serve`` (one uvicorn worker, SQLite) in its
   own process, as an administrator's token. Reference, in the same run: the
   same batches recorded through the Python API (``Sweep.record``) into a
   copy of the same store.
2. Single-visit requests: M requests (default 1,000), one visit each;
   reference: ``Sweep.record`` called once per visit.
3. FHIR export of the Huayuan demo community (``gridguard demo``): one
   Bundle of everything, built in process.

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
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def post_all(port: int, token: str, bodies: list[Any]) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/visits", json.dumps(body), headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status not in (200, 201):
            raise RuntimeError(f"{answer.status}")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def python_reference(db: Path, batches: list[list[dict[str, Any]]]) -> float:
    from gridguard.model import Visit
    from gridguard.serialization import from_dict
    from gridguard.sweep import Sweep, VisitRecord

    with gridguard.open(db) as ws:
        sweep = Sweep(ws)
        started = time.perf_counter()
        for batch in batches:
            sweep.record([VisitRecord(from_dict(Visit, v)) for v in batch])
        return time.perf_counter() - started


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
            everything = visits(n)
            batches = [everything[i : i + 50] for i in range(0, n, 50)]
            http_s = post_all(port, token, batches)
            single = visits(singles, offset=n)
            single_s = post_all(port, token, single)
        finally:
            proc.terminate()
            proc.wait()
        py_s = python_reference(copy, batches)
        py_single_s = python_reference(copy, [[v] for v in single])
        with gridguard.open(db) as ws:
            from gridguard.model import Visit

            stored = ws.count(Visit)
    assert stored == n + singles, stored
    print(f"visits over HTTP, batches of 50: {n:,} in {http_s:.2f} s = {n / http_s:,.0f} visits/s")
    print(f"  Python API, same batches:       {n:,} in {py_s:.2f} s = {n / py_s:,.0f} visits/s")
    print(f"  HTTP / Python: {py_s / http_s:.2f}x the speed")
    rate = singles / single_s
    print(f"single-visit requests: {singles:,} in {single_s:.2f} s = {rate:,.0f} requests/s")
    py_rate = singles / py_single_s
    print(f"  Python API, one visit a call: {singles:,} in {py_single_s:.2f} s = {py_rate:,.0f}/s")


def bench_fhir() -> None:
    from click.testing import CliRunner
    from gridguard_http.fhir import bundle

    from gridguard.cli import main

    with tempfile.TemporaryDirectory() as folder:
        run = CliRunner().invoke(main, ["demo", "--json", "--out", folder])
        assert run.exit_code == 0, run.output
        with gridguard.open(Path(folder) / "huayuan.db") as ws:
            started = time.perf_counter()
            data = bundle(ws)
            built = time.perf_counter() - started
            started = time.perf_counter()
            text = json.dumps(data, ensure_ascii=False)
            encoded = time.perf_counter() - started
    entries = len(data["entry"])
    print(
        f"FHIR export of the demo community: {entries:,} resources in {built:.2f} s "
        f"(+ {encoded:.2f} s to JSON, {len(text) / 1e6:.1f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=1_000)
    parser.add_argument("--no-fhir", action="store_true")
    args = parser.parse_args()
    bench_visits(args.visits, args.singles)
    if not args.no_fhir:
        bench_fhir()


if __name__ == "__main__":
    main()
