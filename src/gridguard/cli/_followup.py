"""``gridguard followup list``: households to phone (not at home) or escalate (refused).

Registered in :data:`gridguard.cli.COMMANDS`; imports click only at its top.
"""

from __future__ import annotations

import click

from ._common import campaign_option, db_option, echo_json, json_option, open_existing

__all__ = ["followup"]


@click.group()
def followup() -> None:
    """The phone follow-up queue (电话追访): households the door did not reach."""


@followup.command("list")
@db_option()
@campaign_option
@click.option(
    "--refused", is_flag=True, help="Households that refused instead: the grid worker's list."
)
@click.option("--unmask", is_flag=True, help="Show phone numbers in full (audited).")
@json_option()
def list_command(
    target: str, campaign_id: str | None, refused: bool, unmask: bool, as_json: bool
) -> None:
    """Households found not at home and not phoned since (or, with --refused, that refused)."""
    from ..masking import mask_phone
    from ..sweep import Sweep

    with open_existing(target, campaign=campaign_id) as ws:
        sweep = Sweep(ws, campaign_id)
        found = sweep.escalations() if refused else sweep.phone_queue()
        if unmask and found:
            ws.authorize("sweep.unmask", "*")
        zone = sweep.campaign.zone
    rows = [
        {
            "household_id": f.household_id,
            "grid_id": f.grid_id,
            "building_id": f.building_id,
            "reason": f.reason,
            "since": None
            if f.since is None
            else f.since.astimezone(zone).isoformat(timespec="minutes"),
            "door_visits": f.door_visits,
            "phone": f.phone if unmask or f.phone is None else mask_phone(f.phone),
        }
        for f in found
    ]
    if as_json:
        echo_json(rows)
        return
    label = "to escalate 待上报" if refused else "to phone 待电话追访"
    click.echo(f"{len(rows)} households {label}")
    for row in rows:
        click.echo(
            f"  {row['household_id']}  {row['grid_id']}  {row['phone'] or '-'}  "
            f"since {row['since'] or '-'}  ({row['door_visits']} door visits)"
        )
