"""The commands reach ``gridguard`` through the register_commands hook."""

from __future__ import annotations

from pathlib import Path

import click
import gridguard_http
import pytest
from click.testing import CliRunner
from http_world import has_command_hook


def test_the_hook_implementation_adds_serve_token_and_export() -> None:
    cli = click.Group("gridguard")
    gridguard_http.register_commands(cli)
    assert set(cli.commands) == {"serve", "token", "export"}
    export = cli.commands["export"]
    assert isinstance(export, click.Group)
    assert set(export.commands) == {"fhir"}


@pytest.mark.skipif(not has_command_hook(), reason="gridguard has no register_commands hook yet")
def test_gridguard_lists_and_runs_them(tmp_path: Path) -> None:
    from gridguard.cli import main

    listing = CliRunner().invoke(main, ["--help"])
    assert listing.exit_code == 0
    for name in ("serve", "token", "export"):
        assert f"  {name} " in listing.output
    tokens = tmp_path / "t.json"
    made = CliRunner().invoke(
        main,
        [
            "token",
            "create",
            "--db",
            str(tmp_path / "s.db"),
            "--tokens",
            str(tokens),
            "--role",
            "grid_worker",
            "--area",
            "g1",
        ],
    )
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("ggt_")
    assert tokens.exists()
