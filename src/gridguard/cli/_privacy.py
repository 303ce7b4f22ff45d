"""``gridguard audit verify|show`` and ``gridguard purge``: the audit log and retention.

Imports click only at the top, like every command module; the workspace is
imported when a command runs.
"""

from __future__ import annotations

import click

from ._common import db_option, echo_json, json_option, open_existing

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
        click.echo(
            f"audit log intact 审计日志完整: {report.entries} entries, "
            f"head {report.head_seq}:{report.head_hash}"
        )
    else:
        click.echo(
            f"audit log TAMPERED 审计日志被篡改: {len(report.problems)} problems "
            f"in {report.entries} entries",
            err=True,
        )
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
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
    from ..security.audit import recent_entries

    with open_existing(target, purpose="audit show") as ws:
        entries = recent_entries(ws, 1 if head_only else last)
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
    for e in entries:
        why = f"  ({e.reason})" if e.reason else ""
        click.echo(
            f"{e.seq:>6} {e.at:%Y-%m-%d %H:%M:%S}Z {e.outcome.value:<7} {e.principal} "
            f"[{e.role} {e.scope}] {e.action} {e.target} x{e.count}{why}"
        )


@click.command()
@db_option()
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=14,
    show_default=True,
    help="Days after a campaign's end before its personal data goes.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@json_option()
def purge(target: str, days: int, dry_run: bool, as_json: bool) -> None:
    """Purge personal data of closed campaigns 清除个人信息 (names, ids, phones, free text).

    Counts in reports stay as they were: rows are redacted, never deleted.
    """
    from ..security.retention import purge as run_purge

    with open_existing(target, purpose="retention purge") as ws:
        report = run_purge(ws, days=days, dry_run=dry_run)
    if as_json:
        echo_json(report.to_dict())
        return
    verb = "would purge 将清除" if dry_run else "purged 已清除"
    if not report.campaigns:
        click.echo(f"nothing to purge 无需清除: no campaign closed more than {days} days ago")
        return
    click.echo(
        f"{verb} {report.total} rows in {len(report.jurisdictions)} communities "
        f"(campaigns {', '.join(report.campaigns)}; facts before {report.cutoff:%Y-%m-%d})"
    )
    for table, n in sorted(report.rows.items()):
        click.echo(f"  {table:<18} {n}")
    for table in report.skipped:
        click.echo(f"  {table:<18} skipped (this backend runs no SQL)")
