"""JSON conversion of every model: round trips, error paths, wrong types, identity checks."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridguard.errors import ValidationError, Violation
from gridguard.masking import mask_id_number, mask_phone
from gridguard.model import (
    GB11643,
    Area,
    Building,
    Campaign,
    CheckIn,
    HealthReport,
    Household,
    Person,
    ResidentId,
    Screening,
    Stairwell,
    Team,
    TeamMember,
    Visit,
)
from gridguard.serialization import from_dict, from_json, to_dict, to_json
from strategies import MODEL_STRATEGIES, models, valid_resident_id_numbers

MODEL_CLASSES = list(MODEL_STRATEGIES)
CHECK_CHARACTERS = "0123456789X"

TEAM = {
    "id": "t1",
    "name": "第一小分队",
    "area_id": "c1",
    "kind": "sweep",
    "members": [
        {"name": "张三", "role": "cadre"},
        {"name": "李四", "role": "doctor", "party_member": True, "phone": "13800138000"},
    ],
}
PERSON = {"id": "p1", "household_id": "h1", "name": "张三丰"}
STAIRWELL = {"id": "s1", "building_id": "b1", "name": "1单元", "floors": 6, "doors_per_floor": 2}
BUILDING = {"id": "b1", "area_id": "g1", "name": "3幢"}
VISIT = {"household_id": "h1", "outcome": "screened", "at": "2020-02-01T08:30:00+08:00"}


def copy_with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(base))
    data.update(changes)
    return data


def refused(cls: type[Any], data: Any) -> tuple[Violation, ...]:
    """The violations ``from_dict`` reports for ``data`` (fails if it is accepted)."""
    with pytest.raises(ValidationError) as exc_info:
        from_dict(cls, data)
    return exc_info.value.violations


def only(cls: type[Any], data: Any) -> Violation:
    violations = refused(cls, data)
    assert len(violations) == 1, violations
    return violations[0]


# --- round trips -----------------------------------------------------------


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_json_round_trip_of_every_model(cls: type[Any], data: st.DataObject) -> None:
    obj = data.draw(MODEL_STRATEGIES[cls])
    text = to_json(obj)
    assert isinstance(text, str)
    again = from_json(cls, text)
    assert again == obj
    assert type(again) is cls
    assert to_json(again) == text
    assert from_json(cls, text.encode("utf-8")) == obj


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_dict_round_trip_of_every_model(cls: type[Any], data: st.DataObject) -> None:
    obj = data.draw(MODEL_STRATEGIES[cls])
    plain = to_dict(obj)
    assert isinstance(plain, dict)
    assert set(plain) == {field.name for field in attrs.fields(cls)}
    # JSON-ready: plain types only, and unchanged by a trip through JSON text.
    assert json.loads(json.dumps(plain, ensure_ascii=False)) == plain
    assert from_dict(cls, plain) == obj


@given(models())
def test_any_model_round_trips(obj: Any) -> None:
    assert from_json(type(obj), to_json(obj)) == obj
    assert from_dict(type(obj), to_dict(obj)) == obj


@given(valid_resident_id_numbers())
def test_resident_id_round_trips_as_its_number(number: str) -> None:
    rid = ResidentId(number)
    assert to_dict(rid) == number
    assert from_dict(ResidentId, number) == rid
    assert from_json(ResidentId, to_json(rid)) == rid


def test_plain_form_uses_values_iso_dates_and_strings() -> None:
    number = "11010519491231002X"
    person = from_dict(
        Person,
        copy_with(
            PERSON,
            resident_id=number.lower(),
            sex="female",
            birth_date="1949-12-31",
            phone="138 0013 8000",
        ),
    )
    assert to_dict(person) == {
        "id": "p1",
        "household_id": "h1",
        "name": "张三丰",
        "resident_id": number,
        "phone": "+8613800138000",
        "sex": "female",
        "birth_date": "1949-12-31",
        "residency": "resident",
    }
    visit = from_dict(Visit, copy_with(VISIT, id="12345678-1234-5678-1234-567812345678"))
    plain = to_dict(visit)
    assert plain["at"] == "2020-02-01T00:30:00+00:00"
    assert plain["id"] == "12345678-1234-5678-1234-567812345678"
    assert visit.id == uuid.UUID(plain["id"])
    assert "kind" not in plain
    assert "张三丰" in to_json(person)  # readable, not \u-escaped


def test_defaults_fill_in_missing_optional_fields() -> None:
    visit = from_dict(Visit, {"household_id": "h1", "outcome": "not_home"})
    assert visit.channel.value == "door"
    assert visit.at.tzinfo is dt.UTC
    assert isinstance(visit.id, uuid.UUID)
    building = from_dict(Building, BUILDING)
    assert (building.managed, building.compound, building.observer_id) == (False, None, None)


# --- unknown keys ----------------------------------------------------------


@given(data=st.data())
def test_unknown_key_is_refused_with_its_path(data: st.DataObject) -> None:
    obj = data.draw(models())
    fields = {field.name for field in attrs.fields(type(obj))}
    key = data.draw(st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True))
    if key in fields:
        key = key + "_x" * 20  # no model field is that long
    plain = to_dict(obj)
    plain[key] = data.draw(st.none() | st.integers() | st.text(max_size=5))
    violations = refused(type(obj), plain)
    assert Violation(f"$.{key}", "", "unknown key") in violations
    assert len(violations) == 1


def test_unknown_keys_in_nested_objects_name_the_element() -> None:
    data = copy_with(TEAM)
    data["members"][1]["nickname"] = "老李"
    data["colour"] = "red"
    violations = refused(Team, data)
    assert sorted(v.path for v in violations) == ["$.colour", "$.members[1].nickname"]
    assert {v.rule for v in violations} == {"unknown key"}


# --- nested paths ------------------------------------------------------------


def test_bad_role_of_second_member_has_nested_path() -> None:
    data = copy_with(TEAM)
    data["members"][1]["role"] = "nurse"
    violation = only(Team, data)
    assert violation.path == "$.members[1].role"
    assert violation.value == "'nurse'"
    assert violation.rule.startswith("must be one of: cadre, doctor, police")


def test_bad_phone_of_a_member_is_masked_at_its_nested_path() -> None:
    data = copy_with(TEAM)
    data["members"][1]["phone"] = "1380013800"
    violation = only(Team, data)
    assert violation.path == "$.members[1].phone"
    assert violation.value == "138***3800"
    assert "1380013800" not in violation.value


def test_every_problem_is_reported_at_once() -> None:
    data = copy_with(TEAM, kind="parade")
    data["members"][0]["role"] = "boss"
    data["members"][1]["party_member"] = "yes"
    del data["name"]
    violations = refused(Team, data)
    assert sorted(v.path for v in violations) == [
        "$.kind",
        "$.members[0].role",
        "$.members[1].party_member",
        "$.name",
    ]
    assert {v.path: v.rule for v in violations}["$.name"] == "required field is missing"


def test_nested_model_rules_get_nested_paths() -> None:
    check_in = {
        "building_id": "b1",
        "observer_id": "o1",
        "status": "anomalies",
        "anomalies": [{"kind": "stranger"}, {"kind": "move_in", "count": 0}],
    }
    violation = only(CheckIn, check_in)
    assert violation.path == "$.anomalies[1].count"
    screening = {
        "person_id": "p1",
        "trips": [
            {"destination": "武汉", "departed": "2020-01-20", "returned": "2020-01-22"},
            {"destination": "孝感", "departed": "2020-01-20", "returned": "2020-01-19"},
        ],
    }
    violation = only(Screening, screening)
    assert violation.path == "$.trips[1].returned"
    assert violation.rule == "must not be before the departure"
    campaign = {
        "id": "c1",
        "name": "一级响应",
        "scope": ["c1"],
        "start": "2020-01-24",
        "outbreak_areas": [{"name": "武汉", "code": "4201"}, {"name": " "}],
    }
    assert only(Campaign, campaign).path == "$.outbreak_areas[1].name"


def test_class_level_rules_keep_the_field_path() -> None:
    violation = only(Person, copy_with(PERSON, resident_id="11010519491231002X", sex="male"))
    assert violation.path == "$.sex"
    violation = only(CheckIn, {"building_id": "b1", "observer_id": "o1", "status": "anomalies"})
    assert violation.path == "$.anomalies"


def test_missing_required_field() -> None:
    violation = only(Stairwell, {k: v for k, v in STAIRWELL.items() if k != "floors"})
    assert violation == Violation("$.floors", "", "required field is missing")


# --- wrong types -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "base", "field", "value", "rule"),
    [
        (Person, PERSON, "name", 5, "must be text"),
        (Person, PERSON, "name", None, "must be text"),
        (Person, PERSON, "id", 12, "must be text"),
        (Area, {"id": "a", "name": "A", "level": "grid"}, "code", 310104, "must be text"),
        (Building, BUILDING, "managed", "yes", "must be true or false"),
        (Building, BUILDING, "managed", 1, "must be true or false"),
        (Stairwell, STAIRWELL, "floors", "three", "must be a whole number"),
        (Stairwell, STAIRWELL, "floors", 2.5, "must be a whole number"),
        (Stairwell, STAIRWELL, "floors", True, "must be a whole number"),
        (HealthReport, {"person_id": "p1"}, "temperature", True, "must be a number"),
        (HealthReport, {"person_id": "p1"}, "temperature", [37], "must be a number"),
        (Visit, VISIT, "id", "not-a-uuid", "must be a UUID"),
        (Visit, VISIT, "at", 1580517000, "must be an ISO 8601 timestamp"),
        (Visit, VISIT, "at", "yesterday", "must be an ISO 8601 timestamp"),
        (Person, PERSON, "birth_date", "1990-02-30", "must be a date YYYY-MM-DD"),
        (Person, PERSON, "birth_date", 19900101, "must be a date YYYY-MM-DD"),
        (Person, PERSON, "resident_id", 110105194912310020, "must be text"),
        (Person, PERSON, "sex", "m", "must be one of: male, female"),
    ],
)
def test_wrong_types_are_refused_with_a_clear_message(
    cls: type[Any], base: dict[str, Any], field: str, value: Any, rule: str
) -> None:
    violation = only(cls, copy_with(base, **{field: value}))
    assert violation.path == f"$.{field}"
    assert violation.rule == rule
    assert violation.value == repr(value)


@pytest.mark.parametrize("value", [["a", "b"], 5, "team", None])
def test_a_nested_object_must_be_an_object(value: Any) -> None:
    data = copy_with(TEAM)
    data["members"][0] = value
    violation = only(Team, data)
    assert violation.path == "$.members[0]"
    assert violation.rule == "must be an object"
    assert violation.value == type(value).__name__


@pytest.mark.parametrize("value", [[], "x", 3, None, [{"id": "a"}]])
def test_top_level_must_be_an_object(value: Any) -> None:
    violation = only(Area, value)
    assert violation == Violation("$", type(value).__name__, "must be an object")


def test_text_number_for_a_number_is_read() -> None:
    # Spreadsheets give numbers as text; numeric strings are accepted on purpose.
    assert from_dict(Stairwell, copy_with(STAIRWELL, floors="6")).floors == 6
    assert from_dict(HealthReport, {"person_id": "p1", "temperature": "37.5"}).temperature == 37.5


def test_naive_timestamp_is_refused() -> None:
    violation = only(Visit, copy_with(VISIT, at="2020-02-01T08:30:00"))
    assert violation.path == "$.at"
    assert violation.rule == "must be a timezone-aware datetime"


def test_timestamp_is_normalised_to_utc_on_load() -> None:
    visit = from_dict(Visit, VISIT)
    assert visit.at == dt.datetime(2020, 2, 1, 0, 30, tzinfo=dt.UTC)
    assert visit.at.utcoffset() == dt.timedelta(0)


def test_temperature_out_of_range_in_json() -> None:
    violation = only(HealthReport, {"person_id": "p1", "temperature": 46})
    assert violation == Violation("$.temperature", "46.0", "must be a number from 30 to 45")


# --- malformed JSON ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ['{"id": ', "", "{'id': 'a'}", '{"id": "a",}', "nonsense", b"\xff\xfe\x00{", b'{"id": "\xff"}'],
)
def test_malformed_json_is_a_validation_error(text: str | bytes) -> None:
    with pytest.raises(ValidationError) as exc_info:
        from_json(Area, text)
    violations = exc_info.value.violations
    assert len(violations) == 1
    assert violations[0].path == "$"
    assert violations[0].rule.startswith("not valid JSON")


def test_malformed_json_error_names_the_position() -> None:
    with pytest.raises(ValidationError) as exc_info:
        from_json(Area, '{\n  "id": "a",\n  "name": \n}')
    assert exc_info.value.violations[0].value == "line 4 column 1"


def test_well_formed_json_with_bad_content_is_a_validation_error_too() -> None:
    with pytest.raises(ValidationError) as exc_info:
        from_json(Area, '{"id": "a", "name": "A", "level": "planet"}')
    assert exc_info.value.violations[0].path == "$.level"


# --- identity numbers in JSON ------------------------------------------------


def test_resident_id_is_normalised_on_load() -> None:
    person = from_dict(Person, copy_with(PERSON, resident_id="11010519491231002x"))
    assert person.resident_id == ResidentId("11010519491231002X")
    assert to_dict(person)["resident_id"] == "11010519491231002X"


def test_bad_resident_id_in_json_is_masked() -> None:
    wrong = "110105194912310021"
    with pytest.raises(ValidationError) as exc_info:
        from_json(Person, json.dumps(copy_with(PERSON, resident_id=wrong)))
    violation = exc_info.value.violations[0]
    assert violation.path == "$.resident_id"
    assert violation.value == "110105**********21"
    assert wrong not in str(exc_info.value)


def test_unknown_identity_scheme_in_json() -> None:
    violation = only(Person, copy_with(PERSON, resident_id="XX:123456"))
    assert violation.path == "$.resident_id.scheme"
    assert "unknown identity scheme" in violation.rule


@given(
    valid_resident_id_numbers(),
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_any_single_changed_digit_is_refused(number: str, position: int, shift: int) -> None:
    digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + digit + number[position + 1 :]
    assert changed != number
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(changed)
    assert exc_info.value.violations[0].value == mask_id_number(changed)
    assert changed not in str(exc_info.value)
    # The same number arriving in a document is refused at its path.
    violation = only(Person, copy_with(PERSON, resident_id=changed))
    assert violation.path == "$.resident_id"


@given(valid_resident_id_numbers(), st.sampled_from(CHECK_CHARACTERS))
def test_any_other_check_character_is_refused(number: str, check: str) -> None:
    if check == number[-1]:
        check = CHECK_CHARACTERS[(CHECK_CHARACTERS.index(check) + 1) % len(CHECK_CHARACTERS)]
    changed = number[:-1] + check
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(changed)
    violation = exc_info.value.violations[0]
    assert violation.rule == "check character does not match (ISO 7064 MOD 11-2)"
    assert changed not in str(exc_info.value)


@given(valid_resident_id_numbers())
def test_exactly_one_check_character_fits(number: str) -> None:
    accepted = []
    for check in CHECK_CHARACTERS:
        try:
            ResidentId(number[:-1] + check)
        except ValidationError:
            continue
        accepted.append(check)
    assert accepted == [number[-1]]
    assert GB11643.check_character(number[:17]) == number[-1]


def test_household_phone_error_in_json_is_masked() -> None:
    data = {
        "id": "h1",
        "stairwell_id": "s1",
        "floor": 3,
        "door": "301",
        "address": "花园路1号3幢301",
        "phone": "+86 138 0013 800",
    }
    violation = only(Household, data)
    assert violation.path == "$.phone"
    assert violation.value == mask_phone(data["phone"])
    assert "0013" not in violation.value


def test_team_member_from_dict_normalises_phone() -> None:
    member = from_dict(
        TeamMember, {"name": "王医生", "role": "doctor", "phone": "0086 13800138000"}
    )
    assert member.phone == "+8613800138000"
