"""The scope of every public workflow entry point, found by introspection, run as every role.

:func:`entry_points` lists every public function of the workflow packages
whose first parameter is the workspace, every public method of their
classes built on a workspace, and the workspace's own public methods. Each
is either run here (:data:`RECIPES`: how to call it with arguments built
from the random place tree's stored records) or on :data:`NOT_DATA` with the
reason it touches no stored data. A new entry point fails
:func:`test_every_entry_point_is_classified` until someone writes its recipe.

:func:`test_nothing_outside_the_scope_is_read_or_written` builds a random
place tree (hypothesis) with visits, quarantine orders, service requests,
tasks, observers, check-ins and messages in it, once per example, and runs
every recipe as each of the eight roles, scoped to a random grid, community
or building. For every call it asserts:

- nothing outside the scope comes back: no id, address or phone of a
  household, person, building, stairwell, team or area outside the scope
  (the areas above it excepted), and no address or phone at all to a role
  that may not read households or persons;
- nothing outside the scope is written: every row the call added or changed
  (the whole store is compared before and after) names only what lies inside;
- every access to personal data is audited: a call that returned a
  household's or a person's data, wrote anything, or was refused left an
  audit entry; a refusal is an :class:`~gridguard.errors.AccessDenied`,
  another error a :class:`~gridguard.errors.GridGuardError` (a bad
  argument), never anything else;
- an id outside the scope and an id that is not stored get the same answer.

It runs on SQLite, and on PostgreSQL when ``GRIDGUARD_TEST_POSTGRES_URL``
answers (always under CI), in a schema of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import inspect
import json
import os
import pkgutil
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import AccessDenied, Principal, Role, Visit
from gridguard.errors import GridGuardError
from gridguard.model import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    CheckIn,
    HealthReport,
    Household,
    MonitoringPoint,
    Person,
    PointReport,
    QuarantineOrder,
    Screening,
    ServiceRequest,
    Stairwell,
    Team,
    TeamMember,
)
from gridguard.model.assessments import Task
from gridguard.notifications import Event, Notifications, NotifySettings, Router
from gridguard.security.access import PERMISSIONS, Category, Verb
from gridguard.storage.schema import SPECS, spec_for
from gridguard.workspace import Workspace

PACKAGES = (
    "sweep",
    "targeting",
    "notifications",
    "quarantine",
    "services",
    "watch",
    "screening",
    "reporting",
    "security",
)


def entry_points() -> set[str]:
    """Qualified names of every public entry point that takes a workspace."""
    found: set[str] = set()
    for short in PACKAGES:
        package = importlib.import_module(f"gridguard.{short}")
        modules = [package] + [
            importlib.import_module(f"gridguard.{short}.{m.name}")
            for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_")
        ]
        for module in modules:
            for name in getattr(module, "__all__", ()):
                obj = getattr(module, name)
                if not getattr(obj, "__module__", "").startswith(f"gridguard.{short}"):
                    continue
                if inspect.isfunction(obj):
                    params = list(inspect.signature(obj).parameters)
                    if params[:1] in (["ws"], ["workspace"]):
                        found.add(f"{short}.{obj.__name__}")
                elif inspect.isclass(obj) and "__init__" in vars(obj):
                    params = list(inspect.signature(obj.__init__).parameters)
                    if params[1:2] in (["ws"], ["workspace"]):
                        found |= {
                            f"{short}.{obj.__name__}.{m}"
                            for m, f in vars(obj).items()
                            if not m.startswith("_") and inspect.isfunction(f)
                        }
    found |= {
        f"Workspace.{m}"
        for m, f in vars(Workspace).items()
        if not m.startswith("_") and inspect.isfunction(f)
    }
    return found


AT = dt.datetime(2020, 1, 26, 2, tzinfo=dt.UTC)
DAY = dt.date(2020, 1, 26)
EXPOSED = dt.date(2020, 1, 24)


# -- the store ---------------------------------------------------------------------------------


@attrs.define
class Store:
    """One example's store, what was put in it, and how to call the entry points on it."""

    admin: Workspace
    folder: Path
    records: list[Any]
    orders: dict[str, str] = attrs.field(factory=dict)
    """Quarantine order id -> household id."""
    requests: dict[str, str] = attrs.field(factory=dict)
    """Service request id -> household id."""
    tasks: dict[str, str] = attrs.field(factory=dict)
    """Task id -> household id."""
    calls: int = 0

    def ids(self, cls: type[Any]) -> list[str]:
        return sorted(str(r.id) for r in self.records if isinstance(r, cls))

    def grids(self) -> list[str]:
        return sorted(
            r.id for r in self.records if isinstance(r, Area) and r.level is AreaLevel.GRID
        )

    def grid_of(self, household_id: str) -> str:
        return household_id[1:].split("x")[0]

    def path(self, suffix: str) -> Path:
        self.calls += 1
        return self.folder / f"call{self.calls}{suffix}"

    def notify_settings(self) -> NotifySettings:
        communities = self.ids(Area)
        contacts = [
            {"role": role, "area_id": c, "name": "联系人"}
            for c in communities
            if c.startswith("c") and "g" not in c
            for role in ("community_doctor", "community_secretary")
        ]
        return NotifySettings.from_dict(
            {
                "campaign": "cmp",
                "channels": {"file": {"type": "jsonl", "path": str(self.folder / "n.jsonl")}},
                "routes": [{"topic": "fever", "roles": ["community_doctor"], "channels": ["file"]}],
                "contacts": contacts,
                "digest": {"channels": ["file"], "roles": ["community_secretary"]},
            }
        )


