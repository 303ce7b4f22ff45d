"""Errors as RFC 9457 problem details (``application/problem+json``), in zh-CN or en.

Every failure a client can cause is one :class:`Problem`: a ``type`` naming
the kind (``/problems/validation``), a ``title`` and ``detail`` in the
language of the request's ``Accept-Language``, the HTTP ``status``, the
``instance`` (the request path) and, for bad input, ``errors``: per broken
rule its field ``path`` (``$[3].household_id``), the ``value`` (masked when
personal, as gridguard's own validation errors give it) and the ``rule``.
A failure of the server itself is a bare 500 problem with an incident id
that the server log carries beside the stack trace; the trace never
reaches the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from gridguard.errors import Violation

__all__ = ["PROBLEM_TYPE", "TITLES", "Problem", "language", "violations"]

PROBLEM_TYPE = "application/problem+json"

TITLES: Mapping[str, tuple[int, str, str]] = {
    "validation": (422, "The request broke a rule", "请求不符合规则"),
    "malformed": (400, "The request is not valid JSON", "请求不是有效的 JSON"),
    "conflict": (409, "Stored with other content", "已存储的内容与此不同"),
    "stale": (412, "Changed since it was read", "读取之后已被修改"),
    "precondition-required": (428, "If-Match is required", "需要 If-Match"),
    "not-found": (404, "No such record", "没有此记录"),
    "forbidden": (403, "Not allowed for this role", "此角色无权操作"),
    "unauthenticated": (401, "Who is calling?", "无法确认调用者身份"),
    "too-large": (413, "The request body is too large", "请求体过大"),
    "unsupported": (415, "Send JSON", "请发送 JSON"),
    "not-acceptable": (406, "No such format here", "不支持此格式"),
    "method": (405, "Method not allowed", "不允许此方法"),
    "internal": (500, "The server failed", "服务器出错"),
    "unavailable": (503, "The store is not available", "存储暂不可用"),
}
"""Problem kinds: HTTP status, English title, Chinese title."""


def language(accept: str | None) -> str:
    """``"zh-CN"`` when ``Accept-Language`` prefers Chinese, otherwise ``"en"``."""
    best, best_q = "en", -1.0
    for part in (accept or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower()
        lang = "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if lang is not None and q > best_q:
            best, best_q = lang, q
    return best


def violations(items: Iterable[Violation], prefix: str = "$") -> list[dict[str, str]]:
    """Broken rules as problem ``errors`` entries (path seen from ``prefix``)."""
    return [
        {
            "path": v.prefixed(prefix).path if prefix != "$" else v.path,
            "value": v.value,
            "rule": v.rule,
        }
        for v in items
    ]


@attrs.frozen
class Problem(Exception):
    """One problem to answer with; raise it from a handler or build it from an error."""

    kind: str
    detail: str = ""
    detail_zh: str = ""
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def status(self) -> int:
        return TITLES[self.kind][0]

    def body(self, lang: str, instance: str) -> dict[str, Any]:
        """The problem document for a client speaking ``lang``, about ``instance``."""
        _, en, zh = TITLES[self.kind]
        out: dict[str, Any] = {
            "type": f"/problems/{self.kind}",
            "title": zh if lang == "zh-CN" else en,
            "status": self.status,
            "detail": (self.detail_zh or self.detail) if lang == "zh-CN" else self.detail,
            "instance": instance,
        }
        out.update(self.extra)
        return out
