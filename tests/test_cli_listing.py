"""``gridguard --help`` lists plugin commands from a cache, and never a stale one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gridguard.plugins import ALLOW_ENV, BLOCK_ENV, STRICT_ENV
from plugin_site import Site

PLUGIN = '''
import click
import gridguard


@click.command("points")
def points():
    """{help}"""


@gridguard.hookimpl
def register_commands(cli):
    cli.add_command(points)
'''

HELP_AND_MODULES = (
    "import json, sys\n"
    "from gridguard.cli import main\n"
    "try:\n"
    "    main(['--help'], prog_name='gridguard')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(json.dumps('gg_points' in sys.modules))\n"
)


def _help(site: Site) -> tuple[str, bool]:
    """``gridguard --help`` in a fresh process: its listing, and whether the plugin loaded."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.path), *sys.path])}
    for name in (ALLOW_ENV, BLOCK_ENV, STRICT_ENV):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", HELP_AND_MODULES], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    *listing, loaded = done.stdout.splitlines()
    return "\n".join(listing), json.loads(loaded)


@pytest.fixture
def points(site: Site) -> Site:
    site.add(
        "gridguard-points",
        "1.0",
        {"gg_points": PLUGIN.format(help="Count the points.")},
        {"points": "gg_points"},
    )
    return site


def test_the_second_help_lists_the_plugin_command_without_loading_it(points: Site) -> None:
    first, loaded_first = _help(points)
    second, loaded_second = _help(points)
    assert "  points  " in first
    assert "Count the points." in first
    assert loaded_first, "the first --help finds the commands by loading the plugins"
    assert second == first
    assert not loaded_second, "the second --help lists them from the cache"
    assert list(Path(os.environ["GRIDGUARD_CACHE_DIR"]).glob("commands-*.json"))


def test_an_edited_plugin_is_loaded_again(points: Site) -> None:
    _help(points)
    module = points.path / "gg_points.py"
    module.write_text(PLUGIN.format(help="Count every point."), encoding="utf-8")
    later = time.time() + 2  # a newer modification time, whatever the file system's resolution
    os.utime(module, (later, later))
    listing, loaded = _help(points)
    assert loaded
    assert "Count every point." in listing


def test_a_newly_installed_plugin_is_listed(points: Site) -> None:
    _help(points)
    points.add(
        "gridguard-beds",
        "1.0",
        {"gg_beds": PLUGIN.replace('"points"', '"beds"').format(help="Count the beds.")},
        {"beds": "gg_beds"},
    )
    listing, loaded = _help(points)
    assert loaded
    assert "Count the beds." in listing
    assert "Count the points." in listing


def test_blocking_a_plugin_changes_the_listing(
    points: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Count the points." in _help(points)[0]
    monkeypatch.setenv(BLOCK_ENV, "points")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(points.path), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", HELP_AND_MODULES], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Count the points." not in done.stdout


def test_an_unwritable_cache_folder_is_no_error(
    points: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    monkeypatch.setenv("GRIDGUARD_CACHE_DIR", str(blocked))
    for _ in range(2):
        listing, loaded = _help(points)
        assert "Count the points." in listing
        assert loaded, "with no cache, every --help loads the plugins"
