"""The quarantine lifecycle: orders, twice-daily health reports, missed reports, release.

Orders come from the rules (:mod:`gridguard.screening`) or by hand
(:func:`~gridguard.quarantine.lifecycle.order_quarantine`); persons under an
order report their temperature and symptoms twice a day
(:func:`~gridguard.quarantine.reports.record_reports`); a half-day without a
report becomes a phone call (:func:`~gridguard.quarantine.missed.check_missed`);
a fever refers to the fever clinic and tells the community doctor; a new
exposure extends the order (:func:`~gridguard.quarantine.lifecycle.extend`); at
its end it is released (:func:`~gridguard.quarantine.lifecycle.release_due`), or
early by hand (:func:`~gridguard.quarantine.lifecycle.release`);
:func:`~gridguard.quarantine.census.census` counts per area.
"""

from __future__ import annotations

from ..model.quarantine import (
    MANUAL_RULE,
    QUARANTINE_RULE_SET,
    QuarantineExtension,
    QuarantinePolicy,
    QuarantineRelease,
)
from .census import CensusRow, census
from .household import HouseholdOrder, MemberOrder, order_household
from .lifecycle import Extension, extend, order_quarantine, release, release_due
from .missed import MissedReport, MissedResult, check_missed
from .reports import ReportResult, record_reports

__all__ = [
    "MANUAL_RULE",
    "QUARANTINE_RULE_SET",
    "CensusRow",
    "Extension",
    "HouseholdOrder",
    "MemberOrder",
    "MissedReport",
    "MissedResult",
    "QuarantineExtension",
    "QuarantinePolicy",
    "QuarantineRelease",
    "ReportResult",
    "census",
    "check_missed",
    "extend",
    "order_household",
    "order_quarantine",
    "record_reports",
    "release",
    "release_due",
]
