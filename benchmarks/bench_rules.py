"""Screening rules: the Python compiler, rule-engine side by side, and a city screened in SQLite.

Three measurements, each beside a reference run in the same process:

1. **Python compiler**: evaluations per second of a three-clause rule
   (``temperature >= 37.3 or "cough" in symptoms or residency == "visitor"``)
   over rows with missing values, on one core.
2. **rule-engine** (a real peer, installed in the bench session only): the
   same rule over the same rows (no missing temperatures: rule-engine
   refuses to compare null with a number), against the Python compiler on
   those rows. Skipped when rule-engine is not installed.
3. **A city in SQLite**: ``generate_city`` (4.42 million persons by
   default, in a child process), then screenings for a share of persons
   added in bulk with ``INSERT ... SELECT`` at the rates of the demo sweep
   (fever, respiratory symptoms, trips from Wuhan, close contacts). The
   built-in rule set's classification runs as one aggregate query over the
   compiled SQL, and beside it a hand-written SQL query doing the same
   classification; both must count the same persons per rule. Then the
   whole ``screen()`` run (assessments, orders, tasks, notifications
   written) and a second run that must write nothing. The screening runs
   in a child process whose peak resident memory is reported.

    python benchmarks/bench_rules.py [--persons N] [--share 0.1] [--db PATH] [--skip-city]

Targets: >= 1,000,000 evaluations/s; >= 10x rule-engine; the city's
classification <= 15 s and <= 1.5x the hand-written query; peak memory
<= 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ZHONGSHAN = 4_420_000
RULE = 'temperature >= 37.3 or "cough" in symptoms or residency == "visitor"'
DAY = dt.date(2020, 1, 28)

# -- 1 and 2: Python compiler and rule-engine --------------------------------------------------


def make_rows(n: int, seed: int, missing: bool) -> list[dict[str, Any]]:
    """Rows as the screening run builds them: a few febrile, coughing or visiting."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        temperature = None if missing and rng.random() < 0.2 else round(rng.uniform(36.0, 37.6), 1)
        rows.append(
            {
                "temperature": temperature,
                "symptoms": tuple(
                    rng.sample(("cough", "fatigue", "sore throat"), rng.randint(0, 1))
                ),
                "residency": rng.choice(("resident", "resident", "resident", "tenant", "visitor")),
            }
        )
    return rows


def rate(evaluate: Any, rows: list[dict[str, Any]], seconds: float = 2.0) -> tuple[float, int]:
    """Evaluations per second of ``evaluate`` over ``rows``, repeated for about ``seconds``."""
    done = fired = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for row in rows:
            if evaluate(row) is True:
                fired += 1
        done += len(rows)
    return done / (time.perf_counter() - started), fired


