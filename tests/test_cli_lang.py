"""Every command that prints speaks one language and fits an 80-column terminal.

The command tree is walked (gridguard's own commands and the plugins'), so
a command added later is either run here or named in :data:`NOT_RUN` with
the reason: the test fails on a command it does not know. Each command is
run on a copy of the Huayuan demo store with ``--lang zh-CN`` and ``--lang
en`` at ``COLUMNS=80`` and its output checked: no line wider than 80
columns (a CJK character counts two), no figure cut (each whole number of
the command's JSON form is in its text), no English word in the Chinese
output beyond ids and a few proper names, no Chinese in the English output
beyond the store's own names and addresses, and times in the campaign's
time zone.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from gridguard.cli import main

try:  # the width a terminal gives a character; wcwidth when installed
    from wcwidth import wcswidth as _wcswidth
except ImportError:  # pragma: no cover - depends on the environment
    _wcswidth = None

WIDTH = 80
CAMPAIGN = "442000002003-2020-ncov"
HOUSEHOLD = "442000002003-b001-1-201"
PERSON = "442000002003-b001-1-201-1"
GRID = "442000002003-g01"
DAY = "2020-01-30"

ALLOWED_WORDS = {
    # proper names, units, formats and standards printed as they are
    "JSON", "CSV", "XLSX", "HTML", "SQLite", "PostgreSQL", "TOML", "FHIR", "HTTP", "URL",
    "API", "ID", "id", "ids", "gridguard", "WeCom", "DingTalk", "SMTP", "SHA", "AES", "GCM",
    "UTC", "Asia", "Shanghai", "ncov", "cn", "national", "h", "s", "ms", "km", "C",
}  # fmt: skip

# Commands run: their arguments (``--db`` and ``--lang`` are added), and whether
# their ``--json`` form shows the same data as their text (so every figure of the
# JSON must be whole in the text).
RUNS: dict[str, tuple[list[str], bool]] = {
    "audit show": (["--last", "5"], False),
    "audit verify": ([], False),
    "campaign list": ([], False),
    "campaign show": ([CAMPAIGN], False),
    "coverage": (["--by", "grid"], True),
    "followup list": ([], True),
    "keys status": ([], False),
    "notify config": ([], False),
    "notify status": ([], True),
    "observer coverage": ([], True),
    "plugins": ([], False),
    "point list": ([], False),
    "quarantine census": (["--date", DAY], True),
    "quarantine check": (["--at", f"{DAY}T12:00"], False),
    "report daily": (["--date", DAY], False),
    "report household": ([HOUSEHOLD], False),
    "report linelist": (["--date", DAY, "--limit", "5"], False),
    "report person": ([PERSON], False),
    "report progress": (["--date", DAY], False),
    "report teams": (["--date", DAY], False),
    "review list": ([], False),
    "rules show": ([], False),
    "service overdue": (["--at", f"{DAY}T12:00"], True),
    "show household": ([HOUSEHOLD], False),
    "show person": ([PERSON], False),
    "targets": (["--grid", GRID, "--limit", "5"], False),
    "task list": ([], False),
    "team list": ([], True),
}

NOT_RUN: dict[str, str] = {
    # commands that change the store or need files made for them; their output
    # is built from the same helpers (say, echo, print_table) as the commands run
    "campaign close": "ends the campaign",
    "campaign create": "creates a campaign",
    "checkin missing": "escalates and queues messages",
    "checkin record": "needs a check-in file",
    "demo": "builds a store (the fixture runs it)",
    "import": "needs a register file",
    "init": "creates a store",
    "keys new": "writes a key file",
    "keys rotate": "re-encrypts the store",
    "match": "needs an outside list file",
    "notify configure": "needs a settings file",
    "notify digest": "queues messages",
    "notify dispatch": "sends messages",
    "observer assign": "changes an observer",
    "plan": "writes tasks",
    "point add": "adds a point",
    "point report": "records a report",
    "purge": "deletes facts",
    "quarantine extend": "changes an order",
    "quarantine order": "orders a quarantine",
    "quarantine release": "releases an order",
    "quarantine report": "records a health report",
    "review accept": "decides a review item",
    "review reject": "decides a review item",
    "rules check": "needs a rules file",
    "screen": "runs a screening",
    "service assign": "assigns a request",
    "service done": "completes a request",
    "service request": "records a request",
    "task assign": "assigns a task",
    "task close": "closes a task",
    "team create": "creates a team",
    "team import": "needs a team file",
    "visit record": "needs a visit file",
    "serve": "runs a server",
    "token create": "writes a token file",
    "token list": "prints the token file's JSON lines",
    "token revoke": "changes the token file",
    "export fhir": "prints a FHIR Bundle (JSON only)",
}


def _leaves(
    command: click.Command, ctx: click.Context, path: str = ""
) -> Iterator[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _leaves(sub, ctx, f"{path} {name}".strip())
    else:
        yield path, command


def _tree() -> dict[str, click.Command]:
    with click.Context(main) as ctx:
        return dict(_leaves(main, ctx))


def width(line: str) -> int:
    """Terminal columns ``line`` takes: an East Asian wide or full-width character is two."""
    if _wcswidth is not None:
        measured = _wcswidth(line)
        if measured >= 0:
            return int(measured)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_width_counts_cjk_as_two() -> None:
    assert width("户数 12") == 7
    assert width("abc") == 3


def test_every_command_is_known_and_takes_lang() -> None:
    tree = _tree()
    unknown = sorted(set(tree) - set(RUNS) - set(NOT_RUN))
    assert not unknown, f"commands neither run nor excused here: {unknown}"
    gone = sorted((set(RUNS) | set(NOT_RUN)) - set(tree))
    assert not gone, f"commands listed here that no longer exist: {gone}"
    without = sorted(
        name for name, c in tree.items() if not any(p.name == "lang" for p in c.params)
    )
    assert not without, f"commands without --lang: {without}"


@pytest.fixture(scope="module")
def store(
    huayuan_demo: tuple[dict[str, Any], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the demo store (some commands below note what they read in the audit log)."""
    copy = tmp_path_factory.mktemp("lang") / "huayuan.db"
    shutil.copy(huayuan_demo[1], copy)
    return copy


