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
    current_lang,
    date_option,
    db_option,
    echo,
    echo_json,
    json_option,
    open_existing,
    parse_date,
    say,
    show_table,
    value_word,
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
    n = len(exc.violations)
    click.secho(
        say(
            f"error: 规则集无法加载（{n:,} 处问题）：",
            f"error: the rule set cannot be loaded ({n:,} problem(s)):",
        ),
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
    zh = current_lang() == "zh-CN"
    title = rule_set.title_zh if zh else rule_set.title_en
    show_table(
        f"{say('筛查', 'Screening')}: {title} "
        f"({rule_set.id} {summary['rule_set_version']}), {summary['day']}",
        [say("规则", "Rule"), say("名称", "Title"), say("人数", "Persons")],
        [[r.id, _rule_title(r, zh), result.by_rule.get(r.id, 0)] for r in rule_set.rules],
        numeric={2},
    )
    figures = [
        (say("标记人员", "Flagged persons"), result.flagged),
        (say("新评估", "New assessments"), result.assessments),
        (say("新隔离令", "New quarantine orders"), result.orders),
        (say("新任务", "New tasks"), result.tasks),
        (
            say("已排队通知", "Notifications queued")
            if result.notify_mode == "outbox"
            else say("已记录通知", "Notifications recorded"),
            result.notifications,
        ),
    ]
    for label, value in figures:
        echo(f"{label}: {value:,}")
    risks = ", ".join(f"{value_word(k)} {v:,}" for k, v in result.by_risk.items()) or "-"
    echo(f"{say('按风险', 'By risk')}: {risks}")
    modes = {
        "full": say("全量", "full"),
        "changed": say("增量（自上次运行以来的变化）", "changed since the last run"),
        "unchanged": say("无变化，未存储任何内容", "nothing changed, nothing stored"),
    }
    echo(f"{say('运行', 'Run')}: {modes.get(result.run.mode, result.run.mode)}")
    echo(say(f"用时 {result.seconds:.2f} 秒", f"Done in {result.seconds:.2f} s"))


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
    zh = current_lang() == "zh-CN"
    n = len(rule_set.rules)
    click.secho(
        say(
            f"通过：{rule_set.id} {rule_set.version}：{rule_set.title_zh}（{n:,} 条规则）",
            f"OK: {rule_set.id} {rule_set.version}: {rule_set.title_en} ({n:,} rules)",
        ),
        fg="green",
    )
    for rule in info["rules"]:
        kind = say("升级", "escalation") if rule["escalation"] else say("个人", "person")
        title = rule["title"]["zh" if zh else "en"]
        echo(f"\n[{rule['priority']}] {rule['id']} ({rule['line']}, {kind}): {title}")
        echo(f"  {say('条件', 'when')}: {rule['when']}")
        for action in rule["then"]:
            text = ", ".join(f"{k} = {v}" for k, v in action.items())
            echo(f"  {say('动作', 'then')}: {text}")


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
        echo(say("尚无规则集运行记录", "No rule set has run yet"))
        return
    for v in versions:
        days = v.first_day.isoformat()
        if v.last_day != v.first_day:
            days += f" .. {v.last_day.isoformat()}"
        runs = say(f"{v.runs:,} 次", f"{v.runs:,} runs")
        echo(f"{v.rule_set_id} {v.version}  {days}  ({runs})")
        echo(f"  {say('指纹', 'fingerprint')} {v.fingerprint}")


def _rule_title(rule: Any, zh: bool) -> str:
    """A rule's title in one language (``title_zh`` or ``title_en``), else its title."""
    zh_title = getattr(rule, "title_zh", None)
    en_title = getattr(rule, "title_en", None)
    chosen = zh_title if zh else en_title
    return str(chosen or rule.title)
