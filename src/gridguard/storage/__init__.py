"""Storage: the protocol every backend follows, and the builtin backends."""

from .base import SaveResult, Storage, UnitOfWork
from .schema import SPECS, TableSpec, spec_for

__all__ = ["SPECS", "SaveResult", "Storage", "TableSpec", "UnitOfWork", "spec_for"]
