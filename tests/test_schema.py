"""The table mapping: generated encoders, decoding, and round trips through rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridguard.storage.schema import SPECS, decode_timestamp, encode_timestamp, spec_for
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
