"""Acceptance: kill the dispatcher with SIGKILL mid-run, run it again, and nothing is lost.

The receiver is a real HTTP server on loopback that acts once per
idempotency key. Every message must reach it, and none may be acted upon
twice; raw deliveries (a message whose result the killed dispatcher never
recorded is sent again) are counted and reported, and may exceed the
de-duplicated ones only by messages that were in flight at the kill.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gridguard
from gridguard.notifications import enqueue
from gridguard.notifications.outbox import outbox_status
from gridguard.notify import Message
from gridguard.storage.dialect import SQLiteDialect
from gridguard.testing import HttpReceiver, sample_records

pytest.importorskip("gridguard_webhook", reason="the crash test posts through gridguard-webhook")

COUNT = 400
BATCH = 40

CONFIG = """
routes = []

[channels.hook]
type = "webhook"
url = "{url}/in"
secret = "crash-test-secret"
timeout = 5

[digest]
channels = ["hook"]

[delivery]
workers = 4
batch = {batch}
timeout = 5
lease = 1.5
base_delay = 0.2
max_delay = 1
max_attempts = 20
"""


def _dispatch(db: Path, config: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gridguard",
        "notify",
        "dispatch",
        "--db",
        str(db),
        "--config",
        str(config),
        "--drain",
        "--max-seconds",
        "90",
        *extra,
    ]


@pytest.mark.slow
def test_sigkill_mid_dispatch_loses_nothing_and_acts_on_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    with gridguard.open(db) as ws:
        ws.add(sample_records())
        messages = [
            Message(
                recipient="community_doctor@c1",
                subject=f"发热报告 #{n}",
                body="居民 陈* 体温 38.5°C",
                channel="hook",
                area_id="c1",
            )
            for n in range(COUNT)
        ]
        with ws.transaction() as uow:
            assert enqueue(uow, messages) == COUNT
    expected = {str(m.id) for m in messages}

    with HttpReceiver(delay=0.004) as receiver:
        config = tmp_path / "notify.toml"
        config.write_text(CONFIG.format(url=receiver.url, batch=BATCH), encoding="utf-8")

        first = subprocess.Popen(
            _dispatch(db, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while receiver.counts()["raw"] < COUNT // 4:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the dispatcher delivered nothing"
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
        assert first.returncode == -signal.SIGKILL
        at_kill = receiver.counts()
        assert at_kill["unique"] < COUNT, "the dispatcher finished before it was killed"

        with gridguard.open(db) as ws, ws.transaction(write=False) as uow:
            before = outbox_status(uow, dt.datetime.now(dt.UTC), dialect=SQLiteDialect())["hook"]
        assert before.get("sent", 0) < COUNT
        assert sum(before.values()) == COUNT  # nothing lost from the outbox

        second = subprocess.run(
            _dispatch(db, config, "--json"), capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 0, second.stderr
        report = json.loads(second.stdout)
        assert report["dead"] == 0
        assert report["outbox"] == {"hook": {"sent": COUNT}}

        final = receiver.counts()
        assert receiver.unique_keys() == expected  # every message delivered ...
        assert final["unique"] == COUNT  # ... and acted upon once
        duplicates = final["raw"] - final["unique"]
        # Only what the killed run had claimed but not recorded can come twice.
        assert 0 <= duplicates <= BATCH + BATCH // 2
        print(
            f"\ncrash test: killed after {at_kill['raw']} raw / {at_kill['unique']} unique "
            f"deliveries; at the end {final['raw']} raw, {final['unique']} de-duplicated "
            f"({duplicates} re-sent after the kill)"
        )

    with gridguard.open(db) as ws, ws.transaction(write=False) as uow:
        status = outbox_status(uow, dt.datetime.now(dt.UTC), dialect=SQLiteDialect())
    assert status == {"hook": {"sent": COUNT}}
