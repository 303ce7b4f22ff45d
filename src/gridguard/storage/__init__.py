"""Storage: the protocol every backend follows, its dialect object, and the builtin backends."""

from .base import SaveResult, Storage, UnitOfWork
from .dialect import SqlDialect
from .schema import SPECS, TableSpec, spec_for

__all__ = ["SPECS", "SaveResult", "SqlDialect", "Storage", "TableSpec", "UnitOfWork", "spec_for"]
