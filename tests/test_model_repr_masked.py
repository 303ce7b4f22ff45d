"""Personal data is masked in ``repr()`` and ``str()`` of every record, as reports mask it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gridguard.model import ListEntry, Person, Team, TeamMember
from gridguard.model.enums import MemberRole
from gridguard.model.identity import ResidentId
from gridguard.notifications.routing import Recipient
from gridguard.notifications.settings import Contact
from gridguard.testing import sample_records
from gridguard.testing.sample import resident_id_for

NUMBER = resident_id_for(dt.date(1962, 5, 17), 321)
PHONE = "+8613912345678"
NAME = "欧阳建国"

PERSON = Person(id="p9", household_id="h1", name=NAME, resident_id=NUMBER, phone=PHONE,
                birth_date=dt.date(1962, 5, 17))  # fmt: skip
TEAM = Team(id="t9", name="第九小分队", area_id="c1", members=(
    TeamMember(name="黄干部", role=MemberRole.CADRE, phone="13800138000"),
    TeamMember(name="刘医生", role=MemberRole.DOCTOR, phone="+8613700137000"),
))  # fmt: skip
ENTRY = ListEntry(at=dt.datetime(2020, 1, 26, tzinfo=dt.UTC), list_id="l1", row=2,
                  name=NAME, id_number=NUMBER, phone="13912345678")  # fmt: skip


@pytest.mark.parametrize("show", [repr, str])
def test_a_person_shows_no_full_number_phone_name_or_birth_day(show: Any) -> None:
    text = show(PERSON)
    assert NUMBER not in text
    assert PHONE not in text
    assert "13912345678" not in text
    assert NAME not in text
    assert "1962-05-17" not in text
    assert "欧***" in text
    assert "+86139****5678" in text
    assert NUMBER[:6] + "*" * 10 + NUMBER[-2:] in text
    assert PERSON.phone == PHONE, "the value itself is unchanged"


@pytest.mark.parametrize("show", [repr, str])
def test_a_team_masks_its_members(show: Any) -> None:
    text = show(TEAM)
    for member in TEAM.members:
        assert member.name not in text
        assert member.phone is not None
        assert member.phone not in text
        assert member.phone[-11:] not in text
    assert "第九小分队" in text, "the team's own name is no personal data"


def test_list_entries_contacts_recipients_and_identity_numbers() -> None:
    contact = Contact(role="grid_worker", area_id="g1", name=NAME, phone=PHONE)
    recipient = Recipient("grid_worker", "g1", NAME, PHONE)
    for record in (ENTRY, contact, recipient, ResidentId(NUMBER)):
        text = repr(record)
        assert NUMBER not in text
        assert PHONE not in text
        assert "13912345678" not in text
        assert NAME not in text
    assert str(ResidentId(NUMBER)) == NUMBER, "str() of the number is its stored form"


def test_no_sample_record_shows_a_personal_value() -> None:
    personal = []
    for record in sample_records():
        for field in ("name", "phone", "resident_id"):
            value = getattr(record, field, None)
            if value is not None and type(record).__name__ in ("Person", "Household"):
                personal.append((record, str(value)))
        for member in getattr(record, "members", ()):
            personal.append((record, member.name))
    assert personal
    for record, value in personal:
        if len(value) > 1:
            assert value not in repr(record), (type(record).__name__, value)


PERSONAL = ("phone", "mobile", "resident_id", "id_number", "birth_date")
"""Field names that always hold personal data; ``name`` does too beside one of them."""

SAMPLES = {
    "phone": PHONE,
    "mobile": PHONE,
    "resident_id": NUMBER,
    "id_number": NUMBER,
    "birth_date": dt.date(1962, 5, 17),
    "name": NAME,
}
PLUGINS = ("gridguard_html", "gridguard_http", "gridguard_postgres", "gridguard_smtp",
           "gridguard_webhook", "gridguard_xlsx")  # fmt: skip


def _attrs_classes() -> dict[str, type]:
    """Every attrs class defined in gridguard and its plugins, by qualified name."""
    import importlib
    import pkgutil

    import attrs

    import gridguard

    packages = [gridguard, *(importlib.import_module(name) for name in PLUGINS)]
    found: dict[str, type] = {}
    for package in packages:
        prefix = package.__name__ + "."
        modules = [package.__name__]
        modules += [m.name for m in pkgutil.walk_packages(package.__path__, prefix)]
        for name in modules:
            if name.endswith("__main__"):
                continue
            module = importlib.import_module(name)
            for value in vars(module).values():
                if (isinstance(value, type) and attrs.has(value)
                        and value.__module__.startswith(package.__name__)):  # fmt: skip
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_record_class_masks_its_personal_fields() -> None:
    """By introspection: each field that holds a phone, an identity number or a birth date
    (and the ``name`` beside them) shows masked, in every attrs class of gridguard."""
    import attrs

    classes = _attrs_classes()
    assert len(classes) > 150, "the walk found the model, workflows and plugins"
    checked = []
    for qualified, cls in sorted(classes.items()):
        fields = attrs.fields(cls)
        personal = {f.name for f in fields} & set(PERSONAL)
        for field in fields:
            if field.name not in PERSONAL and not (field.name == "name" and personal):
                continue
            checked.append(f"{qualified}.{field.name}")
            assert callable(field.repr), f"{qualified}.{field.name} shows in full"
            value = SAMPLES[field.name]
            shown = field.repr(value)
            assert str(value) not in shown, (qualified, field.name, shown)
            if field.name in ("phone", "mobile"):
                assert PHONE[-11:] not in shown, (qualified, field.name, shown)
    for expected in ("gridguard.model.people.Person.resident_id",
                     "gridguard.model.teams.TeamMember.phone",
                     "gridguard.model.targeting.ListEntry.name",
                     "gridguard.sweep.workflow.FollowUp.phone",
                     "gridguard.targeting.matching.Resident.phone"):  # fmt: skip
        assert expected in checked
