"""What a reporter plugin implements: render report data in one format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["Reporter"]


@runtime_checkable
class Reporter(Protocol):
    """Renders a report (plain data: mappings, lists, numbers, text) in one format."""

    media_type: str
    """The MIME type of what :meth:`render` returns, e.g. ``application/json``."""

    def render(self, report: Mapping[str, Any], *, lang: str = "en") -> str | bytes:
        """The report in this reporter's format, with labels in ``lang``."""
