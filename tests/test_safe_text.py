"""Safe text: no bidirectional controls in stored text, no markup or link from it in a message."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

import pytest

import gridguard
from gridguard import Building, Household, Person, Visit
from gridguard.builtins.formats import ConsoleNotifier
from gridguard.builtins.notifiers import LogNotifier
from gridguard.errors import ConfigError, ValidationError
from gridguard.model import Screening
from gridguard.notifications.templates import Renderer
from gridguard.notify import Message
from gridguard.notify.markup import escape
from gridguard.targeting import import_file
from gridguard.targeting.importing import report_path_for
from test_targeting_import import place_tree

BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
BIDI += ["\u2066", "\u2067", "\u2068", "\u2069"]
AT = dt.datetime(2020, 1, 25, 2, tzinfo=dt.UTC)


def _makers(text: str) -> dict[str, Any]:
    return {
        "name": lambda: Person(id="p", household_id="h", name=text),
        "address": lambda: Household(id="h", stairwell_id="s", floor=1, door="101", address=text),
        "compound": lambda: Building(id="b", area_id="g", name="3栋", compound=text),
        "note": lambda: Visit(household_id="h", at=AT, outcome="not_home", team_id="t", note=text),
        "symptoms": lambda: Screening(person_id="p", at=AT, symptoms=[text]),
    }


@pytest.mark.parametrize("control", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
@pytest.mark.parametrize("field", ["name", "address", "compound", "note", "symptoms"])
def test_bidirectional_controls_are_refused_in_text_fields(field: str, control: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _makers(f"牡丹阁{control}3幢")[field]()
    (violation,) = caught.value.violations
    assert violation.path == f"$.{field}"
    assert "bidirectional control" in violation.rule
    assert violation.value == f"U+{ord(control):04X} at character 4"
    assert control not in str(caught.value)  # named, never printed


def test_text_without_them_is_kept() -> None:
    person = Person(id="p", household_id="h", name="Zoë 张三 O'Brien")
    assert person.name == "Zoë 张三 O'Brien"


def test_the_register_import_refuses_them_per_cell(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["户编号", "姓名"])
        out.writerows([["h101", "陈建国"], ["h101", "陈\u202e国建"], ["h102", "李芳"]])
    with gridguard.open("memory://") as ws:
        ws.add(place_tree())
        result = import_file(ws, "persons", path)
        assert (result.inserted, result.rejected) == (2, 1)
    with open(report_path_for(path), encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.reader(handle))[1:]
    assert row[:3] == ["3", "姓名", "U+202E at character 2"]
    assert "bidirectional control" in row[3]


# -- escaping for the markup a channel shows -----------------------------------------------------

HOSTILE_ADDRESS = '[点此登记](http://evil.example/x) <font color="warning">*紧急*</font>'


def test_markdown_escaping_leaves_no_link_and_no_markup() -> None:
    shown = escape(HOSTILE_ADDRESS, "markdown")
    for live in ("[", "](", "http://", "evil.example", "<font", "*"):
        assert live not in shown
    assert "点此登记" in shown
    assert "紧急" in shown
    assert escape("- a list\n1. item\n# title\n> quote", "markdown").splitlines() == [
        "\u200b- a list",
        "\u200b1. item",
        "＃ title",
        "＞ quote",
    ]
    ordinary = "2020-01-25 10:00 牡丹阁3幢101 居民 陈建国（13800138000）体温 37.5°C，症状：咳嗽。"
    assert escape(ordinary, "markdown") == ordinary
    assert (
        escape("陈*（138****8000）", "markdown") == "陈＊（138＊＊＊＊8000）"
    )  # masks, not emphasis


def test_html_escaping_leaves_no_tag_and_no_link() -> None:
    shown = escape("<script>alert(1)</script> http://evil.example", "html")
    assert "<script" not in shown
    assert "&lt;script&gt;" in shown
    assert "http://" not in shown
    assert "evil.example" not in shown


def test_every_markup_shows_bidirectional_controls_as_a_replacement_character() -> None:
    for markup in ("text", "markdown", "html"):
        assert escape("exe.\u202etxt", markup).count("\ufffd") == 1  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown markup"):
        escape("x", "rtf")  # type: ignore[arg-type]


def test_a_renderer_escapes_the_values_it_fills_in_not_its_template() -> None:
    values = {"address": HOSTILE_ADDRESS, "building": "3幢", "time": "10:00", "temperature": 38.5}
    body = Renderer("zh-CN", markup="markdown").render("fever", values).body
    assert "](" not in body
    assert "http://" not in body
    assert "<font" not in body
    assert "体温 38.5°C" in body
    english = Renderer("en", markup="html").render("fever", values).body
    assert "<font" not in english
    assert "&lt;font" in english
    assert "Please call and refer to a fever clinic." in english  # the template as written
    plain = Renderer("en").render("notice", {"note": "a\u202eb"}).body
    assert plain == "a\ufffdb"
    with pytest.raises(ConfigError, match="markup"):
        Renderer("en", markup="rtf")  # type: ignore[arg-type]


def test_the_console_and_log_channels_never_print_a_bidirectional_control(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = Message(recipient="grid_worker@g1", subject="s\u202e1", body="b\u2067ody")
    stream = io.StringIO()
    ConsoleNotifier({"stream": stream}).send(message)
    assert stream.getvalue() == "[grid_worker@g1] s\ufffd1: b\ufffdody\n"
    with caplog.at_level(logging.INFO, logger="gridguard.notify"):
        LogNotifier({}).send(message)
    assert caplog.records[-1].getMessage() == "[grid_worker@g1] s\ufffd1: b\ufffdody"
