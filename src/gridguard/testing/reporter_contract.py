"""The reporter contract suite: what every report format must do.

A reporter plugin proves itself by subclassing :class:`ReporterContract` in
its own tests and providing a ``reporter`` fixture::

    from gridguard.testing import ReporterContract

    class TestMyFormat(ReporterContract):
        @pytest.fixture
        def reporter(self):
            return MyReporter()

        def visible_text(self, output):
            return extract_the_text_a_reader_sees(output)

The suite builds every builtin report kind from a small SQLite store
(:func:`sample_reports`: the sample tree of :func:`~gridguard.testing.sample_records`
plus a household, a resident, a team and a visit carrying hostile text) and
renders each in English and Chinese. It checks that:

* every kind renders in both languages, with the title and a column label
  in that language, and no label left as ``Label(...)``;
* the hostile strings ``=HYPERLINK("http://x")``, ``<script>alert(1)</script>``,
  ``{{ 7*7 }}`` and ``{% raw %}`` come out as the text they are (neither run,
  nor lost, nor turned into markup);
* for a format a spreadsheet opens (:class:`SpreadsheetReporterContract`),
  no cell but a plain number starts with a formula character;
* the names, phone numbers and identity numbers of the sample residents never
  appear in a masked report, and do appear in an unmasked person file.

Hooks a subclass may override:

``visible_text(output)``
    The text a reader sees (default: the output decoded as UTF-8). An HTML
    reporter unescapes its text nodes; a workbook reporter joins its cells.
``cells(output)``
    Every cell as text; required by :class:`SpreadsheetReporterContract`.
``assert_inert(output)``
    Extra checks on the raw output that the hostile strings cannot act in
    it (an HTML reporter: no live ``<script>`` element). Default: none.
"""

from __future__ import annotations

import abc
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ..report.base import Reporter
from ..report.document import LANGS, Report

__all__ = [
    "HOSTILE",
    "ReporterContract",
    "SpreadsheetReporterContract",
    "clear_values",
    "sample_reports",
]

HOSTILE: tuple[str, ...] = (
    '=HYPERLINK("http://x")',
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% raw %}",
)
"""Strings that a careless renderer would run as a formula, markup or a template."""

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _hostile_records() -> list[Any]:
    """A household, a resident and a team carrying hostile text, under the sample tree."""
    from ..model import Area, AreaLevel, Household, Person, Team, TeamMember
    from ..model.enums import MemberRole

    return [
        Area(id="west", name="西区", level=AreaLevel.DISTRICT, parent_id="zs"),
        Household(
            id="hx", stairwell_id="s1", floor=3, door="301", address=HOSTILE[0], phone="13700137000"
        ),
        Person(id="px", household_id="hx", name=HOSTILE[1], phone="13700137001"),
        Team(
            id="tx",
            name=HOSTILE[2],
            area_id="c1",
            members=(
                TeamMember(name="赵干部", role=MemberRole.CADRE),
                TeamMember(name="钱医生", role=MemberRole.DOCTOR),
                TeamMember(name="孙警官", role=MemberRole.POLICE),
            ),
        ),
    ]


def clear_values() -> tuple[str, ...]:
    """Names, phone numbers and identity numbers of the residents behind :func:`sample_reports`."""
    from ..model import Household, Person
    from .sample import sample_records

    found: list[str] = []
    for record in [*sample_records(), *_hostile_records()]:
        if isinstance(record, Person):
            found.append(record.name)
            found += [str(v) for v in (record.phone, record.resident_id) if v]
        elif isinstance(record, Household) and record.phone:
            found.append(record.phone)
    return tuple(found)


def sample_reports(directory: Path) -> dict[str, Report]:
    """Every builtin report kind built from a small SQLite store in ``directory``.

    Keys: ``daily``, ``progress``, ``teams``, ``linelist``, ``household``
    and ``person`` (masked), ``household_unmasked`` and ``person_unmasked``,
    ``hostile`` (the unmasked file of the household with hostile text),
    ``hostile_teams`` (the teams report naming a hostile team) and
    ``empty`` (the daily report of a district with no community).
    """
    from ..model import Visit
    from ..reporting import build_report
    from ..workspace import open_workspace
    from .sample import SAMPLE_START, sample_facts, sample_records

    path = Path(directory) / "reports.db"
    path.unlink(missing_ok=True)
    with open_workspace(f"sqlite:///{path}") as ws:
        ws.add(sample_records())
        ws.add(_hostile_records())
        ws.record(sample_facts())
        ws.record(
            [
                Visit(
                    at=SAMPLE_START + dt.timedelta(hours=1),
                    household_id="hx",
                    team_id="tx",
                    outcome="not_home",
                    campaign_id="cmp",
                    note=HOSTILE[3],
                )
            ]
        )
        day = dt.date(2020, 1, 27)
        out = {
            kind: build_report(ws, kind, day=day)
            for kind in ("daily", "progress", "teams", "linelist")
        }
        out["household"] = build_report(ws, "household", id="h1")
        out["person"] = build_report(ws, "person", id="p2")
        out["household_unmasked"] = build_report(ws, "household", id="h1", unmask=True)
        out["person_unmasked"] = build_report(ws, "person", id="p2", unmask=True)
        out["hostile"] = build_report(ws, "household", id="hx", unmask=True)
        out["hostile_teams"] = build_report(ws, "teams", day=day)
        out["empty"] = build_report(ws, "daily", area="west", day=day)
    return out


