"""gridguard reporter ``html``: a report as one self-contained HTML page.

Jinja2 draws the page from a packaged template (autoescaped, sandboxed,
strict about undefined names); matplotlib draws the charts as SVG inlined in
the page; the style sheet and a few lines of table-sorting script are inline,
and the page's Content-Security-Policy lets it load nothing from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gridguard import hookimpl

if TYPE_CHECKING:
    from .charts import FONT_FAMILIES, chart_svg
    from .reporter import CSP, HtmlReporter, format_cell

__all__ = ["CSP", "FONT_FAMILIES", "HtmlReporter", "chart_svg", "format_cell", "register_reporters"]

__version__ = "0.1.0"

_LAZY = {
    "CSP": ".reporter",
    "HtmlReporter": ".reporter",
    "format_cell": ".reporter",
    "FONT_FAMILIES": ".charts",
    "chart_svg": ".charts",
}
"""Imported on first use, so that loading the plugin does not import Jinja2."""


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


@hookimpl
def register_reporters(register: Callable[[str, Callable[[], HtmlReporter]], None]) -> None:
    """Register the ``html`` reporter."""
    from .reporter import HtmlReporter

    register("html", HtmlReporter)
