"""Running the examples of a Markdown page with sybil: console blocks and Python blocks.

``console`` blocks: every ``$ gridguard ...`` line runs the command (``$ export
K=V`` sets a variable for the next ones, ``K=V gridguard ...`` for that one
command), in the folder ``namespace["cwd"]``, 100 columns wide unless the
page sets ``COLUMNS``;
the lines printed under a command in the page must appear in what it prints
(``…`` in such a line stands for text that differs from run to run, a key id),
and its exit status must be 0, or the status a ``# exit status N`` comment
names. ``python`` blocks run in one shared namespace in the same folder.
``text`` blocks (synopses) are not run, nor a block after a
``<!-- skip: next "REASON" -->`` comment (sybil's skip directive; the
reason is recorded in ``namespace["skipped"]`` and the rest of the page runs). A ``json`` or
``toml`` block right after a paragraph ending in ``this is `NAME`:`` is
written to the file NAME first, so that a command of the page can read it.
"""

from __future__ import annotations

import os
import re
import shlex
import unittest
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sybil import Document, Example
from sybil.parsers.markdown import CodeBlockParser, SkipParser

from gridguard.cli import main

EXIT = re.compile(r"\s*exit status (\d)\b")


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_console(example: Example) -> None:
    """Run the ``$`` lines of a console block; check the printed lines and the exit status."""
    namespace = example.namespace
    commands: list[tuple[str, list[str]]] = []
    for line in str(example.parsed).splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands and line.strip():
            commands[-1][1].append(line.rstrip())
    for command, expected in commands:
        words = shlex.split(command, comments=True)
        if words[0] == "export":
            key, _, value = words[1].partition("=")
            namespace["env"][key] = value
            continue
        settings = {}
        while "=" in words[0]:
            key, _, value = words.pop(0).partition("=")
            settings[key] = value
        assert words[0] == "gridguard", command
        wanted = EXIT.match(command.partition("#")[2])
        code = int(wanted.group(1)) if wanted else 0
        with inside(namespace["cwd"]):
            result = CliRunner().invoke(
                main,
                words[1:],
                env={"COLUMNS": "100", **namespace["env"], **settings},
                prog_name="gridguard",
            )
        printed = result.stdout + result.stderr
        assert result.exit_code == code, f"{command}\n{printed}"
        for line in expected:
            pattern = ".+?".join(re.escape(part) for part in line.split("…"))
            assert re.search(pattern, printed), f"{command}: {line!r} not in\n{printed}"
        namespace["ran"].append(command)


def run_python(example: Example) -> None:
    """Run a Python block in the page's shared namespace, in its folder."""
    namespace = example.namespace
    with inside(namespace["cwd"]):
        exec(compile(str(example.parsed), str(example.path), "exec"), namespace["python"])


FILE_BLOCK = re.compile(r"this is `([^`]+)`:\n\n```(?:json|toml)\n(.*?)```", re.DOTALL)


def run_page(path: Path, namespace: dict[str, Any]) -> None:
    """Run every console and Python example of the page at ``path`` with ``namespace``."""
    for name, content in FILE_BLOCK.findall(path.read_text(encoding="utf-8")):
        (Path(namespace["cwd"]) / name).write_text(content, encoding="utf-8")
    document = Document.parse(
        str(path),
        CodeBlockParser("console", run_console),
        CodeBlockParser("python", run_python),
        SkipParser(),
    )
    document.namespace.update(namespace)
    for example in document.examples():
        try:
            example.evaluate()
        except unittest.SkipTest as skipped:
            namespace.setdefault("skipped", []).append(f"{path.name}:{example.line}: {skipped}")
    namespace.update(document.namespace)


def new_namespace(cwd: Path) -> dict[str, Any]:
    return {"cwd": cwd, "env": {}, "ran": [], "python": {"__name__": "__doc__"}}
