"""The daily situation report of a whole city on SQLite: seconds and peak memory.

Builds a Zhongshan-sized city with ``generate_city`` (4.42 million persons,
about 1.5 million households) in a SQLite file, a campaign over the whole
city, and synthetic facts with raw SQL (setup, not timed): a six-day sweep
reaching 90% of the households (door visits, phone follow-ups for some of
those not at home), the screenings of everyone in a screened household, one
check-in per observed building per day, quarantine orders and tasks for 1%
of the persons, a day's assessments for 2%, 20,000 outbox messages and
10,000 service requests. Then, each in a fresh child process (so that its
peak resident memory is its own):

* the daily report of the city for the sweep's last day, and
* the daily report of one community, the same day,

and, as the reference in the same run, raw ``sqlite3`` running the report's
main aggregate (each household's visits folded up to the end of the day,
then counted) on its own.

    python benchmarks/bench_report.py [--persons N] [--db PATH] [--repeat N]

``--db`` keeps the city in PATH and reuses it when it exists.

Targets: the city's daily report in at most 10 s and at most 1 GB peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZHONGSHAN = 4_420_000
CITY = "442000"
CAMPAIGN = "zs-2020"
START = dt.date(2020, 1, 25)
DAYS = 6
DAY = START + dt.timedelta(days=DAYS - 1)
TARGET_SECONDS = 10.0
TARGET_MB = 1024


def build(path: Path, persons: int) -> None:
    """The city, its campaign, and the facts (raw SQL, not timed)."""
    import gridguard
    from gridguard import Campaign
    from gridguard.synth import generate_city

    print(f"generating a city of {persons:,} persons into {path} ...", file=sys.stderr, flush=True)
    with gridguard.open(path) as ws:
        stats = generate_city(ws, persons)
        ws.add([Campaign(id=CAMPAIGN, name="中山市一级响应", scope=[CITY], start=START)])
    print(f"  {stats.households:,} households in {stats.seconds:.0f} s", file=sys.stderr)
    add_facts(path)


def _utc(day: int, hour: int) -> str:
    """Local 14:00 + ``hour`` of campaign day ``day`` (Asia/Shanghai), as stored UTC text."""
    at = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(6 + hour))
    return at.strftime("%Y-%m-%d %H:%M:%S.000000")


def add_facts(path: Path) -> None:
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    days = " ".join(f"WHEN {d} THEN '{_utc(d, 0)}'" for d in range(DAYS))
    conn.execute(
        'INSERT INTO visits (id, "at", recorded_by, household_id, outcome, channel, team_id, '
        "campaign_id, note, jurisdiction) "
        f"SELECT lower(hex(randomblob(16))), CASE abs(random()) % {DAYS} {days} END, NULL, id, "
        "CASE abs(random()) % 100 WHEN 0 THEN 'refused' WHEN 1 THEN 'vacant' "
        "WHEN 2 THEN 'not_home' WHEN 3 THEN 'not_home' WHEN 4 THEN 'not_home' "
        "WHEN 5 THEN 'not_home' WHEN 6 THEN 'not_home' ELSE 'screened' END, 'door', NULL, ?, '', "
        "jurisdiction FROM households WHERE abs(random()) % 100 < 90",
        (CAMPAIGN,),
    )
    conn.execute(
        'INSERT INTO visits (id, "at", recorded_by, household_id, outcome, channel, team_id, '
        "campaign_id, note, jurisdiction) "
        'SELECT lower(hex(randomblob(16))), substr("at", 1, 11) || \'12\' || substr("at", 14), '
        "NULL, household_id, CASE abs(random()) % 2 WHEN 0 THEN 'screened' ELSE 'not_home' END, "
        "'phone', NULL, campaign_id, '', jurisdiction FROM visits "
        "WHERE outcome = 'not_home' AND abs(random()) % 3 > 0"
    )
    conn.execute(
        'INSERT INTO screenings (id, "at", recorded_by, person_id, visit_id, trips, exposures, '
        "symptoms, temperature, jurisdiction) "
        "SELECT lower(hex(randomblob(16))), v.\"at\", NULL, p.id, v.id, '[]', '[]', '[]', 36.5, "
        "p.jurisdiction FROM visits v JOIN persons p ON p.household_id = v.household_id "
        "WHERE v.outcome = 'screened'"
    )
    for d in range(DAYS):
        conn.execute(
            'INSERT INTO checkins (id, "at", recorded_by, building_id, observer_id, status, '
            "anomalies, jurisdiction) SELECT lower(hex(randomblob(16))), ?, NULL, id, observer_id, "
            "CASE WHEN abs(random()) % 50 = 0 THEN 'anomalies' ELSE 'all_normal' END, "
            "'[]', jurisdiction FROM buildings "
            "WHERE observer_id IS NOT NULL AND abs(random()) % 100 < 95",
            (_utc(d, 2),),
        )
    conn.execute(
        'UPDATE checkins SET anomalies = \'[{"count": 2, "household_id": null, '
        '"kind": "stranger", "note": ""}]\' WHERE status = \'anomalies\''
    )
    conn.execute(
        'INSERT INTO quarantine_orders (id, household_id, person_id, kind, "start", "end", '
        "reason, rule_id, rule_set_id, rule_set_version, campaign_id, status, jurisdiction) "
        "SELECT 'q-' || id, household_id, id, CASE abs(random()) % 10 WHEN 0 THEN 'central' "
        f"ELSE 'home' END, date('{START}', '+' || (abs(random()) % {DAYS}) || ' days'), "
        f"date('{START}', '+' || (14 + abs(random()) % {DAYS}) || ' days'), '', 'r', 'rs', '1', "
        "?, 'active', jurisdiction FROM persons WHERE abs(random()) % 100 = 0",
        (CAMPAIGN,),
    )
    conn.execute(
        "INSERT INTO tasks (id, household_id, person_id, kind, due, note, rule_id, rule_set_id, "
        "rule_set_version, status, jurisdiction) "
        "SELECT 't-' || id, household_id, id, CASE abs(random()) % 2 WHEN 0 THEN 'phone_call' "
        f"ELSE 'visit' END, '{_utc(DAYS - 1, 4)}', '', 'r', 'rs', '1', 'open', jurisdiction "
        "FROM persons WHERE abs(random()) % 100 = 1"
    )
    conn.execute(
        'INSERT INTO assessments (id, "at", recorded_by, person_id, household_id, campaign_id, '
        "rule_set_id, rule_set_version, day, screening_id, risk, fired, referrals, notify, "
        "follow_up_hours, jurisdiction) "
        f"SELECT lower(hex(randomblob(16))), '{_utc(DAYS - 1, -6)}', NULL, id, household_id, ?, "
        f"'rs', '1', '{DAY}', NULL, CASE abs(random()) % 3 WHEN 0 THEN 'high' WHEN 1 THEN "
        '\'medium\' ELSE \'low\' END, \'[{"line": "door_to_door", "priority": 100, '
        '"rule_id": "fever", "why": ""}]\', \'[]\', \'[]\', NULL, jurisdiction '
        "FROM persons WHERE abs(random()) % 50 = 0",
        (CAMPAIGN,),
    )
    conn.execute(
        'INSERT INTO outbox (id, "at", recorded_by, area_id, channel, recipient, topic, '
        "subject, body, data, not_before, jurisdiction) "
        f"SELECT lower(hex(randomblob(16))), CASE abs(random()) % {DAYS} {days} END, NULL, "
        "jurisdiction, 'console', 'doctor', 'fever', '', '', '{}', NULL, jurisdiction "
        "FROM households WHERE abs(random()) % 75 = 0 LIMIT 20000"
    )
    conn.execute(
        'INSERT INTO service_requests (id, "at", recorded_by, household_id, service, note, '
        f"jurisdiction) SELECT lower(hex(randomblob(16))), CASE abs(random()) % {DAYS} {days} "
        "END, NULL, id, 'groceries', '', jurisdiction FROM households "
        "WHERE abs(random()) % 150 = 0 LIMIT 10000"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("households", "visits", "screenings", "checkins", "quarantine_orders")
    }
    conn.close()
    took = time.perf_counter() - started
    print(f"  facts: {counts} in {took:.0f} s", file=sys.stderr, flush=True)


def child(path: str, area: str | None) -> None:
    """Build one daily report (runs in a child process) and print its figures as JSON."""
    import gridguard
    from gridguard.reporting import daily_report

    with gridguard.open(path) as ws:
        started = time.perf_counter()
        cpu = time.process_time()
        report = daily_report(ws, area=area, day=DAY, campaign=CAMPAIGN)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    overview = report.block("overview")
    figures = {f.key: f.value for f in overview.items}  # type: ignore[union-attr]
    print(json.dumps({"seconds": wall, "cpu": cpu, "peak_mb": peak_mb, "figures": figures}))


def run_child(path: Path, area: str | None) -> dict[str, object]:
    args = [sys.executable, __file__, "--child", str(path)]
    if area:
        args += ["--area", area]
    done = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def reference(path: Path) -> tuple[float, float]:
    """Raw sqlite3: each household's visits folded up to the end of the day, then counted.

    Returns wall and CPU seconds.
    """
    end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time()) - dt.timedelta(hours=8)
    conn = sqlite3.connect(path)
    started, cpu = time.perf_counter(), time.process_time()
    conn.execute(
        "SELECT count(*), sum(scr) FROM (SELECT household_id, "
        "max(CASE WHEN outcome = 'screened' THEN 1 ELSE 0 END) AS scr FROM visits "
        'WHERE campaign_id = ? AND "at" < ? GROUP BY household_id)',
        (CAMPAIGN, end.strftime("%Y-%m-%d %H:%M:%S.000000")),
    ).fetchall()
    took = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return took


def community_of(path: Path) -> str:
    conn = sqlite3.connect(path)
    (found,) = conn.execute(
        "SELECT jurisdiction FROM households GROUP BY jurisdiction ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    conn.close()
    return str(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=ZHONGSHAN)
    parser.add_argument("--db", type=Path, help="Keep (and reuse) the city in this file.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--area", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.area)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "city.db"
        if not path.exists():
            build(path, args.persons)
        city = [run_child(path, None) for _ in range(args.repeat)]
        community_id = community_of(path)
        community = [run_child(path, community_id) for _ in range(args.repeat)]
        refs = [reference(path) for _ in range(args.repeat)]
    seconds = statistics.median(float(r["seconds"]) for r in city)  # type: ignore[arg-type]
    cpu = statistics.median(float(r["cpu"]) for r in city)  # type: ignore[arg-type]
    peak = max(float(r["peak_mb"]) for r in city)  # type: ignore[arg-type]
    one = statistics.median(float(r["seconds"]) for r in community)  # type: ignore[arg-type]
    ref = statistics.median(wall for wall, _ in refs)
    ref_cpu = statistics.median(c for _, c in refs)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"daily report, city of {args.persons:,} persons, day {DAY} (median of {args.repeat}):")
    print(
        f"  {seconds:.2f} s wall ({cpu:.2f} s CPU), peak RSS {peak:.0f} MB "
        f"(targets: {TARGET_SECONDS:.0f} s, {TARGET_MB} MB)"
    )
    print(f"  figures: {city[0]['figures']}")
    print(f"daily report, one community ({community_id}): {one:.3f} s wall")
    print(
        f"reference, raw sqlite3 main aggregate: {ref:.2f} s wall ({ref_cpu:.2f} s CPU); "
        f"report / reference: {seconds / ref:.2f}x wall, {cpu / ref_cpu:.2f}x CPU"
    )
    print(f"load average while measuring: {load} (on {os.cpu_count()} CPUs)")
    ok = seconds <= TARGET_SECONDS and peak <= TARGET_MB
    print("targets met" if ok else "TARGETS NOT MET")


if __name__ == "__main__":
    main()
