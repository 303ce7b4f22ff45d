"""The reasons an import gives for a refused cell, in English and in Chinese.

The register import and the generic import (:func:`~gridguard.targeting.import_file`)
report the same problems (an empty required cell, a bad check character, a
date in the future...); both write their reports in ``zh-CN`` or ``en`` with
:func:`in_lang`. A reason with a tail (``must be one of: ...``, ``(got ...)``)
keeps its tail.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ZH", "in_lang", "zh"]

ZH: Mapping[str, str] = {
    "required, but the cell is empty": "必填，但单元格为空",
    "must be a whole number": "必须是整数",
    "not a phone number": "不是电话号码",
    "must not contain control characters": "不能包含控制字符",
    "not a date (YYYY-MM-DD)": "不是日期（年-月-日）",
    "not a calendar date": "不是有效日期",
    "must not be in the future": "不能晚于今天",
    "check character does not match (ISO 7064 MOD 11-2)": "校验码不符（ISO 7064 MOD 11-2）",
    "a resident identity number has 18 characters (GB 11643-1999)": "身份证号码应为18位",
    "the first 17 characters must be digits (GB 11643-1999)": "身份证号码前17位必须是数字",
    "characters 7-14 are not a valid birth date": "第7-14位不是有效的出生日期",
    "the birth date must lie between 1850 and today": "出生日期须在1850年至今天之间",
    "cannot tell the floor: give 楼层 or a room number such as 302": (
        "无法判断楼层：请填写楼层或302这样的房号"
    ),
    "duplicate person": "重复人员",
    "duplicate row: an earlier row of this file has this key": (
        "重复行：本文件前面已有一行是这个编号"
    ),
    "duplicate row": "重复行",
    "unknown household": "未知的户",
    "unknown stairwell": "未知的楼梯",
    "unknown building": "未知的楼幢",
    "unknown area": "未知的区域",
    # why an outside-list row waits for review (gridguard.targeting.matching)
    "a similar identity number is on file, but the name is not close": (
        "登记中有相近的身份证号码，但姓名不相近"
    ),
    "no identity number or phone to match on": "没有可匹配的身份证号码或电话",
    "no name to confirm a phone or a mistyped identity number": (
        "没有姓名，无法确认电话或录错的身份证号码"
    ),
    "nobody in the register has this identity number or phone": "登记中无此身份证号码或电话",
    "the identity number is on file, but under another name": "登记中有此身份证号码，但姓名不同",
    "the phone is on file, but no name there is close enough": "登记中有此电话，但姓名都不够相近",
}


def zh(text: str) -> str:
    """``text``, an import problem's English reason, in Chinese (an unknown one as it is)."""
    for english, chinese in ZH.items():
        if text.startswith(english):
            return chinese + text[len(english) :]
    if text.startswith("not a valid phone number"):
        return "不是有效的电话号码" + text[len("not a valid phone number") :]
    if text.startswith("must be one of"):
        return "必须是以下之一" + text[len("must be one of") :]
    return text


def in_lang(text: str, lang: str) -> str:
    """``text`` in ``lang``: Chinese for ``zh-CN`` (or any ``zh``), else as given (English)."""
    return zh(text) if lang.startswith("zh") else text
