"""The reporter protocol and the report document it draws.

A :class:`Report` says what a report shows (sections of figures, tables and
charts with labels in zh-CN and English), apart from how it is drawn; a
:class:`Reporter` registered through the ``register_reporters`` hook draws it
in one format (builtin: ``text``, ``csv``, ``json``). A reporter plugin
imports this package and nothing of the workflows. The builders that
aggregate a report from the store are :mod:`gridguard.reporting`.
"""

from .base import Reporter
from .document import (
    LANGS,
    Block,
    Chart,
    Column,
    Figure,
    Figures,
    Label,
    Report,
    Section,
    Series,
    Table,
    cell_text,
)

__all__ = [
    "LANGS",
    "Block",
    "Chart",
    "Column",
    "Figure",
    "Figures",
    "Label",
    "Report",
    "Reporter",
    "Section",
    "Series",
    "Table",
    "cell_text",
]
