"""Every label a builtin report shows, in English and Chinese (简体中文), in one place.

Builders take their labels from :data:`CATALOGUE` by key, so a translation
is fixed here once and every report and every renderer shows it. A
stored value from a closed vocabulary (a visit outcome, an anomaly kind, a
risk level) is shown through :func:`value_label`, which falls back to the
value itself for one the catalogue does not know (a plugin's new kind).
"""

from __future__ import annotations

from .document import Label

__all__ = ["CATALOGUE", "VALUES", "label", "meta_label", "value_label"]

CATALOGUE: dict[str, Label] = {
    # -- report titles
    "daily.title": Label("Daily situation report", "疫情防控日报"),
    "progress.title": Label("Campaign progress", "排查进度"),
    "household.title": Label("Household file", "一户一档"),
    "person.title": Label("Person file", "一人一档"),
    "teams.title": Label("Team performance", "小分队工作量"),
    "linelist.title": Label("Line list for follow-up", "今日追访名单"),
    # -- what a report's header says about it (``Report.meta``)
    "meta.campaign": Label("Campaign", "防控行动"),
    "meta.campaign_name": Label("Campaign name", "行动名称"),
    "meta.time_zone": Label("Time zone", "时区"),
    "meta.plan_days": Label("Days planned", "计划天数"),
    "meta.household": Label("Household", "户"),
    "meta.person": Label("Person", "人员"),
    # -- sections
    "section.overview": Label("Overview", "概况"),
    "section.lines": Label("Lines of defense", "三道防线"),
    "section.sweep": Label("Door-to-door sweep", "入户走访"),
    "section.flagged": Label("Flagged persons", "重点人员"),
    "section.quarantine": Label("Quarantine", "隔离管控"),
    "section.watch": Label("Building observers", "楼幢观察员"),
    "section.services": Label("Services and tasks", "服务与任务"),
    "section.alerts": Label("Alerts", "预警通知"),
    "section.trends": Label("Day by day", "每日趋势"),
    "chart.coverage": Label("Households covered per day, against the plan", "每日走访覆盖与计划"),
    "chart.flagged": Label("Flagged persons per day, by reason", "每日重点人员（按原因）"),
    "chart.compliance": Label("Check-in compliance per day (%)", "每日报平安率（%）"),
    "chart.quarantine": Label("Under quarantine per day", "每日在管隔离人数"),
    "percent": Label("Percent", "百分比"),
    "other_reasons": Label("Other reasons", "其他原因"),
    "section.progress": Label("Households covered", "走访覆盖"),
    "section.household": Label("Household", "户信息"),
    "section.members": Label("Members", "家庭成员"),
    "section.visits": Label("Visits", "走访记录"),
    "section.screenings": Label("Screenings", "筛查记录"),
    "section.person": Label("Person", "人员信息"),
    "section.flags": Label("Why flagged", "标记原因"),
    "section.teams": Label("Teams", "小分队"),
    "section.linelist": Label("Who to call today", "今日需联系"),
    # -- notes
    "note.empty": Label("Nothing recorded for this area yet.", "该区域暂无记录。"),
    "note.masked": Label(
        "Names, phones and identity numbers are masked.", "姓名、电话和身份证号已脱敏。"
    ),
    "note.change": Label("Change: since the day before.", "变化：与前一日相比。"),
    "note.plan": Label(
        "Plan: every household covered in equal daily steps over the planned days.",
        "计划：在计划天数内按日均匀走访全部住户。",
    ),
    # -- figures and columns
    "figures": Label("Key figures", "主要数字"),
    "change": Label("Change", "变化"),
    "households": Label("Households", "户数"),
    "households_visited": Label("Households visited", "已走访户数"),
    "households_screened": Label("Households screened", "已筛查户数"),
    "coverage": Label("Coverage", "覆盖率"),
    "visits": Label("Visits", "走访次数"),
    "visits_door": Label("Door visits", "入户走访"),
    "visits_phone": Label("Phone follow-ups", "电话追访"),
    "screened": Label("Screened", "已筛查"),
    "not_home": Label("Not at home", "不在家"),
    "refused": Label("Refused", "拒绝"),
    "vacant": Label("Vacant", "空置"),
    "phone_pending": Label("Not at home, call pending", "不在家待电话追访"),
    "persons_screened": Label("Persons screened", "筛查人数"),
    "screenings": Label("Screenings (person-times)", "筛查人次"),
    "persons_flagged": Label("Persons flagged", "标记人数"),
    "line": Label("Line of defense", "防线"),
    "activity": Label("Activity today", "今日工作量"),
    "flagged_today": Label("Flagged today", "今日标记"),
    "risk": Label("Risk", "风险等级"),
    "risk.high": Label("High risk", "高风险"),
    "risk.medium": Label("Medium risk", "中风险"),
    "risk.low": Label("Low risk", "低风险"),
    "rule": Label("Rule", "规则"),
    "persons": Label("Persons", "人数"),
    "category": Label("Category", "类别"),
    "count": Label("Count", "数量"),
    "quarantine_active": Label("Under quarantine", "在管隔离"),
    "quarantine_new": Label("New today", "今日新增"),
    "quarantine_ending": Label("Last day today", "今日期满"),
    "quarantine_released": Label("Released today", "今日解除"),
    "kind": Label("Kind", "类型"),
    "buildings_observed": Label("Buildings with an observer", "有观察员的楼幢"),
    "checkins": Label("Buildings checked in", "已报平安楼幢"),
    "checkin_compliance": Label("Check-in compliance", "报平安率"),
    "anomalies": Label("Anomalies reported", "异常报告"),
    "anomaly_kind": Label("Anomaly", "异常类型"),
    "service_requests": Label("Service requests today", "今日服务请求"),
    "services_open": Label("Service requests open", "未完成服务"),
    "services_overdue": Label("Service requests overdue", "超时未办服务"),
    "tasks_open": Label("Tasks open", "待办任务"),
    "tasks_overdue": Label("Tasks overdue", "逾期任务"),
    "task_kind": Label("Task", "任务"),
    "open": Label("Open", "待办"),
    "overdue": Label("Overdue", "逾期"),
    "alerts": Label("Alerts made", "生成通知"),
    "alerts_sent": Label("Delivered", "已送达"),
    "alerts_failed": Label("Failed", "投递失败"),
    "notifications_undeliverable": Label("Undeliverable", "无法投递"),
    "alerts_urgent_wait": Label(
        "Longest wait of an urgent alert (min)", "紧急通知最长等待（分钟）"
    ),
    "alerts_urgent_waiting": Label("Urgent alerts not delivered", "未送达紧急通知"),
    "topic": Label("Topic", "主题"),
    "day": Label("Day", "日期"),
    "new_visited": Label("Newly visited", "新走访户数"),
    "plan": Label("Plan", "计划"),
    "field": Label("Field", "项目"),
    "value": Label("Value", "内容"),
    "id": Label("Id", "编号"),
    "address": Label("Address", "地址"),
    "phone": Label("Phone", "电话"),
    "name": Label("Name", "姓名"),
    "resident_id": Label("Identity number", "身份证号"),
    "sex": Label("Sex", "性别"),
    "birth_date": Label("Birth date", "出生日期"),
    "residency": Label("Residency", "居住类型"),
    "status": Label("Status", "状态"),
    "building": Label("Building", "楼幢"),
    "stairwell": Label("Stairwell", "楼梯"),
    "area": Label("Area", "区域"),
    "floor": Label("Floor", "楼层"),
    "door": Label("Door", "门牌"),
    "time": Label("Time", "时间"),
    "outcome": Label("Outcome", "结果"),
    "channel": Label("Channel", "方式"),
    "team": Label("Team", "小分队"),
    "note": Label("Note", "备注"),
    "temperature": Label("Temperature (°C)", "体温（°C）"),
    "trips": Label("Trips", "旅行史"),
    "exposures": Label("Exposures", "接触史"),
    "symptoms": Label("Symptoms", "症状"),
    "flag": Label("Flag", "标记"),
    "detail": Label("Detail", "详情"),
    "shifts": Label("Shifts", "出勤班次"),
    "per_shift": Label("Households per shift", "每班户数"),
    "reason": Label("Reason", "原因"),
    "person": Label("Person", "人员"),
    "due": Label("Due", "期限"),
    "since": Label("Since", "起始"),
    "call_not_home": Label("Not at home, to phone", "入户未遇待电话"),
    "call_task": Label("Tasks due", "到期任务"),
    "call_quarantine": Label("Quarantine health checks", "隔离健康随访"),
}
"""Labels by key; a builder asks :func:`label` for one."""