@st.composite
def place_trees(draw: st.DrawFn) -> list[Any]:
    """A city of 1-2 communities, each of 1-3 grids of one building of 1-2 households.

    Every id, address and phone is a token of its own (``hc0g1x0``, ``路hc0g1x0A号``,
    ``13800130007``), so that a leak is found by looking for tokens.
    """
    records: list[Any] = [Area(id="city", name="市", level=AreaLevel.CITY)]
    phones = iter(range(1, 100))
    for c in range(draw(st.integers(1, 2))):
        records.append(Area(id=f"c{c}", name="社区", level=AreaLevel.COMMUNITY, parent_id="city"))
        for g in range(draw(st.integers(1, 3))):
            grid = f"c{c}g{g}"
            records += [
                Area(id=grid, name="网格", level=AreaLevel.GRID, parent_id=f"c{c}"),
                Building(id=f"b{grid}", area_id=grid, name="楼"),
                Stairwell(
                    id=f"s{grid}", building_id=f"b{grid}", name="梯", floors=3, doors_per_floor=2
                ),
                Team(
                    id=f"t{grid}",
                    name="队",
                    area_id=grid,
                    members=[
                        TeamMember(name="队员", role=r) for r in ("cadre", "doctor", "police")
                    ],
                ),
                Team(
                    id=f"v{grid}",
                    name="服务队",
                    area_id=grid,
                    kind="service",
                    members=[TeamMember(name="党员", role="volunteer", party_member=True)],
                ),
            ]
            for h in range(draw(st.integers(1, 2))):
                hid = f"h{grid}x{h}"
                records += [
                    Household(
                        id=hid,
                        stairwell_id=f"s{grid}",
                        floor=1,
                        door=f"10{h}",
                        address=f"路{hid}A号",
                        phone=f"1390013{next(phones):04d}",
                    ),
                    Person(
                        id=f"p{hid}",
                        household_id=hid,
                        name="人",
                        phone=f"1380013{next(phones):04d}",
                    ),
                ]
    records.append(Campaign(id="cmp", name="排查", scope=("city",), start=dt.date(2020, 1, 25)))
    return records


def build(admin: Workspace, folder: Path, records: list[Any], outcomes: list[str]) -> Store:
    """The store of one example: the tree and a little of everything the workflows keep."""
    from gridguard.quarantine import order_household
    from gridguard.services import request_service
    from gridguard.watch import assign_observer, record_checkins

    store = Store(admin=admin, folder=folder, records=records)
    admin.add(records)
    households = store.ids(Household)
    admin.record(
        [
            Visit(at=AT, household_id=h, outcome=outcomes[n % len(outcomes)])
            for n, h in enumerate(households)
        ]
    )
    for grid in store.grids():
        first = f"h{grid}x0"
        order_household(
            admin,
            first,
            last_exposure=EXPOSED,
            ordered_by="医生",
            reason="密接",
            campaign_id="cmp",
            at=AT,
        )
        request = request_service(admin, household_id=first, service="groceries", at=AT)
        store.requests[str(request.id)] = first
        task = Task(
            id=f"k{grid}",
            household_id=first,
            person_id=f"p{first}",
            kind="visit",
            due=AT,
            rule_id="r",
            rule_set_id="rs",
            rule_set_version="1",
        )
        with admin.transaction() as uow:  # tasks are written as the rules write them
            uow.put(Task, [task])
        store.tasks[task.id] = first
        assign_observer(admin, f"b{grid}", f"p{first}")
        record_checkins(admin, [CheckIn(at=AT, building_id=f"b{grid}", observer_id=f"p{first}")])
    store.orders = {str(o.id): o.household_id for o in admin.find(QuarantineOrder)}
    Notifications(admin, store.notify_settings()).notify(
        [
            Event(
                topic="fever",
                key=f"k{p}",
                at=AT,
                person_id=p,
                values={"temperature": 38.5},
            )
            for p in store.ids(Person)
        ]
    )
    admin.flush_audit()
    return store


# -- what the scope allows -----------------------------------------------------------------------


@attrs.frozen
class Scope:
    """The tokens a principal may not see, and those that are personal data of her scope."""

    outside: frozenset[str]
    """Ids, addresses and phones of everything outside the scope (the areas above excepted)."""
    unreadable: frozenset[str]
    """Addresses and phones the role may not read even inside the scope."""
    personal: frozenset[str]
    """Addresses and phones of the households and persons inside the scope: reading them
    is reading a household's or a person's file."""


def scope_of(store: Store, principal: Principal) -> Scope:
    records = store.records
    parent = {r.id: r.parent_id for r in records if isinstance(r, Area)}
    building_area = {r.id: r.area_id for r in records if isinstance(r, Building)}
    stairwell_building = {r.id: r.building_id for r in records if isinstance(r, Stairwell)}
    household_of = {r.id: r.household_id for r in records if isinstance(r, Person)}
    root = principal.building_id or principal.area_id or "city"

    def above(area: str) -> set[str]:
        out = set()
        current: str | None = area
        while current is not None:
            out.add(current)
            current = parent.get(current)
        return out

    def area_inside(area: str | None) -> bool:
        return area is not None and root in above(area)

    def building_inside(building: str) -> bool:
        return building == root or area_inside(building_area[building])

    def inside(record: Any) -> bool:
        if isinstance(record, Area):
            base = building_area.get(root, root)
            return area_inside(record.id) or record.id in above(base)
        if isinstance(record, Building):
            return building_inside(record.id)
        if isinstance(record, Stairwell):
            return building_inside(record.building_id)
        if isinstance(record, Household):
            return building_inside(stairwell_building[record.stairwell_id])
        if isinstance(record, Person):
            return inside(next(h for h in records if h.id == household_of[record.id]))
        if isinstance(record, Team):
            return area_inside(record.area_id)
        return True

    def tokens(record: Any) -> set[str]:
        out = {str(record.id)}
        if isinstance(record, Household):
            out.add(f"{record.id}A")
        if isinstance(record, Household | Person) and record.phone:
            out.add(record.phone)
        return out

    outside: set[str] = set()
    personal: set[str] = set()
    for record in records:
        if isinstance(record, Campaign):
            continue
        if not inside(record):
            outside |= tokens(record)
        elif isinstance(record, Household | Person):
            personal |= tokens(record) - {str(record.id)}
    grants = PERMISSIONS[principal.role]
    unreadable: set[str] = set()
    for record in records:
        if isinstance(record, Household) and Verb.READ not in grants.get(
            Category.HOUSEHOLD, frozenset()
        ):
            unreadable |= {f"{record.id}A", str(record.phone)}
        if isinstance(record, Person) and Verb.READ not in grants.get(Category.PERSON, frozenset()):
            unreadable.add(str(record.phone))
    return Scope(frozenset(outside), frozenset(unreadable), frozenset(personal))


