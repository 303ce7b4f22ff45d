"""Chinese (and English) headers and values of the visit and check-in files.

A community's clerks write 户编号, 结果 and 不在家, not ``household_id``,
``outcome`` and ``not_home``. :func:`canonical_row` renames a row's headers
to the fields a file reader knows and turns the Chinese values of its
enumerated columns (outcome, channel, exposure, anomaly, status) into the
stored ones, so that :mod:`gridguard.sweep.recording` and
:mod:`gridguard.watch.checkins` read Chinese files as they read English
ones. Headers are compared as :func:`gridguard.targeting.tables.normalise_header`
compares them (case, spaces, ``_`` and remarks in brackets ignored).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CHECKIN_HEADERS",
    "CHECKIN_VALUES",
    "VISIT_HEADERS",
    "VISIT_VALUES",
    "canonical_row",
    "split_list",
]

VISIT_HEADERS: Mapping[str, tuple[str, ...]] = {
    "id": ("走访编号", "记录编号"),
    "at": ("时间", "走访时间", "日期时间", "入户时间"),
    "household_id": ("户编号", "户号", "户id", "家庭编号"),
    "address": ("地址", "住址", "户地址", "门牌地址"),
    "outcome": ("结果", "走访结果", "情况"),
    "channel": ("方式", "走访方式", "途径"),
    "team_id": ("小分队", "小分队编号", "队伍编号", "走访小分队"),
    "campaign_id": ("活动", "活动编号"),
    "note": ("备注", "说明"),
    "recorded_by": ("记录人", "录入人"),
    "person_id": ("人员编号", "个人编号"),
    "person_name": ("姓名", "人员姓名", "被筛查人"),
    "screening_id": ("筛查编号",),
    "temperature": ("体温", "体温(℃)", "体温℃"),
    "symptoms": ("症状",),
    "trip_destination": ("外出地点", "去过", "旅行地", "到过", "14天内去过"),
    "trip_departed": ("出发日期", "离开日期"),
    "trip_returned": ("返回日期", "回来日期", "返回时间"),
    "exposure_kind": ("接触类型", "接触史"),
    "exposure_last_contact": ("最后接触日期", "接触日期"),
    "exposure_note": ("接触说明", "接触备注"),
}
"""Header spellings of a visit file (one row per screened person)."""

CHECKIN_HEADERS: Mapping[str, tuple[str, ...]] = {
    "id": ("报告编号",),
    "at": ("时间", "报告时间", "上报时间"),
    "building_id": ("楼幢编号", "楼栋编号"),
    "building_name": ("楼栋", "楼幢", "楼栋名称", "楼幢名称"),
    "observer_id": ("观察员编号",),
    "observer_name": ("观察员", "观察员姓名", "楼幢观察员"),
    "status": ("状态", "情况"),
    "recorded_by": ("记录人", "录入人"),
    "anomaly_kind": ("异常", "异常类型", "异常情况"),
    "anomaly_count": ("人数", "异常人数"),
    "anomaly_note": ("备注", "异常说明", "说明"),
    "anomaly_household_id": ("户编号", "涉及户编号"),
    "anomaly_address": ("地址", "涉及地址", "住址"),
}
"""Header spellings of a check-in file (one row per anomaly, or one "all normal" row)."""

VISIT_VALUES: Mapping[str, Mapping[str, str]] = {
    "outcome": {
        "筛查": "screened", "已筛查": "screened", "已排查": "screened", "排查": "screened",
        "正常": "screened", "完成": "screened",
        "不在家": "not_home", "无人": "not_home", "家中无人": "not_home", "未遇": "not_home",
        "拒绝": "refused", "拒访": "refused", "拒绝配合": "refused", "不配合": "refused",
        "空置": "vacant", "空房": "vacant", "空置房": "vacant", "无人居住": "vacant",
    },
    "channel": {
        "上门": "door", "入户": "door", "敲门": "door", "当面": "door",
        "电话": "phone", "电话追访": "phone", "电话随访": "phone",
    },
    "exposure_kind": {
        "确诊病例": "confirmed_case", "确诊": "confirmed_case",
        "疑似病例": "suspected_case", "疑似": "suspected_case",
        "疫区来人": "outbreak_area_arrival", "来自疫区": "outbreak_area_arrival",
        "疫区返回": "outbreak_area_arrival", "其他": "other",
    },
}  # fmt: skip
"""Chinese values of a visit file's enumerated columns, and the stored value of each."""

CHECKIN_VALUES: Mapping[str, Mapping[str, str]] = {
    "status": {
        "正常": "all_normal", "一切正常": "all_normal", "平安": "all_normal",
        "报平安": "all_normal", "异常": "anomalies", "有异常": "anomalies",
    },
    "anomaly_kind": {
        "陌生人": "stranger", "外来人员": "stranger", "生人": "stranger",
        "迁入": "move_in", "搬入": "move_in", "新迁入": "move_in",
        "迁出": "move_out", "搬出": "move_out",
        "有症状": "symptomatic", "发热": "symptomatic", "身体不适": "symptomatic",
        "其他": "other",
    },
}  # fmt: skip
"""Chinese values of a check-in file's enumerated columns, and the stored value of each."""

_DROP = str.maketrans("", "", " \t_-*:：")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return _BRACKETS.sub("", text).translate(_DROP)


def _lookup(headers: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for field, spellings in headers.items():
        for spelling in (field, *spellings):
            found[_normalise(spelling)] = field
    return found


_LOOKUPS: dict[int, dict[str, str]] = {}


def canonical_row(
    row: Mapping[str, Any],
    headers: Mapping[str, tuple[str, ...]],
    values: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """``row`` with its headers renamed to fields and its Chinese values made stored values.

    A header that names no field is kept as it is (the reader reports it).
    """
    lookup = _LOOKUPS.get(id(headers))
    if lookup is None:
        lookup = _LOOKUPS[id(headers)] = _lookup(headers)
    out: dict[str, Any] = {}
    for key, value in row.items():
        field = lookup.get(_normalise(key), key)
        if field in values and isinstance(value, str):
            value = values[field].get(unicodedata.normalize("NFKC", value).strip(), value)
        out[field] = value
    return out


def split_list(text: str) -> list[str]:
    """``发热;咳嗽``, ``发热、咳嗽`` or ``发热，咳嗽`` as a list."""
    return [part.strip() for part in re.split(r"[;；、,，]", text) if part.strip()]
