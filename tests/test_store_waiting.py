"""Waiting, not dying: a long write beside recorders, a report and the audit check.

A screening of a 200,000-person city holds SQLite's write lock. Meanwhile 8
``gridguard visit record`` processes (their files overlap, so some visits
are sent twice), ``gridguard report daily`` and ``gridguard audit verify``
run. The readers finish while the write is still in progress (they never
wait for it, and the audit entries of their reads go to the queue beside the
store); the recorders say that they wait, and store their visits once the
write has ended. No process prints a traceback; every visit is stored
exactly once; the audit chain holds, with the readers' entries in it.

The screening's transaction is kept open until the readers are done (the
test tells it when to commit), so the overlap does not depend on how fast
the machine is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import gridguard
from gridguard import Area, AreaLevel, Campaign, Visit
from gridguard.model import OutbreakArea
from gridguard.security.audit import recent_entries, verify_log
from gridguard.synth import generate_city

PERSONS = 200_000
RECORDERS = 8
PER_FILE = 50
STEP = 40  # each file shares 10 visits with the next one
BOUND = 240.0
"""Seconds any step may take before the test gives up (a bound, not a measurement)."""

WRITER = """
import sys, datetime as dt, time
from pathlib import Path
import gridguard
from gridguard.screening._run import screen

db, screened, release = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
with gridguard.open(db, purpose="screening") as ws:
    with ws.atomic():
        result = screen(ws, campaign_id="c", day=dt.date(2020, 1, 30))
        screened.write_text(str(ws.count(gridguard.Person)))
        waited = 0.0
        while not release.exists() and waited < 240:
            time.sleep(0.05)
            waited += 0.05
print("flagged", result.flagged)
"""


def _gridguard(*args: str) -> list[str]:
    return [sys.executable, "-m", "gridguard", *args]


def _build(db: Path) -> list[str]:
    """A city of 200,000 persons with a campaign and some screenings; its households' ids."""
    with gridguard.open(db) as ws:
        generate_city(ws, persons=PERSONS)
        city = ws.find(Area, level=AreaLevel.CITY)[0].id
        ws.add(
            [
                Campaign(
                    id="c",
                    name="城市筛查",
                    scope=(city,),
                    start=dt.date(2020, 1, 25),
                    outbreak_areas=(OutbreakArea(name="武汉", code="4201"),),
                )
            ]
        )
        with ws.transaction(write=False) as uow:
            homes = [r[0] for r in uow.query("SELECT id FROM households ORDER BY id LIMIT 400")]
            persons = [r[0] for r in uow.query("SELECT id FROM persons ORDER BY id LIMIT 2000")]
        ws.record(
            [
                gridguard.Screening(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"wait-screening/{p}"),
                    at=dt.datetime(2020, 1, 28, 2, tzinfo=dt.UTC),
                    person_id=p,
                    temperature=37.8 if n % 3 == 0 else 36.5,
                )
                for n, p in enumerate(persons)
            ]
        )
    return homes


def _visit_files(folder: Path, homes: list[str]) -> tuple[list[Path], set[str]]:
    """One file per recorder; neighbouring files share visits (sent twice, stored once)."""
    files, ids = [], set()
    for r in range(RECORDERS):
        lines = []
        for n in range(r * STEP, r * STEP + PER_FILE):
            visit_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wait-visit/{n}"))
            ids.add(visit_id)
            lines.append(
                json.dumps(
                    {
                        "id": visit_id,
                        "household_id": homes[n],
                        "at": f"2020-01-27 {8 + n // 60:02d}:{n % 60:02d}",
                        "outcome": "not_home",
                    }
                )
            )
        path = folder / f"visits-{r}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files, ids


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_long_write_beside_recorders_a_report_and_the_audit_check(tmp_path: Path) -> None:
    db = tmp_path / "city.db"
    homes = _build(db)
    files, visit_ids = _visit_files(tmp_path, homes)
    env = {**os.environ, "GRIDGUARD_LANG": "en", "GRIDGUARD_WRITE_WAIT": "600"}
    screened, release = tmp_path / "screened", tmp_path / "release"

    logs: dict[str, tuple[Path, Path]] = {}

    def start(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        logs[name] = (out, err)
        with out.open("wb") as o, err.open("wb") as e:
            return subprocess.Popen(argv, stdout=o, stderr=e, env=env, cwd=tmp_path)

    writer = start(
        "screening", [sys.executable, "-c", WRITER, str(db), str(screened), str(release)]
    )
    try:
        _wait_for(lambda: screened.exists() or writer.poll() is not None, "the screening")
        assert writer.poll() is None, logs["screening"][1].read_text()
        assert int(screened.read_text()) >= PERSONS  # every person screened, uncommitted yet

        recorders = [
            start(f"recorder-{r}", _gridguard("visit", "record", str(f), "--db", str(db)))
            for r, f in enumerate(files)
        ]
        report = start(
            "report",
            _gridguard("report", "daily", "--db", str(db), "--date", "2020-01-27", "--lang", "en"),
        )
        verify = start("verify", _gridguard("audit", "verify", "--db", str(db)))

        # The readers finish while the screening still holds the store.
        for reader in (report, verify):
            reader.wait(timeout=BOUND)
        assert writer.poll() is None
        assert not release.exists()
        assert report.returncode == 0, logs["report"][1].read_text()
        assert verify.returncode == 0, logs["verify"][1].read_text()
        assert "audit log intact" in logs["verify"][0].read_text()

        # Every recorder says that it waits for the write, and none has stored anything yet.
        def all_waiting() -> bool:
            return all(
                "another write" in logs[f"recorder-{r}"][1].read_text() for r in range(RECORDERS)
            )

        _wait_for(all_waiting, "the recorders' notices")
        assert all(p.poll() is None for p in recorders)
        notice = logs["recorder-0"][1].read_text()
        assert f"process {writer.pid}" in notice
        assert "waiting" in notice

        release.touch()
        assert writer.wait(timeout=BOUND) == 0, logs["screening"][1].read_text()
        for p in recorders:
            p.wait(timeout=BOUND)
    finally:
        release.touch()
        writer.wait(timeout=BOUND)

    for name, (out, err) in logs.items():
        text = out.read_text() + err.read_text()
        assert "Traceback" not in text, (name, text)
    assert all(p.returncode == 0 for p in recorders), [logs[n][1].read_text() for n in logs]

    with gridguard.open(db) as ws:
        assert ws.count(Visit) == len(visit_ids)
        stored = {str(v.id) for v in ws.find(Visit)}
        assert stored == visit_ids
        report_ = verify_log(ws)
        assert report_.ok, report_.problems
        actions = {(e.reason, e.action) for e in recent_entries(ws, last=report_.entries)}
    assert ("audit verify", "audit.read") in actions  # the reader's entry, taken from the queue
    assert any(action == "rules.screen" for _, action in actions)
