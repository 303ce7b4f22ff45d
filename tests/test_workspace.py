"""The workspace facade: batches all-in or all-out, error paths, principals, URLs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import gridguard
from gridguard import (
    AccessDenied,
    Area,
    AreaLevel,
    ConflictError,
    Household,
    MemberRole,
    NotFoundError,
    PluginError,
    Principal,
    Role,
    Team,
    TeamMember,
    ValidationError,
    Visit,
)
from gridguard.testing import SAMPLE_START, sample_facts, sample_records
from gridguard.workspace import resolve_url


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    target = "memory://" if request.param == "memory" else tmp_path / "ws.db"
    with gridguard.open(target) as workspace:
        yield workspace


def _visits(n: int, household: str = "h1") -> list[Visit]:
    return [
        Visit(
            id=uuid.UUID(int=i + 1),
            at=SAMPLE_START + dt.timedelta(seconds=i),
            household_id=household,
            outcome="screened",
        )
        for i in range(n)
    ]


def test_resolve_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDGUARD_DB", raising=False)
    assert resolve_url(None) == "memory://"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_url(tmp_path / "a.db") == f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("GRIDGUARD_DB", "sqlite:///from-env.db")
    assert resolve_url(None) == "sqlite:///from-env.db"


def test_unknown_url_scheme_names_the_known_ones() -> None:
    with pytest.raises(PluginError, match=r"no storage backend called 'oracle'") as info:
        gridguard.open("oracle://db")
    known = str(info.value).split("known: ", 1)[1]
    assert {"memory", "sqlite"} <= set(known.rstrip(")").split(", "))


def test_add_mixed_records_in_any_order(ws: gridguard.Workspace) -> None:
    records = list(reversed(sample_records()))
    result = ws.add(records)
    assert result.written == len(records)
    assert ws.counts()["persons"] == 4
    assert ws.add(records).unchanged == len(records)


def test_a_bad_record_in_a_later_chunk_leaves_the_whole_input_out(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    households = [
        Household(
            id=f"new{i}", stairwell_id="s1", floor=1 + i % 7, door=f"{i}", address=f"addr {i}"
        )
        for i in range(25)
    ]
    households[17] = attrs.evolve(households[17], stairwell_id="missing")
    with pytest.raises(ValidationError) as info:
        ws.add(households, batch_size=10)
    assert [v.path for v in info.value.violations] == ["$[17].stairwell_id"]
    assert ws.count(Household) == 3


def test_fact_batch_positions_survive_grouping_by_type(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    facts = sample_facts()
    facts.insert(5, Visit(household_id="ghost", outcome="vacant", at=SAMPLE_START))
    with pytest.raises(ValidationError) as info:
        ws.record(facts, batch_size=4)
    assert [v.path for v in info.value.violations] == ["$[5].household_id"]
    assert sum(ws.counts()[t] for t in ("visits", "screenings", "checkins")) == 0


def test_record_is_idempotent_and_detects_conflicts(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    visits = _visits(300)
    assert ws.record(visits, batch_size=64).written == 300
    again = ws.record(visits, batch_size=64)
    assert (again.written, again.unchanged) == (0, 300)
    with pytest.raises(ConflictError):
        ws.record([*_visits(3), attrs.evolve(visits[299], outcome="refused")])
    assert ws.count(Visit) == 300


def test_records_of_the_wrong_kind_are_refused(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    with pytest.raises(ValidationError, match=r"\$\[0\]: not a registry entry"):
        ws.add(_visits(1))
    with pytest.raises(ValidationError, match=r"\$\[1\]: not a fact"):
        ws.record([*_visits(1), sample_records()[0]])


def test_sweep_team_without_a_doctor_is_refused(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    team = Team(
        id="t2",
        name="第二小分队",
        area_id="c1",
        members=(
            TeamMember(name="甲", role=MemberRole.CADRE),
            TeamMember(name="乙", role=MemberRole.POLICE),
        ),
    )
    with pytest.raises(
        ValidationError, match=r"\$\[0\]\.members: a sweep team needs at least 1 doctor"
    ):
        ws.add([team])
    assert ws.count(Team) == 1


def test_area_level_must_be_below_the_parent(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    with pytest.raises(ValidationError, match=r"\$\[0\]\.level: must be below"):
        ws.add([Area(id="odd", name="odd", level=AreaLevel.DISTRICT, parent_id="g1")])


def test_update_with_optimistic_concurrency(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    h1 = ws.get(Household, "h1")
    version = ws.version(Household, "h1")
    assert ws.update(attrs.evolve(h1, door="101A"), expected_version=version) == version + 1
    with pytest.raises(ConflictError, match="read version 1, stored version 2"):
        ws.update(attrs.evolve(h1, door="101B"), expected_version=version)
    assert ws.get(Household, "h1").door == "101A"
    with pytest.raises(NotFoundError):
        ws.update(attrs.evolve(h1, id="h404"), expected_version=1)


def test_get_missing_is_not_found(ws: gridguard.Workspace) -> None:
    with pytest.raises(NotFoundError, match="no Household with id 'nope'"):
        ws.get(Household, "nope")


def test_find_and_count(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    ws.record(sample_facts())
    assert [p.name for p in ws.find(gridguard.Person, household_id="h1")] == ["陈建国", "李秀英"]
    assert ws.count(Visit, outcome="screened") == 2


def test_transactions_group_several_calls(ws: gridguard.Workspace) -> None:
    ws.add(sample_records())
    with pytest.raises(RuntimeError), ws.transaction():
        ws.record(_visits(5))
        ws.add([attrs.evolve(ws.get(Household, "h2"), door="202")])
        raise RuntimeError("stop")
    assert ws.count(Visit) == 0
    assert ws.get(Household, "h2").door == "201"


def test_an_auditor_may_read_but_not_write(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with gridguard.open(path) as admin:
        admin.add(sample_records())
    auditor = Principal(name="审计员", role=Role.AUDITOR)
    with gridguard.open(path, principal=auditor) as ws:
        assert ws.count(Household) == 3
        with pytest.raises(AccessDenied, match="auditor"):
            ws.record(_visits(1))
        assert ws.count(Visit) == 0


def test_lines_of_defense_are_registered(ws: gridguard.Workspace) -> None:
    assert ws.lines.names() == ["building_watch", "data_targeting", "door_to_door"]
    assert ws.lines.get("door_to_door").title("zh-CN") == "入户走访"


def test_validation_errors_map_back_to_input_positions() -> None:
    exc = ValidationError(
        [
            gridguard.Violation("$[0].household_id", "'x'", "unknown household"),
            gridguard.Violation("$[1]", "Visit", "not a registry entry"),
            gridguard.Violation("$.name", "''", "must not be empty"),
        ]
    )
    mapped = exc.at_positions([4, 9])
    assert [v.path for v in mapped.violations] == ["$[4].household_id", "$[9]", "$.name"]
    assert [v.rule for v in mapped.violations] == [v.rule for v in exc.violations]


def test_a_read_is_audited_with_the_next_write_or_once_its_time_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gridguard.workspace as workspace
    from gridguard.security.audit import AuditEntry

    def actions(ws: gridguard.Workspace) -> list[str]:
        return [e.action for e in sorted(ws.find(AuditEntry), key=lambda e: e.seq)]

    with gridguard.open(tmp_path / "held.db") as ws:
        ws.add(sample_records())
        ws.get(gridguard.Person, "p1")
        assert actions(ws) == ["write"]  # held back: the oldest read is not 2 s old
        monkeypatch.setattr(workspace, "AUDIT_READS_SECONDS", 0.0)
        ws.get(gridguard.Person, "p2")
        assert actions(ws) == ["write", "read", "read"]  # time is up: both go, in order


def test_a_refusal_inside_a_transaction_is_audited_though_the_transaction_rolls_back(
    tmp_path: Path,
) -> None:
    from gridguard.security.audit import AuditEntry

    path = tmp_path / "refused.db"
    with gridguard.open(path) as admin:
        admin.add(sample_records())
    grid_worker = Principal(name="张敏", role=Role.GRID_WORKER, area_id="g1")
    with gridguard.open(path, principal=grid_worker) as ws:
        with pytest.raises(AccessDenied), ws.atomic():
            ws.record(_visits(1))
            ws.record(_visits(1, household="h3"))  # h3 lies in the other community
        assert ws.count(Visit) == 0
    with gridguard.open(path) as admin:
        entries = sorted(admin.find(AuditEntry), key=lambda e: e.seq)
    assert [(e.action, e.outcome) for e in entries] == [("write", "allowed"), ("write", "denied")]
    assert entries[-1].principal == "张敏"
    assert "outside" in entries[-1].reason


def test_the_facade_and_its_names_stay_where_callers_find_them() -> None:
    from gridguard.workspace import (
        AUDIT_READS_HELD,
        DEFAULT_BATCH,
        WHOLE_STORE,
        Workspace,
        open_workspace,
    )

    assert gridguard.Workspace is Workspace
    assert gridguard.open is open_workspace
    assert (WHOLE_STORE, DEFAULT_BATCH, AUDIT_READS_HELD) == ("*", 5000, 256)
    public = {n for n in vars(Workspace) if not n.startswith("_")}
    assert {"add", "update", "record", "load_rows", "get", "version", "find", "count"} <= public
    assert {"counts", "authorize", "authorize_records", "in_scope", "scope_jurisdictions"} <= public
    assert {"transaction", "flush_audit", "close"} <= public


def test_import_gridguard_loads_neither_the_workspace_nor_a_workflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gridguard\n"
        "heavy = ('workspace', '_workspace', 'storage', 'plugins', 'sweep', 'watch',\n"
        "         'quarantine', 'services', 'targeting', 'screening', 'rules')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[:2][-1] in heavy\n"
        "                and m.startswith('gridguard.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("package", ["quarantine", "services", "targeting", "watch"])
def test_a_workflow_package_binds_every_public_name_when_imported(package: str) -> None:
    import importlib

    module = importlib.import_module(f"gridguard.{package}")
    assert not hasattr(module, "__getattr__")  # no lazy look-up behind the names
    missing = [name for name in module.__all__ if name not in vars(module)]
    assert not missing
