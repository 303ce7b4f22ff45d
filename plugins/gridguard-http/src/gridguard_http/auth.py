"""Who is calling: API tokens per principal, and a trusted gateway's signed header.

Both builtins answer the :func:`~gridguard_http.hookspecs.authenticate` hook.

*API tokens* (``Authorization: Bearer ggt_...``) are made by ``gridguard
token create``; the token file keeps only each token's SHA-256 (a token is
256 random bits, so a fast hash cannot be guessed back) with the principal
it stands for.

*A trusted gateway* (the embedding platform's API gateway, which has
authenticated the person itself) sends the principal as base64url JSON in
``X-Gridguard-Principal`` with ``X-Gridguard-Timestamp`` (Unix seconds) and
``X-Gridguard-Signature``: the hex HMAC-SHA256, under a key shared with the
gateway, of ``timestamp.METHOD.path.principal-header``. A signature older
or newer than five minutes is refused, so a captured header cannot be
replayed for long.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pluggy

from gridguard import Principal
from gridguard.errors import ConfigError, GridGuardError, ValidationError

__all__ = [
    "GATEWAY_KEY_ENV",
    "GATEWAY_SKEW",
    "TOKENS_ENV",
    "Credentials",
    "GatewayAuthenticator",
    "TokenAuthenticator",
    "TokenStore",
    "Unauthenticated",
    "gateway_headers",
    "tokens_path",
]

TOKENS_ENV = "GRIDGUARD_HTTP_TOKENS"
GATEWAY_KEY_ENV = "GRIDGUARD_HTTP_GATEWAY_KEY"
GATEWAY_SKEW = 300
"""Seconds a gateway signature stays good either side of the server's clock."""
TOKEN_PREFIX = "ggt_"

hookimpl = pluggy.HookimplMarker("gridguard")


class Unauthenticated(GridGuardError):
    """Credentials were presented but are not good (unknown token, bad signature)."""


