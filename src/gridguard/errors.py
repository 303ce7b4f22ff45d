"""The gridguard exception tree: one root, a subclass per kind of failure.

Validation errors name the field path (``$.households[3].phone``), the value
(masked when it is personal) and the rule that was broken, so that a clerk
fixing an import file knows exactly which cell to look at.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccessDenied",
    "ConfigError",
    "ConflictError",
    "GridGuardError",
    "NotFoundError",
    "PluginError",
    "StorageError",
    "StoreBusy",
    "StoreCorrupt",
    "StoreFault",
    "StoreForeign",
    "StoreFull",
    "StoreReadOnly",
    "ValidationError",
    "Violation",
]


class GridGuardError(Exception):
    """Root of every error gridguard raises on purpose."""


class Violation:
    """One broken rule: where (a field path), what (the masked value) and why."""

    __slots__ = ("path", "rule", "value")

    def __init__(self, path: str, value: str, rule: str) -> None:
        self.path = path
        self.value = value
        self.rule = rule

    def __str__(self) -> str:
        if not self.value:
            return f"{self.path}: {self.rule}"
        return f"{self.path}: {self.rule} (got {self.value})"

    def __repr__(self) -> str:
        return f"Violation(path={self.path!r}, value={self.value!r}, rule={self.rule!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Violation):
            return NotImplemented
        return (self.path, self.value, self.rule) == (other.path, other.value, other.rule)

    def __hash__(self) -> int:
        return hash((self.path, self.value, self.rule))

    def prefixed(self, prefix: str) -> Violation:
        """The same violation seen from an enclosing object (``$`` replaced by ``prefix``)."""
        rest = self.path[1:] if self.path.startswith("$") else "." + self.path
        return Violation(prefix + rest, self.value, self.rule)


class ValidationError(GridGuardError, ValueError):
    """Input broke one or more rules; nothing was stored.

    ``violations`` lists every problem found, each with its field path, its
    masked value and the rule it broke.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        lines = [str(v) for v in self.violations]
        if len(lines) == 1:
            message = lines[0]
        else:
            message = f"{len(lines)} problems:\n" + "\n".join("  " + line for line in lines)
        super().__init__(message)

    @classmethod
    def single(cls, path: str, value: str, rule: str) -> ValidationError:
        """A validation error with exactly one violation."""
        return cls([Violation(path, value, rule)])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same error with every path seen from an enclosing object."""
        return ValidationError([v.prefixed(prefix) for v in self.violations])

    def at_positions(self, positions: Sequence[int]) -> ValidationError:
        """The same error with ``$[i]`` renumbered to ``$[positions[i]]``.

        A batch is often split (by type, or to skip repeats) before it is
        written; this maps each problem back to its place in the caller's input.
        """
        remapped = []
        for v in self.violations:
            path = v.path
            if path.startswith("$[") and "]" in path:
                end = path.index("]")
                index = int(path[2:end])
                if index < len(positions):
                    path = f"$[{positions[index]}]{path[end + 1 :]}"
            remapped.append(Violation(path, v.value, v.rule))
        return ValidationError(remapped)


class ConflictError(GridGuardError):
    """A write disagrees with what is stored.

    Raised when a fact id is saved again with other content, or when a
    registry entry was changed by someone else since it was read (a stale
    version).
    """


class NotFoundError(GridGuardError, LookupError):
    """A record that was asked for by id does not exist."""


class StorageError(GridGuardError):
    """The storage backend failed (bad URL, unreadable database, newer schema)."""


class StoreFault(StorageError):
    """The store itself cannot do what was asked (full, read-only, corrupt, busy, foreign).

    Nothing of the operation that met the fault was stored. The message is
    kept in English (``str(exc)``, ``en``) and in Chinese (``zh``), so that
    the command line prints it in the reader's language (:meth:`text`).
    """

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        """The message in English."""
        self.zh = zh
        """The message in Chinese."""

    def text(self, lang: str) -> str:
        """The message in ``lang`` (``"zh-CN"`` or ``"en"``)."""
        return self.zh if lang.lower().startswith("zh") else self.en


class StoreBusy(StoreFault):
    """Another write held the store for longer than this writer was willing to wait."""


class StoreFull(StoreFault):
    """The disk (or the store's size limit) is full."""


class StoreReadOnly(StoreFault):
    """The store's file or folder cannot be written."""


class StoreCorrupt(StoreFault):
    """The store's file is damaged, or is not a database at all."""


class StoreForeign(StoreFault):
    """The database holds tables that gridguard did not create (adopt it with ``init --adopt``)."""


class PluginError(GridGuardError):
    """A plugin failed to load, or two plugins registered the same name."""


class ConfigError(GridGuardError):
    """A setting is missing or wrong; the message names the setting."""


class AccessDenied(GridGuardError, PermissionError):
    """The workspace's principal may not do what was asked."""
