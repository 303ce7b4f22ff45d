"""One field team for the concurrency test: ``python pg_writer.py URL TEAM TEAMS VISITS BATCH``.

Sends its own visits in batches and, after each, the same-numbered batch of
the next team's visits (which that team sends at about the same time), so
every visit is sent twice, by two processes at once. Prints the summed
:class:`~gridguard.storage.base.SaveResult` as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid

import gridguard
from gridguard import Visit
from gridguard.testing import SAMPLE_START

HOUSEHOLDS = ("h1", "h2", "h3")


def visits(team: int, count: int) -> list[Visit]:
    """The visits of ``team``: fixed ids, so that a resend is the same fact."""
    return [
        Visit(
            id=uuid.UUID(int=(team + 1) * 1_000_000 + n),
            at=SAMPLE_START + dt.timedelta(seconds=n),
            household_id=HOUSEHOLDS[n % 3],
            outcome="screened",
            note=f"team {team} visit {n}",
        )
        for n in range(count)
    ]


def main(url: str, team: int, teams: int, count: int, batch: int) -> None:
    own, partner = visits(team, count), visits((team + 1) % teams, count)
    written = unchanged = 0
    with gridguard.open(url) as ws:
        for start in range(0, count, batch):
            for chunk in (own[start : start + batch], partner[start : start + batch]):
                result = ws.record(chunk)
                written += result.written
                unchanged += result.unchanged
    print(json.dumps({"written": written, "unchanged": unchanged}))


if __name__ == "__main__":
    url, team, teams, count, batch = sys.argv[1:6]
    main(url, int(team), int(teams), int(count), int(batch))
