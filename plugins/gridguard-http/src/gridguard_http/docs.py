"""The OpenAPI document and its offline docs page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .resources import Operation

__all__ = ["docs_routes"]


def docs_routes(operations: Sequence[Operation]) -> list[Any]:
    """Routes serving ``/openapi.json`` and ``/docs``."""
    return []
