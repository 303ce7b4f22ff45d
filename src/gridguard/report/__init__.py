"""Reporters: turn report data into text, JSON, HTML or spreadsheets."""

from .base import Reporter

__all__ = ["Reporter"]
