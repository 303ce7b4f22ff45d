"""The ``gridguard report`` command: build a report and draw it with any registered reporter.

Registered in :data:`gridguard.cli.COMMANDS`; like every command module it
imports click only at its top, the rest inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import campaign_option, db_option, open_existing, remember_lang

if TYPE_CHECKING:
    from ..report import Report
    from ..workspace import Workspace

__all__ = ["report"]

LANG_ENV = "GRIDGUARD_LANG"


def _options(function: Any) -> Any:
    """The options every report takes, outermost first."""
    for option in reversed(
        [
            db_option(),
            campaign_option,
            click.option(
                "--format",
                "format_name",
                help="A registered reporter: text, csv, json, html... "
                "(default: from --out's suffix, else text).",
            ),
            click.option(
                "--out",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the report to this file instead of the terminal.",
            ),
            click.option(
                "--lang",
                type=click.Choice(["zh-CN", "en"]),
                envvar=LANG_ENV,
                default="zh-CN",
                show_default=True,
                callback=remember_lang,
                help=f"Language of the labels. [env: {LANG_ENV}]",
            ),
            click.option(
                "--unmask",
                is_flag=True,
                help="Show names, phones and identity numbers in clear (masked by default).",
            ),
        ]
    ):
        function = option(function)
    return function


def _area_options(function: Any) -> Any:
    function = click.option(
        "--date",
        "day",
        help="The local day, YYYY-MM-DD (default: the last day with a visit).",
    )(function)
    return click.option(
        "--area", help="Area id: a city, district, community or grid (default: the campaign's)."
    )(function)


def _reporter(ws: Workspace, format_name: str | None, out: Path | None) -> Any:
    registry = ws.registries.reporters
    if format_name is None and out is not None:
        for name in registry.names():
            if registry.get(name)().suffix == out.suffix.lower():
                format_name = name
                break
    return registry.get(format_name or "text")()


def _emit(
    ws: Workspace, report: Report, format_name: str | None, out: Path | None, lang: str
) -> None:
    reporter = _reporter(ws, format_name, out)
    rendered = reporter.render(report, lang=lang)
    data = rendered.encode("utf-8") if isinstance(rendered, str) else rendered
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    masked = "masked" if report.masked else "NOT masked"
    click.echo(f"{out} ({len(data):,} bytes, {lang}, personal data {masked})", err=True)


@click.group()
def report() -> None:
    """Reports people read: daily situation, progress, files, teams, line list.

    Every report prints to the terminal as text, or goes to --out in any
    registered format (text, csv, json; html and xlsx with their plugins).
    Personal data is masked unless --unmask is given.
    """


def _report_command(kind: str, help_text: str, *extra: Any, area: bool = True) -> click.Command:
    """The command of report ``kind``: an area report, or with ``area=False`` a record's file.

    An area report takes ``--area`` and ``--date``, a file its record's
    ``ID``; ``extra`` options go to the report's builder by name.
    """

    def command(
        target: str,
        campaign_id: str | None,
        format_name: str | None,
        out: Path | None,
        lang: str,
        unmask: bool,
        **options: Any,
    ) -> None:
        from ..reporting import build_report

        given = {k: v for k, v in options.items() if v is not None}
        with open_existing(target, campaign=campaign_id) as ws:
            built = build_report(ws, kind, campaign=campaign_id, unmask=unmask, **given)
            _emit(ws, built, format_name, out, lang)

    command = (_area_options if area else click.argument("id", metavar="ID"))(command)
    command = _options(command)
    for option in reversed(extra):
        command = option(command)
    return click.command(name=kind, help=help_text)(command)


report.add_command(
    _report_command("daily", "The daily situation report (日报) of an area on a day.")
)
report.add_command(
    _report_command(
        "progress",
        "Households covered per day against the plan: a burn-up chart.",
        click.option(
            "--plan-days",
            type=click.IntRange(1),
            help="Days the plan covers every household in (default: the campaign's, else 6).",
        ),
    )
)
report.add_command(_report_command("teams", "Team performance: households per shift, by team."))
report.add_command(
    _report_command(
        "linelist",
        "Who to call today: not at home, tasks due, quarantine checks.",
        click.option(
            "--limit", type=click.IntRange(1), help="At most this many rows of each kind."
        ),
    )
)
for _kind, _help in (
    ("household", "The household file (一户一档) of household ID."),
    ("person", "The person file (一人一档) of person ID."),
):
    report.add_command(_report_command(_kind, _help, area=False))
