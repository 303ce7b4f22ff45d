"""AES-GCM for single field values, with nonces derived from the value (SIV style).

A value is sealed under the key's cipher key with its *column tag* (``pr``
for ``persons.resident_id``...) as associated data, so a ciphertext moved
into another column fails authentication instead of reading as another
kind of value. The 96-bit nonce is an HMAC of the tag, the row id and the
value: the same value in the same row seals to the same text, so storage
still tells "unchanged" from "changed" without decrypting; the same value
in two rows seals to two unrelated texts; and a nonce repeats only for an
identical message (never the GCM nonce-reuse failure, which needs two
different messages under one nonce).

A stored value reads ``gg1:<key id>:<tag>:<base64url of nonce + ciphertext + tag>``:
self-describing, so a value selected by any SQL can be opened without
knowing where it came from.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING

from ...errors import ConfigError, StorageError
from .keys import FieldKey, KeyRing

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["TOKEN_PREFIX", "DecryptionError", "FieldCipher", "is_sealed", "key_id_of", "tag_of"]

TOKEN_PREFIX = "gg1:"
_NONCE = 12


class DecryptionError(StorageError):
    """A stored value could not be decrypted: a wrong key, or the value was altered."""


def is_sealed(value: object) -> bool:
    """Whether a stored value is an encrypted token (identity numbers and phones never are)."""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


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
        aad = f"gridguard:{tag}".encode()
        plain = value.encode()
        nonce = hmac.digest(
            self.key.nonce_key, b"%s\x00%s\x00%s" % (aad, row_id.encode(), plain), "sha256"
        )[:_NONCE]
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

    def open(self, token: str, tag: str | None = None) -> str:
        """The value sealed in ``token``; :class:`DecryptionError` rather than garbage.

        ``tag`` is the column the token was read from, when known: a token
        sealed for another column is refused.
        """
        from cryptography.exceptions import InvalidTag

        try:
            key_id, sealed_for, text = _parts(token)
            body = base64.urlsafe_b64decode(text)
        except (ValueError, binascii.Error):
            raise DecryptionError(f"not a valid encrypted value in column {tag or '?'}") from None
        if tag is not None and sealed_for != tag:
            raise DecryptionError(
                f"a value sealed for column {sealed_for} was found in column {tag}: "
                "the store was altered"
            )
        try:
            plain = self._opener(key_id).decrypt(
                body[:_NONCE], body[_NONCE:], f"gridguard:{sealed_for}".encode()
            )
        except (InvalidTag, ValueError):
            raise DecryptionError(
                f"a value in column {sealed_for} does not authenticate under key {key_id} "
                "(a wrong key, or the value was altered)"
            ) from None
        return plain.decode()
