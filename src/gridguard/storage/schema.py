"""How each model maps to a table: columns, references, and row encoding.

Every backend shares this mapping, so memory, SQLite and PostgreSQL agree on
what a row is and on what counts as "the same fact". Each table also carries
a ``jurisdiction`` column: the community (or village) that owns the row,
derived from the row's parent when it is written. A distributed database
shards and co-locates by it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ..model import STORED_TYPES, Area, Campaign, Fact, Ref, storing_of
from ..model.identity import ResidentId
from ..serialization import converter, from_dict

__all__ = [
    "SPECS",
    "Column",
    "Reference",
    "Row",
    "TableSpec",
    "decode_timestamp",
    "encode_timestamp",
    "spec_for",
]

Row = tuple[Any, ...]
"""A row as stored: the model's columns in :attr:`TableSpec.columns` order."""

_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def encode_timestamp(value: dt.datetime) -> str:
    """UTC as fixed-width text (``2020-01-25 06:00:00.000000``): sorts as it reads."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def decode_timestamp(text: str) -> dt.datetime:
    """The inverse of :func:`encode_timestamp`: an aware UTC datetime."""
    return dt.datetime.strptime(text, _TS_FORMAT).replace(tzinfo=dt.UTC)


@attrs.frozen
class Column:
    """A stored column: its name and how values are encoded (``text``, ``int``, ``json``...)."""

    name: str
    kind: str
    nullable: bool


@attrs.frozen
class Reference:
    """A column that names another record, which must exist."""

    column: str
    target: type[Any]
    many: bool = False
    """The column holds a list of ids (a campaign's scope)."""


def _kind_of(tp: Any) -> tuple[str, bool]:
    """Storage kind and nullability for an attrs field type."""
    nullable = False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else tp
        origin = typing.get_origin(tp)
    if origin is not None:
        return "json", nullable
    if isinstance(tp, type):
        if issubclass(tp, bool):
            return "bool", nullable
        if issubclass(tp, enum.Enum) or issubclass(tp, str) or tp is ResidentId:
            return "text", nullable
        if issubclass(tp, int):
            return "int", nullable
        if issubclass(tp, float):
            return "real", nullable
        if issubclass(tp, dt.datetime):
            return "timestamp", nullable
        if issubclass(tp, dt.date):
            return "date", nullable
        if issubclass(tp, uuid.UUID):
            return "uuid", nullable
    return "json", nullable


def _is_enum(tp: Any) -> bool:
    for arg in (tp, *typing.get_args(tp)):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            return True
    return False


def _encode_expression(column: Column, tp: Any) -> str:
    """Python source that encodes attribute ``column.name`` of ``obj`` (codegen, for speed)."""
    get = f"obj.{column.name}"
    if column.kind == "json":
        return f"_json({get})"
    if column.kind == "text" and _is_enum(tp):
        plain = "{v}.value"
    elif column.kind in ("int", "real"):
        return get
    elif column.kind == "bool":
        plain = "int({v})"
    elif column.kind == "timestamp":
        plain = "_ts({v})"
    else:
        plain = "str({v})"
    if not column.nullable and column.kind != "text":
        return plain.format(v=get)
    if not column.nullable and _is_enum(tp):
        return plain.format(v=get)
    return f"(None if ({column.name} := {get}) is None else {plain.format(v=column.name)})"


def _json(value: Any) -> str:
    return json.dumps(converter.unstructure(value), ensure_ascii=False, sort_keys=True)


def _compile_encoder(cls: type[Any], columns: Sequence[Column]) -> Callable[[Any], Row]:
    types_ = {f.name: f.type for f in attrs.fields(cls)}
    body = ", ".join(_encode_expression(c, types_[c.name]) for c in columns)
    source = f"def encode(obj):\n    return ({body},)\n"
    namespace: dict[str, Any] = {"_json": _json, "_ts": encode_timestamp}
    exec(compile(source, f"<gridguard encoder for {cls.__name__}>", "exec"), namespace)
    return namespace["encode"]  # type: ignore[no-any-return]


def _encoder(kind: str) -> Callable[[Any], Any]:
    if kind == "text":
        return lambda v: None if v is None else (v.value if isinstance(v, enum.Enum) else str(v))
    if kind == "bool":
        return lambda v: None if v is None else int(v)
    if kind in ("int", "real"):
        return lambda v: v
    if kind == "timestamp":
        return lambda v: None if v is None else encode_timestamp(v)
    if kind in ("date", "uuid"):
        return lambda v: None if v is None else str(v)
    return lambda v: json.dumps(converter.unstructure(v), ensure_ascii=False, sort_keys=True)


def _decoder(kind: str) -> Callable[[Any], Any]:
    if kind == "bool":
        return lambda v: None if v is None else bool(v)
    if kind == "timestamp":
        return lambda v: None if v is None else decode_timestamp(v)
    if kind == "json":
        return lambda v: None if v is None else json.loads(v)
    if kind == "real":
        return lambda v: None if v is None else float(v)
    if kind in ("date", "uuid"):
        return lambda v: None if v is None else str(v)
    return lambda v: v


@attrs.frozen
class TableSpec:
    """The table of one model class."""

    cls: type[Any]
    table: str
    is_fact: bool
    parent: Reference | None
    """The reference the row's jurisdiction comes from."""
    references: tuple[Reference, ...] = ()
    """Other references that must exist (the parent is not repeated here)."""
    columns: tuple[Column, ...] = attrs.field(init=False)
    _encoders: tuple[Callable[[Any], Any], ...] = attrs.field(init=False, repr=False)
    _decoders: tuple[Callable[[Any], Any], ...] = attrs.field(init=False, repr=False)
    _encode_row: Callable[[Any], Row] = attrs.field(init=False, repr=False)
    _parent_index: int | None = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        attrs.resolve_types(self.cls)
        columns = []
        for field in attrs.fields(self.cls):
            kind, nullable = _kind_of(field.type)
            columns.append(Column(field.name, kind, nullable))
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "_encoders", tuple(_encoder(c.kind) for c in columns))
        object.__setattr__(self, "_decoders", tuple(_decoder(c.kind) for c in columns))
        object.__setattr__(self, "_encode_row", _compile_encoder(self.cls, columns))
        names = [c.name for c in columns]
        parent_index = None if self.parent is None else names.index(self.parent.column)
        object.__setattr__(self, "_parent_index", parent_index)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def all_references(self) -> tuple[Reference, ...]:
        return ((self.parent,) if self.parent else ()) + self.references

    def encode(self, obj: Any) -> Row:
        """The stored row of ``obj``."""
        return self._encode_row(obj)

    def decode(self, row: Sequence[Any]) -> Any:
        """Rebuild (and re-validate) the object from its stored row."""
        data = {c.name: dec(v) for c, dec, v in zip(self.columns, self._decoders, row, strict=True)}
        return from_dict(self.cls, data)

    def as_stored(self, row: Sequence[Any]) -> Row:
        """A row read back by a query, in the form :meth:`encode` gives.

        SQLite hands stored values back as they were written; PostgreSQL
        hands back native datetimes, UUIDs, dates, booleans and JSON values,
        which this turns back into their stored form (for :meth:`decode`, or
        to compare with :meth:`encode`).
        """
        out = list(row)
        for index, column in enumerate(self.columns):
            value = out[index]
            if value is None or isinstance(value, str):
                continue
            kind = column.kind
            if kind == "timestamp" and isinstance(value, dt.datetime):
                out[index] = encode_timestamp(value)
            elif kind in ("uuid", "date"):
                out[index] = str(value)
            elif kind == "bool":
                out[index] = int(value)
            elif kind == "json":
                out[index] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        return tuple(out)

    def encode_value(self, column: str, value: Any) -> Any:
        """One value encoded as column ``column`` stores it (for filters)."""
        return self._encoders[self.column_names.index(column)](value)

    def key(self, obj: Any) -> str:
        """The row's id as stored (text)."""
        return str(obj.id)

    @property
    def may_own_jurisdiction(self) -> bool:
        """Whether some rows are their own jurisdiction (areas at community level and above)."""
        return self.cls is Area or self.parent is None

    def own_jurisdiction(self, row: Row) -> str | None:
        """The jurisdiction a row is its own root of, or ``None`` when it inherits one.

        Areas at community level and above own their jurisdiction; campaigns
        span several and are kept as reference data (``jurisdiction`` =
        ``*``), as are other rows without a parent (the audit log).
        """
        if self.cls is Campaign or self.parent is None:
            return "*"
        if self.cls is Area:
            from ..model.enums import AreaLevel

            level = AreaLevel(row[self.column_names.index("level")])
            if level.rank <= AreaLevel.COMMUNITY.rank:
                return str(row[0])
        return None

    def parent_id(self, row: Row) -> str | None:
        """The id of the row's parent (where its jurisdiction comes from)."""
        if self._parent_index is None:
            return None
        value = row[self._parent_index]
        return None if value is None else str(value)


def _build() -> dict[type[Any], TableSpec]:
    """A spec per stored record class, from what each declares with ``@stored``."""
    by_name = {cls.__name__: cls for cls in STORED_TYPES}

    def reference(ref: Ref) -> Reference:
        return Reference(ref.column, by_name[ref.target], ref.many)

    specs: dict[type[Any], TableSpec] = {}
    for cls in STORED_TYPES:
        declared = storing_of(cls)
        if declared is None:
            raise TypeError(f"{cls.__name__} is listed as stored but declares no @stored table")
        specs[cls] = TableSpec(
            cls,
            declared.table,
            issubclass(cls, Fact),
            None if declared.parent is None else reference(declared.parent),
            tuple(reference(r) for r in declared.refs),
        )
    return specs


SPECS: dict[type[Any], TableSpec] = _build()
"""Table specs by model class, parents before children (the order of
:data:`~gridguard.model.STORED_TYPES`)."""


def spec_for(cls: type[Any]) -> TableSpec:
    """The spec of ``cls``; ``TypeError`` for a class that is not stored."""
    try:
        return SPECS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a stored model") from None
