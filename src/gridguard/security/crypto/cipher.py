"""AES-GCM for single field values, bound to their row, with nonces derived from the value.

A value is sealed under the key's cipher key with its *place* as
associated data: the table, the column and the id of the row it belongs to
(``persons``, ``phone``, ``p-0001``). A ciphertext copied or moved into
another row, or another column, fails authentication and is refused with a
:class:`MisplacedValueError` naming the table, the column and the row where
it was found, never its plaintext. Rows are keyed by their id alone (a
person keeps it when moved to another grid), so the jurisdiction is not part
of the place: re-sealing on a move would buy nothing the id does not.

The 96-bit nonce is an HMAC of the place and the value (SIV style): the same
value in the same row seals to the same text, so storage still tells
"unchanged" from "changed" without decrypting; the same value in two rows
seals to two unrelated texts; and a nonce repeats only for an identical
message (never the GCM nonce-reuse failure, which needs two different
messages under one nonce).

A stored value reads ``gg2:<key id>:<tag>:<base64url of nonce + ciphertext + tag>``,
the tag naming the column (``pr`` for ``persons.resident_id``...). Values
written before row binding read ``gg1:...`` (:data:`LEGACY_PREFIX`): their
associated data named the column only, but their nonce was already derived
from the row id, so opening one for a known row recomputes that nonce and
refuses a moved value all the same. ``gridguard keys rotate`` rewrites them
as ``gg2`` values; ``gridguard keys status`` counts the ones left.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...errors import ConfigError, StorageError
from .keys import FieldKey, KeyRing

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "LEGACY_PREFIX",
    "PLACES",
    "TOKEN_PREFIX",
    "DecryptionError",
    "FieldCipher",
    "MisplacedValueError",
    "is_legacy",
    "is_sealed",
    "key_id_of",
    "tag_of",
]

TOKEN_PREFIX = "gg2:"
"""The prefix of a value sealed for its row (table, column and row id in the associated data)."""
LEGACY_PREFIX = "gg1:"
"""The prefix of a value sealed before row binding (column in the associated data)."""
_PREFIXES = (TOKEN_PREFIX, LEGACY_PREFIX)
_NONCE = 12

PLACES: Mapping[str, tuple[str, str, str]] = {
    "pr": ("persons", "resident_id", "id"),
    "pp": ("persons", "phone", "id"),
    "hp": ("households", "phone", "id"),
    "lr": ("list_entries", "id_number", "id"),
    "lp": ("list_entries", "phone", "id"),
    "rr": ("persons_regions", "region", "id_region"),
}
"""Column tag -> ``(table, column, the column holding the row's id)``."""


class DecryptionError(StorageError):
    """A stored value could not be decrypted: a wrong key, or the value was altered."""


class MisplacedValueError(DecryptionError):
    """A sealed value sits in a row (or column) it was not sealed for: the store was altered."""

    def __init__(self, table: str, column: str, row_id: str, detail: str) -> None:
        self.table, self.column, self.row_id = table, column, row_id
        super().__init__(
            f"{table}.{column} of row {row_id!r}: {detail}: the value was copied or moved "
            "here from another row or column, or altered (the store was tampered with)"
        )


def is_sealed(value: object) -> bool:
    """Whether a stored value is an encrypted token (identity numbers and phones never are)."""
    return isinstance(value, str) and value.startswith(_PREFIXES)


def is_legacy(value: object) -> bool:
    """Whether a stored value was sealed before row binding (``gg1:``)."""
    return isinstance(value, str) and value.startswith(LEGACY_PREFIX)


def _parts(token: str) -> list[str]:
    parts = token[len(TOKEN_PREFIX) :].split(":")
    if len(parts) != 3:
        raise ValueError("not a token")
    return parts


def key_id_of(token: str) -> str:
    """The id of the key that sealed ``token``."""
    return _parts(token)[0]


def tag_of(token: str) -> str:
    """The column tag ``token`` was sealed for."""
    return _parts(token)[1]


def _aesgcm(key: bytes) -> AESGCM:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:  # pragma: no cover - depends on the installation
        raise ConfigError(
            "field encryption needs the cryptography package: pip install 'gridguard[crypto]'"
        ) from None
    return AESGCM(key)


def _place(tag: str) -> tuple[str, str]:
    place = PLACES.get(tag)
    if place is None:
        raise DecryptionError(f"unknown column tag {tag!r} in an encrypted value")
    return place[0], place[1]


def _aad(tag: str, row_id: str) -> bytes:
    """The associated data of ``gg2`` values: version, table, column and row id."""
    table, column = _place(tag)
    return b"gridguard:2\x00%s\x00%s\x00%s" % (table.encode(), column.encode(), row_id.encode())


def _legacy_nonce(key: FieldKey, tag: str, row_id: str, plain: bytes) -> bytes:
    aad = f"gridguard:{tag}".encode()
    return hmac.digest(key.nonce_key, b"%s\x00%s\x00%s" % (aad, row_id.encode(), plain), "sha256")[
        :_NONCE
    ]


class FieldCipher:
    """Seals with the ring's chosen key; opens with whichever key of the ring sealed a value."""

    def __init__(self, ring: KeyRing, key_id: str | None = None) -> None:
        self.ring = ring
        chosen = ring.current if key_id is None else ring.get(key_id)
        if chosen is None:
            raise ConfigError(f"{ring.source} does not hold key {key_id}")
        self.key: FieldKey = chosen
        self._prefix = f"{TOKEN_PREFIX}{chosen.key_id}:"
        self._seal = _aesgcm(chosen.cipher_key)
        self._openers: dict[str, AESGCM] = {chosen.key_id: self._seal}

    def seal(self, value: str, tag: str, row_id: str) -> str:
        """``value`` of row ``row_id`` encrypted for the column tagged ``tag``."""
        aad = _aad(tag, row_id)
        plain = value.encode()
        nonce = hmac.digest(self.key.nonce_key, aad + b"\x00" + plain, "sha256")[:_NONCE]
        body = nonce + self._seal.encrypt(nonce, plain, aad)
        return f"{self._prefix}{tag}:{base64.urlsafe_b64encode(body).decode('ascii')}"

    def _opener(self, key_id: str) -> AESGCM:
        opener = self._openers.get(key_id)
        if opener is None:
            key = self.ring.get(key_id)
            if key is None:
                raise DecryptionError(
                    f"a stored value was encrypted with key {key_id}, which {self.ring.source} "
                    f"does not hold (it holds {', '.join(self.ring.ids)}): wrong key file?"
                )
            opener = self._openers[key_id] = _aesgcm(key.cipher_key)
        return opener

    def open(self, token: str, tag: str | None = None, row_id: str | None = None) -> str:
        """The value sealed in ``token`` for row ``row_id``; a :class:`DecryptionError`, never
        garbage.

        ``tag`` is the column the token was read from and ``row_id`` the id
        of its row. A token sealed for another column or another row is
        refused with a :class:`MisplacedValueError` naming where it was
        found. A ``gg2`` value cannot be opened without its row id; a legacy
        ``gg1`` value opened without it is checked for its column only.
        """
        from cryptography.exceptions import InvalidTag

        legacy = token.startswith(LEGACY_PREFIX)
        try:
            key_id, sealed_for, text = _parts(token)
            body = base64.urlsafe_b64decode(text)
        except (ValueError, binascii.Error):
            raise DecryptionError(f"not a valid encrypted value in column {tag or '?'}") from None
        if tag is not None and sealed_for != tag:
            table, column = _place(tag)
            raise MisplacedValueError(
                table, column, row_id or "?", f"holds a value sealed for column {sealed_for}"
            )
        if legacy:
            aad = f"gridguard:{sealed_for}".encode()
        elif row_id is None:
            raise DecryptionError(
                "a row-bound value cannot be opened without the id of its row "
                f"(column {'.'.join(_place(sealed_for))})"
            )
        else:
            aad = _aad(sealed_for, row_id)
        try:
            plain = self._opener(key_id).decrypt(body[:_NONCE], body[_NONCE:], aad)
        except (InvalidTag, ValueError):
            if row_id is not None and not legacy:
                table, column = _place(sealed_for)
                raise MisplacedValueError(
                    table, column, row_id, f"its value does not authenticate under key {key_id}"
                ) from None
            raise DecryptionError(
                f"a value in column {sealed_for} does not authenticate under key {key_id} "
                "(a wrong key, or the value was altered)"
            ) from None
        if legacy and row_id is not None:
            key = self.ring.get(key_id)
            assert key is not None  # _opener found it
            if not hmac.compare_digest(
                _legacy_nonce(key, sealed_for, row_id, plain), body[:_NONCE]
            ):
                table, column = _place(sealed_for)
                raise MisplacedValueError(
                    table, column, row_id, "holds a value (gg1) sealed for another row"
                )
        return plain.decode()