_TOKEN = re.compile(r"[A-Za-z0-9]+", re.ASCII)


def tokens_in(value: Any, seen: set[int] | None = None) -> set[str]:
    """Every ASCII word in ``value``: strings, containers, attrs classes, objects' attributes."""
    seen = set() if seen is None else seen
    if id(value) in seen or value is None or isinstance(value, bool | int | float):
        return set()
    seen.add(id(value))
    if isinstance(value, str):
        return set(_TOKEN.findall(value))
    if isinstance(value, bytes):
        return tokens_in(value.decode("utf-8", "replace"), seen)
    if isinstance(value, uuid.UUID | dt.date | dt.datetime | dt.timedelta | Path):
        return {str(value)}
    if isinstance(value, dict):
        return set().union(*(tokens_in(k, seen) | tokens_in(v, seen) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return set().union(*(tokens_in(v, seen) for v in value))
    if isinstance(value, type) or (callable(value) and not attrs.has(type(value))):
        return set()
    if attrs.has(type(value)):
        return set().union(
            *(tokens_in(getattr(value, f.name, None), seen) for f in attrs.fields(type(value)))
        )
    if hasattr(value, "__dict__"):
        return tokens_in({k: v for k, v in vars(value).items() if k not in ("ws", "admin")}, seen)
    return set()


# -- how each entry point is called ---------------------------------------------------------------

Call = Callable[[Workspace, Store, str], Any]
"""``call(ws, store, id)``: ``id`` is a stored record's (one inside and one outside the scope
in turn) or one that is not stored, for recipes with a ``kind``; ``""`` otherwise."""


@attrs.frozen
class Recipe:
    call: Call
    kind: type[Any] | str | None = None
    """What the id is of: a stored class, or ``"order"``, ``"request"``, ``"task"``."""
    writes: bool = False


def _sweep(ws: Workspace) -> Any:
    from gridguard.sweep import Sweep

    return Sweep(ws, "cmp")


def _context(ws: Workspace, store: Store) -> Any:
    from gridguard.sweep import CampaignContext

    return CampaignContext(ws, store.admin.get(Campaign, "cmp"))


def _report_scope(ws: Workspace, area: str) -> Any:
    from gridguard.reporting import ReportScope

    return ReportScope.open(ws, area=area, day=DAY, campaign="cmp")


def _notes(ws: Workspace, store: Store) -> Notifications:
    return Notifications(ws, store.notify_settings())


def _visit_file(store: Store, household_id: str) -> Path:
    path = store.path(".jsonl")
    line = {"household_id": household_id, "at": AT.isoformat(), "outcome": "screened"}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    return path


def _persons_file(store: Store, household_id: str) -> Path:
    path = store.path(".csv")
    path.write_text(f"household_id,name\n{household_id},新住户\n", encoding="utf-8")
    return path


def _list_file(store: Store, person_id: str) -> Path:
    path = store.path(".csv")
    path.write_text(f"姓名,手机号\n人,{_phone(store, person_id)}\n", encoding="utf-8")
    return path


def _phone(store: Store, person_id: str) -> str:
    for r in store.records:
        if isinstance(r, Person) and r.id == person_id:
            return str(r.phone)
    return "13700000000"


def _find_all(ws: Workspace) -> list[Any]:
    found: list[Any] = []
    for cls in (
        Area,
        Building,
        Stairwell,
        Household,
        Person,
        Team,
        Campaign,
        Visit,
        Screening,
        CheckIn,
        HealthReport,
        ServiceRequest,
        QuarantineOrder,
        Task,
    ):
        with contextlib.suppress(AccessDenied):
            found += ws.find(cls)
    return found


def _function(package: str, name: str) -> Any:
    """The public function ``name`` of a workflow package or of one of its modules."""
    found = importlib.import_module(f"gridguard.{package}")
    modules = [found] + [
        importlib.import_module(f"gridguard.{package}.{m.name}")
        for m in pkgutil.iter_modules(found.__path__)
        if not m.name.startswith("_")
    ]
    for module in modules:
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AssertionError(f"no gridguard.{package}.{name}")


def _quarantine(name: str) -> Any:
    return _function("quarantine", name)


def _services(name: str) -> Any:
    return _function("services", name)


def _targeting(name: str) -> Any:
    return _function("targeting", name)


def _watch(name: str) -> Any:
    return _function("watch", name)


def _reporting(name: str) -> Any:
    return _function("reporting", name)


def _visit_record(household_id: str) -> Any:
    from gridguard.sweep import VisitRecord

    return VisitRecord(Visit(at=AT, household_id=household_id, outcome="screened"))


def _load_visit(ws: Workspace, household_id: str) -> int:
    visit = Visit(at=AT, household_id=household_id, outcome="vacant")
    return ws.load_rows(Visit, [spec_for(Visit).encode(visit)])


def _every_page(ws: Workspace) -> list[Any]:
    """Every household on every page, two a page (so that cursors are followed)."""
    seen: list[Any] = []
    after: str | None = None
    while True:
        page = ws.page(Household, after=after, limit=2)
        seen += page.items
        if page.next is None:
            return seen
        after = page.next


def _update(ws: Workspace, store: Store, id: str) -> int:
    record = next((r for r in store.records if isinstance(r, Household) and r.id == id), None)
    if record is None:
        record = Household(id=id, stairwell_id="sc0g0", floor=1, door="1", address="x")
    version = 1
    with contextlib.suppress(GridGuardError):
        version = store.admin.version(Household, id)
    return ws.update(attrs.evolve(record, door="909"), expected_version=version)


def _route(ws: Workspace) -> Any:
    sweep = _sweep(ws)
    plan = sweep.plan(sweep.roster([1], start=DAY))
    return [sweep.route(shift) for shift in plan.shifts]


def _dispatcher(ws: Workspace, store: Store) -> Any:
    return _notes(ws, store).dispatcher()


RECIPES: dict[str, Recipe] = {
    # -- the workspace --------------------------------------------------------------------------
    "Workspace.find": Recipe(lambda ws, s, _: _find_all(ws)),
    "Workspace.get": Recipe(lambda ws, s, i: ws.get(Household, i), Household),
    "Workspace.version": Recipe(lambda ws, s, i: ws.version(Household, i), Household),
    "Workspace.page": Recipe(lambda ws, s, _: _every_page(ws)),
    "Workspace.count": Recipe(
        lambda ws, s, _: [ws.count(c) for c in (Area, Building, Household, Visit, CheckIn)]
    ),
    "Workspace.counts": Recipe(lambda ws, s, _: ws.counts()),
    "Workspace.add": Recipe(
        lambda ws, s, i: ws.add(
            [Person(id=f"n{s.calls}{i}", household_id=i, name="新人", phone="13700001111")]
        ),
        Household,
        writes=True,
    ),
    "Workspace.update": Recipe(_update, Household, writes=True),
    "Workspace.record": Recipe(
        lambda ws, s, i: ws.record([Visit(at=AT, household_id=i, outcome="vacant")]),
        Household,
        writes=True,
    ),
    "Workspace.load_rows": Recipe(lambda ws, s, i: _load_visit(ws, i), Household, writes=True),
    "Workspace.narrow": Recipe(lambda ws, s, i: _find_all(ws.narrow(i)), Area),
    # -- the sweep ------------------------------------------------------------------------------
    "sweep.Sweep.phone_queue": Recipe(lambda ws, s, _: _sweep(ws).phone_queue()),
    "sweep.Sweep.escalations": Recipe(lambda ws, s, _: _sweep(ws).escalations()),
    "sweep.Sweep.coverage": Recipe(
        lambda ws, s, _: [
            _sweep(ws).coverage(by) for by in ("campaign", "area", "grid", "building")
        ]
    ),
    "sweep.Sweep.estimate": Recipe(lambda ws, s, _: _sweep(ws).estimate([1])),
    "sweep.Sweep.household_file": Recipe(lambda ws, s, i: _sweep(ws).household_file(i), Household),
    "sweep.Sweep.person_file": Recipe(lambda ws, s, i: _sweep(ws).person_file(i), Person),
    "sweep.Sweep.plan": Recipe(lambda ws, s, _: _sweep(ws).plan(_sweep(ws).roster([1]))),
    "sweep.Sweep.roster": Recipe(lambda ws, s, _: _sweep(ws).roster([1, 1], start=DAY)),
    "sweep.Sweep.route": Recipe(lambda ws, s, _: _route(ws)),
    "sweep.Sweep.teams": Recipe(lambda ws, s, _: _sweep(ws).teams()),
    "sweep.Sweep.record": Recipe(
        lambda ws, s, i: _sweep(ws).record([_visit_record(i)]), Household, writes=True
    ),
    "sweep.Sweep.record_file": Recipe(
        lambda ws, s, i: _sweep(ws).record_file(_visit_file(s, i)), Household, writes=True
    ),
    "sweep.assign_task": Recipe(
        lambda ws, s, i: _function("sweep", "assign_task")(
            ws, i, f"t{s.grid_of(s.tasks.get(i, 'hc0g0x0'))}"
        ),
        "task",
        writes=True,
    ),
    "sweep.close_task": Recipe(
        lambda ws, s, i: _function("sweep", "close_task")(ws, i),
        "task",
        writes=True,
    ),
    "sweep.settle_tasks": Recipe(
        lambda ws, s, _: _function("sweep", "settle_tasks")(ws), writes=True
    ),
    "sweep.resolve_campaign": Recipe(
        lambda ws, s, _: _function("sweep", "resolve_campaign")(ws, None)
    ),
    "sweep.CampaignContext.campaign_params": Recipe(
        lambda ws, s, _: _context(ws, s).campaign_params()
    ),
    "sweep.CampaignContext.community_of": Recipe(
        lambda ws, s, i: _context(ws, s).community_of(i), Area
    ),
    "sweep.CampaignContext.counts": Recipe(
        lambda ws, s, i: _context(ws, s).counts(Visit(at=AT, household_id=i, outcome="vacant")),
        Household,
    ),
    "sweep.CampaignContext.grid_of": Recipe(lambda ws, s, i: _context(ws, s).grid_of(i), Area),
    "sweep.CampaignContext.household_facts": Recipe(
        lambda ws, s, _: _context(ws, s).household_facts()
    ),
    "sweep.CampaignContext.households_in_scope": Recipe(
        lambda ws, s, _: list(_context(ws, s).households_in_scope())
    ),
    "sweep.CampaignContext.in_window": Recipe(lambda ws, s, _: _context(ws, s).in_window(AT)),
    "sweep.CampaignContext.jurisdiction_filter": Recipe(
        lambda ws, s, _: _context(ws, s).jurisdiction_filter("v.jurisdiction")
    ),
    "sweep.CampaignContext.name": Recipe(lambda ws, s, i: _context(ws, s).name(i), Area),
    "sweep.CampaignContext.path": Recipe(lambda ws, s, i: _context(ws, s).path(i), Area),
    "sweep.CampaignContext.revisits": Recipe(lambda ws, s, _: _context(ws, s).revisits()),
    "sweep.CampaignContext.scope_cte": Recipe(lambda ws, s, _: _context(ws, s).scope_cte()),
    "sweep.CampaignContext.serves": Recipe(lambda ws, s, i: _context(ws, s).serves(i), Area),
    "sweep.CampaignContext.sql": Recipe(lambda ws, s, _: _context(ws, s).sql("SELECT ?")),
    "sweep.CampaignContext.timestamp": Recipe(lambda ws, s, _: _context(ws, s).timestamp(AT)),
    "sweep.CampaignContext.visit_agg": Recipe(lambda ws, s, _: _context(ws, s).visit_agg()),
    # -- quarantine -----------------------------------------------------------------------------
    "quarantine.census": Recipe(
        lambda ws, s, _: [
            _quarantine("census")(ws, day=DAY, by=by, campaign_id="cmp")
            for by in ("community", "grid")
        ]
    ),
    "quarantine.check_missed": Recipe(
        lambda ws, s, _: _quarantine("check_missed")(
            ws, now=AT + dt.timedelta(days=1), campaign_id="cmp"
        ),
        writes=True,
    ),
    "quarantine.extend": Recipe(
        lambda ws, s, i: _quarantine("extend")(
            ws, i, last_exposure=DAY, reason="再次接触", at=AT, campaign_id="cmp"
        ),
        "order",
        writes=True,
    ),
    "quarantine.release": Recipe(
        lambda ws, s, i: _quarantine("release")(
            ws, i, reason="期满", released_by="医生", at=AT, campaign_id="cmp"
        ),
        "order",
        writes=True,
    ),
    "quarantine.release_due": Recipe(
        lambda ws, s, _: _quarantine("release_due")(
            ws, at=AT + dt.timedelta(days=30), campaign_id="cmp"
        ),
        writes=True,
    ),
    "quarantine.order_household": Recipe(
        lambda ws, s, i: _quarantine("order_household")(
            ws,
            i,
            last_exposure=EXPOSED,
            ordered_by="医生",
            reason="密接",
            campaign_id="cmp",
            at=AT,
        ),
        Household,
        writes=True,
    ),
    "quarantine.order_quarantine": Recipe(
        lambda ws, s, i: _quarantine("order_quarantine")(
            ws,
            person_id=i,
            last_exposure=EXPOSED,
            ordered_by="医生",
            reason="密接",
            campaign_id="cmp",
            at=AT,
        ),
        Person,
        writes=True,
    ),
    "quarantine.record_reports": Recipe(
        lambda ws, s, i: _quarantine("record_reports")(
            ws,
            [HealthReport(at=AT, person_id=i, temperature=38.6)],
            campaign_id="cmp",
            settings=s.notify_settings(),
        ),
        Person,
        writes=True,
    ),
    # -- services -------------------------------------------------------------------------------
    "services.request_service": Recipe(
        lambda ws, s, i: _services("request_service")(
            ws, household_id=i, service="medicine", at=AT, campaign_id="cmp"
        ),
        Household,
        writes=True,
    ),
    "services.assign_service": Recipe(
        lambda ws, s, i: _services("assign_service")(
            ws, i, team_id=f"v{s.grid_of(s.requests.get(i, 'hc0g0x0'))}", at=AT
        ),
        "request",
        writes=True,
    ),
    "services.complete_service": Recipe(
        lambda ws, s, i: _services("complete_service")(ws, i, note="送达", at=AT),
        "request",
        writes=True,
    ),
    "services.open_requests": Recipe(
        lambda ws, s, _: _services("open_requests")(ws, campaign_id="cmp")
    ),
    "services.overdue": Recipe(
        lambda ws, s, _: _services("overdue")(ws, now=AT + dt.timedelta(days=3), campaign_id="cmp")
    ),
    # -- reports --------------------------------------------------------------------------------
    "reporting.authorize": Recipe(
        lambda ws, s, i: _reporting("authorize")(ws, i, unmask=True), Area
    ),
    "reporting.build_report": Recipe(
        lambda ws, s, i: [
            _reporting("build_report")(ws, kind, area=i, day=DAY, campaign="cmp")
            for kind in ("daily", "progress", "teams", "linelist")
        ],
        Area,
    ),
    "reporting.daily_report": Recipe(
        lambda ws, s, i: _reporting("daily_report")(ws, area=i, day=DAY, campaign="cmp"), Area
    ),
    "reporting.progress_report": Recipe(
        lambda ws, s, i: _reporting("progress_report")(ws, area=i, day=DAY, campaign="cmp"), Area
    ),
    "reporting.teams_report": Recipe(
        lambda ws, s, i: _reporting("teams_report")(ws, area=i, day=DAY, campaign="cmp"), Area
    ),
    "reporting.line_list_report": Recipe(
        lambda ws, s, i: _reporting("line_list_report")(
            ws, area=i, day=DAY, campaign="cmp", unmask=True
        ),
        Area,
    ),
    "reporting.household_report": Recipe(
        lambda ws, s, i: _reporting("household_report")(ws, i, campaign="cmp", unmask=True),
        Household,
    ),
    "reporting.person_report": Recipe(
        lambda ws, s, i: _reporting("person_report")(ws, i, campaign="cmp", unmask=True), Person
    ),
    "reporting.trends_section": Recipe(
        lambda ws, s, i: _reporting("trends_section")(ws, _report_scope(ws, i)), Area
    ),
    "reporting.ReportScope.below": Recipe(lambda ws, s, i: _report_scope(ws, i).below(), Area),
    "reporting.ReportScope.bounds": Recipe(lambda ws, s, i: _report_scope(ws, i).bounds(), Area),
    "reporting.ReportScope.campaign_params": Recipe(
        lambda ws, s, i: _report_scope(ws, i).campaign_params(), Area
    ),
    "reporting.ReportScope.check_day": Recipe(
        lambda ws, s, i: _report_scope(ws, i).check_day(DAY), Area
    ),
    "reporting.ReportScope.date": Recipe(lambda ws, s, i: _report_scope(ws, i).date(DAY), Area),
    "reporting.ReportScope.day_index": Recipe(
        lambda ws, s, i: _report_scope(ws, i).day_index("v.at", [DAY]), Area
    ),
    "reporting.ReportScope.days": Recipe(lambda ws, s, i: _report_scope(ws, i).days(), Area),
    "reporting.ReportScope.latest_day": Recipe(
        lambda ws, s, i: _report_scope(ws, i).latest_day(), Area
    ),
    "reporting.ReportScope.stamp": Recipe(
        lambda ws, s, i: _report_scope(ws, i).stamp("v.at", "x"), Area
    ),
    "reporting.ReportScope.true": Recipe(lambda ws, s, i: _report_scope(ws, i).true(), Area),
    "reporting.ReportScope.ts": Recipe(lambda ws, s, i: _report_scope(ws, i).ts(AT), Area),
    "reporting.ReportScope.unindexed": Recipe(
        lambda ws, s, i: _report_scope(ws, i).unindexed("v.at"), Area
    ),
    "reporting.ReportScope.where": Recipe(lambda ws, s, i: _report_scope(ws, i).where("h"), Area),
    # -- screening ------------------------------------------------------------------------------
    "screening.screen": Recipe(
        lambda ws, s, _: _function("screening", "screen")(ws, campaign_id="cmp", day=DAY),
        writes=True,
    ),
    "screening.stored_versions": Recipe(
        lambda ws, s, _: _function("screening", "stored_versions")(ws)
    ),
    # -- targeting ------------------------------------------------------------------------------
    "targeting.compute_targets": Recipe(
        lambda ws, s, _: _targeting("compute_targets")(ws, on=DAY), writes=True
    ),
    "targeting.import_file": Recipe(
        lambda ws, s, i: _targeting("import_file")(
            ws, "persons", _persons_file(s, i), report=False
        ),
        Household,
        writes=True,
    ),
    "targeting.import_register": Recipe(
        lambda ws, s, i: _targeting("import_register")(
            ws, _persons_file(s, "h"), community=i, report=False
        ),
        Area,
        writes=True,
    ),
    "targeting.match_list": Recipe(
        lambda ws, s, i: _targeting("match_list")(
            ws, _list_file(s, i), source="railway", on=DAY, report=False
        ),
        Person,
        writes=True,
    ),
    "targeting.planner_priorities": Recipe(
        lambda ws, s, i: _targeting("planner_priorities")(ws, i), Area
    ),
    "targeting.ranked_targets": Recipe(lambda ws, s, i: _targeting("ranked_targets")(ws, i), Area),
    "targeting.targets_for_planner": Recipe(
        lambda ws, s, i: _targeting("targets_for_planner")(ws, i), Area
    ),
    "targeting.review_queue": Recipe(lambda ws, s, _: _targeting("review_queue")(ws)),
    "targeting.resolve_review": Recipe(
        lambda ws, s, i: _targeting("resolve_review")(ws, i, on=DAY), "entry", writes=True
    ),
    # -- the building watch ---------------------------------------------------------------------
    "watch.add_point": Recipe(
        lambda ws, s, i: _watch("add_point")(
            ws, MonitoringPoint(id=f"m{s.calls}", area_id=i, name="卡口")
        ),
        Area,
        writes=True,
    ),
    "watch.assign_observer": Recipe(
        lambda ws, s, i: _watch("assign_observer")(ws, f"b{s.grid_of(i[1:])}", i),
        Person,
        writes=True,
    ),
    "watch.coverage_rows": Recipe(
        lambda ws, s, _: _watch("coverage_rows")(ws, "buildings", Building, "community")
    ),
    "watch.observer_coverage": Recipe(
        lambda ws, s, _: [_watch("observer_coverage")(ws, by) for by in ("area", "community")]
    ),
    "watch.point_coverage": Recipe(lambda ws, s, _: _watch("point_coverage")(ws)),
    "watch.missing": Recipe(lambda ws, s, _: _watch("missing")(ws, DAY)),
    "watch.escalate": Recipe(
        lambda ws, s, _: _watch("escalate")(
            ws, DAY, now=AT + dt.timedelta(days=1), notify=s.notify_settings()
        ),
        writes=True,
    ),
    "watch.record_checkins": Recipe(
        lambda ws, s, i: _watch("record_checkins")(
            ws, [CheckIn(at=AT, building_id=i, observer_id=f"ph{i[1:]}x0")]
        ),
        Building,
        writes=True,
    ),
    "watch.record_file": Recipe(
        lambda ws, s, i: _watch("record_file")(ws, _checkin_file(s, i)), Building, writes=True
    ),
    "watch.record_point_reports": Recipe(
        lambda ws, s, i: _watch("record_point_reports")(
            ws, [PointReport(at=AT, point_id="mp", observer_id=i)]
        ),
        Person,
        writes=True,
    ),
    "watch.watch_zone": Recipe(lambda ws, s, _: _watch("watch_zone")(ws, "cmp")),
    # -- the audit log and retention -------------------------------------------------------------
    "security.recent_entries": Recipe(lambda ws, s, _: _function("security", "recent_entries")(ws)),
    "security.verify_log": Recipe(lambda ws, s, _: _function("security", "verify_log")(ws)),
    "security.purge": Recipe(
        lambda ws, s, _: [
            _function("security", "purge")(ws, days=days, dry_run=dry, now=AT)
            for days, dry in ((0, True), (0, False))
        ],
        writes=True,
    ),
    # -- notifications --------------------------------------------------------------------------
    "notifications.Notifications.notify": Recipe(
        lambda ws, s, i: _notes(ws, s).notify(
            [Event(topic="fever", key=f"f{s.calls}", at=AT, person_id=i, values={"t": 39})]
        ),
        Person,
        writes=True,
    ),
    "notifications.Notifications.enqueue_digest": Recipe(
        lambda ws, s, _: _notes(ws, s).enqueue_digest(DAY), writes=True
    ),
    "notifications.enqueue_digest": Recipe(
        lambda ws, s, _: _function("notifications", "enqueue_digest")(
            ws, Router.for_workspace(ws, s.notify_settings()), DAY
        ),
        writes=True,
    ),
    "notifications.Notifications.dispatch": Recipe(
        lambda ws, s, _: _notes(ws, s).dispatch(), writes=True
    ),
    "notifications.Notifications.dispatcher": Recipe(lambda ws, s, _: _dispatcher(ws, s)),
    "notifications.Dispatcher.dispatch": Recipe(
        lambda ws, s, _: _dispatcher(ws, s).dispatch(), writes=True
    ),
    "notifications.Dispatcher.next_send": Recipe(lambda ws, s, _: _dispatcher(ws, s).next_send()),
    "notifications.Dispatcher.robots": Recipe(lambda ws, s, _: _dispatcher(ws, s).robots()),
    "notifications.Notifications.status": Recipe(lambda ws, s, _: _notes(ws, s).status()),
    "notifications.Notifications.dead_letters": Recipe(
        lambda ws, s, _: _notes(ws, s).dead_letters()
    ),
    "notifications.Notifications.undeliverable": Recipe(
        lambda ws, s, _: _notes(ws, s).undeliverable()
    ),
    "notifications.configure": Recipe(
        lambda ws, s, _: _function("notifications", "configure")(ws, {"campaign": "cmp"}),
        writes=True,
    ),
    "notifications.settings_for": Recipe(
        lambda ws, s, _: _function("notifications", "settings_for")(ws, campaign_id="cmp")
    ),
    "notifications.campaign_zone": Recipe(
        lambda ws, s, _: _function("notifications", "campaign_zone")(ws, "cmp")
    ),
}


def _checkin_file(store: Store, building_id: str) -> Path:
    path = store.path(".csv")
    observer = f"ph{building_id[1:]}x0"
    path.write_text(
        f"building_id,observer_id,at,status\n{building_id},{observer},{AT.isoformat()},all_normal\n",
        encoding="utf-8",
    )
    return path


NOT_DATA = {
    "Workspace.close": "closes the store",
    "Workspace.flush_audit": "writes held-back audit entries",
    "Workspace.authorize": "the check itself",
    "Workspace.authorize_records": "the check itself",
    "Workspace.authorize_known": "the check itself",
    "Workspace.visible": "the check itself",
    "Workspace.in_scope": "the check itself: answers ids the caller gave",
    "Workspace.scope_jurisdictions": "the principal's own jurisdictions",
    "Workspace.transaction": "refused to every scoped principal (test below)",
    "Workspace.atomic": "groups checked calls; hands out nothing",
    "sweep.CampaignContext.placed": "which of the caller's area ids the campaign covers: ids only",
    "quarantine.active_orders": "takes a raw unit of work, which only the system principal gets",
    "screening.rule_functions": "the rule functions the plugins register: no stored data",
    "targeting.open_table": "reads the file the caller gave, not the store",
    "targeting.read_list": "reads the list file the caller gave into entries, not the store",
}


def test_every_entry_point_is_classified() -> None:
    names = entry_points()
    assert "sweep.Sweep.phone_queue" in names
    assert "Workspace.find" in names
    assert set(RECIPES) <= names, set(RECIPES) - names
    assert set(NOT_DATA) <= names, set(NOT_DATA) - names
    assert not set(RECIPES) & set(NOT_DATA)
    unclassified = names - set(RECIPES) - set(NOT_DATA)
    assert not unclassified, f"entry points with neither a recipe nor a reason: {unclassified}"


# -- the runner ----------------------------------------------------------------------------------


ROLES: list[Role] = list(Role)
SKIP_TABLES = frozenset({"audit_log"})


def snapshot(admin: Workspace) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table but the audit log (the store of one example is small)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    with admin.transaction(write=False) as uow:
        for spec in SPECS.values():
            if spec.table in SKIP_TABLES:
                continue
            out[spec.table] = {
                tuple(str(v) for v in row) for row in uow.query(f"SELECT * FROM {spec.table}")
            }
    return out


def audit_count(admin: Workspace) -> int:
    with admin.transaction(write=False) as uow:
        return int(next(iter(uow.query("SELECT count(*) FROM audit_log")))[0])


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A new fact's id, which differs from call to call."""


@attrs.frozen
class Outcome:
    value: Any = None
    error: BaseException | None = None

    def answer(self, id: str) -> str:
        """The answer with the id replaced, to compare answers about different ids."""
        if self.error is not None:
            text = f"{type(self.error).__name__}: {self.error}"
        else:
            text = repr(self.value)
        for token in sorted(echo(id), key=len, reverse=True):
            text = text.replace(token, "ID")
        return _UUID.sub("UUID", text)


def run_one(
    name: str, recipe: Recipe, ws: Workspace, store: Store, scope: Scope, id: str
) -> Outcome:
    """Call one entry point and check what came back, what was written and what was audited."""
    admin = store.admin
    admin.flush_audit()
    before_audit = audit_count(admin)
    before = snapshot(admin) if recipe.writes else {}
    where = f"{name}({id!r}) as {ws.principal}"
    try:
        value = recipe.call(ws, store, id)
        if isinstance(value, Iterator):
            value = list(value)
        outcome = Outcome(value=value)
    except AccessDenied as refused:
        outcome = Outcome(error=refused)
    except GridGuardError as error:
        outcome = Outcome(error=error)
    ws.flush_audit()
    audited = audit_count(admin) > before_audit
    if isinstance(outcome.error, AccessDenied):
        assert audited, f"{where}: the refusal was not audited"
    seen = (tokens_in(outcome.value) | tokens_in(str(outcome.error or ""))) - echo(id)
    leaked = seen & (scope.outside | scope.unreadable)
    assert not leaked, f"{where} disclosed {sorted(leaked)}"
    if seen & scope.personal and outcome.error is None:
        assert audited, f"{where}: a read of personal data ({sorted(seen & scope.personal)}) "
        "was not audited"
    if recipe.writes:
        after = snapshot(admin)
        changed = {t: after[t] - before.get(t, set()) for t in after}
        gone = {t: before[t] - after.get(t, set()) for t in before}
        written = set().union(*(tokens_in(rows) for rows in changed.values()))
        wrote_outside = written & scope.outside
        assert not wrote_outside, f"{where} wrote {sorted(wrote_outside)} ({_tables(changed)})"
        if any(changed.values()) or any(gone.values()):
            assert audited, f"{where}: a write was not audited ({_tables(changed)})"
    return outcome


def echo(id: str) -> set[str]:
    """What an answer may repeat of the arguments: the id, and the places derived from it."""
    out = {id}
    for grid in re.findall(r"c[0-9]+g[0-9]+", id):
        out |= {grid, f"b{grid}", f"s{grid}", f"t{grid}", f"v{grid}", f"h{grid}x0", f"ph{grid}x0"}
    return out


def _tables(changed: dict[str, set[Any]]) -> list[str]:
    return sorted(t for t, rows in changed.items() if rows)


def ids_for(store: Store, kind: type[Any] | str) -> list[str]:
    if kind == "order":
        return sorted(store.orders)
    if kind == "request":
        return sorted(store.requests)
    if kind == "task":
        return sorted(store.tasks)
    if kind == "entry":
        return []
    assert isinstance(kind, type)
    return store.ids(kind)


def unknown_id(kind: type[Any] | str) -> str:
    if kind in ("order", "request", "entry"):
        return str(uuid.UUID(int=12345))
    return {Household: "hc9g9x9", Person: "phc9g9x9", Building: "bc9g9", Area: "c9g9"}.get(
        kind,  # type: ignore[call-overload]
        "k9",
    )


def inside_id(store: Store, kind: type[Any] | str, id: str, scope: Scope) -> bool:
    """Whether the record ``id`` of ``kind`` lies inside the scope."""
    if kind == "order":
        return store.orders[id] not in scope.outside
    if kind == "request":
        return store.requests[id] not in scope.outside
    if kind == "task":
        return store.tasks[id] not in scope.outside
    return id not in scope.outside


def run_role(store: Store, principal: Principal, data: st.DataObject) -> None:
    admin = store.admin
    ws = Workspace(
        admin.storage,
        principal=principal,
        plugin_manager=admin.plugin_manager,
        registries=admin.registries,
    )
    scope = scope_of(store, principal)
    with pytest.raises(AccessDenied, match="unscoped principal"):
        _ = ws.storage
    with pytest.raises(AccessDenied, match="raw unit of work"), ws.transaction(write=False):
        pass  # pragma: no cover - never entered
    check_aggregates(ws, store, scope)
    for name, recipe in sorted(RECIPES.items()):
        if recipe.kind is None:
            run_one(name, recipe, ws, store, scope, "")
            continue
        known = ids_for(store, recipe.kind)
        inside = [i for i in known if inside_id(store, recipe.kind, i, scope)]
        outside = [i for i in known if i not in inside]
        if inside:
            run_one(name, recipe, ws, store, scope, data.draw(st.sampled_from(inside)))
        missing = unknown_id(recipe.kind)
        answer = run_one(name, recipe, ws, store, scope, missing)
        if outside:
            other = data.draw(st.sampled_from(outside))
            foreign = run_one(name, recipe, ws, store, scope, other)
            if foreign.error is not None or answer.error is not None:
                assert foreign.answer(other) == answer.answer(missing), (
                    f"{name} as {principal}: an id outside the scope and an unknown one get "
                    f"different answers"
                )


def check_aggregates(ws: Workspace, store: Store, scope: Scope) -> None:
    """Counts and figures cover the scope only, whatever the grouping."""
    households = [h for h in store.ids(Household) if h not in scope.outside]
    buildings = [b for b in store.ids(Building) if b not in scope.outside]
    orders = [o for o, h in store.orders.items() if h not in scope.outside]
    who = ws.principal
    figures: list[tuple[str, Callable[[], int], int]] = [
        ("count(Household)", lambda: ws.count(Household), len(households)),
        ("counts()['households']", lambda: ws.counts().get("households", 0), len(households)),
        (
            "coverage households",
            lambda: sum(r.households for r in _sweep(ws).coverage("campaign")),
            len(households),
        ),
    ]
    for by in ("area", "community"):
        figures.append(
            (
                f"observer_coverage({by}) places",
                lambda by=by: sum(c.places for c in _watch("observer_coverage")(ws, by)),
                len(buildings),
            )
        )
    for by in ("community", "grid"):
        figures.append(
            (
                f"census({by}) active",
                lambda by=by: sum(
                    r.active for r in _quarantine("census")(ws, day=DAY, by=by, campaign_id="cmp")
                ),
                len(orders) * 2,  # at most: an order per member, one member per household here
            )
        )
    for name, figure, most in figures:
        try:
            value = figure()
        except AccessDenied:
            continue
        assert value <= most, f"{name} as {who} is {value}: more than its scope holds ({most})"


def principals(store: Store, data: st.DataObject) -> list[Principal]:
    grids = store.grids()
    communities = sorted({g.split("g")[0] for g in grids})
    out = []
    for role in ROLES:
        if role is Role.BUILDING_OBSERVER:
            building = data.draw(st.sampled_from([f"b{g}" for g in grids]))
            out.append(Principal(name="楼长", role=role, building_id=building))
        else:
            root = data.draw(st.sampled_from([*grids, *communities]))
            out.append(Principal(name=f"who-{role.value}", role=role, area_id=root))
    return out


def check_store(admin: Workspace, folder: Path, tree: list[Any], data: st.DataObject) -> None:
    outcomes = data.draw(st.lists(st.sampled_from(["not_home", "refused", "screened"]), min_size=1))
    store = build(admin, folder, tree, outcomes)
    for principal in principals(store, data):
        run_role(store, principal, data)


EXAMPLES = settings(
    max_examples=int(os.environ.get("GRIDGUARD_SCOPE_EXAMPLES", "3")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a shrink would rerun it all
)


@EXAMPLES
@given(tree=place_trees(), data=st.data())
def test_nothing_outside_the_scope_is_read_or_written_sqlite(
    tree: list[Any], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        admin = gridguard.open(Path(folder) / "scope.db")
        try:
            check_store(admin, Path(folder), tree, data)
        finally:
            admin.close()


@pytest.fixture(scope="module")
def postgres_url() -> str:
    from rules_pg import pg_url

    return pg_url()


@settings(
    max_examples=int(os.environ.get("GRIDGUARD_SCOPE_EXAMPLES", "1")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a shrink would rerun it all
)
@given(tree=place_trees(), data=st.data())
def test_nothing_outside_the_scope_is_read_or_written_postgresql(
    postgres_url: str, tree: list[Any], data: st.DataObject
) -> None:
    import psycopg

    from rules_pg import _with_schema

    schema = f"gg_scope_api_{uuid.uuid4().hex[:10]}"
    conn = psycopg.connect(postgres_url, autocommit=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            admin = gridguard.open(_with_schema(postgres_url, schema))
            try:
                check_store(admin, Path(folder), tree, data)
            finally:
                admin.close()
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()