@pytest.fixture(scope="module")
def known(store: Path) -> dict[str, set[str]]:
    """The store's ids (allowed in Chinese output) and its names' Chinese (allowed in English)."""
    conn = sqlite3.connect(store)
    ids: set[str] = set()
    names: set[str] = set()
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                if (
                    column == "id"
                    or column.endswith("_id")
                    or column in ("channel", "topic", "version")
                ):
                    for (value,) in conn.execute(f"SELECT DISTINCT {column} FROM {table}"):
                        if isinstance(value, str):
                            ids.add(value)
                if column in (
                    "name",
                    "address",
                    "compound",
                    "note",
                    "members",
                    "symptoms",
                    "outbreak_areas",
                ):
                    for (value,) in conn.execute(f"SELECT DISTINCT {column} FROM {table}"):
                        if isinstance(value, str):
                            names.update(_cjk_runs(value))
    finally:
        conn.close()
    return {"ids": ids, "names": names}


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(
    r"(?<![\w.-])[A-Za-z][A-Za-z'-]*[A-Za-z](?![\w.-])|(?<![\w.-])[A-Za-z](?![\w.-])"
)


def _cjk_runs(text: str) -> set[str]:
    return set(_CJK.findall(text))


def _english_words(text: str, ids: set[str]) -> set[str]:
    """Words of English letters in ``text`` that are not ids, paths, times or allowed names."""
    found: set[str] = set()
    for token in re.split(r"[\s,;:()（）\[\]{}<>=\"“”'，、：；。|│─━┃┏┓┗┛┡┩└┘┌┐├┤┬┴┼╇╈═]+", text):
        bare = token.strip(".…*'\"`")
        if (
            not bare
            or bare in ids
            or any(ch.isdigit() for ch in bare)
            or "/" in bare
            or "@" in bare
        ):
            continue
        if any(i in bare for i in ids if len(i) > 6):
            continue
        for word in _WORD.findall(bare):
            if word not in ALLOWED_WORDS:
                found.add(word)
    return found


