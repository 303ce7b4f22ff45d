"""Tools for testing gridguard backends and plugins.

``StorageContract`` is the storage contract suite: a third-party backend
subclasses it in its own tests and provides a ``storage`` fixture that
returns a fresh, empty store::

    from gridguard.testing import StorageContract

    class TestMyBackend(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            store = MyStorage.open(f"mydb:///{tmp_path}/x")
            yield store
            store.close()

Importing this module needs pytest; the core of gridguard never imports it.

``NotifierContract`` is the notifier contract suite, run the same way
against a real receiver; ``HttpReceiver`` is a loopback HTTP server that
records deliveries and de-duplicates them by idempotency key.

``ReporterContract`` is the reporter contract suite: a report format
subclasses it with a ``reporter`` fixture; :func:`sample_reports` builds
every builtin report kind (with hostile text in it) from a small SQLite store.
A format's own tests draw on :func:`sample_daily_report` (a daily report built
by hand, with every block kind), :func:`bare_report`, :func:`text_table`,
``HOSTILE_NAMES`` and :func:`huayuan_reports` (a whole community's reports).
"""

from .contract import StorageContract
from .notifier_contract import NotifierContract
from .receiver import HttpReceiver, Received
from .reporter_contract import (
    HOSTILE,
    ReporterContract,
    SpreadsheetReporterContract,
    sample_reports,
)
from .sample import SAMPLE_START, resident_id_for, sample_facts, sample_records
from .sample_report import (
    HOSTILE_NAMES,
    bare_report,
    huayuan_reports,
    sample_daily_report,
    text_table,
)

__all__ = [
    "HOSTILE",
    "HOSTILE_NAMES",
    "SAMPLE_START",
    "HttpReceiver",
    "NotifierContract",
    "Received",
    "ReporterContract",
    "SpreadsheetReporterContract",
    "StorageContract",
    "bare_report",
    "huayuan_reports",
    "resident_id_for",
    "sample_daily_report",
    "sample_facts",
    "sample_records",
    "sample_reports",
    "text_table",
]
