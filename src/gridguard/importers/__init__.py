"""Importers: read outside files (CSV, JSON lines, spreadsheets) as rows of fields."""

from .base import Importer

__all__ = ["Importer"]