MASKED_KINDS = ("daily", "progress", "teams", "linelist", "household", "person")


def _number(cell: str) -> bool:
    """Whether a cell is a plain number (a negative change is a number, not a formula)."""
    try:
        float(cell.removesuffix("%"))
    except ValueError:
        return False
    return True


class ReporterContract:
    """Tests every reporter passes. See the module docs for the fixture and hooks."""

    # -- hooks ----------------------------------------------------------------------------

    def visible_text(self, output: str | bytes) -> str:
        """The text a reader of ``output`` sees."""
        return output.decode("utf-8-sig") if isinstance(output, bytes) else output

    def assert_inert(self, output: str | bytes) -> None:
        """Further checks that the hostile strings cannot act in the raw ``output``."""

    # -- fixtures -------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def reports(cls, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
        return sample_reports(tmp_path_factory.mktemp("reporter-contract"))

    @pytest.fixture(scope="class")
    @classmethod
    def clear_values(cls) -> tuple[str, ...]:
        """Names, phones and identity numbers of the sample residents, in clear."""
        return clear_values()

    def _render(self, reporter: Reporter, report: Report, lang: str) -> str | bytes:
        output = reporter.render(report, lang=lang)
        assert isinstance(output, str | bytes), f"render returned {type(output).__name__}"
        assert output, "render returned nothing"
        return output

    # -- the contract ---------------------------------------------------------------------

    def test_declares_media_type_and_suffix(self, reporter: Reporter) -> None:
        assert isinstance(reporter.media_type, str)
        assert "/" in reporter.media_type
        assert isinstance(reporter.suffix, str)
        assert reporter.suffix.startswith(".")

    @pytest.mark.parametrize("lang", LANGS)
    @pytest.mark.parametrize("kind", MASKED_KINDS)
    def test_renders_every_kind_in_both_languages(
        self, reporter: Reporter, reports: dict[str, Report], kind: str, lang: str
    ) -> None:
        report = reports[kind]
        text = self.visible_text(self._render(reporter, report, lang))
        assert report.title.text(lang) in text
        labels = [
            column.label.text(lang)
            for _, block in report.blocks()
            for column in getattr(block, "columns", ())
        ]
        assert any(lab in text for lab in labels), f"no column label in {lang}"
        assert "Label(" not in text, "a label was rendered as its repr, not its text"

    @pytest.mark.parametrize("lang", LANGS)
    def test_values_from_a_vocabulary_show_in_the_language(
        self, reporter: Reporter, reports: dict[str, Report], lang: str
    ) -> None:
        text = self.visible_text(self._render(reporter, reports["household"], lang))
        assert ("已筛查" in text) is (lang == "zh-CN")

    @pytest.mark.parametrize("lang", LANGS)
    def test_hostile_strings_come_out_as_text(
        self, reporter: Reporter, reports: dict[str, Report], lang: str
    ) -> None:
        outputs = [
            self._render(reporter, reports["hostile"], lang),
            self._render(reporter, reports["hostile_teams"], lang),
        ]
        text = "\n".join(self.visible_text(o) for o in outputs)
        for hostile in HOSTILE:
            assert hostile in text, f"{hostile!r} did not come out as text"
        for output in outputs:
            self.assert_inert(output)

    @pytest.mark.parametrize("lang", LANGS)
    @pytest.mark.parametrize("kind", MASKED_KINDS)
    def test_masked_reports_show_no_personal_data(
        self,
        reporter: Reporter,
        reports: dict[str, Report],
        clear_values: tuple[str, ...],
        kind: str,
        lang: str,
    ) -> None:
        report = reports[kind]
        assert report.masked
        text = self.visible_text(self._render(reporter, report, lang))
        leaked = [value for value in clear_values if value in text]
        assert not leaked, f"{kind} shows personal data in clear: {len(leaked)} values"

    def test_unmasked_file_shows_the_person(
        self, reporter: Reporter, reports: dict[str, Report]
    ) -> None:
        report = reports["person_unmasked"]
        assert not report.masked
        text = self.visible_text(self._render(reporter, report, "zh-CN"))
        assert "李秀英" in text

    @pytest.mark.parametrize("lang", LANGS)
    def test_an_empty_report_renders(
        self, reporter: Reporter, reports: dict[str, Report], lang: str
    ) -> None:
        text = self.visible_text(self._render(reporter, reports["empty"], lang))
        assert reports["empty"].title.text(lang) in text


class SpreadsheetReporterContract(ReporterContract, abc.ABC):
    """The reporter contract for formats a spreadsheet opens (CSV, xlsx).

    Besides every test of :class:`ReporterContract`, no cell but a plain
    number may start with a character that makes a spreadsheet read it as a
    formula. A subclass must give :meth:`cells` (pytest cannot instantiate
    one that does not).
    """

    @abc.abstractmethod
    def cells(self, output: str | bytes) -> list[str]:
        """Every cell of ``output`` as text."""

    def test_no_cell_is_a_formula(self, reporter: Reporter, reports: dict[str, Report]) -> None:
        for key in ("hostile", "hostile_teams", "daily"):
            cells = self.cells(self._render(reporter, reports[key], "en"))
            risky = [c for c in cells if c.startswith(_TRIGGERS) and not _number(c)]
            assert not risky, f"cells a spreadsheet would run: {risky[:3]}"
