"""gridguard over HTTP: an ASGI application and the commands that serve it.

:func:`create_app` builds a Starlette application for one store; ``gridguard
serve`` runs it under uvicorn. Callers are authenticated through the
``authenticate`` hook (:mod:`gridguard_http.hookspecs`: API tokens and a
trusted gateway are builtin), every request runs on a workspace opened for
its principal, and errors are RFC 9457 problem details. The store's places,
people and facts can also be exported as a FHIR R4 Bundle
(:mod:`gridguard_http.fhir`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gridguard import hookimpl as _hookimpl

if TYPE_CHECKING:
    import click

__all__ = ["create_app", "register_commands"]

__version__ = "0.1.0"


def create_app(*args: Any, **kwargs: Any) -> Any:
    """:func:`gridguard_http.app.create_app` (imported on first use)."""
    from .app import create_app as make

    return make(*args, **kwargs)


# gridguard's marker, untyped for now: cast so that its pluggy options type-check.
F = TypeVar("F", bound=Callable[..., Any])
hookimpl = cast(Callable[..., Callable[[F], F]], _hookimpl)


@hookimpl(optionalhook=True)
def register_commands(cli: click.Group) -> None:
    """Add ``gridguard serve``, ``gridguard token`` and ``gridguard export fhir``."""
    from .cli import add_commands

    add_commands(cli)
