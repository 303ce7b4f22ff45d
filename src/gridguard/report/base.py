"""What a reporter plugin implements: render a report in one format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .document import Report

__all__ = ["Reporter"]


@runtime_checkable
class Reporter(Protocol):
    """Renders a :class:`~gridguard.report.document.Report` in one format.

    A reporter walks the report's sections and blocks (figures, tables,
    charts); it shows every string as text, never as markup, a formula or a
    template, and takes labels in ``lang`` (``en`` or ``zh-CN``) from the
    report itself.
    """

    media_type: str
    """The MIME type of what :meth:`render` returns, e.g. ``application/json``."""

    suffix: str
    """The file name suffix for what :meth:`render` returns, e.g. ``.json``."""

    def render(self, report: Report, *, lang: str = "en") -> str | bytes:
        """The report in this reporter's format, with labels in ``lang``."""
