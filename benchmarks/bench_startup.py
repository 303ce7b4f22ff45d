"""Start-up time: ``gridguard --help`` and ``import gridguard``, beside a bare interpreter.

Each command runs in a fresh process ``--runs`` times; the figures are medians.
The import cost is ``python -c "import gridguard"`` minus ``python -c pass``.
Beside the times, how many of gridguard's own modules each entry point loads:
the package, the storage protocol alone, and each reporter or notifier plugin
(which should load the protocols and the model, and no workflow).

    python benchmarks/bench_startup.py [--runs N] [--against REV]

``--against REV`` also times ``import gridguard`` and ``--help`` of the git
revision REV (checked out into a temporary folder and put first on
``PYTHONPATH``), interleaved with this tree's runs, so that a change is
compared with what it changed on the same machine at the same moment. That
comparison counts CPU time, which other work on the machine disturbs far
less than wall time.

Targets: ``gridguard --help`` within 0.3 s, ``import gridguard`` within 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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


MODULE_PROBES = {
    "import gridguard": "import gridguard",
    "the storage protocol": "import gridguard.storage.base",
    "gridguard_html": "import gridguard_html",
    "gridguard_xlsx": "import gridguard_xlsx",
    "gridguard_smtp": "import gridguard_smtp",
    "gridguard_webhook": "import gridguard_webhook",
}
"""What each module-count probe imports in a fresh interpreter."""


def gridguard_modules(statement: str) -> int | None:
    """How many ``gridguard`` modules ``statement`` loads; ``None`` if it cannot run here."""
    count = "sum(1 for m in sys.modules if m.split('.')[0] == 'gridguard')"
    code = f"{statement}\nimport sys\nprint({count})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return int(done.stdout) if done.returncode == 0 else None


HELP_CODE = "import sys; sys.argv[0] = 'gridguard'; from gridguard.cli import main; main()"
"""``gridguard --help`` of whichever gridguard is first on the path."""


def _cpu_seconds(command: list[str]) -> float:
    """CPU time (user + system) of one run of ``command`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare_with(revision: str, runs: int) -> None:
    """Time this tree and ``revision`` side by side, alternating runs, and print both."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["git", "-C", str(root), "worktree", "add", "--detach", folder, revision],
            check=True,
            capture_output=True,
        )
        try:
            old_env = {**os.environ, "PYTHONPATH": str(Path(folder) / "src")}
            new_env = {**os.environ, "PYTHONPATH": str(root / "src")}
            results: dict[tuple[str, str], list[float]] = {}
            cases = {"import": ["-c", "import gridguard"], "--help": ["-c", HELP_CODE, "--help"]}
            for _ in range(runs):
                for label, env in (("this tree", new_env), (revision, old_env)):
                    for case, argv in cases.items():
                        before = resource.getrusage(resource.RUSAGE_CHILDREN)
                        subprocess.run(
                            [sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL
                        )
                        after = resource.getrusage(resource.RUSAGE_CHILDREN)
                        cpu = (after.ru_utime - before.ru_utime) + (
                            after.ru_stime - before.ru_stime
                        )
                        results.setdefault((label, case), []).append(cpu)
            bare = statistics.median(
                _cpu_seconds([sys.executable, "-c", "pass"]) for _ in range(runs)
            )
            print(f"against {revision}, interleaved, CPU time (user + system), median of {runs}:")
            for case in cases:
                new = statistics.median(results[("this tree", case)])
                old = statistics.median(results[(revision, case)])
                net = " net" if case == "import" else ""
                shift = bare if case == "import" else 0.0
                print(
                    f"  {case:7}{net:4} this tree {(new - shift) * 1000:6.1f} ms, "
                    f"{revision} {(old - shift) * 1000:6.1f} ms, ratio {new / old:.2f}"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(root), "worktree", "remove", "--force", folder],
                check=False,
                capture_output=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--against", metavar="REV", help="also time this git revision")
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
    print("gridguard modules loaded by:")
    for name, statement in MODULE_PROBES.items():
        count = gridguard_modules(statement)
        print(f"  {name:22} {'not installed' if count is None else count}")
    if args.against:
        compare_with(args.against, args.runs)


if __name__ == "__main__":
    main()
