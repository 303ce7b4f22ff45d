"""Builtin plugin: the columns of personal data that retention purges.

The stored records' own columns (:data:`gridguard.security.retention.PURGE_FIELDS`)
and the blind indexes of field encryption
(:data:`gridguard.security.retention.BLIND_INDEX_PURGE_FIELDS`), registered
through the hook an extension uses for its own tables. They are imported when
the hook is called, so loading the plugin manager stays quick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..security.retention import PurgeField


@hookimpl
def register_purge_fields(register: Callable[[PurgeField], None]) -> None:
    from ..security.retention import BLIND_INDEX_PURGE_FIELDS, PURGE_FIELDS

    for field in (*PURGE_FIELDS, *BLIND_INDEX_PURGE_FIELDS):
        register(field)
