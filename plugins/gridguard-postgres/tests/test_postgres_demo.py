"""``gridguard demo --db postgresql://...``: the whole demo in PostgreSQL, on an empty schema."""

from __future__ import annotations

import json

from click.testing import CliRunner
from pg_helpers import SchemaUrl

from gridguard.cli import main


def test_the_demo_runs_in_postgresql_and_refuses_a_store_that_is_not_empty(
    pg_schema_url: SchemaUrl, tmp_path: object
) -> None:
    url = pg_schema_url()
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--db", url, "--json", "--out", str(tmp_path)])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["database"] == url
    assert summary["stairwells"] == 430
    assert summary["households"] > 4_000
    again = runner.invoke(main, ["demo", "--db", url, "--json", "--out", str(tmp_path)])
    assert again.exit_code == 2
    assert "already holds" in again.output
    assert "the demo needs an empty store" in again.output