VALUES: dict[str, Label] = {
    # visit outcomes and channels, household status
    "screened": Label("screened", "已筛查"),
    "not_home": Label("not at home", "不在家"),
    "refused": Label("refused", "拒绝"),
    "vacant": Label("vacant", "空置"),
    "unreachable": Label("unreachable", "未联系上"),
    "pending": Label("not visited yet", "未走访"),
    "door": Label("at the door", "入户"),
    "phone": Label("by phone", "电话"),
    # risk levels
    "none": Label("none", "无"),
    "low": Label("low", "低"),
    "medium": Label("medium", "中"),
    "high": Label("high", "高"),
    # quarantine kinds
    "home": Label("home quarantine", "居家隔离"),
    "central": Label("centralised quarantine", "集中隔离"),
    # anomaly kinds
    "stranger": Label("stranger", "陌生人"),
    "move_in": Label("moved in", "迁入"),
    "move_out": Label("moved out", "迁出"),
    "symptomatic": Label("someone ill", "有症状"),
    "other": Label("other", "其他"),
    # task kinds
    "visit": Label("visit", "上门"),
    "phone_call": Label("phone call", "电话"),
    "delivery": Label("delivery", "送物资"),
    "referral": Label("referral to a fever clinic", "转诊发热门诊"),
    # services
    "groceries": Label("groceries", "买菜送菜"),
    "medicine": Label("medicine", "送药"),
    # exposure kinds
    "confirmed_case": Label("confirmed case", "确诊病例"),
    "suspected_case": Label("suspected case", "疑似病例"),
    "outbreak_area_arrival": Label("arrival from an outbreak area", "疫区来人"),
    "household_member_of_case": Label("household member of a case", "病例同住人员"),
    "contact_of_contact": Label("contact of a close contact", "密接的密接"),
    # person-file flags
    "outbreak_trip": Label("trip to an outbreak area", "疫区旅行史"),
    "contact": Label("contact", "接触史"),
    "fever": Label("fever", "发热"),
    "symptoms": Label("symptoms", "症状"),
    # line-list reasons
    "call_not_home": Label("not at home at the door", "入户未遇"),
    "call_task": Label("task due", "待办任务"),
    "call_quarantine": Label("under quarantine: health check", "隔离健康随访"),
    # sex and residency
    "male": Label("male", "男"),
    "female": Label("female", "女"),
    "resident": Label("resident", "常住"),
    "tenant": Label("tenant", "租户"),
    "visitor": Label("visitor", "访客"),
    # alert delivery
    "sent": Label("sent", "已送达"),
    "dead": Label("failed", "失败"),
}
"""Labels of stored vocabulary values (outcomes, kinds, risk levels...)."""


def label(key: str) -> Label:
    """The label called ``key``; ``KeyError`` names a key missing from the catalogue."""
    try:
        return CATALOGUE[key]
    except KeyError:
        raise KeyError(f"no label {key!r} in gridguard.report.locale.CATALOGUE") from None


def meta_label(key: str) -> Label:
    """The label of a report header's ``key`` (``campaign``, ``time_zone``...), else the key."""
    return CATALOGUE.get(f"meta.{key}") or Label(key, key)


def value_label(value: str) -> Label:
    """The label of a vocabulary value; the value itself in both languages when unknown."""
    return VALUES.get(value) or Label(value, value)
