"""Registries come from the workspace's plugin manager, the same through every way in.

``gridguard.open()`` and ``Workspace(storage, plugin_manager=pm)`` validate
identity numbers with the schemes of the workspace's plugins, and a purge
redacts the columns they registered; no plugin changes what another
workspace, or code outside any workspace, sees.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import attrs
import pytest

import gridguard
from gridguard.errors import ValidationError
from gridguard.hookspecs import hookimpl
from gridguard.model import (
    IdentityScheme,
    Person,
    ResidentId,
    Sex,
    get_identity_scheme,
    identity_schemes,
    identity_schemes_in_use,
)
from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.security.crypto.fields import INDEX_COLUMNS, INDEX_TABLE
from gridguard.security.retention import (
    BLIND_INDEX_PURGE_FIELDS,
    PURGE_FIELDS,
    PurgeField,
)
from gridguard.storage.memory import MemoryStorage
from gridguard.testing import sample_records


class PassportScheme:
    """Six to twelve letters and digits, upper case."""

    name = "PASSPORT"

    def normalize(self, text: str) -> str:
        number = text.replace(" ", "").upper()
        if not (6 <= len(number) <= 12 and number.isalnum() and number.isascii()):
            raise ValueError("a passport number is 6-12 letters and digits")
        return number

    def birth_date(self, number: str) -> dt.date | None:
        return None

    def sex(self, number: str) -> Sex | None:
        return None


class PassportPlugin:
    __name__ = "passport"

    @hookimpl
    def register_identity_schemes(self, register: Callable[[IdentityScheme], None]) -> None:
        register(PassportScheme())


def _by_constructor() -> gridguard.Workspace:
    pm = get_plugin_manager(entry_points=False, plugins=[PassportPlugin()])
    return gridguard.Workspace(MemoryStorage.open("memory://"), plugin_manager=pm)


def _by_open() -> gridguard.Workspace:
    return gridguard.open("memory://", plugins=[PassportPlugin()])


OPENERS = {"constructor": _by_constructor, "open": _by_open}


@pytest.fixture(params=sorted(OPENERS))
def passport_ws(request: pytest.FixtureRequest) -> Iterator[gridguard.Workspace]:
    ws = OPENERS[request.param]()
    yield ws
    ws.close()


def _traveller(resident_id: str) -> Person:
    return Person(id="p9", household_id="h1", name="Li Lei", resident_id=resident_id)


def test_a_plugin_scheme_works_through_open_and_the_constructor(
    passport_ws: gridguard.Workspace,
) -> None:
    assert "PASSPORT" in passport_ws.identity_schemes
    with identity_schemes_in_use(passport_ws.identity_schemes):
        person = _traveller("PASSPORT:e 1234567")
        assert person.resident_id == ResidentId("E1234567", "PASSPORT")
        with pytest.raises(ValidationError, match="6-12 letters and digits"):
            _traveller("PASSPORT:E1")
    passport_ws.add([*sample_records(), person])
    # Reads are validated with the workspace's schemes: inside its transactions.
    assert str(passport_ws.get(Person, "p9").resident_id) == "PASSPORT:E1234567"
    with passport_ws.transaction(write=False) as uow:
        stored = uow.get(Person, "p9")
    assert stored is not None
    assert str(stored.resident_id) == "PASSPORT:E1234567"
    found = passport_ws.find(Person, id="p9")
    assert [str(p.resident_id) for p in found] == ["PASSPORT:E1234567"]
    # And inside its with block, where records are built.
    with passport_ws:
        traveller = _traveller("PASSPORT:E7654321")
        assert traveller.resident_id == ResidentId("E7654321", "PASSPORT")


def test_a_plugin_scheme_stays_with_its_workspace(passport_ws: gridguard.Workspace) -> None:
    # Outside the workspace, and in another workspace without the plugin, it is unknown.
    with pytest.raises(ValidationError, match=r"unknown identity scheme \(known: CN\)"):
        _traveller("PASSPORT:E1234567")
    assert "PASSPORT" not in identity_schemes()
    with gridguard.open("memory://", plugins=[]) as plain:
        assert "PASSPORT" not in plain.identity_schemes
        with pytest.raises(ValidationError, match="unknown identity scheme"):
            _traveller("PASSPORT:E1234567")
        # Nested: the innermost workspace's schemes are the ones in use.
        with passport_ws:
            assert _traveller("PASSPORT:E1234567").resident_id is not None
        with pytest.raises(ValidationError, match="unknown identity scheme"):
            _traveller("PASSPORT:E1234567")


def test_schemes_in_use_are_scoped_to_the_thread(passport_ws: gridguard.Workspace) -> None:
    seen: list[str] = []

    def elsewhere() -> None:
        try:
            get_identity_scheme("PASSPORT")
        except ValidationError:
            seen.append("unknown")

    with passport_ws:
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert get_identity_scheme("PASSPORT").name == "PASSPORT"
    assert seen == ["unknown"]


def test_schemes_in_use_without_a_workspace() -> None:
    with identity_schemes_in_use({"PASSPORT": PassportScheme()}):
        assert ResidentId.from_str("PASSPORT:AB123456").number == "AB123456"
        # The builtin scheme is still there.
        assert ResidentId("11010519491231002X").scheme == "CN"
    with pytest.raises(ValidationError, match="unknown identity scheme"):
        ResidentId.from_str("PASSPORT:AB123456")


def test_open_no_longer_registers_schemes_for_the_whole_process() -> None:
    before = identity_schemes()
    ws = gridguard.open("memory://", plugins=[PassportPlugin()])
    try:
        assert identity_schemes() == before
    finally:
        ws.close()


# -- purge fields -----------------------------------------------------------------------


NOTES = PurgeField(table="health_point_visits", column="note", value="")


class NotesPlugin:
    __name__ = "notes"

    @hookimpl
    def register_purge_fields(self, register: Callable[[PurgeField], None]) -> None:
        register(NOTES)


def test_purge_fields_come_from_the_plugin_manager() -> None:
    builtin = collect_registries(get_plugin_manager(entry_points=False)).purge_fields
    assert {entry.value for entry in builtin.entries()} == {
        *PURGE_FIELDS,
        *BLIND_INDEX_PURGE_FIELDS,
    }
    assert {entry.plugin for entry in builtin.entries()} == {"gridguard.builtins.retention"}
    with_notes = collect_registries(
        get_plugin_manager(entry_points=False, plugins=[NotesPlugin()])
    ).purge_fields
    assert with_notes.entry("health_point_visits.note").plugin == "notes"
    # A plugin's field is its workspace's alone.
    assert "health_point_visits.note" not in builtin


def test_a_column_registered_twice_names_both_plugins() -> None:
    class Again:
        __name__ = "again"

        @hookimpl
        def register_purge_fields(self, register: Callable[[PurgeField], None]) -> None:
            register(attrs.evolve(PURGE_FIELDS[0], value="x"))

    pm = get_plugin_manager(entry_points=False, plugins=[Again()])
    with pytest.raises(
        gridguard.PluginError,
        match=re.escape(
            "purge field 'persons.name' is registered twice: "
            "by 'gridguard.builtins.retention' and by 'again'"
        ),
    ):
        collect_registries(pm)


def test_blind_index_purge_fields_match_the_field_encryption_tables() -> None:
    assert {(f.table, f.column) for f in BLIND_INDEX_PURGE_FIELDS} == {
        (INDEX_TABLE, column) for column in INDEX_COLUMNS
    }
    assert {(f.owner, f.key) for f in BLIND_INDEX_PURGE_FIELDS} == {("persons", "person_id")}


def test_blocking_the_builtin_retention_plugin_leaves_nothing_to_purge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDGUARD_BLOCK_PLUGINS", "gridguard.builtins.retention")
    assert len(collect_registries(get_plugin_manager(entry_points=False)).purge_fields) == 0


# -- plugins import only the protocols --------------------------------------------------

WORKFLOWS = (
    "sweep",
    "rules",
    "quarantine",
    "targeting",
    "watch",
    "screening",
    "reporting",
    "notifications",
    "services",
    "workspace",
    "storage",
)


def test_the_plugins_load_no_workflow() -> None:
    code = (
        "import json, sys\n"
        "import gridguard_html, gridguard_xlsx, gridguard_smtp, gridguard_webhook\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert {"gridguard_html", "gridguard_xlsx", "gridguard_smtp", "gridguard_webhook"} <= loaded
    workflows = sorted(
        name for name in loaded if name.startswith("gridguard.") and name.split(".")[1] in WORKFLOWS
    )
    assert workflows == []