@attrs.frozen
class Credentials:
    """What an authenticator sees of one request: method, path and headers (lower-case names)."""

    method: str
    path: str
    headers: Mapping[str, str]

    def bearer(self) -> str | None:
        """The bearer token of the ``Authorization`` header, if any."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_path(db_url: str, given: str | os.PathLike[str] | None = None) -> Path:
    """Where the token file of the store at ``db_url`` lives.

    ``given`` (``--tokens``), else ``GRIDGUARD_HTTP_TOKENS``, else beside a
    SQLite file (``huayuan.db.tokens.json``), else ``gridguard-tokens.json``
    in the working folder.
    """
    if given is not None:
        return Path(given)
    if os.environ.get(TOKENS_ENV):
        return Path(os.environ[TOKENS_ENV])
    if db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///") + ".tokens.json")
    if "://" not in db_url:
        return Path(db_url + ".tokens.json")
    return Path("gridguard-tokens.json")


@attrs.define
class TokenStore:
    """API tokens kept hashed in a JSON file, each with the principal it stands for."""

    path: Path = attrs.field(converter=Path)
    _by_digest: dict[str, dict[str, Any]] = attrs.field(factory=dict, init=False)
    _mtime: float = attrs.field(default=-1.0, init=False)
    _principals: dict[str, Principal] = attrs.field(factory=dict, init=False)
    """Principals already built, by token hash (dropped when the file changes)."""

    def _entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return list(data.get("tokens", []))

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._by_digest, self._principals, self._mtime = {}, {}, -1.0
            return
        if mtime != self._mtime:
            self._by_digest = {e["sha256"]: e for e in self._entries()}
            self._principals = {}
            self._mtime = mtime

    def create(self, principal: Principal) -> tuple[str, str]:
        """Make a token for ``principal``: ``(token id, token)``. The token is shown once only."""
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        entry = {
            "id": token_id,
            "sha256": _digest(token),
            "name": principal.name,
            "role": principal.role.value,
            "area_id": principal.area_id,
            "building_id": principal.building_id,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self._write([*self._entries(), entry])
        return token_id, token

    def revoke(self, token_id: str) -> bool:
        """Forget the token ``token_id``; whether there was one."""
        entries = self._entries()
        kept = [e for e in entries if e["id"] != token_id]
        self._write(kept)
        return len(kept) != len(entries)

    def listing(self) -> list[dict[str, Any]]:
        """The tokens without their hashes (id, principal, when made)."""
        return [{k: v for k, v in e.items() if k != "sha256"} for e in self._entries()]

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"tokens": entries}, ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def principal(self, token: str) -> Principal | None:
        """The principal ``token`` stands for, ``None`` for an unknown token."""
        self._reload()
        digest = _digest(token)
        known = self._principals.get(digest)
        if known is not None:
            return known
        entry = self._by_digest.get(digest)
        if entry is None:
            return None
        found = self._principals[digest] = Principal(
            name=entry["name"],
            role=entry["role"],
            area_id=entry.get("area_id"),
            building_id=entry.get("building_id"),
        )
        return found


@attrs.define
class TokenAuthenticator:
    """The builtin ``authenticate`` for ``Authorization: Bearer ggt_...``."""

    store: TokenStore

    @hookimpl
    def authenticate(self, credentials: Credentials) -> Principal | None:
        token = credentials.bearer()
        if token is None or not token.startswith(TOKEN_PREFIX):
            return None
        found = self.store.principal(token)
        if found is None:
            raise Unauthenticated("unknown or revoked token")
        return found


def _signature(key: bytes, timestamp: str, method: str, path: str, principal: str) -> str:
    message = f"{timestamp}.{method.upper()}.{path}.{principal}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def gateway_headers(
    key: bytes, principal: Principal, method: str, path: str, *, now: float | None = None
) -> dict[str, str]:
    """The headers a gateway sends for ``principal`` on ``method path`` (for gateways and tests)."""
    body = {"name": principal.name, "role": principal.role.value}
    if principal.area_id is not None:
        body["area_id"] = principal.area_id
    if principal.building_id is not None:
        body["building_id"] = principal.building_id
    encoded = base64.urlsafe_b64encode(json.dumps(body, ensure_ascii=False).encode()).decode()
    stamp = str(int(time.time() if now is None else now))
    return {
        "X-Gridguard-Principal": encoded,
        "X-Gridguard-Timestamp": stamp,
        "X-Gridguard-Signature": _signature(key, stamp, method, path, encoded),
    }


@attrs.define
class GatewayAuthenticator:
    """The builtin ``authenticate`` for a trusted gateway's HMAC-signed principal header."""

    key: bytes = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        if len(self.key) < 16:
            raise ConfigError("the gateway key must be at least 16 bytes")

    @hookimpl
    def authenticate(self, credentials: Credentials) -> Principal | None:
        encoded = credentials.headers.get("x-gridguard-principal")
        if encoded is None:
            return None
        stamp = credentials.headers.get("x-gridguard-timestamp", "")
        signature = credentials.headers.get("x-gridguard-signature", "")
        expected = _signature(self.key, stamp, credentials.method, credentials.path, encoded)
        if not hmac.compare_digest(expected, signature):
            raise Unauthenticated("bad gateway signature")
        try:
            age = abs(time.time() - int(stamp))
        except ValueError:
            raise Unauthenticated("bad gateway timestamp") from None
        if age > GATEWAY_SKEW:
            raise Unauthenticated("gateway signature expired")
        try:
            body = json.loads(base64.urlsafe_b64decode(encoded.encode()))
            return Principal(
                name=str(body["name"]),
                role=body["role"],
                area_id=body.get("area_id"),
                building_id=body.get("building_id"),
            )
        except (ValueError, KeyError, TypeError, ValidationError):
            raise Unauthenticated("bad gateway principal") from None


def gateway_key(value: str | None = None) -> bytes | None:
    """The shared gateway key: ``value`` (a key file path), else ``GRIDGUARD_HTTP_GATEWAY_KEY``."""
    if value is not None:
        return Path(value).read_bytes().strip()
    env = os.environ.get(GATEWAY_KEY_ENV)
    return env.encode() if env else None
