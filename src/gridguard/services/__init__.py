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

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..model.services import ServiceAssignment, ServiceCompletion

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


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
