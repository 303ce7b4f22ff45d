"""Message templates in zh-CN and English, with personal data masked by default.

Templates are ``string.Template`` text (``$person``, ``${temperature}``):
no template engine in the core, nothing to execute. A campaign may override
any topic's subject or body per locale; an unknown placeholder in an
override is a :class:`~gridguard.errors.ConfigError` when the renderer is
built, not a surprise at 3 a.m.

Values named in :data:`PERSONAL` are masked before they reach a template
(a name as ``张*``, a phone as ``138****8000``) unless the settings turn
masking off. Every value is escaped for the renderer's ``markup``
(:func:`gridguard.notify.markup.escape`): stored text fills a template as
text, never as markup or a link, and never with a bidirectional control.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..errors import ConfigError
from ..masking import mask_name, mask_phone
from ..notify.markup import MARKUPS, Markup, escape

__all__ = ["PERSONAL", "PLACEHOLDERS", "TEMPLATES", "Rendered", "Renderer"]


def _name(value: str) -> str:
    return mask_name(value, keep_length=False)


def _phone(value: str) -> str:
    return mask_phone(value, national=True)


PERSONAL: dict[str, Callable[[str], str]] = {
    "person": _name,
    "observer": _name,
    "contact": _name,
    "phone": _phone,
}
"""Placeholders holding personal data, and how each is masked."""

PLACEHOLDERS = frozenset(
    {
        *PERSONAL,
        "topic",
        "role",
        "community",
        "grid",
        "building",
        "address",
        "time",
        "date",
        "temperature",
        "symptoms",
        "anomalies",
        "service",
        "note",
        "visits",
        "households",
        "households_visited",
        "not_home",
        "screenings",
        "fevers",
        "checkins",
        "checkins_anomalies",
        "buildings",
        "buildings_silent",
        "service_requests",
        "notifications_sent",
        "notifications_dead",
    }
)
"""Every placeholder a template may use."""

TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "zh-CN": {
        "fever": {
            "subject": "发热报告：$building",
            "body": "$time $address 居民 $person（$phone）体温 ${temperature}°C，"
            "症状：$symptoms。请尽快联系并引导至发热门诊。",
        },
        "exposure": {
            "subject": "重点人员：$building",
            "body": "$time $address 居民 $person（$phone）有疫情发生地旅行或接触史，"
            "请落实居家隔离和健康监测。",
        },
        "anomaly": {
            "subject": "楼幢异常：$building",
            "body": "$time 楼幢观察员 $observer 报告：$anomalies。",
        },
        "missing_checkin": {
            "subject": "未报平安：$building",
            "body": "$date $building 的楼幢观察员 $observer 今天还没有报平安，请联系确认。",
        },
        "checkin_reminder": {
            "subject": "请报平安：$building",
            "body": "$observer 您好，$date $building 今天还没有报平安，"
            "请尽快上报（一切正常也请报）。",
        },
        "missing_checkin_escalated": {
            "subject": "仍未报平安：$building",
            "body": "$date $building 仍未报平安，已提醒观察员 $observer 和网格员，请社区跟进。",
        },
        "missing_point_report": {
            "subject": "健康监测点未上报：$building",
            "body": "$date 健康监测点 $building（$observer）今天还没有上报，请联系确认。",
        },
        "stranger": {
            "subject": "陌生人员：$building",
            "body": "$time 楼幢观察员 $observer 报告 $building：$anomalies。请核实登记。",
        },
        "service_request": {
            "subject": "服务需求：$address",
            "body": "$time $address 需要$service。$note",
        },
        "quarantine_fever": {
            "subject": "隔离人员发热：$building",
            "body": "$time 居家隔离人员 $person（$phone，$address）健康报告体温 ${temperature}°C，"
            "症状：$symptoms。请尽快联系并转诊发热门诊。",
        },
        "digest": {
            "subject": "$community $date 日报",
            "body": "$community $date 日报\n"
            "入户走访 $visits 次，覆盖 $households_visited 户（不在家 $not_home 户）；\n"
            "健康筛查 $screenings 人次，发热 $fevers 人；\n"
            "楼幢报平安 $checkins 次（有异常 $checkins_anomalies 次），"
            "未报平安楼幢 $buildings_silent 栋（共 $buildings 栋）；\n"
            "服务需求 $service_requests 件；通知已送达 $notifications_sent 条，"
            "投递失败 $notifications_dead 条。",
        },
        "notice": {"subject": "$community 通知", "body": "$note"},
    },
    "en": {
        "fever": {
            "subject": "Fever report: $building",
            "body": "$time at $address: resident $person ($phone) has ${temperature} °C, "
            "symptoms: $symptoms. Please call and refer to a fever clinic.",
        },
        "exposure": {
            "subject": "Person to follow up: $building",
            "body": "$time at $address: resident $person ($phone) travelled to or had contact "
            "with an outbreak area. Please arrange home quarantine and monitoring.",
        },
        "anomaly": {
            "subject": "Anomaly at $building",
            "body": "$time building observer $observer reports: $anomalies.",
        },
        "missing_checkin": {
            "subject": "No check-in: $building",
            "body": "$date: the observer of $building, $observer, has not reported yet today. "
            "Please call to make sure all is well.",
        },
        "checkin_reminder": {
            "subject": "Please check in: $building",
            "body": "Hello $observer, $building has not checked in yet today ($date). "
            "Please report, even if all is normal.",
        },
        "missing_checkin_escalated": {
            "subject": "Still no check-in: $building",
            "body": "$date: $building has still not checked in; observer $observer and the "
            "grid worker were told. Please follow up.",
        },
        "missing_point_report": {
            "subject": "No report from monitoring point $building",
            "body": "$date: health monitoring point $building ($observer) has not reported yet "
            "today. Please call to make sure all is well.",
        },
        "stranger": {
            "subject": "Stranger at $building",
            "body": "$time building observer $observer reports at $building: $anomalies. "
            "Please check and register.",
        },
        "service_request": {
            "subject": "Service request: $address",
            "body": "$time $address asks for $service. $note",
        },
        "quarantine_fever": {
            "subject": "Fever under quarantine: $building",
            "body": "$time: $person ($phone, $address), under quarantine, reports "
            "${temperature} °C, symptoms: $symptoms. Please call and refer to a fever clinic.",
        },
        "digest": {
            "subject": "$community daily report, $date",
            "body": "$community daily report, $date\n"
            "Door-to-door: $visits visits, $households_visited households "
            "($not_home not at home);\n"
            "screenings: $screenings, with fever: $fevers;\n"
            "observer check-ins: $checkins ($checkins_anomalies with anomalies), "
            "$buildings_silent of $buildings buildings silent;\n"
            "service requests: $service_requests; notifications delivered: "
            "$notifications_sent, failed: $notifications_dead.",
        },
        "notice": {"subject": "$community notice", "body": "$note"},
    },
}
"""The builtin templates: locale -> topic -> ``subject`` and ``body``."""


@attrs.frozen
class Rendered:
    """A rendered subject and body."""

    subject: str
    body: str


class Renderer:
    """Renders a topic's template in one locale, masking personal values first.

    ``markup`` (``"text"``, ``"markdown"`` or ``"html"``) is what the
    rendered text is shown in: each value is escaped for it, the template's
    own text is not.
    """

    def __init__(
        self,
        locale: str = "zh-CN",
        *,
        overrides: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
        mask: bool = True,
        markup: Markup = "text",
    ) -> None:
        if markup not in MARKUPS:
            raise ConfigError(f"markup: one of {', '.join(MARKUPS)} (got {markup!r})")
        self.locale = locale
        self.mask = mask
        self.markup: Markup = markup
        merged: dict[str, dict[str, str]] = {
            topic: dict(parts) for topic, parts in TEMPLATES.get(locale, TEMPLATES["en"]).items()
        }
        for topic, parts in (overrides or {}).get(locale, {}).items():
            for part, text in parts.items():
                where = f"templates.{locale}.{topic}.{part}"
                if part not in ("subject", "body"):
                    raise ConfigError(f"{where}: a template has a subject and a body only")
                _check(where, text)
                merged.setdefault(topic, {"subject": "$topic", "body": ""})[part] = text
        self._templates = {
            topic: (string.Template(p.get("subject", "")), string.Template(p.get("body", "")))
            for topic, p in merged.items()
        }

    @property
    def topics(self) -> list[str]:
        return sorted(self._templates)

    def render(self, topic: str, values: Mapping[str, Any]) -> Rendered:
        """The subject and body of ``topic`` with ``values`` filled in.

        Missing values render as ``-``; personal values are masked unless
        masking is off; every value is escaped for :attr:`markup`. An
        unknown topic falls back to ``notice``.
        """
        subject, body = self._templates.get(topic) or self._templates["notice"]
        filled = dict.fromkeys(PLACEHOLDERS, "-")
        filled["topic"] = topic
        for name, value in values.items():
            if value is None:
                continue
            text = _text(value)
            if self.mask and name in PERSONAL:
                text = PERSONAL[name](text)
            filled[name] = escape(text, self.markup)
        return Rendered(subject.safe_substitute(filled), body.safe_substitute(filled))


def _text(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(str(v) for v in value) if value else "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _check(where: str, text: Any) -> None:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: must be text")
    template = string.Template(text)
    if not template.is_valid():
        raise ConfigError(f"{where}: not a valid template (a lone $? write $$ for a dollar sign)")
    unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown placeholder {', '.join('$' + u for u in unknown)} "
            f"(known: {', '.join(sorted(PLACEHOLDERS))})"
        )
