"""Every hook is documented in docs/hooks.md and exercised by a plugin implementing it.

The hook list is read from :mod:`gridguard.hookspecs`, so a new hook without a
section in the docs, or without a check here, fails this module.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from gridguard import hookspecs
from gridguard.cli._app import plugin_commands
from gridguard.hookspecs import (
    ImporterFactory,
    NotifierFactory,
    ReporterFactory,
    StorageFactory,
    hookimpl,
)
from gridguard.importers import Importer
from gridguard.model import Area, AreaLevel, IdentityScheme, LineOfDefense, Sex
from gridguard.notify import Message, Notifier
from gridguard.plugins import Registries, collect_registries, get_plugin_manager
from gridguard.report import Figure, Figures, Label, Report, Reporter, Section
from gridguard.rules import RuleFunction
from gridguard.security.retention import PurgeField
from gridguard.storage import Storage

HOOKS_DOC = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
PLUGIN_NAME = "every_hook_plugin"


def _hookspec_names() -> set[str]:
    return {
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("register_") and inspect.isfunction(value)
    }


HOOKSPECS = sorted(_hookspec_names())


# -- a plugin implementing every hook ---------------------------------------------------


class XXScheme:
    """A toy identity scheme: eight digits, the last one the sum of the others mod 10."""

    name = "XX"

    def normalize(self, text: str) -> str:
        digits = "".join(c for c in text if not c.isspace())
        if len(digits) != 8 or not digits.isdigit():
            raise ValueError("an XX number has 8 digits")
        if sum(map(int, digits[:7])) % 10 != int(digits[7]):
            raise ValueError("check digit does not match")
        return digits

    def birth_date(self, number: str) -> None:
        return None

    def sex(self, number: str) -> Sex | None:
        return None


class CollectingNotifier:
    """Keeps every message it is asked to send."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.prefix = settings.get("prefix", "")
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)


class MarkdownReporter:
    """Headline figures of a report document as a Markdown table."""

    media_type = "text/markdown"
    suffix = ".md"

    def render(self, report: Report, *, lang: str = "en") -> str:
        lines = [f"# {report.title.text(lang)}", "", "| | |", "| --- | --- |"]
        for _, block in report.blocks():
            if isinstance(block, Figures):
                lines += [f"| {f.label.text(lang)} | {f.value} |" for f in block.items]
        return "\n".join(lines)


class TsvImporter:
    suffixes: tuple[str, ...] = (".tsv",)

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        with open(path, encoding="utf-8") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            for number, line in enumerate(handle, start=2):
                yield number, dict(zip(header, line.rstrip("\n").split("\t"), strict=True))


HEALTH_MONITORING_POINT = LineOfDefense(
    name="health_monitoring_point",
    title_en="Health monitoring points",
    title_zh="健康监测点",
    description="One point per village group, staffed by village cadres.",
    order=4,
)


def _is_febrile(temperature: float | None) -> bool | None:
    return None if temperature is None else temperature >= 37.3


IS_FEBRILE = RuleFunction(
    name="is_febrile",
    python=_is_febrile,
    sql={"sqlite": "({0} >= 37.3)", "postgresql": "({0} >= 37.3)"},
    doc="True when the temperature reaches the fever threshold.",
)


HEALTH_POINT_NOTES = PurgeField(table="health_point_visits", column="note", value="")


@click.group()
def points() -> None:
    """Health monitoring points."""


@points.command("count")
def count_points() -> None:
    """Print how many points there are."""
    click.echo("points: 0")


