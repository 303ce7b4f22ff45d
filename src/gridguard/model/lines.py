"""Lines of defense (防线): a registry that plugins extend.

The three built-in lines follow the Huayuan account: the door-to-door sweep,
the building observers and data-driven targeting. A plugin adds another (a
rural health monitoring point, a service team) through the
``register_lines_of_defense`` hook.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from ._validate import fail, non_empty

__all__ = ["BUILDING_WATCH", "BUILTIN_LINES", "DATA_TARGETING", "DOOR_TO_DOOR", "LineOfDefense"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _line_name(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        fail(attribute, value, "a line name is snake_case: lower-case letters, digits and _")


@attrs.frozen(kw_only=True)
class LineOfDefense:
    """A named line of defense with titles in English and Chinese."""

    name: str = attrs.field(validator=_line_name)
    title_en: str = attrs.field(validator=non_empty)
    title_zh: str = attrs.field(validator=non_empty)
    description: str = ""
    order: int = 100
    """Where the line sorts in reports: the built-ins are 1, 2 and 3."""

    def title(self, lang: str = "en") -> str:
        """The title in ``lang`` (``zh-CN`` or ``en``)."""
        return self.title_zh if lang.lower().startswith("zh") else self.title_en


DOOR_TO_DOOR = LineOfDefense(
    name="door_to_door",
    title_en="Door-to-door sweep",
    title_zh="入户走访",
    description="Teams of three visit every household and phone those not at home.",
    order=1,
)
BUILDING_WATCH = LineOfDefense(
    name="building_watch",
    title_en="Building observers",
    title_zh="楼幢观察员",
    description="One observer per building reports every day, anomalies or all normal.",
    order=2,
)
DATA_TARGETING = LineOfDefense(
    name="data_targeting",
    title_en="Data-driven targeting",
    title_zh="大数据排查",
    description="Population registers and outside lists rank the doors to knock on first.",
    order=3,
)
BUILTIN_LINES = (DOOR_TO_DOOR, BUILDING_WATCH, DATA_TARGETING)
