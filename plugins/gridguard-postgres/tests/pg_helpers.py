"""Helpers shared by the plugin's tests (a module of its own: ``conftest`` is not importable
when gridguard's own tests run in the same session)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SchemaUrl = Callable[..., str]
"""``pg_schema_url(**params)``: the URL of a new, empty schema."""


def with_params(url: str, **params: str) -> str:
    """``url`` with query parameters added (or replaced)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))
