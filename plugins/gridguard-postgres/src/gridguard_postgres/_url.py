"""PostgreSQL URLs: what gridguard reads from them and what it passes on to libpq.

``postgresql://user:password@host:port/database?schema=huayuan&pool_size=8``

gridguard's own query parameters are taken out (``schema``, ``pool_size``,
``statement_timeout``, ``lock_timeout``); every other parameter goes to
libpq as it is (``sslmode``, ``application_name``, ``connect_timeout``,
``options``...).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gridguard.errors import ConfigError

__all__ = ["SCHEMES", "Settings", "mask_url", "parse_url"]

SCHEMES = ("postgresql", "postgres")
"""URL schemes the plugin registers (``postgresql+psycopg`` is taken as ``postgresql``)."""

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")
_OURS = ("schema", "pool_size", "statement_timeout", "lock_timeout")


@attrs.frozen
class Settings:
    """A parsed URL: the libpq connection string and gridguard's own settings."""

    url: str
    """The URL as given."""
    conninfo: str
    """For libpq: the URL less gridguard's parameters, plus session settings."""
    schema: str | None
    """Where the tables live; ``None``: the connection's current schema."""
    pool_size: int
    connect_timeout: float
    display: str
    """The URL with its password masked, for messages."""


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _positive_int(name: str, value: str, display: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(
            f"{name} in {display} must be a whole number of at least 1, not {value!r}"
        )
    return number


def parse_url(url: str) -> Settings:
    """Read a ``postgresql://`` URL; a wrong setting is a :class:`ConfigError` naming it."""
    display = mask_url(url)
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in SCHEMES:
        raise ConfigError(f"not a PostgreSQL URL: {display!r} (use postgresql://...)")
    params = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in params if k in _OURS}
    rest = [(k, v) for k, v in params if k not in _OURS]
    schema = ours.get("schema") or None
    if schema is not None and not _SCHEMA.fullmatch(schema):
        raise ConfigError(
            f"schema in {display} must be a lower-case SQL name "
            f"(letters a-z, digits and _, at most 63), not {schema!r}"
        )
    pool_size = _positive_int("pool_size", ours.get("pool_size", "4"), display)
    libpq_url = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(rest), ""))
    try:
        info = conninfo_to_dict(libpq_url)
    except Exception as exc:  # psycopg.ProgrammingError: libpq refused a parameter
        raise ConfigError(f"bad PostgreSQL URL {display!r}: {exc}") from None
    options = str(info.pop("options", "") or "")
    if schema is None:
        found = _SEARCH_PATH.search(options)
        if found and _SCHEMA.fullmatch(found.group(1).strip('"')):
            schema = found.group(1).strip('"')
    # gridguard reads every row of the server-side cursors it opens (they are
    # there to keep memory flat, not to stop early), so plan them for all rows:
    # planned for the first tenth, the screening query ran five times slower.
    settings = ["-c TimeZone=UTC", "-c DateStyle=ISO", "-c cursor_tuple_fraction=1"]
    if schema is not None:
        settings.append(f"-c search_path={schema},public")
    for name in ("statement_timeout", "lock_timeout"):
        value = ours.get(name)
        if value:
            if not re.fullmatch(r"\d+\s*(ms|s|min|h)?", value):
                raise ConfigError(
                    f"{name} in {display} must be a duration such as 5000, 5s or 2min, "
                    f"not {value!r}"
                )
            settings.append(f"-c {name}={value.replace(' ', '')}")
    info["options"] = " ".join(filter(None, [options, *settings]))
    info.setdefault("application_name", "gridguard")
    connect_timeout = float(info.setdefault("connect_timeout", "10") or 10)
    return Settings(
        url=url,
        conninfo=make_conninfo("", **{k: v for k, v in info.items() if v is not None}),
        schema=schema,
        pool_size=pool_size,
        connect_timeout=connect_timeout,
        display=display,
    )
