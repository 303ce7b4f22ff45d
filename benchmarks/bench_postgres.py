"""PostgreSQL beside SQLite, in one run: city load, screening pushdown, concurrent writers.

Needs a PostgreSQL server (``--url``, default ``GRIDGUARD_BENCH_POSTGRES_URL``
or the local test server) and the gridguard-postgres plugin. Unless
``--no-private``, it also starts a server of its own on a free port from the
machine's PostgreSQL binaries (``--pg-bin``), set for bulk loads (see
``TUNED``), and measures that too. Every figure is printed for each backend
with its ratio to SQLite's; the schemas, files and the private server it
makes are removed at the end.

1. City: :func:`gridguard.synth.generate_city` of ``--persons`` persons
   (default 4.42 million, Zhongshan) into each backend.
2. Screening: the built-in rule set over a city of ``--screen-persons``
   (default 100,000; ``0``: the city of part 1), after ``--screened`` of
   the persons recorded a screening. In a child process per backend: a
   hand-written ``INSERT ... SELECT`` of one assessment row per flagged
   person (the reference), the full run (assessments, orders, tasks and
   digested messages stored) with its peak memory, then the re-run with
   nothing changed; wall time, the process's CPU time and on PostgreSQL
   the server backend's CPU time.
3. Writers: ``--writers`` processes (field teams) each record ``--visits``
   visits in batches of ``--batch``, every batch sent twice (a retry), all
   at once; visits stored per second across all of them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BIN = "/usr/lib/postgresql/15/bin"
START = dt.datetime(2020, 1, 28, 2, 0, tzinfo=dt.UTC)

TUNED = {
    "shared_buffers": "2GB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "wal_buffers": "64MB",
}
"""The private server's settings: buffers and log sized for a bulk load, no replication."""

PRIVATE = "pg-private"
"""The name the private server's figures are printed under."""


def _pg_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def _drop(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _rate(label: str, count: float, seconds: float, unit: str) -> float:
    rate = count / seconds if seconds else 0.0
    print(f"  {label:<11} {seconds:8.1f} s   {rate:12,.0f} {unit}/s", flush=True)
    return rate


def _ratios(rates: dict[str, float]) -> None:
    """Each PostgreSQL figure as a multiple of SQLite's speed."""
    base = rates.get("sqlite")
    for name, rate in rates.items():
        if name != "sqlite" and base:
            print(f"  {name} / sqlite speed: {rate / base:.2f}")


def _load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def private_server(pg_bin: str, root: Path) -> Iterator[str]:
    """A PostgreSQL server of the benchmark's own (``TUNED``), for as long as the block runs.

    Made with ``initdb`` in ``root`` and started with ``pg_ctl`` on a free
    loopback port; as root, both run as the ``postgres`` user. Yields its URL.
    """
    data = root / "pgdata"
    data.mkdir()
    sudo: list[str] = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        sudo = ["runuser", "-u", "postgres", "--"]
    bin_dir = Path(pg_bin)
    quiet = subprocess.DEVNULL
    subprocess.run(
        [*sudo, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        stdout=quiet,
        stderr=quiet,
    )
    port = _free_port()
    options = " ".join(
        [f"-p {port}", f"-k {root}", "-c listen_addresses=127.0.0.1"]
        + [f"-c {k}={v}" for k, v in TUNED.items()]
    )
    ctl = [*sudo, str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*ctl, "-o", options, "-l", str(root / "server.log"), "-w", "start"],
        check=True,
        stdout=quiet,
        stderr=quiet,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], check=False, stdout=quiet, stderr=quiet)


# -- 1. city -------------------------------------------------------------------------------


def city(urls: dict[str, str], persons: int) -> None:
    import gridguard
    from gridguard.synth import generate_city

    print(f"city generator, {persons:,} persons (rows made in a second process, loaded here)")
    rates = {}
    for name, url in urls.items():
        load = _load_average()
        started = time.process_time()
        with gridguard.open(url) as ws:
            stats = generate_city(ws, persons=persons)
        rates[name] = _rate(name, stats.persons, stats.seconds, "persons")
        print(
            f"  {'':<11} loading process {time.process_time() - started:.1f} s CPU; "
            f"load average before {load}, after {_load_average()}"
        )
    _ratios(rates)


# -- 2. screening --------------------------------------------------------------------------