class EveryHookPlugin:
    """Implements every gridguard hook, registering one item each."""

    __name__ = PLUGIN_NAME

    def __init__(self, memory_factory: StorageFactory) -> None:
        self.memory_factory = memory_factory

    def open_testmem(self, url: str) -> Storage:
        # testmem://anything is a memory store under another scheme.
        return self.memory_factory("memory://" + url.split("://", 1)[1])

    @hookimpl
    def register_storage_backends(self, register: Callable[[str, StorageFactory], None]) -> None:
        register("testmem", self.open_testmem)

    @hookimpl
    def register_notifiers(self, register: Callable[[str, NotifierFactory], None]) -> None:
        register("collect", CollectingNotifier)

    @hookimpl
    def register_reporters(self, register: Callable[[str, ReporterFactory], None]) -> None:
        register("markdown", MarkdownReporter)

    @hookimpl
    def register_importers(self, register: Callable[[str, ImporterFactory], None]) -> None:
        register("tsv", TsvImporter)

    @hookimpl
    def register_lines_of_defense(self, register: Callable[[LineOfDefense], None]) -> None:
        register(HEALTH_MONITORING_POINT)

    @hookimpl
    def register_rule_functions(self, register: Callable[[RuleFunction], None]) -> None:
        register(IS_FEBRILE)

    @hookimpl
    def register_identity_schemes(self, register: Callable[[IdentityScheme], None]) -> None:
        register(XXScheme())

    @hookimpl
    def register_purge_fields(self, register: Callable[[PurgeField], None]) -> None:
        register(HEALTH_POINT_NOTES)

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        cli.add_command(points)


@pytest.fixture(scope="module")
def registries() -> Registries:
    builtin = collect_registries(get_plugin_manager(entry_points=False))
    plugin = EveryHookPlugin(builtin.storage_backends.get("memory"))
    pm = get_plugin_manager(entry_points=False, plugins=[plugin])
    assert pm.get_plugin(PLUGIN_NAME) is plugin
    return collect_registries(pm)


# -- one check per hook -----------------------------------------------------------------


def check_storage_backends(reg: Registries, tmp_path: Path) -> None:
    entry = reg.storage_backends.entry("testmem")
    assert entry.plugin == PLUGIN_NAME
    storage = entry.value("testmem://plugin-test")
    try:
        assert isinstance(storage, Storage)
        assert not storage.dialect.runs_sql
        area = Area(id="c1", name="Huayuan", level=AreaLevel.COMMUNITY)
        with storage.transaction() as uow:
            uow.put(Area, [area])
        with storage.transaction() as uow:
            assert uow.get(Area, "c1") == area
            assert uow.count(Area) == 1
    finally:
        storage.close()


def check_notifiers(reg: Registries, tmp_path: Path) -> None:
    assert reg.notifiers.entry("collect").plugin == PLUGIN_NAME
    notifier = reg.notifiers.get("collect")({"prefix": "[test]"})
    assert isinstance(notifier, Notifier)
    message = Message(recipient="grid-7", subject="check-in missing", body="Building 3")
    notifier.send(message)
    assert isinstance(notifier, CollectingNotifier)
    assert notifier.sent == [message]


def check_reporters(reg: Registries, tmp_path: Path) -> None:
    import datetime as dt

    assert reg.reporters.entry("markdown").plugin == PLUGIN_NAME
    reporter = reg.reporters.get("markdown")()
    assert isinstance(reporter, Reporter)
    figures = Figures("f", [Figure("households", Label("Households", "户数"), 4000)])
    report = Report(
        kind="daily",
        title=Label("Daily report", "日报"),
        area_id=None,
        area_name=None,
        day=None,
        generated_at=dt.datetime(2020, 1, 25, tzinfo=dt.UTC),
        sections=[Section("s", Label("Sweep", "走访"), [figures])],
    )
    assert reporter.render(report, lang="zh-CN").splitlines()[-1] == "| 户数 | 4000 |"


def check_importers(reg: Registries, tmp_path: Path) -> None:
    assert reg.importers.entry("tsv").plugin == PLUGIN_NAME
    importer = reg.importers.get("tsv")()
    assert isinstance(importer, Importer)
    path = tmp_path / "households.tsv"
    path.write_text("door\tfloor\n301\t3\n302\t3\n", encoding="utf-8")
    assert list(importer.read(path)) == [
        (2, {"door": "301", "floor": "3"}),
        (3, {"door": "302", "floor": "3"}),
    ]


def check_lines_of_defense(reg: Registries, tmp_path: Path) -> None:
    entry = reg.lines.entry("health_monitoring_point")
    assert entry.plugin == PLUGIN_NAME
    assert entry.value.title("zh-CN") == "健康监测点"
    # The builtins are still there beside it.
    assert {"door_to_door", "building_watch", "data_targeting"} <= set(reg.lines)


