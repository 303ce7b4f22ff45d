"""Scope checks and audit on the bulk paths: visits recorded by scoped principals.

The same visits go into a fresh SQLite store as the unscoped administrator
(the reference: one audit entry, no scope look-ups), as a community secretary
(a scope decided by the ``jurisdiction`` column) and as a grid worker (a scope
narrower than a community, checked up the place tree). Reads: every household
of the grid found by the grid worker, beside the administrator's find.

    python benchmarks/bench_access.py [--visits N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_visits import make_visits, place_tree

import gridguard
from gridguard import Household, Principal, Role, Visit
from gridguard.workspace import Workspace


def run(folder: Path, visits: list[Visit], principal: Principal | None) -> tuple[float, float]:
    with gridguard.open(folder / "gg.db") as admin:
        admin.add(place_tree())
        ws = admin if principal is None else Workspace(admin.storage, principal=principal)
        start = time.perf_counter()
        result = ws.record(visits)
        write = time.perf_counter() - start
        assert result.written == len(visits)
        start = time.perf_counter()
        found = ws.find(Household)
        read = time.perf_counter() - start
        assert len(found) == 2000
    return write, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    visits = make_visits(args.visits)
    who = {
        "admin (unscoped)": None,
        "community secretary": Principal(name="书记", role=Role.COMMUNITY_SECRETARY, area_id="c1"),
        "grid worker": Principal(name="网格员", role=Role.GRID_WORKER, area_id="g1"),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in who}
    for _ in range(args.repeat):
        for name, principal in who.items():
            with tempfile.TemporaryDirectory() as tmp:
                times[name].append(run(Path(tmp), visits, principal))
    ref_w = statistics.median(t[0] for t in times["admin (unscoped)"])
    ref_r = statistics.median(t[1] for t in times["admin (unscoped)"])
    print(
        f"visits recorded and households read by role ({args.visits:,} visits, median of "
        f"{args.repeat})"
    )
    for name in who:
        w = statistics.median(t[0] for t in times[name])
        r = statistics.median(t[1] for t in times[name])
        print(
            f"  {name:<20}: record {args.visits / w:>9,.0f} visits/s ({w:.2f} s, {w / ref_w:.2f}x)"
            f"   find 2,000 households {r * 1000:.0f} ms ({r / ref_r:.2f}x)"
        )


if __name__ == "__main__":
    main()
