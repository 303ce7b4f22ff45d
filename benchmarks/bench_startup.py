"""Start-up time: ``gridguard --help`` and ``import gridguard``, beside a bare interpreter.

Each command runs in a fresh process ``--runs`` times; the figures are medians.
The import cost is ``python -c "import gridguard"`` minus ``python -c pass``.

    python benchmarks/bench_startup.py [--runs N]

Targets: ``gridguard --help`` within 0.3 s, ``import gridguard`` within 0.15 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_HELP = 0.3
TARGET_IMPORT = 0.15


def gridguard_command() -> list[str]:
    """The installed ``gridguard`` script beside this interpreter, else ``python -m gridguard``."""
    script = Path(sys.executable).parent / "gridguard"
    if script.exists():
        return [str(script)]
    found = shutil.which("gridguard")
    return [found] if found else [sys.executable, "-m", "gridguard"]


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    command = gridguard_command()
    median_seconds([*command, "--help"], 2)  # warm the file cache
    bare = median_seconds([sys.executable, "-c", "pass"], args.runs)
    imported = median_seconds([sys.executable, "-c", "import gridguard"], args.runs)
    helped = median_seconds([*command, "--help"], args.runs)

    print(f"median of {args.runs} runs each")
    print(f"python -c pass (reference):    {bare * 1000:7.1f} ms")
    print(f"python -c 'import gridguard':  {imported * 1000:7.1f} ms")
    print(
        f"import gridguard, net:         {(imported - bare) * 1000:7.1f} ms "
        f"(target <= {TARGET_IMPORT * 1000:.0f} ms)"
    )
    print(
        f"gridguard --help:              {helped * 1000:7.1f} ms "
        f"(target <= {TARGET_HELP * 1000:.0f} ms; ran {' '.join(command)})"
    )
    print(f"ratio --help / bare interpreter: {helped / bare:.1f}")


if __name__ == "__main__":
    main()
