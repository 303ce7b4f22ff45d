"""What a route is: an :class:`Operation`, the :class:`Call` its handler gets, the :class:`Reply`.

A handler is a function of a workspace (opened for the caller) and a call;
the application (:mod:`gridguard_http.app`) parses, authenticates and runs
it in a worker thread, and the OpenAPI document
(:mod:`gridguard_http.openapi`) is drawn from the same operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
from starlette.responses import JSONResponse, Response

from gridguard import Principal, Workspace
from gridguard.errors import ValidationError
from gridguard.reporting.scope import UNMASK as REPORT_UNMASK

from .service import HTTP_READ

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_BATCH",
    "MAX_LIMIT",
    "UNMASK",
    "Call",
    "Operation",
    "Param",
    "Reply",
]

T = TypeVar("T")

MAX_BATCH = 1000
"""Most facts in one POST."""
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
UNMASK = REPORT_UNMASK
"""Reading names, phones and identity numbers in clear: the same operation as a report's
(``report.unmask``: whoever may read persons, inside her scope; audited)."""


@attrs.frozen(kw_only=True)
class Call:
    """One request as a handler sees it."""

    principal: Principal
    query: Mapping[str, str]
    path: Mapping[str, str]
    body: Any
    headers: Mapping[str, str]
    lang: str
    base: str = ""

    def flag(self, name: str) -> bool:
        value = self.query.get(name, "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ValidationError.single(f"$.query.{name}", repr(value), "must be true or false")
        return value in ("true", "1", "yes")


@attrs.frozen
class Reply:
    """What a handler answers: a status, a JSON body and headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict)
    media_type: str = "application/json"
    raw: bytes | None = None

    def response(self, lang: str) -> Response:
        headers = {"Content-Language": lang, **self.headers}
        if self.raw is not None:
            return Response(self.raw, self.status, headers=headers, media_type=self.media_type)
        return JSONResponse(self.body, self.status, headers=headers, media_type=self.media_type)


@attrs.frozen(kw_only=True)
class Param:
    """A query parameter (for the OpenAPI document)."""

    name: str
    description: str
    schema: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "string"})


@attrs.frozen(kw_only=True)
class Operation:
    """One route: method, path, handler and what the OpenAPI document says of it."""

    method: str
    path: str
    name: str
    handler: Callable[[Workspace, Call], Reply]
    summary: str
    tag: str
    model: type[Any] | None = None
    """The attrs class of the resource (its schema)."""
    shape: str = "item"
    """``item``, ``page`` (a page of ``model``), ``write`` (POST of facts), ``report``, ``any``."""
    params: tuple[Param, ...] = ()
    write: bool = False
    statuses: tuple[int, ...] = ()

    @property
    def starlette_path(self) -> str:
        return self.path

    def run(self, ws: Workspace, call: Call) -> Reply:
        """Audit a read as ``http.read`` (writes are audited by the workflow), then handle it."""
        if not self.write:
            ws.authorize(HTTP_READ)
        return self.handler(ws, call)