def _stored_words(store: Path, name: str) -> set[str]:
    """The words of the stored text ``name`` prints as it was written (:data:`STORED_TEXT`)."""
    words: set[str] = set()
    conn = sqlite3.connect(store)
    try:
        for table, column in STORED_TEXT.get(name, []):
            for (value,) in conn.execute(f"SELECT DISTINCT {column} FROM {table}"):
                if isinstance(value, str):
                    words.update(re.findall(r"[A-Za-z]+", value))
                    words.update(re.findall(r"[A-Za-z][\w.-]*[A-Za-z]", value))
    finally:
        conn.close()
    return words


def _numbers(data: Any) -> Iterator[int]:
    """Whole numbers in a JSON value (a boolean is not one)."""
    if isinstance(data, bool):
        return
    if isinstance(data, int):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _numbers(value)
    elif isinstance(data, list):
        for value in data:
            yield from _numbers(value)


NO_STORE = {"plugins"}
"""Commands run without ``--db``."""

NAMES_ONLY = {"plugins"}
"""Commands that list names (plugins, hooks, registered formats): ids, not labels."""


def _json_words(text: str) -> set[str]:
    """Every word in the string values of a JSON text."""
    words: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, str):
            words.update(re.findall(r"[A-Za-z]+", value))
            words.update(re.findall(r"[A-Za-z][\w.-]*[A-Za-z]", value))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(key)
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(json.loads(text))
    return words


STORED_TEXT: dict[str, list[tuple[str, str]]] = {
    # Commands that print text stored as it was written (not labels): the words of
    # these (table, column)s are allowed in their Chinese output.
    "audit show": [("audit_log", c) for c in ("principal", "action", "target", "reason")],
    "notify config": [("notify_configurations", "source"), ("notify_configurations", "settings")],
    "report linelist": [("tasks", "note")],
}


def _run(
    store: Path, name: str, args: list[str], lang: str | None, *, as_json: bool = False
) -> str:
    extra = ["--json"] if as_json else []
    lang_args = ["--lang", lang] if lang else []
    db = [] if name in NO_STORE else ["--db", str(store)]
    result = CliRunner().invoke(
        main,
        [*name.split(), *db, *args, *extra, *lang_args],
        env={"COLUMNS": str(WIDTH), "GRIDGUARD_DB": None, "GRIDGUARD_LANG": None},
    )
    assert result.exit_code in (0, 1), f"{name}: exit {result.exit_code}\n{result.output}"
    return result.output


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("name", sorted(RUNS))
def test_output_is_in_one_language_and_fits_80_columns(
    store: Path, known: dict[str, set[str]], name: str, lang: str
) -> None:
    args, same_data = RUNS[name]
    text = _run(store, name, args, lang)
    assert text.strip(), f"{name} printed nothing"
    wide = [line for line in text.splitlines() if width(line) > WIDTH]
    assert not wide, f"{name} --lang {lang}: lines wider than {WIDTH}:\n" + "\n".join(wide)
    assert not re.search(r"\d…|…\d", text), f"{name}: a figure is cut:\n{text}"
    assert "+00:00" not in text, f"{name}: a time in UTC, not the campaign's zone:\n{text}"
    if lang == "zh-CN":
        english = _english_words(text, known["ids"]) - _stored_words(store, name)
        if name in NAMES_ONLY:  # what it lists are names: its JSON form's words are allowed
            english -= _json_words(_run(store, name, args, None, as_json=True))
        assert not english, f"{name} --lang zh-CN prints English: {sorted(english)}\n{text}"
    else:
        chinese = {run for run in _cjk_runs(text) if not any(run in n for n in known["names"])}
        assert not chinese, f"{name} --lang en prints Chinese: {sorted(chinese)}\n{text}"
    if same_data:
        data = json.loads(_run(store, name, args, None, as_json=True))
        shown = {int(n.replace(",", "")) for n in re.findall(r"(?<![\w.])\d[\d,]*(?![\w])", text)}
        missing = sorted({n for n in _numbers(data) if n not in shown})
        assert not missing, (
            f"{name} --lang {lang}: figures of its JSON not whole in the text: {missing}\n{text}"
        )


def test_the_default_language_is_chinese(store: Path) -> None:
    assert _run(store, "coverage", [], None) == _run(store, "coverage", [], "zh-CN")
