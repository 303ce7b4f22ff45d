"""Plugins add commands to ``gridguard`` through the ``register_commands`` hook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gridguard.cli import main
from gridguard.cli._app import COMMANDS, plugin_commands
from gridguard.errors import PluginError
from gridguard.hookspecs import hookimpl
from gridguard.plugins import ALLOW_ENV, BLOCK_ENV, STRICT_ENV, get_plugin_manager
from plugin_site import Site

HOOKS_DOC = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"

POINTS_PLUGIN = '''
import click

import gridguard


@click.group()
def points():
    """Health monitoring points (健康监测点)."""


@points.command("count")
@click.option("--village", default="all")
def count(village):
    """Say how many points a village has."""
    click.echo(f"points in {village}: 3")


@gridguard.hookimpl
def register_commands(cli):
    cli.add_command(points)
'''


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ALLOW_ENV, BLOCK_ENV, STRICT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def points_plugin(site: Site) -> Site:
    site.add("gridguard-points", "1.0", {"gg_points": POINTS_PLUGIN}, {"points": "gg_points"})
    return site


def test_a_plugin_command_group_is_listed_by_help_and_runs(points_plugin: Site) -> None:
    runner = CliRunner()
    helped = runner.invoke(main, ["--help"])
    assert helped.exit_code == 0, helped.output
    assert re.search(r"^  points +Health monitoring points", helped.output, re.MULTILINE)
    # gridguard's own commands are still all there.
    for name in ("init", "plugins", "demo", *COMMANDS):
        assert re.search(rf"^  {name} ", helped.output, re.MULTILINE), name

    ran = runner.invoke(main, ["points", "count", "--village", "v3"])
    assert ran.exit_code == 0, ran.output
    assert ran.output == "points in v3: 3\n"


def test_the_gridguard_command_shows_the_plugin_command(points_plugin: Site) -> None:
    """The installed console script, in its own process, finds the entry point."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(points_plugin.path), *sys.path])}
    for name in (ALLOW_ENV, BLOCK_ENV, STRICT_ENV):
        env.pop(name, None)
    script = Path(sys.executable).with_name("gridguard")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gridguard.cli"]
    helped = subprocess.run(
        [*command, "--help"], env=env, capture_output=True, text=True, check=True
    )
    assert re.search(r"^  points +Health monitoring points", helped.stdout, re.MULTILINE)
    ran = subprocess.run(
        [*command, "points", "count"], env=env, capture_output=True, text=True, check=True
    )
    assert ran.stdout == "points in all: 3\n"


def test_a_blocked_plugin_adds_no_command(
    points_plugin: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BLOCK_ENV, "points")
    helped = CliRunner().invoke(main, ["--help"])
    assert helped.exit_code == 0
    assert not re.search(r"^  points ", helped.output, re.MULTILINE)
    ran = CliRunner().invoke(main, ["points", "count"])
    assert ran.exit_code == 2
    assert "No such command 'points'" in ran.output


def test_a_builtin_command_does_not_load_the_plugins(site: Site) -> None:
    """Only --help and unknown command names pay for loading plugins."""
    site.add(
        "gridguard-loud",
        "1.0",
        {"gg_loud": "raise SystemExit('the plugin was imported')\n"},
        {"loud": "gg_loud"},
    )
    result = CliRunner().invoke(main, ["rules", "--help"])
    assert result.exit_code == 0, result.output
    assert "the plugin was imported" not in result.output


def test_a_command_clashing_with_a_builtin_names_both(site: Site) -> None:
    site.add(
        "gridguard-clash",
        "1.0",
        {
            "gg_clash": """
            import click
            import gridguard

            @click.command("plan")
            def plan():
                '''Another plan.'''

            @gridguard.hookimpl
            def register_commands(cli):
                cli.add_command(plan)
            """
        },
        {"clash": "gg_clash"},
    )
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 2
    assert "command 'plan' is registered twice: by 'gridguard' and by 'clash'" in result.output


class CommandPlugin:
    def __init__(self, plugin_name: str, command_name: str) -> None:
        self.__name__ = plugin_name
        self.command = click.Command(command_name, callback=lambda: click.echo(plugin_name))

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        cli.add_command(self.command)


def test_two_plugins_adding_one_command_name_are_both_named() -> None:
    pm = get_plugin_manager(
        entry_points=False,
        plugins=[CommandPlugin("first", "tally"), CommandPlugin("second", "tally")],
    )
    with pytest.raises(
        PluginError, match="'tally' is registered twice: by 'first' and by 'second'"
    ):
        plugin_commands(pm)


def test_each_command_comes_from_its_own_plugin() -> None:
    first, second = CommandPlugin("first", "tally"), CommandPlugin("second", "census")
    pm = get_plugin_manager(entry_points=False, plugins=[first, second])
    assert plugin_commands(pm) == {"tally": first.command, "census": second.command}


def test_the_documented_example_adds_its_group() -> None:
    text = HOOKS_DOC.read_text(encoding="utf-8")
    section = text.split("\n## register_commands\n", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[1]
    namespace: dict[str, object] = {"__name__": "documented_commands"}
    exec(compile(example, "docs/hooks.md", "exec"), namespace)
    plugin = type(sys)("documented_commands")
    vars(plugin).update(namespace)
    pm = get_plugin_manager(entry_points=False, plugins=[plugin])
    commands = plugin_commands(pm)
    assert set(commands) == {"points"}
    listed = CliRunner().invoke(commands["points"], ["list", "--db", "memory://"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.split() == ["building_watch", "data_targeting", "door_to_door"]


def test_help_loads_the_plugins_but_none_of_their_heavy_dependencies() -> None:
    """Listing plugin commands imports each plugin's entry module, which imports little."""
    code = (
        "import json, sys\n"
        "from gridguard.cli import main\n"
        "main(['--help'], standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in (ALLOW_ENV, BLOCK_ENV, STRICT_ENV)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert "gridguard.plugins" in loaded
    assert {"gridguard_html", "gridguard_xlsx", "gridguard_smtp", "gridguard_webhook"} <= loaded
    heavy = {"psycopg", "jinja2", "matplotlib", "openpyxl", "xlsxwriter", "smtplib", "http.client"}
    assert sorted(heavy & loaded) == []
    assert (
        sorted(m for m in loaded if m.startswith(("gridguard.storage", "gridguard.workspace")))
        == []
    )