def check_rule_functions(reg: Registries, tmp_path: Path) -> None:
    entry = reg.rule_functions.entry("is_febrile")
    assert entry.plugin == PLUGIN_NAME
    function = entry.value
    assert isinstance(function, RuleFunction)
    assert function.python(37.3) is True
    assert function.python(36.5) is False
    assert function.python(None) is None
    assert function.sql["sqlite"].format("temperature") == "(temperature >= 37.3)"


def check_identity_schemes(reg: Registries, tmp_path: Path) -> None:
    entry = reg.identity_schemes.entry("XX")
    assert entry.plugin == PLUGIN_NAME
    scheme = entry.value
    assert isinstance(scheme, IdentityScheme)
    assert scheme.normalize("1234 5678") == "12345678"
    with pytest.raises(ValueError, match="check digit"):
        scheme.normalize("12345670")
    assert "CN" in reg.identity_schemes


def check_purge_fields(reg: Registries, tmp_path: Path) -> None:
    entry = reg.purge_fields.entry("health_point_visits.note")
    assert entry.plugin == PLUGIN_NAME
    assert entry.value is HEALTH_POINT_NOTES
    # The builtin columns are registered through the same hook.
    assert reg.purge_fields.entry("persons.resident_id").plugin == "gridguard.builtins.retention"


def check_commands(reg: Registries, tmp_path: Path) -> None:
    pm = get_plugin_manager(entry_points=False, plugins=[EveryHookPlugin(_unused)])
    commands = plugin_commands(pm)
    assert commands == {"points": points}
    result = CliRunner().invoke(commands["points"], ["count"])
    assert result.exit_code == 0, result.output
    assert result.output == "points: 0\n"


CHECKS: dict[str, Callable[[Registries, Path], None]] = {
    "register_storage_backends": check_storage_backends,
    "register_notifiers": check_notifiers,
    "register_reporters": check_reporters,
    "register_importers": check_importers,
    "register_lines_of_defense": check_lines_of_defense,
    "register_rule_functions": check_rule_functions,
    "register_identity_schemes": check_identity_schemes,
    "register_purge_fields": check_purge_fields,
    "register_commands": check_commands,
}


# -- the tests --------------------------------------------------------------------------


def test_hookspecs_are_found() -> None:
    assert HOOKSPECS, "no register_* hook found in gridguard.hookspecs"
    for name in HOOKSPECS:
        function = getattr(hookspecs, name)
        assert hasattr(function, f"{hookspecs.PROJECT_NAME}_spec"), f"{name} is not a hookspec"
        assert inspect.getdoc(function), f"{name} has no docstring"


def test_plugin_manager_knows_exactly_these_hooks() -> None:
    pm = get_plugin_manager(entry_points=False)
    specified = {
        name
        for name in dir(pm.hook)
        if not name.startswith("_") and getattr(pm.hook, name).has_spec()
    }
    assert specified == set(HOOKSPECS)


def test_test_plugin_implements_every_hook() -> None:
    plugin = EveryHookPlugin(lambda url: _unused(url))
    pm = get_plugin_manager(entry_points=False, plugins=[plugin])
    implemented = {caller.name for caller in pm.get_hookcallers(plugin) or []}
    assert implemented == set(HOOKSPECS)
    assert set(CHECKS) == set(HOOKSPECS)


def _unused(url: str) -> Storage:
    raise AssertionError("not opened in this test")


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_hook_is_exercised(hook: str, registries: Registries, tmp_path: Path) -> None:
    check = CHECKS.get(hook)
    assert check is not None, f"no check for {hook}: add one to CHECKS and EveryHookPlugin"
    check(registries, tmp_path)


def _doc_headings() -> list[str]:
    text = HOOKS_DOC.read_text(encoding="utf-8")
    return re.findall(r"^## +`?([A-Za-z_][A-Za-z0-9_]*)`? *$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_hook_is_documented(hook: str) -> None:
    headings = _doc_headings()
    assert hook in headings, f"docs/hooks.md has no '## {hook}' section"
    text = HOOKS_DOC.read_text(encoding="utf-8")
    section = text.split(f"## {hook}", 1)[1].split("\n## ", 1)[0]
    assert "@hookimpl" in section or "hookimpl" in section, f"{hook}: the section has no example"


def test_docs_describe_no_hook_that_does_not_exist() -> None:
    documented = {h for h in _doc_headings() if h.startswith("register_")}
    assert documented <= set(HOOKSPECS), documented - set(HOOKSPECS)
