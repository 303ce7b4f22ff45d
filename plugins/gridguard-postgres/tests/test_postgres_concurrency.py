"""Twenty field teams writing at once, and registry edits racing each other."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import attrs
import psycopg
import pytest
from pg_helpers import SchemaUrl, with_params

import gridguard
from gridguard import ConflictError, Household, Visit
from gridguard.security.audit import verify_log
from gridguard.testing import sample_records

WRITER = Path(__file__).with_name("pg_writer.py")


def test_twenty_processes_sending_each_visit_twice_store_each_once(
    pg_schema_url: SchemaUrl,
) -> None:
    teams, count = 20, 1_000
    url = pg_schema_url(pool_size="1")
    with gridguard.open(url) as ws:
        ws.add(sample_records())
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), url, str(team), str(teams), str(count), "100"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for team in range(teams)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["written"] for r in results) == teams * count
    assert sum(r["unchanged"] for r in results) == teams * count
    with gridguard.open(url) as ws:
        assert ws.count(Visit) == teams * count
        assert ws.count(Visit, note="team 7 visit 999") == 1
        audit = verify_log(ws)  # twenty writers appended to one chain: no fork, no gap
        assert audit.ok, audit.problems[:3]


def test_a_stale_registry_edit_is_a_conflict(pg_schema_url: SchemaUrl) -> None:
    url = pg_schema_url()
    with gridguard.open(url) as first, gridguard.open(url) as second:
        first.add(sample_records())
        read = second.get(Household, "h1")
        assert first.update(attrs.evolve(read, door="101A"), expected_version=1) == 2
        with pytest.raises(ConflictError, match="read version 1, stored version 2"):
            second.update(attrs.evolve(read, door="101B"), expected_version=1)
        assert first.get(Household, "h1").door == "101A"


def _waiting(admin: psycopg.Connection[tuple[object, ...]], application: str) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
        "AND wait_event_type = 'Lock'",
        [application],
    ).fetchone()
    return bool(row and row[0])


def _wait_until(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("the other writer never got to the lock")
        time.sleep(0.02)


def test_an_edit_waiting_on_a_concurrent_one_sees_its_version(
    pg_schema_url: SchemaUrl, pg_admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Two editors read version 1; the second waits on the first's row lock, then conflicts."""
    url = pg_schema_url()
    late = with_params(url, application_name="gg_late_editor")
    with gridguard.open(url) as first, gridguard.open(late) as second:
        first.add(sample_records())
        read = first.get(Household, "h1")
        outcome: list[object] = []

        def edit() -> None:
            try:
                outcome.append(second.update(attrs.evolve(read, door="B"), expected_version=1))
            except ConflictError as exc:
                outcome.append(exc)

        with first.transaction():
            first.update(attrs.evolve(read, door="A"), expected_version=1)
            thread = threading.Thread(target=edit)
            thread.start()
            _wait_until(lambda: _waiting(pg_admin, "gg_late_editor"))
        thread.join(30)
        assert len(outcome) == 1
        assert isinstance(outcome[0], ConflictError)
        assert first.get(Household, "h1").door == "A"
        assert first.version(Household, "h1") == 2
