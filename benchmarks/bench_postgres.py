"""PostgreSQL beside SQLite, in one run: city load, screening pushdown, concurrent writers.

Needs a PostgreSQL server (``--url``, default ``GRIDGUARD_BENCH_POSTGRES_URL``
or the local test server) and the gridguard-postgres plugin. Every figure is
printed for both backends with their ratio; the schemas and files it makes
are removed at the end.

1. City: :func:`gridguard.synth.generate_city` of ``--persons`` persons
   (default 4.42 million, Zhongshan) into each backend.
2. Screening: the built-in rule set over the whole city, pushed down into
   SQL, after ``--screened`` of the persons recorded a screening.
3. Writers: ``--writers`` processes (field teams) each record ``--visits``
   visits in batches of ``--batch``, every batch sent twice (a retry), all
   at once; visits stored per second across all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
START = dt.datetime(2020, 1, 28, 2, 0, tzinfo=dt.UTC)


def _pg_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def _drop(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _rate(label: str, count: float, seconds: float, unit: str) -> float:
    rate = count / seconds if seconds else 0.0
    print(f"  {label:<11} {seconds:8.1f} s   {rate:12,.0f} {unit}/s")
    return rate


# -- 1. city -------------------------------------------------------------------------------


def city(urls: dict[str, str], persons: int) -> None:
    import gridguard
    from gridguard.synth import generate_city

    print(f"city generator, {persons:,} persons (rows made in a second process, loaded here)")
    rates = {}
    for name, url in urls.items():
        with gridguard.open(url) as ws:
            stats = generate_city(ws, persons=persons)
        rates[name] = _rate(name, stats.persons, stats.seconds, "persons")
    print(f"  postgresql / sqlite speed: {rates['postgresql'] / rates['sqlite']:.2f}")


# -- 2. screening --------------------------------------------------------------------------


def _screenings(ws: Any, share: float) -> list[Any]:
    from gridguard import Screening
    from gridguard.model import Trip

    step = max(1, round(1 / share)) if share > 0 else 0
    if not step:
        return []
    with ws.transaction(write=False) as uow:
        ids = [
            row[0]
            for n, row in enumerate(uow.query("SELECT id FROM persons ORDER BY id"))
            if n % step == 0
        ]
    out = []
    for n, person in enumerate(sorted(ids)):
        trips = (
            Trip(destination="武汉", departed=dt.date(2020, 1, 15), returned=dt.date(2020, 1, 22)),
        )
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
    return out


def screening(urls: dict[str, str], share: float) -> None:
    import gridguard
    from gridguard import Area, AreaLevel, Campaign
    from gridguard.model import OutbreakArea
    from gridguard.rules.screening import screen

    print(f"screening pushdown over the whole city ({share:.0%} of persons screened)")
    rates = {}
    for name, url in urls.items():
        with gridguard.open(url) as ws:
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
            ws.record(_screenings(ws, share))
            persons = ws.count(gridguard.Person)
            started = time.perf_counter()
            try:
                result = screen(ws, campaign_id="bench", day=dt.date(2020, 1, 30))
            except gridguard.GridGuardError as exc:
                print(f"  {name:<11} failed: {exc}")
                continue
            seconds = time.perf_counter() - started
        rates[name] = _rate(name, persons, seconds, "persons")
        print(f"  {'':<11} {result.flagged:,} flagged (the whole run, assessments written)")
    if len(rates) == 2:
        print(f"  postgresql / sqlite speed: {rates['postgresql'] / rates['sqlite']:.2f}")


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
    print(f"  postgresql / sqlite speed: {rates['postgresql'] / rates['sqlite']:.2f}")


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
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        url, team, teams, visits, batch, start_at = sys.argv[2:8]
        writer(url, int(team), int(teams), int(visits), int(batch), float(start_at))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("GRIDGUARD_BENCH_POSTGRES_URL", DEFAULT_URL)
    )
    parser.add_argument("--persons", type=int, default=4_420_000)
    parser.add_argument("--screened", type=float, default=0.05, help="share of persons screened")
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--visits", type=int, default=1_000, help="visits per writer")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--only", choices=("city", "screening", "writers"), action="append")
    args = parser.parse_args()
    if not _ready(args.url):
        return
    parts = set(args.only or ("city", "screening", "writers"))
    if "screening" in parts:
        parts.add("city")
    schema = f"gg_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if "city" in parts:
                urls = {
                    "sqlite": f"sqlite:///{Path(tmp) / 'city.db'}",
                    "postgresql": _pg_url(args.url, schema + "_city"),
                }
                city(urls, args.persons)
                if "screening" in parts:
                    screening(urls, args.screened)
            if "writers" in parts:
                urls = {
                    "sqlite": f"sqlite:///{Path(tmp) / 'writers.db'}",
                    "postgresql": _pg_url(args.url, schema + "_writers"),
                }
                writers(urls, args.writers, args.visits, args.batch)
        finally:
            for suffix in ("_city", "_writers"):
                _drop(args.url, schema + suffix)


if __name__ == "__main__":
    main()
