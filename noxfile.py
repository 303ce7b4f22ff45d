"""Development sessions.

``nox`` runs tests, lint and typecheck; ``nox -s docs`` and ``nox -s bench`` run on demand.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck"]

PYTHON = "3.11"
ROOT = Path(__file__).parent
LINT_PATHS = ("src", "tests", "benchmarks", "plugins", "noxfile.py", "docs/conf.py")

RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"
IMPORT_LINTER = "import-linter==2.17"
"""Linters pinned, so that a new release cannot fail a run that passed yesterday."""
PLUGIN_STUBS = ("types-openpyxl>=3.1",)
"""Type stubs the plugins' dependencies need for ``mypy --strict``."""
BENCH_PEERS = ("rule-engine>=4", "splink>=4")
"""Peer libraries the benchmarks compare against; installed in the bench session only."""
DOCS_DEPS = ("sphinx>=7", "myst-parser>=3", "furo>=2024.1")


def _existing(paths: tuple[str, ...]) -> list[str]:
    """The paths that exist: git keeps no empty folders, so a fresh clone may lack some."""
    return [p for p in paths if (ROOT / p).exists()]


def _plugins() -> list[Path]:
    """Every plugin distribution under plugins/ (a folder with a pyproject.toml)."""
    return sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))


def _plugin_tests() -> list[str]:
    return [str(p.relative_to(ROOT) / "tests") for p in _plugins() if (p / "tests").is_dir()]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite: gridguard and every plugin, installed (not editable)."""
    # Each plugin with its own test dependencies (its [test] extra, when it has one).
    session.install(".[test]", *(f"{p.relative_to(ROOT)}[test]" for p in _plugins()))
    session.run("pytest", *(session.posargs or ["tests", *_plugin_tests()]))


@nox.session(python=PYTHON)
@nox.parametrize("plugin", [p.name for p in _plugins()])
def plugin_tests(session: nox.Session, plugin: str) -> None:
    """One plugin's own tests against the released gridguard API: ``nox -s plugin_tests``."""
    session.install(".[test]", f"plugins/{plugin}[test]")
    session.run("pytest", f"plugins/{plugin}/tests", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, and the layer contracts (import-linter, in pyproject.toml)."""
    session.install(RUFF, IMPORT_LINTER)
    session.install("--no-deps", ".")  # lint-imports reads the installed package's modules
    paths = _existing(LINT_PATHS)
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/ (configured in pyproject.toml) and on every plugin's source."""
    session.install(MYPY, *PLUGIN_STUBS, ".[test]", *(str(p.relative_to(ROOT)) for p in _plugins()))
    if session.posargs:
        session.run("mypy", *session.posargs)
        return
    session.run("mypy")
    session.run("mypy", *(str((p / "src").relative_to(ROOT)) for p in _plugins()))


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the HTML documentation; every warning is an error."""
    session.install(".[test]", *DOCS_DEPS)  # gridguard.testing, documented too, needs pytest
    session.run(
        "sphinx-build",
        "-E",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every ``benchmarks/bench_*.py`` script; ``nox -s bench -- visits`` picks by name."""
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if session.posargs:
        scripts = [s for s in scripts if any(arg in s.stem for arg in session.posargs)]
    if not scripts:
        session.skip("no benchmarks/bench_*.py script to run")
    session.install(".[test]", *(str(p.relative_to(ROOT)) for p in _plugins()), *BENCH_PEERS)
    for script in scripts:
        session.log(f"--- {script.relative_to(ROOT)}")
        session.run("python", str(script.relative_to(ROOT)))
