"""Screening rules: functions that rule conditions may call."""

from .functions import RuleFunction

__all__ = ["RuleFunction"]
