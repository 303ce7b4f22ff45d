"""``gridguard audit verify|show`` and ``gridguard purge``: the audit log and retention.

Imports click only at the top, like every command module; the workspace is
imported when a command runs.
"""

from __future__ import annotations

import click

from ._common import (
    current_lang,
    db_option,
    echo,
    echo_json,
    json_option,
    local_time,
    open_existing,
    role_word,
    say,
)

__all__ = ["audit", "purge"]


def _anchor(text: str | None) -> tuple[int, str] | None:
    if not text:
        return None
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter("use SEQ:HASH, as printed by 'gridguard audit show --head'")
    return int(seq), digest


@click.group()
def audit() -> None:
    """The audit log 审计日志: check its hash chain (verify), list entries (show)."""


@audit.command()
@db_option()
@click.option(
    "--anchor",
    metavar="SEQ:HASH",
    help="A head noted earlier (audit show --head): also detects entries cut off the end.",
)
@json_option()
def verify(target: str, anchor: str | None, as_json: bool) -> None:
    """Walk the hash chain; name every entry that was changed, deleted or reordered.

    Exits with status 1 when the chain does not hold, and 2 when an entry cannot even be
    read (a damaged store, a fault like a full disk: the check could not be finished).
    """
    from ..security.audit import verify_log

    expected = _anchor(anchor)
    with open_existing(target, purpose="audit verify") as ws:
        report = verify_log(ws, anchor=expected)
    if as_json:
        echo_json(report.to_dict())
    elif report.ok:
        echo(
            say(
                f"审计日志完整：{report.entries:,} 条，"
                f"最后一条 {report.head_seq}:{report.head_hash}",
                f"audit log intact: {report.entries:,} entries, "
                f"head {report.head_seq}:{report.head_hash}",
            )
        )
    else:
        echo(
            say(
                f"审计日志被篡改：{report.entries:,} 条中有 {len(report.problems):,} 处问题",
                f"audit log TAMPERED: {len(report.problems):,} problems "
                f"in {report.entries:,} entries",
            ),
            err=True,
        )
        for problem in report.problems:
            echo(f"  {problem}", err=True)
    if any(problem.kind == "unreadable" for problem in report.problems):
        raise SystemExit(2)
    if not report.ok:
        raise SystemExit(1)


@audit.command()
@db_option()
@click.option("--last", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--head", "head_only", is_flag=True, help="Print only SEQ:HASH of the last entry.")
@json_option()
def show(target: str, last: int, head_only: bool, as_json: bool) -> None:
    """The last entries: when, who (role, scope), what, on what, allowed or denied, why."""
    from ..notifications.routing import campaign_zone
    from ..security.audit import recent_entries

    with open_existing(target, purpose="audit show") as ws:
        entries = recent_entries(ws, 1 if head_only else last)
        zone = campaign_zone(ws, None)
    if head_only:
        click.echo(f"{entries[-1].seq}:{entries[-1].hash}" if entries else "0:" + "0" * 64)
        return
    if as_json:
        rows = [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "principal": e.principal,
                "role": e.role,
                "scope": e.scope,
                "action": e.action,
                "target": e.target,
                "count": e.count,
                "outcome": e.outcome.value,
                "reason": e.reason,
                "hash": e.hash,
            }
            for e in entries
        ]
        echo_json(rows)
        return
    outcomes = {"allowed": say("允许", "allowed"), "denied": say("拒绝", "denied")}
    phrases = {"the whole store": say("整个数据库", "the whole store"),
               "own scope": say("本人范围", "own scope"), "*": say("全部", "all"),
               "read": say("读取", "read"), "write": say("写入", "write")}  # fmt: skip
    # Two lines an entry: when, whether and who; then what on what. The action
    # codes (sweep.follow_up) and record kinds (Household) are names, shown as
    # they are stored.
    for e in entries:
        echo(
            f"{e.seq:>6} {local_time(e.at, zone, seconds=True)} "
            f"{outcomes.get(e.outcome.value, e.outcome.value)} {e.principal} "
            f"[{role_word(e.role)} {phrases.get(e.scope, e.scope)}]"
        )
        why = f" ({e.reason})" if e.reason else ""
        echo(f"       {phrases.get(e.action, e.action)} {phrases.get(e.target, e.target)}"
             f" ×{e.count:,}{why}")  # fmt: skip


@click.command()
@db_option()
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=14,
    show_default=True,
    help="Days after a campaign's end before its personal data goes.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would be purged and what kept, and why; change nothing.",
)
@json_option()
def purge(target: str, days: int, dry_run: bool, as_json: bool) -> None:
    """Purge personal data of closed campaigns 清除个人信息 (names, ids, phones, free text,
    health reports, team phones, sent messages).

    A community goes once every campaign covering it closed more than DAYS
    days ago, whenever its rows were stored. Counts in reports stay as they
    were: rows are redacted, never deleted. Prints, per table, the rows
    purged and the rows kept, with the reason for each kept group.
    """
    from ..security.retention import purge as run_purge

    with open_existing(target, purpose="retention purge") as ws:
        report = run_purge(ws, days=days, dry_run=dry_run)
    if as_json:
        echo_json(report.to_dict())
        return
    lang = current_lang()
    if not report.campaigns:
        echo(
            say(
                f"无需清除：没有结束超过 {days} 天的活动",
                f"nothing to purge: no campaign closed more than {days} days ago",
            )
        )
    else:
        campaigns = ", ".join(report.campaigns)
        echo(
            say(
                f"{'将清除' if dry_run else '已清除'} {report.total} 行，"
                f"{len(report.jurisdictions)} 个社区（活动 {campaigns}，结束满 {days} 天）",
                f"{'would purge' if dry_run else 'purged'} {report.total} rows in "
                f"{len(report.jurisdictions)} communities "
                f"(campaigns {campaigns}, closed over {days} days ago)",
            )
        )
    for table in sorted(report.tables or report.rows):
        n, total = report.rows.get(table, 0), report.tables.get(table)
        of = "" if total is None else say(f" / 共 {total}", f" of {total}")
        echo(f"  {table:<18} {say('清除', 'purge')} {n}{of}")
        for group in report.kept.get(table, ()):
            echo(f"{say('保留', 'keep')} {group.rows}: {group.reason_text(lang)}", indent=6)
            detail = group.detail(lang)
            if detail:
                echo(detail, indent=8)
    skipped = say("跳过（此存储不运行 SQL）", "skipped (this backend runs no SQL)")
    for table in report.skipped:
        echo(f"  {table:<18} {skipped}")
