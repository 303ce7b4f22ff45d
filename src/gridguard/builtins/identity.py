"""Builtin plugin: China's resident identity number (GB 11643-1999)."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from ..model.identity import GB11643, IdentityScheme, get_identity_scheme


@hookimpl
def register_identity_schemes(register: Callable[[IdentityScheme], None]) -> None:
    scheme = get_identity_scheme(GB11643.name)
    register(scheme)
