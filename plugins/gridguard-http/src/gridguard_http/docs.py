"""``/openapi.json`` and ``/docs``: the API described, readable offline.

The docs page is drawn on the server from the same document: one HTML page
with its style inline, no script and nothing loaded from anywhere (its
Content-Security-Policy forbids it), so it works on an intranet.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from .openapi import openapi
from .resources import Operation

__all__ = ["docs_page", "docs_routes"]

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "code{background:#f3f3f3;padding:0 .2rem}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}"
    ".m{font-weight:bold;font-family:monospace}"
)


def _schema(name: str, schema: dict[str, Any]) -> str:
    fields = ", ".join(f"<code>{html.escape(f)}</code>" for f in schema.get("properties", {}))
    what = html.escape(schema.get("description", ""))
    return f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3><p>{what}</p><p>{fields}</p>"


def docs_page(document: dict[str, Any]) -> str:
    """The document as one self-contained HTML page."""
    rows = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            params = ", ".join(
                f"<code>{html.escape(p['name'])}</code>" for p in op.get("parameters", [])
            )
            codes = " ".join(sorted(op["responses"]))
            rows.append(
                f"<tr><td class=m>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{params}</td><td>{codes}</td></tr>"
            )
    schemas = "".join(_schema(name, s) for name, s in document["components"]["schemas"].items())
    info = document["info"]
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(info['title'])} API</title><style>{STYLE}</style>"
        f"<h1>{html.escape(info['title'])} API {html.escape(info['version'])}</h1>"
        f"<p>{html.escape(info['description'])} The machine-readable document is "
        "<a href='openapi.json'>openapi.json</a> (OpenAPI 3.1). Authenticate with "
        "<code>Authorization: Bearer &lt;token&gt;</code>; errors are "
        "<code>application/problem+json</code>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>query</th><th>answers</th></tr>"
        + "".join(rows)
        + "</table><h2>Schemas</h2>"
        + schemas
        + "</html>"
    )


def docs_routes(operations: Sequence[Operation]) -> list[Any]:
    """Routes serving ``/openapi.json`` and ``/docs`` (no authentication: they hold no data)."""
    document = openapi(operations)
    page = docs_page(document)

    async def spec(request: Request) -> JSONResponse:
        return JSONResponse(document)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP})

    return [
        Route("/openapi.json", spec, methods=["GET"], name="openapi"),
        Route("/docs", docs, methods=["GET"], name="docs"),
    ]
