"""What ``gridguard --help`` lists, kept between runs.

Listing every command means importing each command module and finding the
commands plugins add, which means reading every installed distribution's
entry points and importing each plugin: more than the rest of ``--help``
together. So ``--help`` lists them from a small cache file, valid while
nothing that could change the answer has changed:

* the folders on ``sys.path`` (installing, upgrading or removing a
  distribution changes its ``site-packages`` folder),
* the source of every module of gridguard and of the plugins loaded when
  the listing was made (an editable install being worked on),
* gridguard's version and the plugin environment variables.

Only the listing comes from the cache: running a command always imports
its module, and a plugin's command loads the plugins. A cache that cannot
be read or written is ignored, and ``GRIDGUARD_CACHE_DIR`` chooses its
folder (default: the user's cache folder, ``$XDG_CACHE_HOME/gridguard`` or
``~/.cache/gridguard``).
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._version import __version__

__all__ = ["CACHE_ENV", "cached_listing", "store_listing"]

CACHE_ENV = "GRIDGUARD_CACHE_DIR"
_PLUGIN_ENV = ("GRIDGUARD_PLUGINS", "GRIDGUARD_BLOCK_PLUGINS", "GRIDGUARD_STRICT_PLUGINS")
_FORMAT = 2


def _cache_file() -> Path:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = str(Path(base) / "gridguard")
    # A short name per interpreter and path; a clash only costs a rebuild, since the
    # stamps name the folders on sys.path (zlib is loaded already; hashlib is not).
    key = "\0".join([sys.executable, *sys.path]).encode()
    return Path(folder) / f"commands-{zlib.crc32(key):08x}{zlib.adler32(key):08x}.json"


def _context() -> dict[str, Any]:
    """What the listing depends on besides files: format, version and plugin settings."""
    return {
        "format": _FORMAT,
        "version": __version__,
        "env": {name: os.environ.get(name) for name in _PLUGIN_ENV},
    }


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _watched_paths(packages: Iterable[str]) -> list[str]:
    """The folders on ``sys.path`` and the files of every loaded module of ``packages``."""
    tops = set(packages)
    files = {
        str(module.__file__)
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in tops and getattr(module, "__file__", None)
    }
    return sorted({*(p for p in sys.path if p), *files})


def cached_listing() -> dict[str, dict[str, Any]] | None:
    """The commands listed (``short_help``, ``help`` and ``deprecated`` of each), if the
    cache is still valid."""
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        if data["context"] != _context():
            return None
        for path, stamp in data["stamps"]:
            if _stamp(path) != stamp:
                return None
        commands = data["commands"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(commands, dict) or not all(isinstance(c, dict) for c in commands.values()):
        return None
    return {str(name): dict(fields) for name, fields in commands.items()}


def store_listing(commands: Mapping[str, Any], packages: Iterable[str]) -> None:
    """Keep the listing of ``commands`` (click commands by name), watched as described above.

    ``packages`` are the top-level packages (gridguard's and the loaded
    plugins'), whose modules' files are watched.
    """
    listing = {
        name: {
            "short_help": command.short_help,
            "help": command.help,
            "deprecated": bool(command.deprecated),
        }
        for name, command in commands.items()
        if not command.hidden
    }
    paths = _watched_paths(packages)
    data = {
        "context": _context(),
        "stamps": [[path, _stamp(path)] for path in paths],
        "commands": listing,
    }
    target = _cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        partial.replace(target)
    except OSError:
        return
