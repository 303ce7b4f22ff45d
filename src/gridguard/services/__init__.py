"""Services for quarantined households: requests, assignment, fulfilment, overdue.

A household under quarantine asks for groceries, medicine or other help
(:func:`~gridguard.services.workflow.request_service`); the request goes to a
service team (``Team(kind=SERVICE)``, 党群先锋服务队) or a person
(:func:`~gridguard.services.workflow.assign_service`), is fulfilled
(:func:`~gridguard.services.workflow.complete_service`), and an open request
past its due time is overdue (:func:`~gridguard.services.workflow.overdue`).

The stored record types load eagerly (the storage schema needs them); the
workflow loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import ServiceAssignment, ServiceCompletion

if TYPE_CHECKING:
    from .workflow import (
        OpenRequest,
        assign_service,
        complete_service,
        open_requests,
        overdue,
        request_service,
    )

_LAZY = dict.fromkeys(
    (
        "OpenRequest",
        "assign_service",
        "complete_service",
        "open_requests",
        "overdue",
        "request_service",
    ),
    "workflow",
)


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'gridguard.services' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(f"gridguard.services.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "OpenRequest",
    "ServiceAssignment",
    "ServiceCompletion",
    "assign_service",
    "complete_service",
    "open_requests",
    "overdue",
    "request_service",
]
