"""gridguard reporter ``html``: a report as one self-contained HTML page.

Jinja2 draws the page from a packaged template (autoescaped, sandboxed,
strict about undefined names); matplotlib draws the charts as SVG inlined in
the page; the style sheet and a few lines of table-sorting script are inline,
and the page's Content-Security-Policy lets it load nothing from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from gridguard import hookimpl

from .charts import FONT_FAMILIES, chart_svg
from .reporter import CSP, HtmlReporter, format_cell

__all__ = ["CSP", "FONT_FAMILIES", "HtmlReporter", "chart_svg", "format_cell", "register_reporters"]

__version__ = "0.1.0"


@hookimpl
def register_reporters(register: Callable[[str, Callable[[], HtmlReporter]], None]) -> None:
    """Register the ``html`` reporter."""
    register("html", HtmlReporter)
