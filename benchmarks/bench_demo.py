"""The Huayuan demo end to end: ``python -m gridguard demo --json`` wall time.

Runs the real command in a fresh process ``--runs`` times into a temporary
folder (the second and later runs also exercise starting the database
afresh) and prints the median wall time, the time the command reports for
itself, and the start-up of a bare ``import gridguard`` as a reference.

    python benchmarks/bench_demo.py [--runs N]

Target: at most 10 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 10.0


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    walls, inner = [], []
    with tempfile.TemporaryDirectory(prefix="gridguard-bench-demo-") as out:
        command = [sys.executable, "-m", "gridguard", "demo", "--json", "--out", out]
        for _ in range(args.runs):
            wall, stdout = timed(command)
            summary = json.loads(stdout)
            walls.append(wall)
            inner.append(summary["seconds"])
    startup = statistics.median(
        timed([sys.executable, "-c", "import gridguard"])[0] for _ in range(5)
    )
    wall = statistics.median(walls)
    print(
        f"demo: {summary['stairwells']} stairwells, {summary['households']:,} households, "
        f"{summary['persons']:,} persons, {summary['teams']} teams of {summary['team_size']}"
    )
    print(f"median of {args.runs} runs: {wall:.2f} s wall (target <= {TARGET:.0f} s)")
    print(f"  as reported by the command: {statistics.median(inner):.2f} s")
    print(f"  reference, python -c 'import gridguard': {startup:.2f} s")
    print(f"ratio to target: {wall / TARGET:.2f}")


if __name__ == "__main__":
    main()
