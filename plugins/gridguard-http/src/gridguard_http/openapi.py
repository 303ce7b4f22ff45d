"""The OpenAPI 3.1 document, generated from the attrs models and the operations.

Each stored class becomes a schema component from its attrs fields and
their type hints (strings, numbers, dates, UUIDs, enums with their values,
nested attrs classes, tuples as arrays, ``X | None`` as a type list with
``"null"``), so the document cannot drift from the model. Personal fields
that a masked answer shortens (a birth date cut to its year) are plain
strings in the schema.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from gridguard import __version__ as gridguard_version
from gridguard.model import ResidentId

from .problems import TITLES
from .resources import Operation

__all__ = ["openapi", "schema_of"]

MASKED_AS_TEXT = {("Person", "birth_date")}
"""Fields whose masked form is not of their type (a year instead of a date)."""


def _scalar(tp: Any) -> dict[str, Any] | None:
    if tp is str or tp is ResidentId:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is dt.datetime:
        return {"type": "string", "format": "date-time"}
    if tp is dt.date:
        return {"type": "string", "format": "date"}
    if tp is uuid.UUID:
        return {"type": "string", "format": "uuid"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [str(m.value) for m in tp]}
    return None


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    if kind is None:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    out["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _type(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    scalar = _scalar(tp)
    if scalar is not None:
        return scalar
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = (
            _type(rest[0], components)
            if len(rest) == 1
            else {"anyOf": [_type(a, components) for a in rest]}
        )
        return _nullable(inner) if len(rest) < len(args) else inner
    if origin in (tuple, list, Sequence) or origin is typing.get_origin(Sequence[int]):
        return {"type": "array", "items": _type(args[0], components) if args else {}}
    if origin in (dict, Mapping) or origin is typing.get_origin(Mapping[str, int]):
        return {
            "type": "object",
            "additionalProperties": _type(args[1], components) if args else {},
        }
    if attrs.has(tp):
        return {"$ref": f"#/components/schemas/{schema_of(tp, components)}"}
    return {}


def schema_of(cls: type[Any], components: dict[str, Any]) -> str:
    """Add ``cls`` (and the classes it holds) to ``components``; its component name."""
    name = cls.__name__
    if name in components:
        return name
    components[name] = {}
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        schema = _type(hints.get(field.name, Any), components)
        if (name, field.name) in MASKED_AS_TEXT:
            schema = {"type": ["string", "null"]}
        properties[field.name] = schema
        if field.default is attrs.NOTHING:
            required.append(field.name)
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    components[name] = {
        "type": "object",
        "description": " ".join(doc.split()),
        "properties": properties,
        "required": required,
    }
    return name


PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "value": {"type": "string"},
                    "rule": {"type": "string"},
                },
                "required": ["path", "value", "rule"],
            },
        },
        "stored": {},
        "etag": {"type": "string"},
        "incident": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}

COMMON = (400, 401, 403, 404, 413, 415, 422, 503)
"""Problems any operation may answer with."""


def _body_schema(op: Operation, components: dict[str, Any]) -> dict[str, Any] | None:
    if op.model is None:
        return None
    ref = {"$ref": f"#/components/schemas/{schema_of(op.model, components)}"}
    if op.shape == "write":
        item: dict[str, Any] = {"allOf": [ref, {"required": ["id"]}]}
        if op.model.__name__ == "Visit":
            from gridguard.model import Screening

            screening = {"$ref": f"#/components/schemas/{schema_of(Screening, components)}"}
            item = {
                "allOf": [
                    ref,
                    {
                        "type": "object",
                        "properties": {"screenings": {"type": "array", "items": screening}},
                    },
                ]
            }
        return {"oneOf": [item, {"type": "array", "items": item, "maxItems": 1000}]}
    return ref


def _answer(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    if op.shape == "page" and op.model is not None:
        ref = {"$ref": f"#/components/schemas/{schema_of(op.model, components)}"}
        return {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": ref},
                "next": {"type": ["string", "null"]},
            },
            "required": ["items", "next"],
        }
    if op.shape == "item" and op.model is not None:
        return {"$ref": f"#/components/schemas/{schema_of(op.model, components)}"}
    return {"type": "object"}


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": p.description,
            "schema": dict(p.schema),
        }
        for p in op.params
    ]
    for name in ("id", "kind", "type"):
        if "{" + name + "}" in op.path:
            params.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
    if op.method == "PUT":
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "the ETag read",
            }
        )
    responses: dict[str, Any] = {}
    for status in sorted({*op.statuses, *COMMON}):
        if status < 300:
            media = "application/fhir+json" if op.shape == "fhir" else "application/json"
            content = {media: {"schema": _answer(op, components)}}
            if op.shape == "report":
                content["text/html"] = {"schema": {"type": "string"}}
                content["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] = {
                    "schema": {"type": "string"}
                }
            responses[str(status)] = {
                "description": "OK" if status == 200 else "Created",
                "content": content,
            }
        else:
            title = next((en for code, en, _ in TITLES.values() if code == status), "Error")
            responses[str(status)] = {
                "description": title,
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
    out: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
    }
    body = _body_schema(op, components) if op.method in ("POST", "PUT") else None
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return out


def openapi(operations: Sequence[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    components: dict[str, Any] = {"Problem": PROBLEM}
    paths: dict[str, Any] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gridguard",
            "version": gridguard_version,
            "description": (
                "Grid-based epidemic screening over HTTP: places, people, facts, "
                "derived state and reports."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "gridguard token create",
                },
                "gateway": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Gridguard-Signature",
                    "description": "a trusted gateway's HMAC-signed principal",
                },
            },
        },
        "security": [{"token": []}, {"gateway": []}],
    }
