"""Helpers shared by the plugin's tests (a module of its own: ``conftest`` is not importable
when gridguard's own tests run in the same session)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest

SchemaUrl = Callable[..., str]
"""``pg_schema_url(**params)``: the URL of a new, empty schema."""


def with_params(url: str, **params: str) -> str:
    """``url`` with query parameters added (or replaced)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll ``condition`` until it holds; fail the test saying ``what`` never happened."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.02)


def blocked_pid(admin: psycopg.Connection[tuple[object, ...]], application: str) -> int | None:
    """The server process of ``application`` that waits for a lock, if one does."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
        [application],
    ).fetchone()
    return None if row is None else int(str(row[0]))
