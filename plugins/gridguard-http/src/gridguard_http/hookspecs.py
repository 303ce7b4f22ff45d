"""The hook this plugin adds to gridguard's plugin manager: who is calling.

:func:`authenticate` turns the credentials of one HTTP request into a
:class:`~gridguard.Principal` (a role and a scope). The application adds
this specification to the plugin manager it runs with, then registers its
builtin authenticators (API tokens, a trusted gateway) through the very same
hook, so an embedder's own plugin (a city's single sign-on, a mini-program's
session) is called the same way. The first answer that is not ``None``
wins; a plugin that recognises credentials but finds them bad raises
:class:`~gridguard_http.auth.Unauthenticated`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gridguard import Principal

    from .auth import Credentials

__all__ = ["authenticate"]

hookspec = pluggy.HookspecMarker("gridguard")


@hookspec(firstresult=True)
def authenticate(credentials: Credentials) -> Principal | None:
    """The principal ``credentials`` (one request's method, path and headers) speak for.

    Return ``None`` when the credentials are not of your kind, so that the
    next authenticator is asked; raise
    :class:`~gridguard_http.auth.Unauthenticated` when they are of your kind
    but wrong (a revoked token, a bad signature). Called once per request,
    before any workspace is opened.
    """
