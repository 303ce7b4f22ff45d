"""A plugin as a third party writes it, type-checked with ``mypy --strict`` by test_plugin_calls.

Every form of the marker keeps the decorated function's type: plain,
``optionalhook=True`` (a hook that a newer gridguard may add) and
``wrapper=True`` (a generator around the other plugins' calls).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import click

import gridguard
from gridguard.hookspecs import ReporterFactory
from gridguard.report import Report


class PlainReporter:
    media_type = "text/plain"
    suffix = ".txt"

    def render(self, report: Report, *, lang: str = "en") -> str:
        return report.title.text(lang)


@gridguard.hookimpl
def register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    register("plain", PlainReporter)


@gridguard.hookimpl(optionalhook=True)
def register_dashboards(register: Callable[[str, object], None]) -> None:
    register("wall", object())


@gridguard.hookimpl(wrapper=True)
def register_importers(
    register: Callable[[str, object], None],
) -> Generator[None, None, None]:
    return (yield)


@gridguard.hookimpl(tryfirst=True)
def register_commands(cli: click.Group) -> None:
    cli.add_command(click.Command("plain"))


# The markers return the function itself, with its signature.
ENTRY: Callable[[Callable[[str, ReporterFactory], None]], None] = register_reporters