def _screenings(ws: Any, share: float) -> Iterator[list[Any]]:
    """The screenings of ``share`` of the persons, in lists of 100,000 (a city's never at once)."""
    from gridguard import Screening
    from gridguard.model import Trip

    step = max(1, round(1 / share)) if share > 0 else 0
    if not step:
        return
    with ws.transaction(write=False) as uow:
        ids = [
            row[0]
            for n, row in enumerate(uow.query("SELECT id FROM persons ORDER BY id"))
            if n % step == 0
        ]
    trips = (
        Trip(destination="武汉", departed=dt.date(2020, 1, 15), returned=dt.date(2020, 1, 22)),
    )
    out = []
    for n, person in enumerate(sorted(ids)):
        out.append(
            Screening(
                id=uuid.uuid5(uuid.NAMESPACE_URL, f"bench-screening/{person}"),
                at=START + dt.timedelta(seconds=n % 86_400),
                person_id=person,
                trips=trips if n % 7 == 0 else (),
                symptoms=("cough",) if n % 5 == 0 else (),
                temperature=37.6 if n % 11 == 0 else 36.6,
            )
        )
        if len(out) == 100_000:
            yield out
            out = []
    if out:
        yield out


SCREEN_DAY = dt.date(2020, 1, 30)

_REFERENCE_TABLE = (
    "CREATE TABLE bench_reference (id TEXT, at TEXT, person_id TEXT, household_id TEXT, "
    "campaign_id TEXT, rule_set_id TEXT, rule_set_version TEXT, day TEXT, screening_id TEXT, "
    "risk TEXT, fired TEXT, referrals TEXT, notify TEXT, follow_up_hours INTEGER)"
)


def _reference_sql(ws: Any) -> tuple[str, Any]:
    """A hand-written ``INSERT ... SELECT``: one assessment row per flagged person.

    Its ``SELECT`` is the classification query (itself 1.06x a hand-written
    query, see bench_rules.py); the row has the assessments' columns, its id,
    risk and fired rules made in SQL, the explanations left out.
    """
    from gridguard.model import Campaign
    from gridguard.rules import RunContext, builtin_rule_set
    from gridguard.screening._run import classification_sql

    rules = builtin_rule_set()
    campaign = ws.find(Campaign)[0]
    ctx = RunContext.for_campaign(campaign, SCREEN_DAY)
    query = classification_sql(rules, ws.storage.dialect, ctx)
    person = [r for r in rules.rules if not r.is_escalation]
    escalation = [r for r in rules.rules if r.is_escalation]
    flags = [(f"c.r_{i}", r) for i, r in enumerate(person)]
    flags += [(f"c.e_{i}", r) for i, r in enumerate(escalation)]
    fired = " || ".join(f"CASE WHEN {col} IS TRUE THEN '{r.id};' ELSE '' END" for col, r in flags)
    day = SCREEN_DAY.isoformat()
    sql = (
        "INSERT INTO bench_reference SELECT "
        f"c.person_id || ':{day}', '{day}T00:00:00Z', c.person_id, c.household_id, "
        f"'{campaign.id}', '{rules.id}', '{rules.version}', '{day}', c.screening_id, "
        f"'medium', {fired}, '', '', NULL FROM ({query.sql}) c"
    )
    return sql, query.params


