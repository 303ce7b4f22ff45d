"""The quarantine lifecycle: orders, twice-daily health reports, missed reports, release.

Orders come from the rules (:mod:`gridguard.screening._run`) or by hand
(:func:`~gridguard.quarantine.lifecycle.order_quarantine`); persons under an
order report their temperature and symptoms twice a day
(:func:`~gridguard.quarantine.reports.record_reports`); a half-day without a
report becomes a phone call (:func:`~gridguard.quarantine.missed.check_missed`);
a fever refers to the fever clinic and tells the community doctor; a new
exposure extends the order (:func:`~gridguard.quarantine.lifecycle.extend`); at
its end it is released (:func:`~gridguard.quarantine.lifecycle.release_due`), or
early by hand (:func:`~gridguard.quarantine.lifecycle.release`);
:func:`~gridguard.quarantine.census.census` counts per area.

The stored record types load eagerly (the storage schema needs them); the
workflows load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..model.quarantine import (
    MANUAL_RULE,
    QUARANTINE_RULE_SET,
    QuarantineExtension,
    QuarantinePolicy,
    QuarantineRelease,
)

if TYPE_CHECKING:
    from .census import CensusRow, census
    from .lifecycle import Extension, extend, order_quarantine, release, release_due
    from .missed import MissedReport, MissedResult, check_missed
    from .reports import ReportResult, record_reports

_LAZY = {
    "CensusRow": "census",
    "census": "census",
    "Extension": "lifecycle",
    "extend": "lifecycle",
    "order_quarantine": "lifecycle",
    "release": "lifecycle",
    "release_due": "lifecycle",
    "MissedReport": "missed",
    "MissedResult": "missed",
    "check_missed": "missed",
    "ReportResult": "reports",
    "record_reports": "reports",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "MANUAL_RULE",
    "QUARANTINE_RULE_SET",
    "CensusRow",
    "Extension",
    "MissedReport",
    "MissedResult",
    "QuarantineExtension",
    "QuarantinePolicy",
    "QuarantineRelease",
    "ReportResult",
    "census",
    "check_missed",
    "extend",
    "order_quarantine",
    "record_reports",
    "release",
    "release_due",
]
