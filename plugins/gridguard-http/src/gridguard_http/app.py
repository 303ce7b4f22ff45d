"""The ASGI application: Starlette routes over a :class:`~gridguard_http.service.Service`.

Every route is an :class:`~gridguard_http.resources.Operation`: the request
is size-limited and parsed here, its caller authenticated through the
``authenticate`` hook, and its handler run in a worker thread on a workspace
opened for that caller. Errors become problem details
(:mod:`gridguard_http.problems`); an unexpected exception is logged with an
incident id and answered with a bare 500.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gridguard import Principal
from gridguard.errors import (
    AccessDenied,
    ConfigError,
    ConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from gridguard.plugins import GridGuardPluginManager, get_plugin_manager

from . import hookspecs
from .auth import (
    Credentials,
    GatewayAuthenticator,
    TokenAuthenticator,
    TokenStore,
    Unauthenticated,
    gateway_key,
    tokens_path,
)
from .problems import PROBLEM_TYPE, TITLES, Problem, language, violations
from .resources import OPERATIONS, Call, Operation, Reply

__all__ = ["DEFAULT_MAX_BODY", "Settings", "app_from_env", "create_app"]

log = logging.getLogger("gridguard_http")

DEFAULT_MAX_BODY = 1 << 20
"""Largest request body accepted (1 MiB): 1,000 visits with their screenings fit."""


@attrs.frozen(kw_only=True)
class Settings:
    """How the application runs: its store, who may call, and its limits."""

    db: str
    tokens: str | None = None
    """The token file (default: see :func:`~gridguard_http.auth.tokens_path`)."""
    gateway_key: bytes | None = attrs.field(default=None, repr=False)
    """The key shared with a trusted gateway; ``None`` turns gateway mode off."""
    pool: int = 4
    """Storages kept open (concurrent requests inside the store)."""
    max_body: int = DEFAULT_MAX_BODY
    key: str | None = None
    """The field-encryption key file of an encrypted SQLite store."""


def _problem_response(problem: Problem, lang: str, instance: str) -> JSONResponse:
    headers = {"Content-Language": lang}
    if problem.kind == "unauthenticated":
        headers["WWW-Authenticate"] = 'Bearer realm="gridguard"'
    return JSONResponse(
        problem.body(lang, instance),
        status_code=problem.status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def problem_of(exc: BaseException) -> Problem | None:
    """The problem a gridguard error stands for (``None``: not a client's fault)."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, ValidationError):
        return Problem(
            "validation",
            f"{len(exc.violations)} rule(s) broken",
            f"{len(exc.violations)} 处不符合规则",
            {"errors": violations(exc.violations)},
        )
    if isinstance(exc, ConflictError):
        return Problem("conflict", str(exc), str(exc))
    if isinstance(exc, NotFoundError):
        return Problem("not-found", str(exc), str(exc))
    if isinstance(exc, AccessDenied):
        return Problem("forbidden", str(exc), str(exc))
    if isinstance(exc, Unauthenticated):
        return Problem("unauthenticated", str(exc), str(exc))
    if isinstance(exc, ConfigError):
        return Problem("validation", str(exc), str(exc))
    if isinstance(exc, StorageError):
        return Problem("unavailable", "the store could not be reached", "存储暂不可用")
    return None


async def _read_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem("too-large", f"at most {limit} bytes", f"最多 {limit} 字节")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem("too-large", f"at most {limit} bytes", f"最多 {limit} 字节")
        chunks.append(chunk)
    raw = b"".join(chunks)
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise Problem("unsupported", f"Content-Type {kind!r} is not JSON", "请求体须为 JSON")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = (
            f"line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "encoding"
        )
        raise Problem(
            "malformed", f"not valid JSON ({where})", f"不是有效的 JSON（{where}）"
        ) from None


@attrs.define
class _App:
    settings: Settings
    plugin_manager: GridGuardPluginManager
    service: Any = None

    def authenticate(self, request: Request) -> Principal:
        headers = {k.lower(): v for k, v in request.headers.items()}
        credentials = Credentials(request.method, request.url.path, headers)
        found = self.plugin_manager.hook.authenticate(credentials=credentials)
        if found is None:
            raise Problem(
                "unauthenticated",
                "send a bearer token or a signed gateway header",
                "请提供 API 令牌或网关签名",
            )
        if not isinstance(found, Principal):
            raise TypeError(f"authenticate answered {type(found).__name__}, not a Principal")
        return found

    def endpoint(self, op: Operation) -> Any:
        async def handle(request: Request) -> Response:
            lang = language(request.headers.get("accept-language"))
            instance = request.url.path
            try:
                body = None
                if op.method in ("POST", "PUT", "PATCH"):
                    body = await _read_body(request, self.settings.max_body)
                principal = self.authenticate(request)
                call = Call(
                    principal=principal,
                    query=dict(request.query_params),
                    path=dict(request.path_params),
                    body=body,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    lang=lang,
                    base=str(request.base_url).rstrip("/"),
                )
                purpose = f"HTTP {op.method} {op.path}"
                reply: Reply = await anyio.to_thread.run_sync(
                    self.service.run, principal, purpose, lambda ws: op.run(ws, call)
                )
                return reply.response(lang)
            except Exception as exc:  # every failure becomes a problem; none leaks a trace
                problem = problem_of(exc)
                if problem is None:
                    incident = uuid.uuid4().hex[:12]
                    log.exception("incident %s on %s %s", incident, op.method, instance)
                    problem = Problem(
                        "internal",
                        f"incident {incident}",
                        f"事件编号 {incident}",
                        {"incident": incident},
                    )
                return _problem_response(problem, lang, instance)

        handle.__name__ = op.name
        return handle


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    lang = language(request.headers.get("accept-language"))
    kind = {404: "not-found", 405: "method"}.get(exc.status_code, "malformed")
    problem = Problem(kind, "no such resource" if kind == "not-found" else str(exc.detail), "")
    return _problem_response(problem, lang, request.url.path)


def _internal(request: Request, exc: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    problem = Problem(
        "internal", f"incident {incident}", f"事件编号 {incident}", {"incident": incident}
    )
    return _problem_response(problem, "en", request.url.path)


def create_app(
    settings: Settings,
    *,
    plugin_manager: GridGuardPluginManager | None = None,
    authenticators: Sequence[object] = (),
    operations: Sequence[Operation] = OPERATIONS,
) -> Starlette:
    """The gridguard ASGI application for the store ``settings.db``.

    The store is opened when the application starts (its lifespan) and
    closed when it stops. ``authenticators`` are extra plugin objects with an
    ``authenticate`` hook implementation, asked before the builtins.
    """
    from .docs import docs_routes
    from .service import Service

    pm = plugin_manager or get_plugin_manager()
    pm.add_hookspecs(hookspecs)
    pm.register(TokenAuthenticator(TokenStore(tokens_path(settings.db, settings.tokens))))
    if settings.gateway_key is not None:
        pm.register(GatewayAuthenticator(settings.gateway_key))
    for extra in authenticators:
        pm.register(extra)
    state = _App(settings, pm)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        state.service = await anyio.to_thread.run_sync(
            lambda: Service.open(
                settings.db, plugin_manager=pm, size=settings.pool, key=settings.key
            )
        )
        try:
            yield
        finally:
            state.service.close()

    routes: list[Any] = [
        Route(op.starlette_path, state.endpoint(op), methods=[op.method], name=op.name)
        for op in operations
    ]
    routes += docs_routes(operations)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal},
    )
    app.state.gridguard = state
    return app


def app_from_env() -> Starlette:
    """The application for ``uvicorn --factory gridguard_http.app:app_from_env``.

    Reads ``GRIDGUARD_DB`` (the store), ``GRIDGUARD_HTTP_TOKENS`` (the
    token file), ``GRIDGUARD_HTTP_GATEWAY_KEY`` (gateway mode) and
    ``GRIDGUARD_HTTP_POOL`` (storages kept open).
    """
    db = os.environ.get("GRIDGUARD_DB")
    if not db:
        raise ConfigError("set GRIDGUARD_DB to the store's URL")
    return create_app(
        Settings(
            db=db,
            gateway_key=gateway_key(),
            pool=int(os.environ.get("GRIDGUARD_HTTP_POOL", "4")),
        )
    )


def status_title(status: int) -> str:
    """The English title of a problem status (for the OpenAPI document)."""
    for code, en, _ in TITLES.values():
        if code == status:
            return en
    return "Error"
