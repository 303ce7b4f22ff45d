"""The builtin reporters (text, csv, json) pass the reporter contract, and their own details."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.report import Report
from gridguard.report.base import Reporter
from gridguard.testing import HOSTILE, ReporterContract, SpreadsheetReporterContract


def _registered(name: str) -> Reporter:
    return collect_registries(get_plugin_manager()).reporters.get(name)()


def _json_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


class TestTextReporter(ReporterContract):
    @pytest.fixture
    def reporter(self) -> Reporter:
        return _registered("text")


class TestCsvReporter(SpreadsheetReporterContract):
    @pytest.fixture
    def reporter(self) -> Reporter:
        return _registered("csv")

    def visible_text(self, output: str | bytes) -> str:
        # What a spreadsheet shows: a leading ' only marks a cell as text.
        return "\n".join(c[1:] if c.startswith("'") else c for c in self.cells(output))

    def cells(self, output: str | bytes) -> list[str]:
        assert isinstance(output, bytes)
        text = output.decode("utf-8-sig")
        return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


class TestJsonReporter(ReporterContract):
    @pytest.fixture
    def reporter(self) -> Reporter:
        return _registered("json")

    def visible_text(self, output: str | bytes) -> str:
        return "\n".join(_json_strings(json.loads(output)))


def test_csv_starts_with_a_bom_and_quotes_formulas(reports: dict[str, Report]) -> None:
    output = _registered("csv").render(reports["hostile"], lang="zh-CN")
    assert isinstance(output, bytes)
    assert output.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(output.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert "'" + HOSTILE[0] in cells
    assert HOSTILE[0] not in cells
    # Numbers stay numbers, negative ones too: only text is quoted.
    daily = _registered("csv").render(reports["daily"], lang="en").decode("utf-8-sig")
    assert not any(c.startswith("'-") for row in csv.reader(io.StringIO(daily)) for c in row)


def test_csv_rows_carry_their_section(reports: dict[str, Report]) -> None:
    output = _registered("csv").render(reports["daily"], lang="en")
    rows = list(csv.reader(io.StringIO(output.decode("utf-8-sig"))))
    sweep = [row for row in rows if row and row[0] == "Door-to-door sweep"]
    assert [
        "Door-to-door sweep",
        "Visits",
        "Channel",
        "Screened",
        "Not at home",
        "Refused",
        "Vacant",
    ] in sweep


def test_text_shows_markup_as_written(reports: dict[str, Report]) -> None:
    from gridguard.report import Label, Section, Table
    from gridguard.report.document import Column

    report = reports["empty"]
    tricky = "[bold red]x[/bold red] :smile:"
    table = Table(
        key="t",
        title=Label(tricky, tricky),
        columns=[Column("a", Label("A", "甲"))],
        rows=[(tricky,)],
    )
    import attrs

    shown = _registered("text").render(
        attrs.evolve(report, sections=[Section("s", Label(tricky, tricky), [table])]), lang="en"
    )
    assert shown.count(tricky) == 3
    assert "\x1b[" not in shown


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    from gridguard.testing import sample_reports

    return sample_reports(tmp_path_factory.mktemp("formats"))
