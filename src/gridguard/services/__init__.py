"""Services for quarantined households: requests, assignment, fulfilment, overdue.

A household under quarantine asks for groceries, medicine or other help
(:func:`~gridguard.services.workflow.request_service`); the request goes to a
service team (``Team(kind=SERVICE)``, 党群先锋服务队) or a person
(:func:`~gridguard.services.workflow.assign_service`), is fulfilled
(:func:`~gridguard.services.workflow.complete_service`), and an open request
past its due time is overdue (:func:`~gridguard.services.workflow.overdue`).
"""

from __future__ import annotations

from ..model.services import ServiceAssignment, ServiceCompletion
from .workflow import (
    OpenRequest,
    assign_service,
    complete_service,
    open_requests,
    overdue,
    request_service,
)

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
