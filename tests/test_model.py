"""Behaviour of the domain model: validation, normalisation, policies, masking."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gridguard.model.identity as identity_module
from gridguard.errors import ValidationError, Violation
from gridguard.masking import mask_id_number, mask_name, mask_phone, mask_text
from gridguard.model import (
    GB11643,
    Anomaly,
    AnomalyKind,
    Area,
    AreaLevel,
    Campaign,
    CheckIn,
    CheckInStatus,
    CompositionPolicy,
    HealthReport,
    Household,
    LineOfDefense,
    MemberRole,
    Person,
    ResidentId,
    Screening,
    Sex,
    Stairwell,
    Team,
    TeamKind,
    TeamMember,
    Trip,
    Visit,
    get_identity_scheme,
    identity_schemes,
    normalize_phone,
    register_identity_scheme,
)
from strategies import (
    TIME_ZONES,
    aware_datetimes,
    cn_mobile_numbers,
    resident_id_parts,
    valid_resident_id_numbers,
)

UTC = dt.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

# 110105 (Beijing Chaoyang), born 1949-12-31, sequence 002 (even: female).
KNOWN_FIRST17 = "11010519491231002"
KNOWN_ID = KNOWN_FIRST17 + GB11643.check_character(KNOWN_FIRST17)


def only_violation(exc_info: pytest.ExceptionInfo[ValidationError]) -> Violation:
    """The single violation of a raised error (fails when there are several)."""
    violations = exc_info.value.violations
    assert len(violations) == 1, violations
    return violations[0]


def person(**fields: object) -> Person:
    base: dict[str, object] = {"id": "p1", "household_id": "h1", "name": "张三丰"}
    base.update(fields)
    return Person(**base)  # type: ignore[arg-type]


def number_with_check(check: str) -> str:
    """A valid number whose check character is ``check``."""
    for sequence in range(1000):
        first17 = f"44200019900307{sequence:03d}"
        if GB11643.check_character(first17) == check:
            return first17 + check
    raise AssertionError(f"no sequence gives check character {check}")


FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


# --- identity numbers --------------------------------------------------------


def test_known_number_check_character_and_fields() -> None:
    # The check character of the well-known sample number is published as X.
    assert KNOWN_ID == "11010519491231002X"
    rid = ResidentId(KNOWN_ID)
    assert rid.number == KNOWN_ID
    assert rid.scheme == "CN"
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.sex is Sex.FEMALE
    assert str(rid) == KNOWN_ID


@given(resident_id_parts())
def test_valid_numbers_accepted_with_encoded_birth_date_and_sex(
    parts: tuple[str, dt.date, Sex],
) -> None:
    number, born, sex = parts
    rid = ResidentId(number)
    assert rid.number == number
    assert rid.birth_date == born
    assert rid.sex is sex
    assert rid.masked == number[:6] + "*" * 10 + number[-2:]


def test_lowercase_x_is_upper_cased() -> None:
    number = number_with_check("X")
    assert ResidentId(number[:-1] + "x").number == number


@given(valid_resident_id_numbers(), st.sampled_from([" ", "-", "\t", "\u3000"]))
def test_full_width_spaced_and_lowercase_forms_normalise(number: str, sep: str) -> None:
    lower_full_width = number.lower().translate(FULL_WIDTH)
    spaced = sep.join([number[:6], number[6:14], number[14:]])
    assert ResidentId(lower_full_width).number == number
    assert ResidentId(spaced).number == number
    assert ResidentId(f"  {number.lower()}  ").number == number


def test_bad_check_character_is_refused_with_the_number_masked() -> None:
    wrong = KNOWN_FIRST17 + "0"
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(wrong)
    violation = only_violation(exc_info)
    assert violation.path == "$"
    assert violation.value == "110105**********20"
    assert "check character" in violation.rule
    assert wrong not in str(exc_info.value)
    assert KNOWN_FIRST17 not in str(exc_info.value)


@pytest.mark.parametrize(
    ("text", "rule_part"),
    [
        ("11010519491231002", "18 characters"),
        ("11010519491231002X1", "18 characters"),
        ("", "18 characters"),
        ("1101051949123100AX", "first 17 characters must be digits"),
        ("11010519491231٠٠2X", "first 17 characters must be digits"),
    ],
)
def test_malformed_numbers_are_refused(text: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(text)
    assert rule_part in only_violation(exc_info).rule


def valid_with_date(yyyymmdd: str) -> str:
    first17 = f"110105{yyyymmdd}123"
    return first17 + GB11643.check_character(first17)


def test_impossible_birth_date_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(valid_with_date("19900230"))
    assert "not a valid birth date" in only_violation(exc_info).rule


@pytest.mark.parametrize(
    "born",
    [dt.date.today() + dt.timedelta(days=1), dt.date(dt.date.today().year + 1, 1, 1)],
)
def test_birth_date_in_the_future_is_refused_in_the_number(born: dt.date) -> None:
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(valid_with_date(f"{born:%Y%m%d}"))
    assert "between 1850 and today" in only_violation(exc_info).rule


def test_birth_year_before_1850_is_refused_but_1850_is_accepted() -> None:
    with pytest.raises(ValidationError):
        ResidentId(valid_with_date("18491231"))
    assert ResidentId(valid_with_date("18500101")).birth_date == dt.date(1850, 1, 1)


def test_unknown_scheme_is_refused_with_scheme_path() -> None:
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(KNOWN_ID, scheme="XX")
    violation = only_violation(exc_info)
    assert violation.path == "$.scheme"
    assert "unknown identity scheme" in violation.rule
    assert "CN" in violation.rule


def test_non_text_number_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        ResidentId(110105194912310020)  # type: ignore[arg-type]
    assert only_violation(exc_info).path == "$.number"


class _DigitsScheme:
    """A test scheme: any 6 digits, no birth date or sex."""

    name = "ZZ"

    def normalize(self, text: str) -> str:
        text = text.strip()
        if not (len(text) == 6 and text.isdigit()):
            raise ValueError("six digits")
        return text

    def birth_date(self, number: str) -> dt.date | None:
        return None

    def sex(self, number: str) -> Sex | None:
        return None


def test_registered_scheme_is_used_and_round_trips_as_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(identity_module, "_SCHEMES", identity_schemes())
    register_identity_scheme(_DigitsScheme())
    rid = ResidentId(" 123456 ", scheme="ZZ")
    assert rid.number == "123456"
    assert str(rid) == "ZZ:123456"
    assert ResidentId.from_str("ZZ:123456") == rid
    assert rid.birth_date is None
    assert rid.sex is None
    with pytest.raises(ValidationError, match="six digits"):
        ResidentId("12345", scheme="ZZ")
    # A number of the built-in scheme is still read without a prefix.
    assert ResidentId.from_str(KNOWN_ID).scheme == "CN"


def test_registering_a_second_scheme_under_a_taken_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_identity_scheme(GB11643())
    assert isinstance(get_identity_scheme("CN"), GB11643)


# --- persons ---------------------------------------------------------------


def test_bad_phone_is_refused_with_masked_value() -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(phone="1380013800")  # ten digits: one short
    violation = only_violation(exc_info)
    assert violation.path == "$.phone"
    assert violation.value == "138***3800"
    assert violation.value.startswith("138*")
    assert "valid phone number" in violation.rule
    assert "1380013800" not in str(exc_info.value)


def test_unparseable_phone_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(phone="call me")
    violation = only_violation(exc_info)
    assert violation.path == "$.phone"
    assert violation.rule == "not a phone number"


def test_bad_resident_id_shows_masked_number_not_full_number() -> None:
    wrong = KNOWN_FIRST17 + "1"
    with pytest.raises(ValidationError) as exc_info:
        person(resident_id=wrong)
    violation = only_violation(exc_info)
    assert violation.path == "$.resident_id"
    assert violation.value == mask_id_number(wrong) == "110105**********21"
    assert wrong not in str(exc_info.value)
    assert "19491231" not in str(exc_info.value)


def test_resident_id_text_is_normalised_in_person() -> None:
    number = number_with_check("X")
    p = person(resident_id=number.lower().translate(FULL_WIDTH))
    assert p.resident_id == ResidentId(number)
    assert person(resident_id="   ").resident_id is None


def test_resident_id_of_wrong_type_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(resident_id=12345)
    violation = only_violation(exc_info)
    assert violation.path == "$.resident_id"
    assert violation.rule == "must be text"


@pytest.mark.parametrize(
    "text",
    [
        "+8613800138000",
        "13800138000",
        "008613800138000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_phone_spellings_normalise_to_e164(text: str) -> None:
    assert normalize_phone(text) == "+8613800138000"
    assert person(phone=text).phone == "+8613800138000"


@given(cn_mobile_numbers())
def test_generated_mobile_numbers_are_valid(phone: str) -> None:
    assert normalize_phone(phone) == phone


def test_blank_phone_means_no_phone() -> None:
    assert person(phone="  ").phone is None


@given(resident_id_parts())
def test_matching_birth_date_and_sex_are_accepted(parts: tuple[str, dt.date, Sex]) -> None:
    number, born, sex = parts
    p = person(resident_id=number, birth_date=born, sex=sex)
    assert p.resident_id is not None
    assert p.resident_id.number == number
    assert (p.birth_date, p.sex) == (born, sex)


@given(resident_id_parts(), st.integers(min_value=1, max_value=3650))
def test_birth_date_disagreeing_with_the_number_is_refused(
    parts: tuple[str, dt.date, Sex], shift: int
) -> None:
    number, born, _ = parts
    other = born - dt.timedelta(days=shift)
    with pytest.raises(ValidationError) as exc_info:
        person(resident_id=number, birth_date=other)
    violation = only_violation(exc_info)
    assert violation.path == "$.birth_date"
    assert "does not match" in violation.rule


@given(resident_id_parts())
def test_sex_disagreeing_with_the_number_is_refused(parts: tuple[str, dt.date, Sex]) -> None:
    number, _, sex = parts
    other = Sex.FEMALE if sex is Sex.MALE else Sex.MALE
    with pytest.raises(ValidationError) as exc_info:
        person(resident_id=number, sex=other.value)
    violation = only_violation(exc_info)
    assert violation.path == "$.sex"
    assert violation.value == repr(other.value)
    assert "does not match" in violation.rule


def test_birth_date_in_the_future_is_refused() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as exc_info:
        person(birth_date=tomorrow)
    violation = only_violation(exc_info)
    assert violation.path == "$.birth_date"
    assert violation.rule == "must not be in the future"
    assert person(birth_date=dt.date.today()).birth_date == dt.date.today()


def test_birth_date_given_as_an_aware_datetime_is_the_day_on_its_clock() -> None:
    born = person(birth_date=dt.datetime(1990, 1, 1, 23, 59, 59, tzinfo=UTC)).birth_date
    assert born == dt.date(1990, 1, 1)
    assert type(born) is dt.date


def test_birth_date_given_as_a_naive_datetime_or_text_is_refused_masked() -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(birth_date=dt.datetime(1990, 1, 1))
    violation = only_violation(exc_info)
    assert violation.path == "$.birth_date"
    assert violation.rule.startswith("must be a date; a datetime is taken only with a time zone")
    assert "1990-01-01" not in violation.value, "a birth date is personal: shown masked"
    with pytest.raises(ValidationError) as exc_info:
        person(birth_date="1990-01-01")
    assert only_violation(exc_info).rule == "must be a date"


@pytest.mark.parametrize("name", ["", "   ", None, 5])
def test_blank_or_missing_name_is_refused(name: object) -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(name=name)
    violation = only_violation(exc_info)
    assert violation.path == "$.name"
    assert violation.rule == "must not be empty"


def test_name_with_control_characters_is_refused_and_masked() -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(name="张三丰\n")
    violation = only_violation(exc_info)
    assert violation.path == "$.name"
    assert violation.rule == "must not contain control characters"
    assert violation.value == mask_text("张三丰\n")
    assert "三丰" not in str(exc_info.value)


def test_team_member_name_is_masked_in_errors() -> None:
    with pytest.raises(ValidationError) as exc_info:
        TeamMember(name="李四\t", role="doctor")
    assert "李四" not in str(exc_info.value)
    assert only_violation(exc_info).path == "$.name"


@pytest.mark.parametrize("bad_id", ["", "-leading", "has space", "x" * 129, "é", None])
def test_bad_ids_are_refused_with_their_field_path(bad_id: object) -> None:
    with pytest.raises(ValidationError) as exc_info:
        person(household_id=bad_id)
    violation = only_violation(exc_info)
    assert violation.path == "$.household_id"
    assert violation.value == repr(bad_id)
    assert "an id is 1-128" in violation.rule


@pytest.mark.parametrize("good_id", ["a", "A-1", "grid:07/3", "x" * 128, "0.b_c"])
def test_good_ids_are_accepted(good_id: str) -> None:
    assert person(id=good_id).id == good_id


# --- places ----------------------------------------------------------------


def test_stairwell_door_count_and_bounds() -> None:
    stairwell = Stairwell(id="s1", building_id="b1", name="1单元", floors=6, doors_per_floor=2)
    assert stairwell.door_count == 12
    for floors in (0, 201, True, 2.5):
        with pytest.raises(ValidationError) as exc_info:
            Stairwell(id="s1", building_id="b1", name="1", floors=floors, doors_per_floor=2)
        assert only_violation(exc_info).path == "$.floors"


def test_household_floor_range_and_phone() -> None:
    household = Household(
        id="h1", stairwell_id="s1", floor=-5, door="101", address="花园路1号", phone="13800138000"
    )
    assert household.phone == "+8613800138000"
    with pytest.raises(ValidationError) as exc_info:
        Household(id="h1", stairwell_id="s1", floor=-6, door="101", address="花园路1号")
    violation = only_violation(exc_info)
    assert violation.path == "$.floor"
    assert violation.rule == "must be a whole number from -5 to 200"


def test_area_levels_rank_children_below_parents() -> None:
    assert AreaLevel.CITY.rank < AreaLevel.DISTRICT.rank < AreaLevel.TOWN.rank
    assert AreaLevel.COMMUNITY.rank < AreaLevel.GRID.rank < AreaLevel.COMPOUND.rank
    assert AreaLevel.VILLAGE.rank < AreaLevel.VILLAGE_GROUP.rank
    assert {level for level in AreaLevel if level.is_jurisdiction} == {
        AreaLevel.COMMUNITY,
        AreaLevel.VILLAGE,
    }
    assert Area(id="g1", name="网格1", level="grid").level is AreaLevel.GRID
    with pytest.raises(ValueError, match="'street'"):
        Area(id="g1", name="网格1", level="street")


# --- teams -----------------------------------------------------------------


def team(*roles: MemberRole, kind: TeamKind = TeamKind.SWEEP) -> Team:
    members = [TeamMember(name=f"member{i}", role=role) for i, role in enumerate(roles)]
    return Team(id="t1", name="第一小分队", area_id="c1", kind=kind, members=members)


def test_team_members_become_a_tuple_and_roles_are_counted() -> None:
    t = team(MemberRole.CADRE, MemberRole.DOCTOR, MemberRole.VOLUNTEER, MemberRole.VOLUNTEER)
    assert isinstance(t.members, tuple)
    assert t.size == 4
    assert t.roles() == Counter(
        {MemberRole.CADRE: 1, MemberRole.DOCTOR: 1, MemberRole.VOLUNTEER: 2}
    )


def test_default_policy_accepts_a_sweep_team_with_a_doctor_and_two_members() -> None:
    policy = CompositionPolicy()
    assert policy.violations(team(MemberRole.CADRE, MemberRole.DOCTOR)) == []
    policy.check(team(MemberRole.CADRE, MemberRole.DOCTOR, MemberRole.POLICE))


def test_default_policy_requires_a_doctor_on_a_sweep_team() -> None:
    found = CompositionPolicy().violations(team(MemberRole.CADRE, MemberRole.POLICE))
    assert found == [
        Violation("$.members", "0 doctor", "a sweep team needs at least 1 doctor"),
    ]


def test_default_policy_requires_two_members_on_a_sweep_team() -> None:
    found = CompositionPolicy().violations(team(MemberRole.DOCTOR))
    assert found == [
        Violation("$.members", "1 members", "a sweep team needs at least 2 members"),
    ]


def test_empty_sweep_team_breaks_both_rules_and_check_lists_them() -> None:
    with pytest.raises(ValidationError) as exc_info:
        CompositionPolicy().check(team())
    rules = [v.rule for v in exc_info.value.violations]
    assert rules == [
        "a sweep team needs at least 2 members",
        "a sweep team needs at least 1 doctor",
    ]
    assert str(exc_info.value).startswith("2 problems:")


def test_default_policy_service_team_needs_one_member_of_any_role() -> None:
    policy = CompositionPolicy()
    assert policy.violations(team(MemberRole.VOLUNTEER, kind=TeamKind.SERVICE)) == []
    found = policy.violations(team(kind=TeamKind.SERVICE))
    assert [v.rule for v in found] == ["a service team needs at least 1 member"]


def test_custom_policy_can_require_police() -> None:
    policy = CompositionPolicy(
        min_members={TeamKind.SWEEP: 3},
        required_roles={TeamKind.SWEEP: {MemberRole.DOCTOR: 1, MemberRole.POLICE: 1}},
    )
    found = policy.violations(team(MemberRole.CADRE, MemberRole.DOCTOR, MemberRole.VOLUNTEER))
    assert found == [Violation("$.members", "0 police", "a sweep team needs at least 1 police")]
    assert policy.violations(team(MemberRole.CADRE, MemberRole.DOCTOR, MemberRole.POLICE)) == []
    # The default policy lets the same police-less team through.
    assert CompositionPolicy().violations(team(MemberRole.CADRE, MemberRole.DOCTOR)) == []
    # Kinds the policy does not mention have no requirements.
    assert policy.violations(team(kind=TeamKind.SERVICE)) == []


def test_team_member_role_must_be_known() -> None:
    assert TeamMember(name="王医生", role="doctor").role is MemberRole.DOCTOR
    with pytest.raises(ValueError, match="'nurse'"):
        TeamMember(name="王医生", role="nurse")


# --- campaigns -------------------------------------------------------------


def campaign(**fields: object) -> Campaign:
    base: dict[str, object] = {
        "id": "c2020",
        "name": "一级响应",
        "scope": ["community-1"],
        "start": dt.date(2020, 1, 24),
    }
    base.update(fields)
    return Campaign(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "Asia", "../../etc/passwd", "Asia/Shanghai ", None]
)
def test_campaign_bad_time_zone_is_refused(zone: object) -> None:
    with pytest.raises(ValidationError) as exc_info:
        campaign(time_zone=zone)
    violation = only_violation(exc_info)
    assert violation.path == "$.time_zone"
    assert violation.value == repr(zone)
    assert "IANA time zone" in violation.rule


def test_campaign_defaults_and_scope_tuple() -> None:
    c = campaign()
    assert c.time_zone == "Asia/Shanghai"
    assert c.zone == SHANGHAI
    assert c.scope == ("community-1",)
    assert c.look_back_days == 14


def test_campaign_end_before_start_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        campaign(end=dt.date(2020, 1, 23))
    violation = only_violation(exc_info)
    assert violation.path == "$.end"
    assert violation.rule == "must not be before the start"
    assert campaign(end=dt.date(2020, 1, 24)).end == dt.date(2020, 1, 24)


@pytest.mark.parametrize("days", [0, 366, 1.5])
def test_campaign_look_back_days_bounds(days: object) -> None:
    with pytest.raises(ValidationError) as exc_info:
        campaign(look_back_days=days)
    assert only_violation(exc_info).path == "$.look_back_days"


def test_local_date_around_midnight_in_shanghai() -> None:
    c = campaign()
    # Shanghai is UTC+8 all year: local midnight is 16:00 UTC the day before.
    assert c.local_date(dt.datetime(2020, 1, 31, 15, 59, 59, tzinfo=UTC)) == dt.date(2020, 1, 31)
    assert c.local_date(dt.datetime(2020, 1, 31, 16, 0, tzinfo=UTC)) == dt.date(2020, 2, 1)
    assert c.local_date(dt.datetime(2020, 2, 1, 0, 30, tzinfo=SHANGHAI)) == dt.date(2020, 2, 1)
    assert c.day_start(dt.date(2020, 2, 1)) == dt.datetime(2020, 1, 31, 16, 0, tzinfo=UTC)
    assert c.day_start(dt.date(2020, 2, 1)).utcoffset() == dt.timedelta(0)


def test_local_days_across_spring_dst_change_in_berlin() -> None:
    c = campaign(time_zone="Europe/Berlin")
    # 2020-03-29 starts in CET (UTC+1) and ends in CEST (UTC+2): 23 hours long.
    start = c.day_start(dt.date(2020, 3, 29))
    next_start = c.day_start(dt.date(2020, 3, 30))
    assert start == dt.datetime(2020, 3, 28, 23, 0, tzinfo=UTC)
    assert next_start == dt.datetime(2020, 3, 29, 22, 0, tzinfo=UTC)
    assert next_start - start == dt.timedelta(hours=23)
    assert c.local_date(dt.datetime(2020, 3, 28, 22, 59, tzinfo=UTC)) == dt.date(2020, 3, 28)
    assert c.local_date(dt.datetime(2020, 3, 28, 23, 0, tzinfo=UTC)) == dt.date(2020, 3, 29)
    assert c.local_date(dt.datetime(2020, 3, 29, 21, 59, tzinfo=UTC)) == dt.date(2020, 3, 29)
    assert c.local_date(dt.datetime(2020, 3, 29, 22, 0, tzinfo=UTC)) == dt.date(2020, 3, 30)


def test_local_day_across_autumn_dst_change_in_berlin_is_25_hours() -> None:
    c = campaign(time_zone="Europe/Berlin")
    length = c.day_start(dt.date(2020, 10, 26)) - c.day_start(dt.date(2020, 10, 25))
    assert length == dt.timedelta(hours=25)


@given(aware_datetimes(), st.sampled_from(TIME_ZONES))
def test_every_instant_lies_within_its_local_day(at: dt.datetime, zone: str) -> None:
    c = campaign(time_zone=zone)
    day = c.local_date(at)
    start = c.day_start(day)
    end = c.day_start(day + dt.timedelta(days=1))
    assert start <= at < end
    assert start.tzinfo is UTC
    assert c.local_date(start) == day


# --- facts -----------------------------------------------------------------


def test_fact_time_is_normalised_to_utc() -> None:
    visit = Visit(
        household_id="h1",
        outcome="screened",
        at=dt.datetime(2020, 2, 1, 8, 30, tzinfo=SHANGHAI),
    )
    assert visit.at == dt.datetime(2020, 2, 1, 0, 30, tzinfo=UTC)
    assert visit.at.tzinfo is UTC
    assert (visit.at.hour, visit.at.minute) == (0, 30)


@given(aware_datetimes())
def test_any_aware_time_is_stored_as_the_same_instant_in_utc(at: dt.datetime) -> None:
    report = HealthReport(person_id="p1", at=at)
    # Subtraction, not ``==``: Python never calls an ambiguous wall-clock time
    # (fold) equal to an instant in another zone, even the very same instant.
    assert report.at - at == dt.timedelta(0)
    assert report.at.timestamp() == at.timestamp()
    assert report.at.utcoffset() == dt.timedelta(0)


def test_naive_fact_time_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Visit(household_id="h1", outcome="screened", at=dt.datetime(2020, 2, 1, 8, 30))
    violation = only_violation(exc_info)
    assert violation.path == "$.at"
    assert violation.rule == "must be a timezone-aware datetime"


def test_fact_time_in_the_future_is_refused_beyond_a_small_skew() -> None:
    now = dt.datetime.now(UTC)
    with pytest.raises(ValidationError) as exc_info:
        Visit(household_id="h1", outcome="screened", at=now + dt.timedelta(hours=1))
    violation = only_violation(exc_info)
    assert violation.path == "$.at"
    assert violation.rule == "must not be in the future"
    # A clock a minute fast is tolerated.
    assert Visit(household_id="h1", outcome="screened", at=now + dt.timedelta(minutes=1))


def test_fact_defaults_are_a_fresh_id_and_the_current_time() -> None:
    before = dt.datetime.now(UTC)
    first = Visit(household_id="h1", outcome="not_home")
    second = Visit(household_id="h1", outcome="not_home")
    after = dt.datetime.now(UTC)
    assert first.id != second.id
    assert first.id.version == 4
    assert before <= first.at <= after
    assert first.at.tzinfo is UTC


@pytest.mark.parametrize("temperature", [30, 30.0, 36.6, 45, 45.0, None])
def test_temperatures_in_range_are_accepted(temperature: float | None) -> None:
    assert Screening(person_id="p1", temperature=temperature).temperature == temperature
    assert HealthReport(person_id="p1", temperature=temperature).temperature == temperature


@pytest.mark.parametrize("temperature", [29.9, 45.1, -37.0, 370, math.nan, math.inf, True, "37"])
def test_temperatures_out_of_range_are_refused(temperature: object) -> None:
    for make in (Screening, HealthReport):
        with pytest.raises(ValidationError) as exc_info:
            make(person_id="p1", temperature=temperature)
        violation = only_violation(exc_info)
        assert violation.path == "$.temperature"
        assert violation.rule == "must be a number from 30 to 45"


def test_symptoms_are_a_sorted_set_of_lower_case_words() -> None:
    report = HealthReport(person_id="p1", symptoms=["Fever", " cough ", "COUGH", "", "  "])
    assert report.symptoms == ("cough", "fever")
    assert HealthReport(person_id="p1", symptoms="Fever").symptoms == ("fever",)


def test_check_in_all_normal_has_no_anomalies() -> None:
    check_in = CheckIn(building_id="b1", observer_id="o1")
    assert check_in.status is CheckInStatus.ALL_NORMAL
    assert check_in.anomalies == ()
    with pytest.raises(ValidationError) as exc_info:
        CheckIn(
            building_id="b1",
            observer_id="o1",
            status="all_normal",
            anomalies=[Anomaly(kind=AnomalyKind.STRANGER)],
        )
    violation = only_violation(exc_info)
    assert violation.path == "$.anomalies"
    assert violation.rule == "an all-normal check-in has no anomalies"


def test_check_in_with_anomalies_lists_at_least_one() -> None:
    with pytest.raises(ValidationError) as exc_info:
        CheckIn(building_id="b1", observer_id="o1", status="anomalies")
    violation = only_violation(exc_info)
    assert violation.path == "$.anomalies"
    assert "at least one" in violation.rule
    check_in = CheckIn(
        building_id="b1",
        observer_id="o1",
        status="anomalies",
        anomalies=[Anomaly(kind="move_in", count=3), Anomaly(kind="stranger")],
    )
    assert check_in.status is CheckInStatus.ANOMALIES
    assert [a.kind for a in check_in.anomalies] == [AnomalyKind.MOVE_IN, AnomalyKind.STRANGER]


@pytest.mark.parametrize("count", [0, -1, 10_001])
def test_anomaly_count_bounds(count: int) -> None:
    with pytest.raises(ValidationError) as exc_info:
        Anomaly(kind="stranger", count=count)
    assert only_violation(exc_info).path == "$.count"


def test_trip_returned_before_departed_is_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Trip(destination="武汉", departed=dt.date(2020, 1, 20), returned=dt.date(2020, 1, 19))
    violation = only_violation(exc_info)
    assert violation.path == "$.returned"
    assert violation.rule == "must not be before the departure"
    same_day = Trip(
        destination="武汉", departed=dt.date(2020, 1, 20), returned=dt.date(2020, 1, 20)
    )
    assert same_day.returned == same_day.departed
    assert Trip(destination="武汉", returned=dt.date(2020, 1, 19)).departed is None


def test_visit_outcome_must_be_known() -> None:
    with pytest.raises(ValueError, match="'gone'"):
        Visit(household_id="h1", outcome="gone")


# --- lines of defense ------------------------------------------------------


def test_line_of_defense_name_and_titles() -> None:
    line = LineOfDefense(name="health_point", title_en="Health point", title_zh="健康监测点")
    assert line.title("zh-CN") == "健康监测点"
    assert line.title("en") == "Health point"
    assert line.title() == "Health point"
    with pytest.raises(ValidationError) as exc_info:
        LineOfDefense(name="Health-Point", title_en="x", title_zh="y")
    assert only_violation(exc_info).path == "$.name"


# --- masking and error formatting ------------------------------------------


def test_mask_name() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("Li Wei") == "L*****"
    assert mask_name(" 王 ") == "王"
    assert mask_name("") == ""


def test_mask_phone() -> None:
    assert mask_phone("+8613800138000") == "+86138****8000"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("1234567") == "*******"


@given(cn_mobile_numbers())
def test_mask_phone_hides_the_middle_four_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert masked[:6] == phone[:6]
    assert masked[-4:] == phone[-4:]
    assert masked[6:10] == "****"


def test_mask_id_number_and_mask_text() -> None:
    assert mask_id_number("44200019900307123X") == "442000**********3X"
    assert mask_id_number("1234") == "****"
    assert mask_text("secret") == "s*****"
    assert mask_text("secret", keep=3) == "sec***"
    assert mask_text("") == ""


@given(valid_resident_id_numbers())
def test_masked_id_keeps_region_and_last_two_only(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == 18
    assert masked == number[:6] + "**********" + number[-2:]
    assert number[6:14] not in masked


def test_violation_prefix_and_error_messages() -> None:
    inner = Violation("$.phone", "138***3800", "not a valid phone number (CN)")
    assert inner.prefixed("$.members[1]") == Violation(
        "$.members[1].phone", "138***3800", "not a valid phone number (CN)"
    )
    assert str(inner) == "$.phone: not a valid phone number (CN) (got 138***3800)"
    assert str(Violation("$.x", "", "unknown key")) == "$.x: unknown key"
    single = ValidationError([inner])
    assert str(single) == str(inner)
    double = ValidationError([inner, Violation("$.x", "", "unknown key")])
    assert str(double) == (
        "2 problems:\n  $.phone: not a valid phone number (CN) (got 138***3800)\n  $.x: unknown key"
    )
    assert double.prefixed("$.team").violations[1].path == "$.team.x"
    assert isinstance(single, ValueError)
