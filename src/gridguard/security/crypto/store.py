"""Whether a SQLite store encrypts personal data, and with which key.

A store is encrypted once a key is *active* in its ``encryption_keys``
table. Opening it then needs that key (from the caller, ``GRIDGUARD_KEY_FILE``
or ``GRIDGUARD_KEY``); a missing or different key is a
:class:`~gridguard.errors.ConfigError` at open time, before any value is
read. A store holding no persons yet is encrypted from the start when a key
is given; a store that already holds persons in clear is encrypted by
``gridguard keys rotate`` (:func:`gridguard.security.crypto.rotation.rotate_keys`), never
silently.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ...storage.sqlite import active_key_id
from .keys import KEY_ENV, KEY_FILE_ENV, KeyRing, keyring_from_environment

if TYPE_CHECKING:
    from .fields import FieldCrypt

__all__ = ["active_key_id", "install_guards", "open_field_crypt"]


def _guards() -> dict[str, str]:
    """Trigger name -> SQL: refuse a value in clear in an encrypted column of an encrypted store.

    A safety net under every writer, including bulk paths that bind rows
    straight into ``executemany``: installed only once a store is
    encrypted, so a plain store's writes pay nothing for them. Named
    ``*_sealed_v2_*`` since values bound to their row (``gg2:``) came: the
    first triggers knew only ``gg1:`` and are dropped by :func:`install_guards`.
    """
    from .cipher import LEGACY_PREFIX, TOKEN_PREFIX
    from .fields import ENCRYPTED_COLUMNS

    width = len(TOKEN_PREFIX)
    allowed = f"('{TOKEN_PREFIX}', '{LEGACY_PREFIX}')"
    out = {}
    for table, columns in ENCRYPTED_COLUMNS.items():
        clear = " OR ".join(
            f"(NEW.{c} IS NOT NULL AND substr(NEW.{c}, 1, {width}) NOT IN {allowed})"
            for c in columns
        )
        message = f"{table} is encrypted: a value in clear cannot be written to it"
        for event in ("INSERT", f"UPDATE OF {', '.join(columns)}"):
            name = f"{table}_sealed_v2_{event.split()[0].lower()}"
            out[name] = (
                f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON {table} "
                f"WHEN {clear} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    return out


def _lookup_indexes() -> dict[str, str]:
    """Index name -> SQL: find the row that holds a sealed value (see
    :meth:`~gridguard.security.crypto.fields.FieldCrypt.open_rows`).

    ``persons`` has its match indexes already; the others are partial, over
    sealed values only, so a plain store never has them and an encrypted one
    keeps them small.
    """
    from .fields import SEALED_TERM

    out = {}
    for table, column in (
        ("households", "phone"),
        ("list_entries", "id_number"),
        ("list_entries", "phone"),
    ):
        name = f"{table}_{column}_sealed"
        out[name] = (
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} ("{column}") '
            f"WHERE {SEALED_TERM.format(column=column)}"
        )
    return out


def _installed(conn: sqlite3.Connection) -> set[str]:
    return {
        str(r[0])
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('trigger', 'index')")
    }


def _stale_guards(present: set[str]) -> list[str]:
    """The triggers of the first format (``*_sealed_insert``), which refuse ``gg2:`` values."""
    return [n for n in present if n.endswith(("_sealed_insert", "_sealed_update"))]


def install_guards(conn: sqlite3.Connection) -> None:
    """Create the guarding triggers and look-up indexes that are missing (inside the caller's
    transaction), dropping the triggers of the first format."""
    present = _installed(conn)
    for name in _stale_guards(present):
        conn.execute(f"DROP TRIGGER {name}")
    for name, sql in {**_guards(), **_lookup_indexes()}.items():
        if name not in present:
            conn.execute(sql)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def open_field_crypt(
    conn: sqlite3.Connection, ring: KeyRing | None, *, where: str
) -> FieldCrypt | None:
    """The field encryption of the store on ``conn``, or ``None`` when it is off.

    ``ring`` is the caller's key ring; ``None`` reads it from the
    environment. ``where`` names the store in messages.
    """
    active = active_key_id(conn)
    keys_in_env = any(os.environ.get(k, "").strip() for k in (KEY_FILE_ENV, KEY_ENV))
    if ring is None and active is None and not keys_in_env:
        return None  # the plain path: cryptography is not even imported
    ring = ring or keyring_from_environment()
    if active is None:
        if ring is None:
            return None
        if conn.execute("SELECT 1 FROM persons LIMIT 1").fetchone() is not None:
            raise ConfigError(
                f"{where} holds identity numbers and phones in clear and a key was given: "
                "encrypt them with 'gridguard keys rotate' (or open it without a key)"
            )
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO encryption_keys (key_id, state, created_at) VALUES (?, 'active', ?)",
            (ring.current.key_id, _now()),
        )
        conn.execute("COMMIT")
        active = ring.current.key_id
    elif ring is None:
        raise ConfigError(
            f"{where} encrypts identity numbers and phones (key {active}): "
            f"give its key with {KEY_FILE_ENV} (a key file) or {KEY_ENV}"
        )
    elif ring.get(active) is None:
        raise ConfigError(
            f"wrong key for {where}: it is encrypted with key {active}, and {ring.source} "
            f"holds {', '.join(ring.ids)}"
        )
    from .cipher import FieldCipher
    from .fields import FieldCrypt

    crypt = FieldCrypt(FieldCipher(ring, active))
    present = _installed(conn)
    if _stale_guards(present) or not {*_guards(), *_lookup_indexes()} <= present:
        conn.execute("BEGIN IMMEDIATE")
        install_guards(conn)
        conn.execute("COMMIT")
    return crypt
