"""Field encryption of personal data at rest: identity numbers and phones.

With a key, a SQLite store keeps ``persons.resident_id`` and
``persons.phone`` as AES-GCM tokens (:mod:`.cipher`), and a keyed blind
index per value (:mod:`.fields`) so that exact matching and the targeting
cascade still join in SQL. Keys come from a key file or the environment
(:mod:`.keys`); :func:`rotate_keys` moves a store to a new key. Each value
is bound to its row (table, column and row id as AES-GCM associated data):
one copied into another row is refused with :class:`MisplacedValueError`. Needs the
``cryptography`` package (``pip install 'gridguard[crypto]'``); the
blind-index and key-file code does not.
"""

from .cipher import (
    LEGACY_PREFIX,
    TOKEN_PREFIX,
    DecryptionError,
    FieldCipher,
    MisplacedValueError,
    is_sealed,
)
from .fields import ENCRYPTED_COLUMNS, INDEX_TABLE, FieldCrypt
from .keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    FieldKey,
    KeyRing,
    add_key_to_file,
    generate_master_key,
    keyring_from_environment,
    read_key_file,
)
from .rotation import KeyStatus, RotationResult, key_status, rotate_keys
from .store import active_key_id, open_field_crypt

__all__ = [
    "ENCRYPTED_COLUMNS",
    "INDEX_TABLE",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "LEGACY_PREFIX",
    "TOKEN_PREFIX",
    "DecryptionError",
    "FieldCipher",
    "FieldCrypt",
    "FieldKey",
    "KeyRing",
    "KeyStatus",
    "MisplacedValueError",
    "RotationResult",
    "active_key_id",
    "add_key_to_file",
    "generate_master_key",
    "is_sealed",
    "key_status",
    "keyring_from_environment",
    "open_field_crypt",
    "read_key_file",
    "rotate_keys",
]
