"""Notifications: dispatch throughput to a loopback webhook, and what the outbox adds to a write.

1. Dispatch: N messages (default 10,000) enqueued in a SQLite workspace, delivered
   by the dispatcher through the ``webhook`` notifier (gridguard-webhook) to a
   receiver in its own process on loopback. Reference, in the same run: the same
   JSON bodies posted straight from the same number of threads, with keep-alive,
   no outbox at all.
2. Outbox cost: a health report saved in its own transaction (what an app does
   when a report comes in), without and with the message it causes enqueued in
   the same transaction; then the same as one batch.

Plain python: ``python benchmarks/bench_notify.py [--messages N] [--workers W]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import gridguard  # noqa: E402
from gridguard import HealthReport  # noqa: E402
from gridguard.notifications import enqueue  # noqa: E402
from gridguard.notifications.dispatcher import Dispatcher  # noqa: E402
from gridguard.notifications.settings import DeliverySettings  # noqa: E402
from gridguard.notify import Message  # noqa: E402
from gridguard.testing import sample_records  # noqa: E402

try:
    from gridguard_webhook import JsonWebhookNotifier
except ImportError:  # the bench session installs gridguard only: use the plugin from the tree
    sys.path.insert(0, str(ROOT / "plugins" / "gridguard-webhook" / "src"))
    from gridguard_webhook import JsonWebhookNotifier

AT = dt.datetime(2020, 1, 26, 6, 0, tzinfo=dt.UTC)


def _message(n: int, **fields: Any) -> Message:
    return Message(
        recipient="community_doctor@c1",
        subject=f"发热报告 #{n}",
        body="百苑新村牡丹阁3栋101 居民 陈*（138****8000）体温 38.6°C，请尽快联系。",
        topic="fever",
        channel="hook",
        area_id="c1",
        **fields,
    )


class Receiver:
    """:func:`gridguard.testing.receiver.main` in its own process."""

    def __enter__(self) -> Receiver:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from gridguard.testing.receiver import main; main()"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(30)

    def counts(self) -> dict[str, int]:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        return dict(json.loads(out.strip().splitlines()[-1]))


def bench_dispatch(count: int, workers: int, folder: Path) -> dict[str, float]:
    db = folder / "dispatch.db"
    with gridguard.open(db) as ws:
        ws.add(sample_records())
        messages = [_message(n) for n in range(count)]
        with ws.transaction() as uow:
            enqueue(uow, messages)
        with Receiver() as receiver:
            hook = JsonWebhookNotifier({"url": receiver.url + "/in", "secret": "bench-secret"})
            settings = DeliverySettings(workers=workers, batch=1000, timeout=30.0)
            started = time.perf_counter()
            report = Dispatcher(ws, {"hook": hook}, settings=settings).dispatch()
            seconds = time.perf_counter() - started
            counts = receiver.counts()
    assert report.sent == count, report.as_dict()
    assert counts["unique"] == count, counts

    # Reference: the same bodies straight to the receiver, same threads, keep-alive.
    with Receiver() as receiver:
        hook = JsonWebhookNotifier({"url": receiver.url + "/in", "secret": "bench-secret"})
        chunks = [messages[i::workers] for i in range(workers)]
        started = time.perf_counter()
        threads = [
            threading.Thread(target=lambda c=chunk: [hook.send(m) for m in c]) for chunk in chunks
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        raw_seconds = time.perf_counter() - started
        assert receiver.counts()["unique"] == count
    return {
        "messages": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "raw_seconds": raw_seconds,
        "raw_per_second": count / raw_seconds,
    }


def _reports(count: int, offset: int) -> list[HealthReport]:
    return [
        HealthReport(
            id=uuid.UUID(int=offset + n + 1),
            person_id="p1",
            temperature=38.6,
            at=AT + dt.timedelta(seconds=n),
        )
        for n in range(count)
    ]


def bench_outbox(count: int, folder: Path, rounds: int = 5, chunk: int = 200) -> dict[str, float]:
    """CPU seconds per report saved with and without its message, median of chunks.

    ``single``: a prebuilt report, one transaction each (the bare minimum);
    ``workspace``: a report parsed from JSON input and recorded through the
    workspace, as an app does when a report comes in; ``batch``: all reports
    in one transaction. Each ``*_outbox`` mode enqueues the report's message
    (already rendered) in the same transaction; each ``*_floor`` mode writes
    a bare id into a one-column table instead (the least any second row can
    cost). The modes take turns in chunks of ``chunk`` reports, and each
    keeps the median of its chunks' CPU time (user and system, so the
    write-ahead log's writes count): on a shared machine, wall time mostly
    measures the other processes.
    """
    import statistics

    from gridguard.serialization import from_dict, to_dict

    modes = (
        "single",
        "single_outbox",
        "single_floor",
        "workspace",
        "workspace_outbox",
        "batch",
        "batch_outbox",
        "batch_floor",
    )
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    offset = 0
    floor = "INSERT INTO bench_floor VALUES (?)"
    for r in range(rounds):
        with gridguard.open(folder / f"outbox-{r}.db") as ws:
            ws.add(sample_records())
            with ws.transaction() as uow:  # the least a second row can cost: one tiny B-tree entry
                list(uow.query("CREATE TABLE bench_floor (id TEXT PRIMARY KEY) WITHOUT ROWID"))
            for _ in range(max(1, count // chunk)):
                for mode in modes:
                    size = count if mode.startswith("batch") else chunk
                    reports = _reports(size, offset)
                    inputs = [to_dict(report) for report in reports]
                    messages = [_message(n, id=uuid.UUID(int=offset + n + 1)) for n in range(size)]
                    offset += size
                    outbox = mode.endswith("_outbox")
                    started = time.process_time()
                    if mode == "single_floor":
                        for report, message in zip(reports, messages, strict=True):
                            with ws.transaction() as uow:
                                uow.save_facts(HealthReport, [report])
                                uow.connection.execute(floor, (str(message.id),))  # type: ignore[attr-defined]
                    elif mode == "batch_floor":
                        with ws.transaction() as uow:
                            uow.save_facts(HealthReport, reports)
                            uow.connection.executemany(  # type: ignore[attr-defined]
                                floor, [(str(m.id),) for m in messages]
                            )
                    elif mode.startswith("single"):
                        for report, message in zip(reports, messages, strict=True):
                            with ws.transaction() as uow:
                                uow.save_facts(HealthReport, [report])
                                if outbox:
                                    enqueue(uow, [message])
                    elif mode.startswith("workspace"):
                        for data, message in zip(inputs, messages, strict=True):
                            with ws.transaction() as uow:
                                ws.record([from_dict(HealthReport, data)])
                                if outbox:
                                    enqueue(uow, [message])
                    else:
                        with ws.transaction() as uow:
                            uow.save_facts(HealthReport, reports)
                            if outbox:
                                enqueue(uow, messages)
                    samples[mode].append((time.process_time() - started) / size)
    return {mode: statistics.median(values) for mode, values in samples.items()}


def bench_claims(settled: int, due: int, folder: Path) -> dict[str, float]:
    """Seconds per claim round (find ``due`` due messages) with ``settled`` sent ones beside them.

    Reference, in the same run: the same round in an outbox holding only the
    due messages. The outbox keeps its pending messages in ``outbox_pending``,
    so the two should cost the same.
    """
    from gridguard.model.messages import DeliveryAttempt, DeliveryOutcome, attempt_id
    from gridguard.notifications.outbox import due_messages, record_attempts

    def rounds(ws: gridguard.Workspace) -> float:
        best, now = 1e9, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        for _ in range(20):
            started = time.perf_counter()
            with ws.transaction() as uow:
                found = due_messages(uow, now, dialect=ws.storage.dialect, limit=due)
            best = min(best, time.perf_counter() - started)
            assert len(found) == due, len(found)
        return best

    at = dt.datetime.now(dt.UTC)
    out: dict[str, float] = {}
    for name, history in (("reference", 0), ("claim", settled)):
        with gridguard.open(folder / f"claims-{name}.db") as ws:
            ws.add(sample_records())
            old = [_message(n, id=uuid.UUID(int=10**9 + n)) for n in range(history)]
            with ws.transaction() as uow:
                enqueue(uow, old)
                record_attempts(
                    uow,
                    [
                        DeliveryAttempt(
                            id=attempt_id(m.id, 1, outcome),
                            at=at,
                            message_id=m.id,
                            attempt=1,
                            outcome=outcome,
                            due_at=at if outcome is DeliveryOutcome.CLAIMED else None,
                        )
                        for m in old
                        for outcome in (DeliveryOutcome.CLAIMED, DeliveryOutcome.SENT)
                    ],
                )
                enqueue(uow, [_message(n, id=uuid.UUID(int=2 * 10**9 + n)) for n in range(due)])
            out[name] = rounds(ws)
    return out


def _print_dispatch(d: dict[str, float], workers: int) -> None:
    print(
        f"dispatch {d['messages']:,} messages to a loopback webhook ({workers} workers): "
        f"{d['seconds']:.2f} s, {d['per_second']:,.0f} messages/s"
    )
    print(
        f"  reference, the same posts without the outbox: {d['raw_seconds']:.2f} s, "
        f"{d['raw_per_second']:,.0f}/s; dispatcher / reference time: "
        f"{d['seconds'] / d['raw_seconds']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--reports", type=int, default=2_000)
    parser.add_argument("--settled", type=int, default=50_000)
    parser.add_argument("--skip-dispatch", action="store_true", help="outbox figures only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_dispatch:
            _print_dispatch(bench_dispatch(args.messages, args.workers, folder), args.workers)
        c = bench_claims(args.settled, 100, folder)
        print(
            f"claim round (100 due) beside {args.settled:,} settled messages: "
            f"{c['claim'] * 1e3:.2f} ms; reference, no settled messages: "
            f"{c['reference'] * 1e3:.2f} ms ({c['claim'] / c['reference']:.2f}x)"
        )
        o = bench_outbox(args.reports, folder)
        labels = {
            "single": "a prebuilt report, one transaction each",
            "workspace": "a report from JSON input, ws.record, one transaction each",
            "batch": f"{args.reports:,} prebuilt reports in one transaction",
        }
        for mode, label in labels.items():
            added = o[f"{mode}_outbox"] / o[mode] - 1
            print(
                f"{label}: {o[mode] * 1e6:.1f} us CPU per report; with its message enqueued: "
                f"{o[f'{mode}_outbox'] * 1e6:.1f} us ({added:+.0%})"
            )
            if f"{mode}_floor" in o:
                least = o[f"{mode}_floor"] / o[mode] - 1
                print(
                    f"  floor, a bare id into a one-column table instead: "
                    f"{o[f'{mode}_floor'] * 1e6:.1f} us ({least:+.0%})"
                )


if __name__ == "__main__":
    main()
