"""Lazy exports: a package's names imported from their submodules on first use.

A package whose stored record types must load eagerly (the storage schema
needs them) but whose workflows should not, so that importing the records
stays cheap, lists the lazy names and the submodule of each, and takes its
module ``__getattr__`` and ``__dir__`` (PEP 562) from :func:`lazy_exports`::

    __getattr__, __dir__ = lazy_exports(__name__, {"census": "census"}, globals())

Type checkers see the names through ``if TYPE_CHECKING:`` imports beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for its lazy ``names``.

    ``names`` maps each name to the submodule of ``package`` that defines it;
    the first access imports that submodule and keeps the value in the
    package's ``namespace`` (its ``globals()``), so later accesses cost
    nothing. Any other name is an :class:`AttributeError`, as usual.
    """

    def lazy_getattr(name: str) -> Any:
        try:
            module = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        import importlib

        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def lazy_dir() -> list[str]:
        return sorted({*namespace, *names})

    return lazy_getattr, lazy_dir