def bench_python(rows_n: int) -> dict[str, Any]:
    from gridguard.rules import RunContext, compile_python, parse_condition

    condition = compile_python(parse_condition(RULE), RunContext(day=DAY))
    rows = make_rows(rows_n, 1, missing=True)
    per_second, _ = rate(condition, rows)
    out: dict[str, Any] = {"python_evals_per_s": round(per_second)}
    print(f"python compiler: {per_second:,.0f} evaluations/s (target >= 1,000,000)")
    try:
        import rule_engine
    except ImportError:
        print("rule-engine: not installed (nox -s bench installs it); skipped")
        return out
    peer_rows = make_rows(rows_n, 2, missing=False)
    peer_rule = rule_engine.Rule(
        RULE.replace('"cough"', "'cough'").replace('"visitor"', "'visitor'")
    )
    ours = [condition(r) is True for r in peer_rows]
    theirs = [bool(peer_rule.matches(r)) for r in peer_rows]
    if ours != theirs:
        raise SystemExit("rule-engine and gridguard disagree on the same rows")
    ours_rate, _ = rate(condition, peer_rows)
    peer_rate, _ = rate(peer_rule.matches, peer_rows[: max(rows_n // 10, 1000)])
    ratio = ours_rate / peer_rate
    print(
        f"rule-engine {rule_engine.__version__}: {peer_rate:,.0f} evaluations/s; "
        f"gridguard {ours_rate:,.0f}/s on the same rows: {ratio:.1f}x (target >= 10x)"
    )
    out.update(peer_evals_per_s=round(peer_rate), ratio_vs_rule_engine=round(ratio, 1))
    return out


# -- 3: a city in SQLite ------------------------------------------------------------------------

# Draws from a hash of the rowid: the same persons are screened in every run.
_SCREENINGS = """
INSERT INTO screenings (id, at, recorded_by, person_id, visit_id, trips, exposures, symptoms,
                        temperature, jurisdiction)
SELECT printf('%08x-0000-4000-8000-%012x', r % 4294967296, rowid),
       printf('2020-01-%02d %02d:%02d:00.000000', 25 + (r / 7) % 3, (r / 31) % 24, (r / 71) % 60),
       NULL, id, NULL,
       CASE WHEN (r / 1009) % 1000 < 3
            THEN '[{"departed":null,"destination":"武汉","returned":"2020-01-'
                 || printf('%02d', 1 + (r / 13) % 27) || '"}]'
            WHEN (r / 1009) % 1000 < 6
            THEN '[{"departed":null,"destination":"广州","returned":"2020-01-20"}]'
            ELSE '[]' END,
       CASE WHEN (r / 2003) % 10000 < 5
            THEN '[{"kind":"confirmed_case","last_contact":"2020-01-'
                 || printf('%02d', 5 + (r / 17) % 23) || '","note":""}]'
            WHEN (r / 2003) % 10000 < 15
            THEN '[{"kind":"outbreak_area_arrival","last_contact":"2020-01-'
                 || printf('%02d', 5 + (r / 19) % 23) || '","note":""}]'
            ELSE '[]' END,
       CASE WHEN (r / 4001) % 1000 < 4 THEN '["cough"]'
            WHEN (r / 4001) % 1000 < 5 THEN '["runny nose","sore throat"]'
            WHEN (r / 4001) % 1000 < 7 THEN '["fatigue"]'
            ELSE '[]' END,
       CASE WHEN (r / 8009) % 10 < 2 THEN NULL
            WHEN (r / 16007) % 1000 < 3 THEN 37.3 + ((r / 3) % 15) / 10.0
            ELSE 36.0 + ((r / 5) % 13) / 10.0 END,
       jurisdiction
FROM (SELECT rowid, id, jurisdiction, (rowid * 2654435761) % 4294967291 AS r FROM persons)
WHERE r % 1000 < ?
"""

_HAND = """
WITH latest AS MATERIALIZED (
  SELECT person_id, id AS screening_id, at, trips, exposures, symptoms, temperature,
         max(at || id) FROM screenings GROUP BY person_id),
orders AS MATERIALIZED (
  SELECT DISTINCT person_id FROM quarantine_orders WHERE person_id IS NOT NULL
  AND status = 'active' AND start <= :day AND "end" > :day),
ev AS MATERIALIZED (
  SELECT person_id, at, trips, exposures, symptoms, temperature FROM latest
  UNION ALL SELECT person_id, NULL, NULL, NULL, NULL, NULL FROM orders
  WHERE person_id NOT IN (SELECT person_id FROM latest)),
flags AS MATERIALIZED (
  SELECT p.id AS person_id, p.household_id, h.stairwell_id, e.at,
    EXISTS (SELECT 1 FROM json_each(e.trips) t
            WHERE json_extract(t.value, '$.destination') IN ('武汉')
            AND json_extract(t.value, '$.returned') BETWEEN :d14 AND :day)
    OR EXISTS (SELECT 1 FROM json_each(e.exposures) x
            WHERE json_extract(x.value, '$.kind') = 'outbreak_area_arrival'
            AND json_extract(x.value, '$.last_contact') BETWEEN :d14 AND :day) AS travel,
    EXISTS (SELECT 1 FROM json_each(e.exposures) x
            WHERE json_extract(x.value, '$.kind') = 'confirmed_case'
            AND json_extract(x.value, '$.last_contact') BETWEEN :d14 AND :day) AS contact,
    coalesce(e.temperature >= 37.3, 0) AS fever,
    EXISTS (SELECT 1 FROM json_each(e.symptoms) s WHERE s.value IN (
      'cough', 'dry cough', 'sore throat', 'shortness of breath', 'difficulty breathing',
      'runny nose', 'nasal congestion', '咳嗽', '干咳', '咽痛', '气促', '呼吸困难', '流涕', '鼻塞'))
      AS resp,
    p.id IN (SELECT person_id FROM orders) AS on_order
  FROM ev e CROSS JOIN persons p CROSS JOIN households h
  WHERE p.id = e.person_id AND h.id = p.household_id),
hh AS MATERIALIZED (SELECT household_id AS k, count(*) AS n FROM flags
  WHERE on_order OR travel OR contact GROUP BY household_id),
sw AS MATERIALIZED (SELECT stairwell_id AS k, count(*) AS n FROM flags
  WHERE (fever OR resp) AND at >= :t3 AND at < :end GROUP BY stairwell_id),
extra AS MATERIALIZED (
  SELECT p.id AS person_id FROM hh CROSS JOIN persons p WHERE p.household_id = hh.k
  UNION SELECT p.id FROM sw CROSS JOIN households h CROSS JOIN persons p
  WHERE h.stairwell_id = sw.k AND p.household_id = h.id
  EXCEPT SELECT person_id FROM flags),
everyone AS (
  SELECT person_id, household_id, stairwell_id, travel, contact, fever, resp,
         (on_order OR travel OR contact) AS q FROM flags
  UNION ALL SELECT p.id, p.household_id, h.stairwell_id, 0, 0, 0, 0, 0
  FROM extra x CROSS JOIN persons p CROSS JOIN households h
  WHERE p.id = x.person_id AND h.id = p.household_id),
classified AS (
  SELECT a.travel, a.contact, a.fever, a.resp,
         coalesce(hh.n, 0) - a.q >= 1 AS household, coalesce(sw.n, 0) >= 2 AS stairwell
  FROM everyone a LEFT JOIN hh ON hh.k = a.household_id LEFT JOIN sw ON sw.k = a.stairwell_id)
SELECT count(*), sum(travel), sum(contact), sum(fever), sum(resp), sum(household), sum(stairwell)
FROM classified
WHERE travel OR contact OR fever OR resp OR household OR stairwell
"""


def generate(path: Path, persons: int, share: float) -> dict[str, Any]:
    """The city and its screenings in ``path`` (run in a child: its memory is its own)."""
    import gridguard
    from gridguard.model import Area, Campaign, OutbreakArea
    from gridguard.synth import generate_city

    started = time.perf_counter()
    with gridguard.open(path) as ws:
        stats = generate_city(ws, persons, seed=2020)
        top = ws.find(Area, parent_id=None)[0]
        ws.add(
            [
                Campaign(
                    id="zhongshan-2020",
                    name="中山市新冠肺炎疫情防控一级响应",
                    scope=(top.id,),
                    start=dt.date(2020, 1, 25),
                    outbreak_areas=(OutbreakArea(name="武汉", code="4201"),),
                )
            ]
        )
        generated = time.perf_counter() - started
        started = time.perf_counter()
        with ws.transaction() as uow:
            list(uow.query(_SCREENINGS, (round(share * 1000),)))
        screenings = ws.count(gridguard.Screening)
    return {
        "persons": stats.persons,
        "screenings": screenings,
        "generate_s": round(generated, 1),
        "screenings_s": round(time.perf_counter() - started, 1),
    }


def classify(path: Path) -> dict[str, Any]:
    """Compiled vs hand-written classification, then screen() twice (run in a child)."""
    import gridguard
    from gridguard.model import Campaign
    from gridguard.rules import RunContext, builtin_rule_set
    from gridguard.screening._run import classification_sql, screen
    from gridguard.storage.schema import encode_timestamp

    with gridguard.open(path) as ws:
        campaign = ws.find(Campaign)[0]
        ctx = RunContext.for_campaign(campaign, DAY)
        rules = builtin_rule_set()
        query = classification_sql(rules, ws.storage.dialect, ctx)
        escalations = sum(1 for r in rules if r.is_escalation)
        sums = ", ".join(
            [f"sum(r_{i} IS TRUE)" for i in range(len(rules.rules) - escalations)]
            + [f"sum(e_{i} IS TRUE)" for i in range(escalations)]
        )
        compiled = f"SELECT count(*), {sums} FROM ({query.sql})"
        hand_params = {
            "day": DAY.isoformat(),
            "d14": (DAY - dt.timedelta(days=14)).isoformat(),
            "t3": encode_timestamp(ctx.day_start(DAY - dt.timedelta(days=3))),
            "end": encode_timestamp(ctx.end),
        }
        timings: dict[str, list[float]] = {"compiled": [], "hand": []}
        cpu: dict[str, list[float]] = {"compiled": [], "hand": []}
        results: dict[str, Any] = {}
        for _ in range(3):  # alternate, so that neither gets only a warm cache
            for name, sql, params in (
                ("hand", _HAND, hand_params),
                ("compiled", compiled, query.params),
            ):
                started, cpu_started = time.perf_counter(), time.process_time()
                with ws.transaction(write=False) as uow:
                    results[name] = tuple(next(iter(uow.query(sql, params))))
                timings[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - cpu_started)
        agree = results["compiled"] == results["hand"]
        started = time.perf_counter()
        first = screen(ws, campaign_id=campaign.id, day=DAY)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = screen(ws, campaign_id=campaign.id, day=DAY)
        second_s = time.perf_counter() - started
    return {
        "compiled_s": round(min(timings["compiled"]), 2),
        "hand_s": round(min(timings["hand"]), 2),
        "compiled_cpu_s": round(min(cpu["compiled"]), 2),
        "hand_cpu_s": round(min(cpu["hand"]), 2),
        "per_rule": results["compiled"],
        "hand_per_rule": results["hand"],
        "agree": agree,
        "screen_s": round(first_s, 2),
        "screen": first.summary(),
        "rerun_s": round(second_s, 2),
        "rerun_new": [second.assessments, second.orders, second.tasks],
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def child(mode: str, path: str, persons: int, share: float) -> None:
    out = generate(Path(path), persons, share) if mode == "generate" else classify(Path(path))
    print(json.dumps(out, ensure_ascii=False))


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def bench_city(persons: int, share: float, db: str | None) -> dict[str, Any]:
    folder = None
    if db is None:
        folder = tempfile.TemporaryDirectory(prefix="gridguard-rules-")
        path = Path(folder.name) / "city.db"
    else:
        path = Path(db)
    try:
        if not path.exists():
            print(f"generating {persons:,} persons and screenings for {share:.0%} of them...")
            made = run_child("generate", str(path), str(persons), str(share))
            print(
                f"  {made['persons']:,} persons in {made['generate_s']} s; "
                f"{made['screenings']:,} screenings in {made['screenings_s']} s"
            )
        else:
            print(f"using the city in {path}")
        out = run_child("classify", str(path), str(persons), str(share))
    finally:
        if folder is not None:
            folder.cleanup()
    ratio = out["compiled_s"] / out["hand_s"]
    cpu_ratio = out["compiled_cpu_s"] / out["hand_cpu_s"]
    print(
        f"classification, built-in rules, one aggregate query (best of 3, alternating): "
        f"compiled {out['compiled_s']} s, hand-written {out['hand_s']} s: {ratio:.2f}x; "
        f"CPU time {out['compiled_cpu_s']} s against {out['hand_cpu_s']} s: {cpu_ratio:.2f}x "
        "(targets <= 15 s, <= 1.5x)"
    )
    print(
        f"  flagged and per rule: compiled {out['per_rule']}, hand-written {out['hand_per_rule']}"
    )
    if not out["agree"]:
        raise SystemExit("the compiled and the hand-written classification disagree")
    summary = out["screen"]
    print(
        f"screen(): {out['screen_s']} s for {summary['flagged_persons']:,} flagged persons "
        f"({summary['new_assessments']:,} assessments, {summary['new_quarantine_orders']:,} "
        f"orders, {summary['new_tasks']:,} tasks, {summary['notifications']:,} notifications); "
        f"again: {out['rerun_s']} s, new records {out['rerun_new']}"
    )
    print(f"peak memory of the screening process: {out['peak_mb']} MB (target <= 1,024)")
    out["ratio_vs_hand"] = round(ratio, 2)
    out["cpu_ratio_vs_hand"] = round(cpu_ratio, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=ZHONGSHAN)
    parser.add_argument("--share", type=float, default=0.1, help="share of persons screened")
    parser.add_argument("--db", help="SQLite file for the city (reused when it exists)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the compiler runs")
    parser.add_argument("--skip-city", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "PATH", "PERSONS", "SHARE"))
    args = parser.parse_args()
    if args.child:
        mode, path, persons, share = args.child
        child(mode, path, int(persons), float(share))
        return
    print("(figures from a shared machine: compare the ratios, not the seconds)")
    bench_python(args.rows)
    if not args.skip_city:
        bench_city(args.persons, args.share, args.db)


if __name__ == "__main__":
    main()