def _own_ports() -> set[int]:
    """The local TCP ports of this process's sockets (from /proc: Linux only)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _server_cpu(ws: Any) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends of this process's connections.

    ``None`` on SQLite (its work is this process's own CPU time) or where
    /proc does not tell.
    """
    if not type(ws.storage).__module__.startswith("gridguard_postgres"):
        return None
    with ws.transaction(write=False) as uow:
        ports = _own_ports()
        pids = [
            pid
            for pid, port in uow.query("SELECT pid, client_port FROM pg_stat_activity")
            if port in ports
        ]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _peak_mb() -> float:
    """The peak resident memory of this process since the last :func:`_reset_peak`."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Start :func:`_peak_mb` again from the memory in use now (Linux; elsewhere the peak
    stays the process's, which includes the reference's)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def screen_child(url: str) -> None:
    """In a process of its own: the reference, the full run and the re-run; prints JSON
    (the peak memory of the reference and of the full run each)."""
    import resource

    import gridguard
    from gridguard.screening._run import screen

    out: dict[str, Any] = {}
    with gridguard.open(url) as ws:
        sql, params = _reference_sql(ws)
        with ws.transaction() as uow:
            list(uow.query(_REFERENCE_TABLE))
        server = _server_cpu(ws)
        _reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        with ws.transaction() as uow:
            list(uow.query(sql, params))
        out["reference_s"] = time.perf_counter() - started
        out["reference_cpu_s"] = time.process_time() - cpu
        out["reference_peak_mb"] = _peak_mb()
        if server is not None:
            out["reference_server_cpu_s"] = (_server_cpu(ws) or 0) - server
        with ws.transaction(write=False) as uow:
            (rows,) = next(iter(uow.query("SELECT count(*) FROM bench_reference")))
            out["reference_rows"] = int(rows)
        with ws.transaction() as uow:
            list(uow.query("DROP TABLE bench_reference"))
        for label in ("full", "rerun"):
            server = _server_cpu(ws)
            _reset_peak()
            started, cpu = time.perf_counter(), time.process_time()
            result = screen(ws, campaign_id="bench", day=SCREEN_DAY)
            out[f"{label}_s"] = time.perf_counter() - started
            out[f"{label}_cpu_s"] = time.process_time() - cpu
            if server is not None:
                out[f"{label}_server_cpu_s"] = (_server_cpu(ws) or 0) - server
            out[f"{label}_summary"] = result.summary()
            if label == "full":
                out["peak_mb"] = _peak_mb()
                out["life_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, ensure_ascii=False))


def _figure(out: dict[str, Any], key: str) -> str:
    server = out.get(f"{key}_server_cpu_s")
    cpu = f"CPU {out[f'{key}_cpu_s']:.1f} s"
    if server is not None:
        cpu += f" + server {server:.1f} s"
    return f"{out[f'{key}_s']:.1f} s wall ({cpu})"


def screening(urls: dict[str, str], share: float, persons: int = 0) -> None:
    """Screen the city at ``urls`` (first made there, of ``persons``, unless 0).

    The full run, the hand-written reference and the re-run run in a child
    process each, so that its peak memory and CPU time are the run's own.
    """
    import gridguard
    from gridguard import Area, AreaLevel, Campaign
    from gridguard.model import OutbreakArea
    from gridguard.synth import generate_city

    print(f"screening over the whole city ({share:.0%} of persons screened)")
    rates = {}
    for name, url in urls.items():
        with gridguard.open(url) as ws:
            if persons:
                generate_city(ws, persons=persons)
            city_id = ws.find(Area, level=AreaLevel.CITY)[0].id
            ws.add(
                [
                    Campaign(
                        id="bench",
                        name="bench",
                        scope=(city_id,),
                        start=dt.date(2020, 1, 25),
                        outbreak_areas=(OutbreakArea(name="武汉", code="4201"),),
                    )
                ]
            )
            for chunk in _screenings(ws, share):
                ws.record(chunk)
            screened = ws.count(gridguard.Person)
        load = _load_average()
        child = subprocess.run(
            [sys.executable, __file__, "--screen-child", url],
            check=False,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            print(f"  {name:<11} failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        out = json.loads(child.stdout.strip().splitlines()[-1])
        full = out["full_summary"]
        rates[name] = _rate(name, screened, out["full_s"], "persons")
        ratio = out["full_s"] / out["reference_s"] if out["reference_s"] else 0.0
        print(
            f"  {'':<11} full run {_figure(out, 'full')}: {full['flagged_persons']:,} flagged, "
            f"{full['new_assessments']:,} assessments, {full['new_quarantine_orders']:,} orders, "
            f"{full['new_tasks']:,} tasks, {full['notifications']:,} messages; "
            f"peak memory {out['peak_mb']:,.0f} MB (the process's since it started: "
            f"{out['life_peak_mb']:,.0f} MB)\n"
            f"  {'':<11} reference INSERT ... SELECT {_figure(out, 'reference')}: "
            f"{out['reference_rows']:,} rows, peak memory {out['reference_peak_mb']:,.0f} MB; "
            f"full run / reference {ratio:.2f}x\n"
            f"  {'':<11} re-run, nothing changed: {_figure(out, 'rerun')} "
            f"(mode {out['rerun_summary']['mode']}, "
            f"{out['rerun_summary']['new_assessments']} new assessments)\n"
            f"  {'':<11} load average before {load}, after {_load_average()}",
            flush=True,
        )
    _ratios(rates)


# -- 3. concurrent writers -----------------------------------------------------------------


def writer(url: str, team: int, teams: int, visits: int, batch: int, start_at: float) -> None:
    """One field team: its visits in batches, each batch sent twice; prints its timings."""
    import gridguard
    from gridguard import Visit

    with gridguard.open(url) as ws:
        with ws.transaction(write=False) as uow:
            homes = [r[0] for r in uow.query("SELECT id FROM households ORDER BY id")][team::teams]
        mine = [
            Visit(
                id=uuid.uuid5(uuid.NAMESPACE_URL, f"bench-visit/{team}/{n}"),
                at=START + dt.timedelta(seconds=n),
                household_id=homes[n % len(homes)],
                outcome="screened",
            )
            for n in range(visits)
        ]
        time.sleep(max(0.0, start_at - time.time()))
        began = time.time()
        written = 0
        for first in range(0, visits, batch):
            chunk = mine[first : first + batch]
            written += ws.record(chunk).written
            ws.record(chunk)  # the retry: the same facts again
        ended = time.time()
    print(json.dumps({"began": began, "ended": ended, "written": written}))


def writers(urls: dict[str, str], teams: int, visits: int, batch: int) -> None:
    import gridguard
    from gridguard import Visit
    from gridguard.synth import generate_city

    print(f"{teams} concurrent writers x {visits:,} visits, batches of {batch}, each sent twice")
    rates = {}
    for name, url in urls.items():
        with gridguard.open(url) as ws:
            generate_city(ws, persons=20_000, parallel=False)
        start_at = time.time() + 3.0 + teams * 0.4  # every process imported and connected
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--writer",
                    url,
                    str(team),
                    str(teams),
                    str(visits),
                    str(batch),
                    repr(start_at),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for team in range(teams)
        ]
        results = [json.loads(p.communicate()[0]) for p in procs]
        if any(p.returncode for p in procs):
            raise SystemExit(f"a writer failed on {name}")
        seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
        with gridguard.open(url) as ws:
            stored = ws.count(Visit)
        assert stored == teams * visits == sum(r["written"] for r in results), stored
        rates[name] = _rate(name, stored, seconds, "visits")
    print(f"  load average {_load_average()}")
    _ratios(rates)


def _ready(url: str) -> bool:
    """Whether the plugin is installed and the server answers; says why not otherwise."""
    try:
        import gridguard_postgres  # noqa: F401
        import psycopg
    except ImportError:
        print("skipped: install the plugin first (pip install -e plugins/gridguard-postgres)")
        return False
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        print(f"skipped: no PostgreSQL server at {url} ({str(exc).strip().splitlines()[0]})")
        return False
    return True


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--screen-child":
        screen_child(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        url, team, teams, visits, batch, start_at = sys.argv[2:8]
        writer(url, int(team), int(teams), int(visits), int(batch), float(start_at))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("GRIDGUARD_BENCH_POSTGRES_URL", DEFAULT_URL)
    )
    parser.add_argument(
        "--pg-bin", default=PG_BIN, help="PostgreSQL binaries for the private server"
    )
    parser.add_argument("--no-private", action="store_true", help="measure --url only")
    parser.add_argument("--persons", type=int, default=4_420_000)
    parser.add_argument("--screen-persons", type=int, default=100_000, help="0: the city's")
    parser.add_argument("--screened", type=float, default=0.05, help="share of persons screened")
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--visits", type=int, default=1_000, help="visits per writer")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--only", choices=("city", "screening", "writers"), action="append")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", PRIVATE),
        action="append",
        help="measure these backends only (default: all)",
    )
    args = parser.parse_args()
    if not _ready(args.url):
        return
    parts = set(args.only or ("city", "screening", "writers"))
    if "screening" in parts and not args.screen_persons:
        parts.add("city")
    schema = f"gg_bench_{os.getpid()}"
    print(f"load average at start: {_load_average()} ({os.cpu_count()} CPUs)")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = {"postgresql": args.url}
        if not args.no_private and (not args.backend or PRIVATE in args.backend):
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gg-bench-pg-")))
            try:
                servers[PRIVATE] = stack.enter_context(private_server(args.pg_bin, root))
            except (OSError, subprocess.CalledProcessError) as exc:
                print(f"no private server ({exc}); measuring {args.url} only")
            else:
                settings = ", ".join(f"{k}={v}" for k, v in TUNED.items())
                print(f"{PRIVATE}: a server of our own on loopback with {settings}")

        def urls(part: str) -> dict[str, str]:
            out = {"sqlite": f"sqlite:///{tmp / part}.db"}
            out.update({name: _pg_url(base, f"{schema}_{part}") for name, base in servers.items()})
            return {k: v for k, v in out.items() if not args.backend or k in args.backend}

        try:
            if "city" in parts:
                city(urls("city"), args.persons)
            if "screening" in parts:
                if args.screen_persons:
                    screening(urls("screen"), args.screened, args.screen_persons)
                else:
                    screening(urls("city"), args.screened)
            if "writers" in parts:
                writers(urls("writers"), args.writers, args.visits, args.batch)
        finally:
            for part in ("city", "screen", "writers"):
                _drop(args.url, f"{schema}_{part}")


if __name__ == "__main__":
    main()
