"""``gridguard screen``, ``gridguard rules check`` and ``rules show``: run and explain rules.

Imports click only at the top; the workspace, the rules and rich load
inside the commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_USAGE,
    campaign_option,
    date_option,
    db_option,
    echo_json,
    json_option,
    open_existing,
    parse_date,
)

if TYPE_CHECKING:
    from ..rules.ruleset import RuleSet

__all__ = ["rules", "screen"]


def _registries() -> Any:
    from ..plugins import collect_registries, get_plugin_manager

    return collect_registries(get_plugin_manager())


def _load(path: str | None, registries: Any) -> RuleSet:
    from ..rules.ruleset import builtin_rule_set, load_rule_set

    functions = {n: registries.rule_functions.get(n) for n in registries.rule_functions.names()}
    lines = registries.lines.names()
    if path is None:
        return builtin_rule_set(functions=functions, lines=lines)
    return load_rule_set(path, functions=functions, lines=lines)


def _problems(exc: Any, code: int = 1) -> None:
    """Every problem of a rule set on its own red line, then exit with ``code``."""
    click.secho(
        f"error: the rule set cannot be loaded 规则集无法加载 ({len(exc.violations)} problem(s)):",
        fg="red",
        err=True,
    )
    for violation in exc.violations:
        click.secho(f"  {violation}", fg="red", err=True)
    sys.exit(code)


@click.command()
@db_option()
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False),
    help="Rule set TOML (default: built-in).",
)
@campaign_option
@date_option("Local day to screen for, YYYY-MM-DD (default: today).")
@click.option(
    "--full",
    is_flag=True,
    help="Screen everyone again (default: only what changed since the last run of the day).",
)
@click.option(
    "--changed",
    is_flag=True,
    hidden=True,
    help="Kept for old scripts: runs are incremental by default.",
)
@click.option(
    "--new-version",
    is_flag=True,
    help="Run a changed rule set whose version already ran as VERSION+<its fingerprint>.",
)
@json_option("Print one JSON object instead of tables.")
def screen(
    target: str,
    rules_file: str | None,
    campaign_id: str | None,
    day: str | None,
    full: bool,
    changed: bool,
    new_version: bool,
    as_json: bool,
) -> None:
    """Screen a campaign's persons with a rule set and store what it decides (筛查).

    Assessments, quarantine orders, tasks and notifications are written
    once: running the same rules over the same facts again adds nothing.
    A run screens what changed since the last run of the same rule set
    version for the same day (the day's first run screens everyone);
    --full screens everyone again.
    A rule set that changed under a version that already ran is refused:
    raise its version, or pass --new-version.
    """
    from ..rules.ruleset import RuleSetError
    from ..screening._run import screen as run_screen

    when = parse_date(day)
    with open_existing(target, campaign=campaign_id) as ws:
        try:
            rule_set = _load(rules_file, ws.registries)
        except RuleSetError as exc:
            _problems(exc, EXIT_USAGE)
        result = run_screen(
            ws,
            rule_set,
            campaign_id=campaign_id,
            day=when,
            full=full,
            new_version=new_version,
        )
    summary = result.summary()
    if as_json:
        echo_json(summary)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(
        title=(
            f"Screening 筛查: {rule_set.title_en} {rule_set.title_zh} "
            f"({rule_set.id} {summary['rule_set_version']}), {summary['day']}"
        ),
        title_justify="left",
    )
    table.add_column("Rule 规则", style="bold")
    table.add_column("Title 名称")
    table.add_column("Persons 人数", justify="right")
    for rule in rule_set.rules:
        table.add_row(rule.id, rule.title, f"{result.by_rule.get(rule.id, 0):,}")
    console.print(table)
    figures = [
        ("Flagged persons 标记人员", result.flagged),
        ("New assessments 新评估", result.assessments),
        ("New quarantine orders 新隔离令", result.orders),
        ("New tasks 新任务", result.tasks),
        (
            "Notifications queued 已排队通知"
            if result.notify_mode == "outbox"
            else "Notifications recorded 已记录通知",
            result.notifications,
        ),
    ]
    for label, value in figures:
        console.print(f"{label}: {value:,}")
    risks = ", ".join(f"{k} {v:,}" for k, v in result.by_risk.items()) or "-"
    console.print(f"By risk 按风险: {risks}")
    modes = {
        "full": "full 全量",
        "changed": "changed since the last run 增量",
        "unchanged": "nothing changed, nothing stored 无变化",
    }
    console.print(f"Run 运行: {modes.get(result.run.mode, result.run.mode)}")
    console.print(f"Done in {result.seconds:.2f} s 用时")


@click.group()
def rules() -> None:
    """Check and explain screening rule sets (规则集)."""


def _describe(rule_set: RuleSet) -> dict[str, Any]:
    from ..rules.analysis import may_fire_without_evidence
    from ..rules.ruleset import Classify, FollowUp, Notify, Quarantine, Refer, TaskAction

    def action(a: Any) -> dict[str, Any]:
        if isinstance(a, Classify):
            return {"classify": a.level.value}
        if isinstance(a, Quarantine):
            start = a.start_text or "the flagged exposure"
            return {"quarantine": a.kind.value, "days": a.days, "from": start}
        if isinstance(a, FollowUp):
            return {"follow_up_hours": a.hours}
        if isinstance(a, Refer):
            return {"refer": a.to}
        if isinstance(a, Notify):
            return {"notify": list(a.roles)}
        assert isinstance(a, TaskAction)
        return {"task": a.kind.value, "for": a.target, "within_hours": a.within_hours}

    return {
        "id": rule_set.id,
        "version": rule_set.version,
        "title": {"en": rule_set.title_en, "zh": rule_set.title_zh},
        "digest": rule_set.digest,
        "constants": {
            k: list(v.value) if isinstance(v.value, tuple) else v.value
            for k, v in rule_set.constants.items()
        },
        "rules": [
            {
                "id": r.id,
                "title": {"en": r.title_en, "zh": r.title_zh},
                "line": r.line,
                "priority": r.priority,
                "when": " ".join(r.when.split()),
                "escalation": r.is_escalation,
                "needs_evidence": not may_fire_without_evidence(r.condition),
                "then": [action(a) for a in r.actions],
            }
            for r in rule_set.rules
        ],
    }


@rules.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option("Print one JSON object instead of text.")
def check(file: str, as_json: bool) -> None:
    """Validate a rule set FILE and explain what each rule does (校验并解释规则集).

    Every problem is listed with its place in the file, the rule, the line
    and column and the offending name; nothing is run.
    """
    from ..rules.ruleset import RuleSetError

    registries = _registries()
    try:
        rule_set = _load(file, registries)
    except RuleSetError as exc:
        if as_json:
            echo_json({"ok": False, "problems": [str(v) for v in exc.violations]})
            sys.exit(1)
        _problems(exc)
    info = _describe(rule_set)
    if as_json:
        echo_json({"ok": True, **info})
        return
    click.secho(
        f"OK 通过: {rule_set.id} {rule_set.version}: {rule_set.title_en} {rule_set.title_zh} "
        f"({len(rule_set.rules)} rules 条规则)",
        fg="green",
    )
    for rule in info["rules"]:
        kind = "escalation 升级" if rule["escalation"] else "person 个人"
        click.echo(
            f"\n[{rule['priority']}] {rule['id']} ({rule['line']}, {kind}): "
            f"{rule['title']['en']} {rule['title']['zh']}"
        )
        click.echo(f"  when 条件: {rule['when']}")
        for action in rule["then"]:
            text = ", ".join(f"{k} = {v}" for k, v in action.items())
            click.echo(f"  then 动作: {text}")


@rules.command("show")
@db_option()
@click.option("--id", "rule_set_id", help="Only the versions of this rule set.")
@json_option("Print one JSON object instead of text.")
def show(target: str, rule_set_id: str | None, as_json: bool) -> None:
    """The rule set versions that have run, with their fingerprints and dates (已运行的规则集版本).

    A version's fingerprint is stored by its first run; a changed rule set
    under a stored version is refused by ``gridguard screen``.
    """
    from ..screening._run import stored_versions
    from ._common import open_existing

    with open_existing(target) as ws:
        versions = stored_versions(ws, rule_set_id)
    if as_json:
        echo_json({"versions": [v.as_dict() for v in versions]})
        return
    if not versions:
        click.echo("No rule set has run yet 尚无规则集运行记录")
        return
    for v in versions:
        days = v.first_day.isoformat()
        if v.last_day != v.first_day:
            days += f" .. {v.last_day.isoformat()}"
        click.echo(f"{v.rule_set_id} {v.version}  {v.fingerprint}  {days}  ({v.runs} runs 次)")
