"""Field-encryption keys: generating, reading and deriving them.

A *master key* is 32 random bytes. Everything else is derived from it with
HKDF-SHA256, one derivation per purpose, so that the AES-GCM key, the key
that picks nonces and the blind-index key are independent: leaking a blind
index says nothing about the cipher key. A key's *id* is derived the same
way; it is stored beside every value it encrypted, so a store can tell a
wrong key from a right one before it decrypts anything.

Keys come from a key file (``GRIDGUARD_KEY_FILE``) or from the environment
(``GRIDGUARD_KEY``). A key file holds one key per line as
``gridguard-key-v1 <base64>``; the last line is the *current* key and the
lines above it are older keys kept so that values they encrypted stay
readable until a rotation re-encrypts them. ``#`` starts a comment.
``GRIDGUARD_KEY`` holds one base64 key, or several separated by commas
(oldest first).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ...errors import ConfigError

if TYPE_CHECKING:
    import sqlite3

    from .fields import FieldCrypt

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "KEY_LINE_PREFIX",
    "FieldKey",
    "KeyRing",
    "add_key_to_file",
    "generate_master_key",
    "keyring_from_environment",
    "read_key_file",
]

KEY_ENV = "GRIDGUARD_KEY"
"""Environment variable holding base64 master keys (comma-separated, oldest first)."""
KEY_FILE_ENV = "GRIDGUARD_KEY_FILE"
"""Environment variable naming a key file."""
KEY_LINE_PREFIX = "gridguard-key-v1"
_MASTER_BYTES = 32


def _hkdf(master: bytes, purpose: str) -> bytes:
    """HKDF-SHA256 (RFC 5869) with an empty salt: 32 bytes for ``purpose``.

    Written out (one extract, one expand block) so that deriving a key does
    not need the cryptography package: blind indexes and key ids work
    wherever hashlib does.
    """
    prk = hmac.digest(b"\x00" * 32, master, "sha256")
    return hmac.digest(prk, f"gridguard/v1/{purpose}".encode() + b"\x01", "sha256")


@attrs.frozen(repr=False)
class FieldKey:
    """One master key and the keys derived from it."""

    key_id: str
    """12 hex digits that name the key (derived from it; safe to store and print)."""
    cipher_key: bytes
    nonce_key: bytes
    index_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> FieldKey:
        if len(master) != _MASTER_BYTES:
            raise ConfigError(
                f"a gridguard key is {_MASTER_BYTES} bytes (base64, 44 characters); "
                f"this one is {len(master)} bytes"
            )
        return cls(
            key_id=_hkdf(master, "key-id")[:6].hex(),
            cipher_key=_hkdf(master, "encrypt"),
            nonce_key=_hkdf(master, "nonce"),
            index_key=_hkdf(master, "blind-index"),
        )

    @classmethod
    def from_text(cls, text: str, *, where: str) -> FieldKey:
        """A key from its base64 text; ``where`` names the source in an error."""
        try:
            master = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{where}: not a base64 gridguard key") from None
        try:
            return cls.from_master(master)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def __repr__(self) -> str:  # never print key material
        return f"FieldKey(key_id={self.key_id!r})"

    def blind(self, field: str, value: str) -> str:
        """The keyed blind index of ``value`` in ``field``: HMAC-SHA256, 16 bytes, base64url.

        128 bits keep collisions out of reach for any register while the
        column stays short; the field name is part of the message, so equal
        values in two fields do not share an index.
        """
        mac = hmac.digest(self.index_key, f"{field}\x1f{value}".encode(), "sha256")
        return base64.urlsafe_b64encode(mac[:16]).decode("ascii")[:22]


@attrs.frozen
class KeyRing:
    """The keys a store may be read with; the last one is the current key."""

    keys: tuple[FieldKey, ...]
    source: str = "the key ring"
    """Where the keys came from (a file name or an environment variable), for messages."""

    def __attrs_post_init__(self) -> None:
        if not self.keys:
            raise ConfigError(f"{self.source}: holds no key")

    @property
    def current(self) -> FieldKey:
        return self.keys[-1]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self.keys)

    def get(self, key_id: str) -> FieldKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None

    @classmethod
    def of(cls, *masters: bytes, source: str = "the key ring") -> KeyRing:
        """A ring from raw master keys, oldest first (for tests and embedders)."""
        return cls(tuple(FieldKey.from_master(m) for m in masters), source)

    def field_encryption(self, conn: sqlite3.Connection, *, where: str) -> FieldCrypt | None:
        """The field encryption of the SQLite store on ``conn`` with these keys.

        What a store asks of a key ring
        (:class:`~gridguard.storage.capabilities.FieldKeyRing`): see
        :func:`~gridguard.security.crypto.store.open_field_crypt`.
        """
        from .store import open_field_crypt

        return open_field_crypt(conn, self, where=where)


def generate_master_key() -> bytes:
    """32 bytes from the operating system's secure random source."""
    return secrets.token_bytes(_MASTER_BYTES)


def read_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """The keys of a key file, oldest first."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"key file {str(file)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {str(file)!r}: {exc.strerror}") from None
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        prefix, _, body = line.partition(" ")
        where = f"key file {str(file)!r}, line {number}"
        if prefix != KEY_LINE_PREFIX:
            raise ConfigError(f"{where}: expected '{KEY_LINE_PREFIX} <base64 key>'")
        keys.append(FieldKey.from_text(body, where=where))
    return KeyRing(tuple(keys), f"key file {str(file)!r}")


def _write_private(path: Path, text: str, *, new: bool) -> None:
    """Write ``text`` readable by the owner only: a new file is created ``0600`` (never over
    an existing one); an existing one is replaced atomically by a private temporary file."""
    if new:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        target = path
    else:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        target = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if not new:
            os.replace(target, path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def add_key_to_file(path: str | os.PathLike[str], master: bytes | None = None) -> FieldKey:
    """Append a new current key to the key file at ``path`` (created if missing).

    Older keys stay in the file: values they encrypted remain readable
    until ``gridguard keys rotate`` re-encrypts them.
    """
    file = Path(path)
    key_bytes = generate_master_key() if master is None else master
    key = FieldKey.from_master(key_bytes)
    line = f"{KEY_LINE_PREFIX} {base64.b64encode(key_bytes).decode('ascii')}  # id {key.key_id}\n"
    if file.exists():
        read_key_file(file)  # refuse to append to something that is not a key file
        old = file.read_text(encoding="utf-8")
        gap = "" if old.endswith("\n") or not old else "\n"
        _write_private(file, old + gap + line, new=False)
    else:
        if not file.parent.exists():
            raise ConfigError(f"folder {str(file.parent)!r} for the key file does not exist")
        header = "# gridguard field-encryption keys; the last one is current. Keep it secret.\n"
        _write_private(file, header + line, new=True)
    return key


def keyring_from_environment(environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """The key ring named by ``GRIDGUARD_KEY_FILE`` or held in ``GRIDGUARD_KEY``, or ``None``.

    Setting both is an error: which one is meant would be a guess.
    """
    env = os.environ if environ is None else environ
    path, inline = env.get(KEY_FILE_ENV, "").strip(), env.get(KEY_ENV, "").strip()
    if path and inline:
        raise ConfigError(f"set {KEY_FILE_ENV} or {KEY_ENV}, not both")
    if path:
        return read_key_file(path)
    if inline:
        parts: Iterable[str] = (p for p in inline.split(",") if p.strip())
        keys = tuple(FieldKey.from_text(p, where=KEY_ENV) for p in parts)
        return KeyRing(keys, KEY_ENV)
    return None
