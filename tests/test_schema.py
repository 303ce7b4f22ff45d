"""The table mapping: generated encoders, decoding, and round trips through rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridguard.model import STORED_TYPES, Category, Fact, Ref, stored, storing_of
from gridguard.security.access import category_of
from gridguard.storage.schema import (
    SPECS,
    Reference,
    decode_timestamp,
    encode_timestamp,
    spec_for,
)
from gridguard.testing import sample_facts, sample_records
from strategies import MODEL_STRATEGIES

SAMPLES = sample_records() + sample_facts()


@pytest.mark.parametrize("obj", SAMPLES, ids=lambda o: f"{type(o).__name__}-{o.id}")
def test_generated_encoder_agrees_with_the_column_encoders(obj: Any) -> None:
    spec = spec_for(type(obj))
    generic = tuple(
        enc(getattr(obj, c.name)) for enc, c in zip(spec._encoders, spec.columns, strict=True)
    )
    assert spec.encode(obj) == generic


@given(st.one_of([MODEL_STRATEGIES[cls] for cls in SPECS]))
def test_row_round_trip(obj: Any) -> None:
    spec = spec_for(type(obj))
    row = spec.encode(obj)
    assert all(v is None or isinstance(v, str | int | float) for v in row)
    assert spec.decode(row) == obj


def test_timestamps_are_fixed_width_utc_text() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = dt.datetime(2020, 1, 25, 0, 0, 0, tzinfo=shanghai)
    text = encode_timestamp(local)
    assert text == "2020-01-24 16:00:00.000000"
    assert decode_timestamp(text) == local
    assert encode_timestamp(local + dt.timedelta(microseconds=5)) > text


def test_every_stored_model_has_a_spec_and_a_parent_or_is_a_root() -> None:
    for spec in SPECS.values():
        assert spec.columns[0].name == "id"
        assert spec.parent is not None or spec.may_own_jurisdiction


def test_unknown_class_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not a stored model"):
        spec_for(dict)


# -- the table and access category declared beside each class ---------------------------------


def test_every_spec_is_what_its_class_declares() -> None:
    assert list(SPECS) == list(STORED_TYPES)
    for cls, spec in SPECS.items():
        declared = storing_of(cls)
        assert declared is not None, cls
        assert spec.table == declared.table
        assert spec.is_fact == issubclass(cls, Fact)
        assert spec.parent == (
            None
            if declared.parent is None
            else Reference(declared.parent.column, _named(declared.parent.target))
        )
        assert [(r.column, r.target.__name__, r.many) for r in spec.references] == [
            (r.column, r.target, r.many) for r in declared.refs
        ]
        assert category_of(cls) is declared.category


def _named(name: str) -> type[Any]:
    return next(cls for cls in STORED_TYPES if cls.__name__ == name)


def test_parents_come_before_their_children() -> None:
    seen: set[type[Any]] = set()
    for cls, spec in SPECS.items():
        if spec.parent is not None:
            assert spec.parent.target in seen or spec.parent.target is cls, cls
        seen.add(cls)


def test_tables_are_unique_and_every_class_declares_a_category() -> None:
    tables = [spec.table for spec in SPECS.values()]
    assert len(tables) == len(set(tables))
    assert all(category_of(cls) is not Category.OTHER for cls in SPECS)


def test_the_category_comes_from_the_class_not_its_name_or_module() -> None:
    @stored("sick_notes", Category.HEALTH, parent=Ref("person_id", "Person"))
    @attrs.frozen
    class SickNote:
        id: str
        person_id: str

    @attrs.frozen
    class Person:  # the name of a stored class, but declares nothing
        id: str

    assert SickNote.__module__ == __name__  # not a ".quarantine" module
    assert category_of(SickNote) is Category.HEALTH
    assert category_of(Person) is Category.OTHER
    with pytest.raises(TypeError, match="not a stored model"):
        spec_for(SickNote)

    class Subclass(SickNote):  # a declaration is the class's own, never inherited
        pass

    assert storing_of(Subclass) is None
