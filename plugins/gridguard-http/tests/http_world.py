"""Shared set-up for the HTTP tests: a small store, tokens, a live server on loopback."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

import gridguard
from gridguard import Principal, Role
from gridguard.testing import sample_records

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 1, 30)
DOCTOR = Principal(name="刘医生", role=Role.COMMUNITY_DOCTOR, area_id="c1")


def local(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZONE)


_TEMPLATE: list[Path] = []
"""The store :func:`build_store` built first in this process; later calls copy it."""


def build_store(path: Path) -> str:
    """The sample tree with an observer for ``b1`` and ``p1`` under home quarantine; its URL.

    Built once per test process and copied after that (a closed SQLite file
    is the whole store), so each test still has a store of its own.
    """
    if _TEMPLATE and _TEMPLATE[0].exists():
        return copy_store(_TEMPLATE[0], path)
    url = _build(path)
    template = Path(tempfile.mkdtemp(prefix="gridguard-http-tests-")) / "template.db"
    shutil.copyfile(path, template)
    _TEMPLATE[:] = [template]
    return url


def _build(path: Path) -> str:
    from gridguard.quarantine import order_quarantine
    from gridguard.watch import assign_observer

    url = f"sqlite:///{path}"
    with gridguard.open(url) as ws:
        ws.add(sample_records())
        assign_observer(ws, "b1", "p2")
        order_quarantine(
            ws,
            person_id="p1",
            last_exposure=dt.date(2020, 1, 28),
            ordered_by="刘医生",
            reason="密切接触",
            at=local(9, day=dt.date(2020, 1, 29)),
        )
    return url


def copy_store(source: Path, target: Path) -> str:
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_command_hook() -> bool:
    from gridguard import hookspecs

    return hasattr(hookspecs, "register_commands")


def serve_command(db: str, port: int, tokens: Path, *extra: str) -> list[str]:
    """``gridguard serve`` with the command hook, else the same click command run directly."""
    args = [
        "serve",
        "--db",
        db,
        "--port",
        str(port),
        "--tokens",
        str(tokens),
        "--log-level",
        "warning",
        *extra,
    ]
    if has_command_hook():
        return [sys.executable, "-m", "gridguard", *args]
    code = "import sys; from gridguard_http.cli import serve; serve(sys.argv[2:])"
    return [sys.executable, "-c", code, "-", *args[1:]]


@contextmanager
def live_server(
    db: str, tokens: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """A server on 127.0.0.1 in a subprocess; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        serve_command(db, port, tokens, *extra),
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"server exited with {proc.returncode}: {out}")
            try:
                httpx.get(base + "/areas", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def make_token(db: str, tokens: Path, principal: Principal) -> str:
    from gridguard_http.auth import TokenStore

    return TokenStore(tokens).create(principal)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def iso(value: dt.datetime) -> str:
    return value.isoformat()


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    """A report's data without the moment it was made."""
    return {k: v for k, v in report.items() if k != "generated_at"}
