"""The CLI's scope: a few commands run as each of the eight roles (``--as ROLE:AREA``).

The store is one of the random place trees of the API-wide scope test
(:mod:`test_access_api_wide`), with its visits, orders, tasks and messages.
Each command, run as each role over a random grid, community or building,
must end with exit code 0, 1 or 2 and no traceback, show nothing of what lies
outside the scope (no id, address or phone) nor an address or phone the role
may not read, write nothing outside it, and leave an audit entry for every
refusal. A household or person outside the scope and one that does not exist
get the same answer.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Household, Person
from gridguard.cli import main
from test_access_api_wide import (
    AT,
    DAY,
    Store,
    audit_count,
    build,
    echo,
    place_trees,
    principals,
    scope_of,
    snapshot,
    tokens_in,
)

COMMANDS: list[list[str]] = [
    ["coverage", "--by", "grid", "--json"],
    ["followup", "list", "--json", "--unmask"],
    ["followup", "list", "--refused", "--json"],
    ["targets", "--json", "--unmask"],
    ["task", "list", "--status", "all", "--json"],
    ["audit", "show", "--json"],
    ["report", "daily", "--date", DAY.isoformat(), "--format", "json"],
    ["report", "linelist", "--date", DAY.isoformat(), "--format", "json", "--unmask"],
]
"""Commands without an id: run as they are."""

BY_ID: list[tuple[list[str], type[Any]]] = [
    (["show", "household", "{id}", "--json", "--unmask"], Household),
    (["show", "person", "{id}", "--json", "--unmask"], Person),
    (["report", "household", "{id}", "--format", "json", "--unmask"], Household),
]
"""Commands about one record: run for one inside the scope, one outside and one unknown."""


def invoke(store: Store, acting_as: str, args: list[str]) -> Any:
    runner = CliRunner()
    db = str(store.folder / "scope.db")
    return runner.invoke(main, ["--as", acting_as, *args, "--db", db], catch_exceptions=True)


def acting(principal: gridguard.Principal) -> str:
    where = principal.building_id or principal.area_id or "*"
    return f"{principal.role.value}:{where}"


def run_command(store: Store, principal: gridguard.Principal, args: list[str], id: str) -> str:
    """Run one command as ``principal``; check exit code, output, writes and audit."""
    admin = store.admin
    scope = scope_of(store, principal)
    before_audit, before = audit_count(admin), snapshot(admin)
    result = invoke(store, acting(principal), args)
    where = f"gridguard --as {acting(principal)} {' '.join(args)}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{where}: {result.exception!r}\n{result.output}"
    )
    assert result.exit_code in (0, 1, 2), f"{where}: exit {result.exit_code}"
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.strip().startswith("error:"), f"{where}: {result.output}"
        assert len(result.output.strip().splitlines()) == 1, f"{where}: {result.output}"
    leaked = tokens_in(result.output) - echo(id) & (scope.outside | scope.unreadable)
    assert not leaked, f"{where} showed {sorted(leaked)}"
    after = snapshot(admin)
    written = set().union(*(tokens_in(after[t] - before.get(t, set())) for t in after))
    assert not written & scope.outside, f"{where} wrote {sorted(written & scope.outside)}"
    if "may not" in result.output:
        assert audit_count(admin) > before_audit, f"{where}: the refusal was not audited"
    answer = result.output.replace(id, "ID") if id else result.output
    return re.sub(r"; did you mean .*", "", answer)  # the closest ids of her own scope


def check_cli(store: Store, data: st.DataObject) -> None:
    visits = store.path(".jsonl")
    for principal in principals(store, data):
        scope = scope_of(store, principal)
        for args in COMMANDS:
            run_command(store, principal, args, "")
        for template, cls in BY_ID:
            known = store.ids(cls)
            inside = [i for i in known if i not in scope.outside]
            outside = [i for i in known if i in scope.outside]
            missing = "hc9g9x9" if cls is Household else "phc9g9x9"
            if inside:
                i = data.draw(st.sampled_from(inside))
                run_command(store, principal, [a.replace("{id}", i) for a in template], i)
            unknown = run_command(
                store, principal, [a.replace("{id}", missing) for a in template], missing
            )
            if outside:
                other = data.draw(st.sampled_from(outside))
                answer = run_command(
                    store, principal, [a.replace("{id}", other) for a in template], other
                )
                assert answer == unknown, (
                    f"{template[:2]} as {acting(principal)}: {other} (outside) and "
                    f"{missing} (unknown) get different answers:\n{answer}\n{unknown}"
                )
        household = data.draw(st.sampled_from(store.ids(Household)))
        line = {"household_id": household, "at": AT.isoformat(), "outcome": "vacant"}
        visits.write_text(json.dumps(line) + "\n", encoding="utf-8")
        run_command(store, principal, ["visit", "record", str(visits), "--json"], household)


@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(tree=place_trees(), data=st.data())
def test_commands_keep_to_the_scope_of_the_principal_chosen(
    tree: list[Any], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        admin = gridguard.open(Path(folder) / "scope.db")
        try:
            store = build(admin, Path(folder), tree, ["not_home", "refused"])
            check_cli(store, data)
        finally:
            admin.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("grid_wroker:g1", "unknown role 'grid_wroker'; did you mean 'grid_worker'?"),
        ("grid_worker", "say the area after the role"),
        ("grid_worker:nowhere", "unknown area 'nowhere'"),
    ],
)
def test_a_bad_principal_is_a_usage_error(tmp_path: Path, value: str, message: str) -> None:
    gridguard.open(tmp_path / "w.db").close()
    result = CliRunner().invoke(main, ["--as", value, "coverage", "--db", str(tmp_path / "w.db")])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
