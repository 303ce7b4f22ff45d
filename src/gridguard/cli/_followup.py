"""``gridguard followup list``: households to phone (not at home) or escalate (refused).

Registered in :data:`gridguard.cli.COMMANDS`; imports click only at its top.
"""

from __future__ import annotations

import click

from ._common import (
    campaign_option,
    db_option,
    echo_json,
    json_option,
    open_existing,
    say,
    show_table,
)

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
    title = (
        say(f"待上报 {len(rows):,} 户", f"{len(rows):,} households to escalate")
        if refused
        else say(f"待电话追访 {len(rows):,} 户", f"{len(rows):,} households to phone")
    )
    show_table(
        title,
        [say("户", "Household"), say("网格", "Grid"), say("电话", "Phone"),
         say("起始", "Since"), say("上门次数", "Door visits")],
        [[r["household_id"], r["grid_id"], r["phone"] or "-",
          str(r["since"] or "-").replace("T", " "), r["door_visits"]] for r in rows],
        numeric={4},
    )  # fmt: skip
