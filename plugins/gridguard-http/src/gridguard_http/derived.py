"""Derived state and documents: coverage, reports, the review queue, FHIR Bundles."""

from __future__ import annotations

from gridguard import Workspace
from gridguard.errors import ValidationError
from gridguard.serialization import to_dict

from .problems import Problem
from .routing import Call, Reply

__all__ = ["get_coverage", "get_fhir", "get_report", "get_review_queue"]


def get_coverage(ws: Workspace, call: Call) -> Reply:
    from gridguard.sweep import Sweep

    by = call.query.get("by", "grid")
    rows = Sweep(ws, call.query.get("campaign")).coverage(by=by)
    return Reply(200, {"items": [to_dict(r) for r in rows]})


def get_report(ws: Workspace, call: Call) -> Reply:
    from gridguard.reporting import REPORT_KINDS, build_report

    kind = call.path["kind"]
    if kind not in REPORT_KINDS:
        raise ValidationError.single(
            "$.kind", repr(kind), f"must be one of: {', '.join(REPORT_KINDS)}"
        )
    fmt = call.query.get("format", "json")
    report = build_report(
        ws,
        kind,
        id=call.query.get("id"),
        area=call.query.get("area"),
        day=call.query.get("day"),
        campaign=call.query.get("campaign"),
        unmask=call.flag("unmask"),
    )
    lang = call.query.get("lang", call.lang)
    if fmt == "json":
        return Reply(200, report.to_dict(lang))
    reporters = ws.registries.reporters
    if fmt not in reporters:
        raise Problem(
            "not-acceptable", f"no {fmt!r} reporter installed", f"未安装 {fmt!r} 报表插件"
        )
    reporter = reporters.get(fmt)()
    out = reporter.render(report, lang=lang)
    data = out.encode("utf-8") if isinstance(out, str) else out
    return Reply(200, None, media_type=reporter.media_type, raw=data)


def get_review_queue(ws: Workspace, call: Call) -> Reply:
    """Outside-list rows waiting for review, masked.

    The queue is read over the whole store (list rows are not in any area
    until matched), so it needs the list matcher's right over the whole
    store (``targeting.match`` on ``WHOLE_STORE``), which only an unscoped
    principal has; the check is made here, as the workflow makes none.
    """
    from gridguard.targeting import review_queue
    from gridguard.workspace import WHOLE_STORE

    ws.authorize("targeting.match", WHOLE_STORE)
    rows = review_queue(ws, call.query.get("list_id"))
    return Reply(200, {"items": [to_dict(r) for r in rows]})


def get_fhir(ws: Workspace, call: Call) -> Reply:
    from .fhir import RESOURCE_TYPES, bundle, parse_since

    kind = call.path.get("type")
    if kind is not None and kind not in RESOURCE_TYPES:
        raise ValidationError.single(
            "$.type", repr(kind), f"must be one of: {', '.join(RESOURCE_TYPES)}"
        )
    data = bundle(
        ws,
        area=call.query.get("area"),
        since=parse_since(call.query.get("since")),
        unmask=call.flag("unmask"),
        base=f"{call.base}/fhir",
        types=RESOURCE_TYPES if kind is None else (kind,),
    )
    return Reply(200, data, media_type="application/fhir+json")
