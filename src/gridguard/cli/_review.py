"""``gridguard review list|accept|reject``: the outside-list rows no pass could link.

Each queued row is shown with the candidates the cascade came closest to
and, as well, the residents who bear the same name, with their household:
a list row without an identity number whose phone has changed since the
register was made still finds its person. A row is named by the first
characters of its id (as ``review list`` prints it). Registered in
:data:`gridguard.cli.COMMANDS`; imports click only at its top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ._common import (
    current_lang,
    date_option,
    db_option,
    echo,
    echo_json,
    json_option,
    open_existing,
    parse_date,
    pick,
    say,
)

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["name_candidates", "review"]

SHORT = 8
"""Characters of a row's id that ``review list`` prints and the other commands accept."""


def name_candidates(ws: Workspace, entry_id: Any, known: set[str]) -> list[dict[str, Any]]:
    """Residents with the list row's name, not among ``known``, with their household's address."""
    from ..masking import mask_name, mask_text
    from ..model import Household, Person
    from ..model.targeting import ListEntry

    with ws.transaction(write=False) as uow:
        entry = uow.get(ListEntry, str(entry_id))
    if entry is None or not entry.name:
        return []
    found = []
    for person in ws.find(Person, name=entry.name):
        if person.id in known:
            continue
        household = ws.get(Household, person.household_id)
        found.append(
            {
                "person_id": person.id,
                "name": mask_name(person.name),
                "household_id": person.household_id,
                "address": mask_text(household.address),
                "why": "same name 同名",
            }
        )
    return found


def _queue(ws: Workspace, source: str | None) -> list[dict[str, Any]]:
    from ..targeting.matching import list_id_for, review_queue

    rows = []
    for item in review_queue(ws, None if source is None else list_id_for(source)):
        cascade = [
            {"person_id": c.person_id, "score": round(c.score, 2), "why": "cascade 匹配候选"}
            for c in item.candidates
        ]
        known = {str(c["person_id"]) for c in cascade}
        rows.append(
            {
                "id": str(item.entry_id)[:SHORT],
                "entry_id": str(item.entry_id),
                "list_id": item.list_id,
                "row": item.row,
                "name": item.name,
                "id_number": item.id_number,
                "phone": item.phone,
                "reason": item.reason,
                "candidates": cascade + name_candidates(ws, item.entry_id, known),
            }
        )
    return rows


def _entry(ws: Workspace, short: str) -> str:
    """The full id of the queued row whose id starts with ``short``."""
    import difflib

    from ..errors import NotFoundError

    queued = [str(row["entry_id"]) for row in _queue(ws, None)]
    hits = [e for e in queued if e.startswith(short.lower())]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise NotFoundError(f"{short!r} names {len(hits)} queued rows: give more characters")
    close = difflib.get_close_matches(short, [e[:SHORT] for e in queued], n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise NotFoundError(f"unknown review row {short!r} (not in the queue){hint}")


@click.group()
def review() -> None:
    """The review queue (待核对): outside-list rows no pass could link to a resident."""


@review.command("list")
@db_option()
@click.option("--source", help="Only the rows of this list (its --source name).")
@json_option()
def list_command(target: str, source: str | None, as_json: bool) -> None:
    """Rows waiting for a decision, each with its candidates (personal data masked)."""
    from ..targeting.reasons import in_lang

    with open_existing(target) as ws:
        rows = _queue(ws, source)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        echo(say("没有待核对的行", "the review queue is empty"))
    for row in rows:
        echo(
            f"{row['id']} {row['list_id']} {say('第', 'row ')}{row['row']}{say('行', '')}: "
            f"{row['name'] or '-'} {row['id_number'] or '-'} {row['phone'] or '-'} "
            f"({in_lang(row['reason'], current_lang())})"
        )
        for c in row["candidates"]:
            where = f" {c['household_id']} {c['address']}" if "household_id" in c else ""
            score = f" {c['score']:.2f}" if "score" in c else ""
            echo(f"    -> {c['person_id']}{where}{score} [{pick(c['why'])}]")


@review.command("accept")
@click.argument("row_id", metavar="ROW")
@click.argument("person_id", metavar="PERSON")
@db_option()
@click.option("--note", default="", help="Why (kept with the decision).")
@date_option("Day to rank the targets for, YYYY-MM-DD (default: today).")
@json_option()
def accept(
    row_id: str, person_id: str, target: str, note: str, day: str | None, as_json: bool
) -> None:
    """ROW is PERSON: record a manual match, and rank the targets again."""
    from ..targeting.matching import resolve_review

    with open_existing(target, person=person_id) as ws:
        entry = _entry(ws, row_id)
        decision = resolve_review(ws, entry, person_id, note=note, on=parse_date(day))
    data = {"row": entry, "person_id": person_id, "decision": str(decision.id)}
    if as_json:
        echo_json(data)
    else:
        echo(f"{entry[:SHORT]} -> {person_id}: {say('人工匹配', 'matched by hand')}")


@review.command("reject")
@click.argument("row_id", metavar="ROW")
@db_option()
@click.option("--note", default="", help="Why (kept with the decision).")
@json_option()
def reject(row_id: str, target: str, note: str, as_json: bool) -> None:
    """ROW is nobody on file: take it off the queue."""
    from ..targeting.matching import resolve_review

    with open_existing(target) as ws:
        entry = _entry(ws, row_id)
        decision = resolve_review(ws, entry, None, note=note)
    data = {"row": entry, "person_id": None, "decision": str(decision.id)}
    if as_json:
        echo_json(data)
    else:
        echo(f"{entry[:SHORT]}: {say('查无此人', 'nobody on file')}")
