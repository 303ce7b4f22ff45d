"""The screening run on real stores: what it flags and writes; re-running adds nothing."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Area, AreaLevel, Building, Campaign, Household, OutbreakArea, Person
from gridguard.model import Exposure, MemberRole, Screening, Stairwell, Team, TeamMember, Trip
from gridguard.model.assessments import QuarantineKind, TaskKind
from gridguard.rules import Assessment, QuarantineOrder, RiskLevel, ScreeningRun, Task
from gridguard.rules.ruleset import RuleSet, RuleSetError, parse_rule_set
from gridguard.screening import screen
from gridguard.workspace import Workspace
from rules_pg import pg_schema
from rules_strategies import conditions

DAY = dt.date(2020, 1, 29)
CAMPAIGN = "c1-2020"


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    """``hour`` o'clock in Shanghai on ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(hour), dt.UTC) - dt.timedelta(hours=8)


def place_tree() -> list[Any]:
    """One community, one building, two stairwells; households h1, h2 in s1 and h3 in s2."""
    return [
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY),
        Area(id="c2", name="other community", level=AreaLevel.COMMUNITY),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Building(id="b1", area_id="g1", name="牡丹阁3栋"),
        Building(id="b2", area_id="c2", name="elsewhere"),
        Stairwell(id="s1", building_id="b1", name="1梯", floors=7, doors_per_floor=2),
        Stairwell(id="s2", building_id="b1", name="2梯", floors=7, doors_per_floor=2),
        Stairwell(id="s9", building_id="b2", name="1梯", floors=7, doors_per_floor=2),
        Household(id="h1", stairwell_id="s1", floor=1, door="101", address="牡丹阁3栋101"),
        Household(id="h2", stairwell_id="s1", floor=2, door="201", address="牡丹阁3栋201"),
        Household(id="h3", stairwell_id="s2", floor=1, door="102", address="牡丹阁3栋102"),
        Household(id="h9", stairwell_id="s9", floor=1, door="101", address="elsewhere"),
        Person(id="p1", household_id="h1", name="陈建国"),
        Person(id="p2", household_id="h1", name="陈小红"),
        Person(id="p3", household_id="h2", name="李明"),
        Person(id="p4", household_id="h3", name="王芳"),
        Person(id="p5", household_id="h3", name="王强"),
        Person(id="p9", household_id="h9", name="outside the scope"),
        Campaign(
            id=CAMPAIGN,
            name="华苑社区一级响应",
            scope=("c1",),
            start=dt.date(2020, 1, 25),
            outbreak_areas=(OutbreakArea(name="武汉", code="4201"),),
        ),
    ]


def facts() -> list[Screening]:
    return [
        # p1: back from Wuhan on 20 January, and a cough.
        Screening(
            person_id="p1",
            at=_at(dt.date(2020, 1, 27)),
            trips=[Trip(destination="武汉", returned=dt.date(2020, 1, 20))],
            symptoms=["cough"],
            temperature=36.8,
        ),
        # p3: a fever in the same stairwell.
        Screening(person_id="p3", at=_at(dt.date(2020, 1, 28)), temperature=37.5),
        # p4: 37.2 is no fever.
        Screening(person_id="p4", at=_at(dt.date(2020, 1, 28)), temperature=37.2),
        # p9 would be flagged, but lives outside the campaign's scope.
        Screening(person_id="p9", at=_at(dt.date(2020, 1, 28)), temperature=39.0),
    ]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    with ExitStack() as stack:
        if request.param == "postgresql":
            url, _ = stack.enter_context(pg_schema())
        elif request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'rules.db'}"
        else:
            url = "memory://"
        workspace = stack.enter_context(gridguard.open(url))
        workspace.add(place_tree())
        workspace.record(facts())
        yield workspace


def stored(ws: Workspace, cls: type[Any]) -> list[Any]:
    with ws.transaction(write=False) as uow:
        return list(uow.find(cls))


def fired(ws: Workspace) -> dict[str, set[str]]:
    return {a.person_id: {f.rule_id for f in a.fired} for a in stored(ws, Assessment)}


def test_screening_flags_escalates_and_explains(ws: Workspace) -> None:
    result = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert fired(ws) == {
        "p1": {"outbreak-area-travel", "respiratory-symptoms", "stairwell-cluster"},
        "p2": {"household-member-quarantined", "stairwell-cluster"},
        "p3": {"fever", "stairwell-cluster"},
    }
    assert result.flagged == 3
    assert result.by_rule["stairwell-cluster"] == 3
    by_person = {a.person_id: a for a in stored(ws, Assessment)}
    p1 = by_person["p1"]
    assert p1.risk is RiskLevel.HIGH
    assert (p1.rule_set_id, p1.rule_set_version, p1.day) == ("cn-2020-national", "2020.3", DAY)
    assert p1.referrals == ("fever_clinic",)
    assert p1.follow_up_hours == 12
    why = {f.rule_id: f.why for f in p1.fired}
    assert "武汉 (returned 2020-01-20)" in why["outbreak-area-travel"]
    assert "symptoms = cough" in why["respiratory-symptoms"]
    assert "count_in(stairwell) = 2" in why["stairwell-cluster"]
    assert by_person["p2"].risk is RiskLevel.MEDIUM
    assert "count_in(household, others) = 1" in by_person["p2"].fired[0].why
    assert "temperature = 37.5" in by_person["p3"].fired[0].why
    (order,) = stored(ws, QuarantineOrder)
    assert (order.person_id, order.household_id, order.kind) == ("p1", "h1", QuarantineKind.HOME)
    # Back on the 20th: observed from the 21st to 3 February (day 14), released on the 4th.
    assert (order.start, order.last_day, order.end) == (
        dt.date(2020, 1, 21),
        dt.date(2020, 2, 3),
        dt.date(2020, 2, 4),
    )
    assert (order.exposure_kind, order.last_contact) == ("trip_return", dt.date(2020, 1, 20))
    assert order.rule_id == "outbreak-area-travel"
    assert "武汉" in order.reason
    kinds = sorted((t.kind.value, t.person_id or t.household_id) for t in stored(ws, Task))
    assert ("delivery", "h1") in kinds
    assert ("referral", "p1") in kinds
    assert ("referral", "p3") in kinds
    assert kinds.count(("phone_call", "p1")) == 2  # every 12 hours
    assert ("visit", "h2") in kinds  # the stairwell is visited again
    (run,) = stored(ws, ScreeningRun)
    assert (run.flagged, run.mode, run.day) == (3, "full", DAY)


def _written(ws: Workspace) -> dict[type[Any], set[Any]]:
    return {cls: {x.id for x in stored(ws, cls)} for cls in (Assessment, QuarantineOrder, Task)}


def test_running_again_writes_nothing_new(ws: Workspace) -> None:
    first = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    counts = {
        cls: len(stored(ws, cls)) for cls in (Assessment, QuarantineOrder, Task, ScreeningRun)
    }
    again = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert (again.assessments, again.orders, again.tasks, again.flagged) == (0, 0, 0, 0)
    assert again.run.mode == "unchanged"
    # Nothing changed: not even a run is stored.
    assert {cls: len(stored(ws, cls)) for cls in counts} == counts
    written = _written(ws)
    redone = screen(ws, campaign_id=CAMPAIGN, day=DAY, full=True)
    assert redone.run.mode == "full"
    assert redone.flagged == first.flagged
    assert (redone.assessments, redone.orders, redone.tasks, redone.notifications) == (0, 0, 0, 0)
    assert _written(ws) == written


def test_rule_made_orders_are_ordered_when_the_run_made_them(ws: Workspace) -> None:
    screen(ws, campaign_id=CAMPAIGN, day=DAY)
    (order,) = stored(ws, QuarantineOrder)
    (campaign,) = stored(ws, Campaign)
    # A run for a past day orders at the end of that day (the last instant of it, local).
    assert order.ordered_at is not None
    assert campaign.local_date(order.ordered_at) == DAY
    assert campaign.local_date(
        order.ordered_at + dt.timedelta(microseconds=1)
    ) == DAY + dt.timedelta(days=1)


def test_a_person_in_quarantine_escalates_their_household_next_time(ws: Workspace) -> None:
    screen(ws, campaign_id=CAMPAIGN, day=DAY)
    # p4 is under an order made by hand; p5 in the same household was never screened.
    order = QuarantineOrder(
        id="manual-p4",
        household_id="h3",
        person_id="p4",
        kind=QuarantineKind.CENTRAL,
        start=DAY,
        end=DAY + dt.timedelta(days=14),
        rule_id="manual",
        rule_set_id="manual",
        rule_set_version="1",
    )
    with ws.transaction() as uow:
        uow.put(QuarantineOrder, [order])
    screen(ws, campaign_id=CAMPAIGN, day=DAY + dt.timedelta(days=1))
    later = {
        a.person_id: {f.rule_id for f in a.fired}
        for a in stored(ws, Assessment)
        if a.day == DAY + dt.timedelta(days=1)
    }
    assert later["p5"] == {"household-member-quarantined"}
    assert "p4" not in later  # their own order does not count for themselves


def test_an_incremental_run_rescreens_the_stairwells_with_new_screenings(ws: Workspace) -> None:
    screen(ws, campaign_id=CAMPAIGN, day=DAY)
    ws.record([Screening(person_id="p5", at=_at(DAY, 9), temperature=38.2, symptoms=["咳嗽"])])
    result = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert result.run.mode == "changed"
    assert result.flagged == 1  # only stairwell s2 was looked at again: p5; a full run finds 4
    new = {a.person_id for a in stored(ws, Assessment)} - {"p1", "p2", "p3"}
    assert new == {"p5"}
    written = _written(ws)
    full = screen(ws, campaign_id=CAMPAIGN, day=DAY, full=True)
    assert (full.flagged, full.assessments, full.orders, full.tasks) == (4, 0, 0, 0)
    assert _written(ws) == written


def test_an_incremental_run_after_a_late_entered_screening_flags_what_a_full_run_flags(
    ws: Workspace,
) -> None:
    screen(ws, campaign_id=CAMPAIGN, day=DAY)
    # Entered after the run, but taken the day before the newest screening that run saw.
    late = Screening(person_id="p5", at=_at(DAY - dt.timedelta(days=2)), temperature=38.6)
    ws.record([late])
    result = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert result.run.mode == "changed"
    assert "p5" in {a.person_id for a in stored(ws, Assessment)}
    assert result.assessments >= 1
    written = _written(ws)
    full = screen(ws, campaign_id=CAMPAIGN, day=DAY, full=True)
    assert (full.assessments, full.orders, full.tasks) == (0, 0, 0)
    assert _written(ws) == written
    assert screen(ws, campaign_id=CAMPAIGN, day=DAY).run.mode == "unchanged"


def test_a_person_who_moved_is_screened_again_with_their_new_household(ws: Workspace) -> None:
    screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert "p5" not in fired(ws)
    # p5 moves in with p1, who is under quarantine: a household member of a quarantined person.
    moved = Person(id="p5", household_id="h1", name="王强")
    with ws.transaction() as uow:
        uow.put(Person, [moved])
    result = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert result.run.mode == "changed"
    written = _written(ws)
    full = screen(ws, campaign_id=CAMPAIGN, day=DAY, full=True)
    assert (full.assessments, full.orders, full.tasks) == (0, 0, 0)
    assert _written(ws) == written


def test_day_14_is_flagged_and_day_15_not_through_the_whole_run(ws: Workspace) -> None:
    returned = dt.date(2020, 1, 20)
    for day, flagged in (
        (returned + dt.timedelta(days=14), True),
        (returned + dt.timedelta(days=15), False),
    ):
        screen(ws, campaign_id=CAMPAIGN, day=day)
        travel = {
            a.person_id
            for a in stored(ws, Assessment)
            if a.day == day and any(f.rule_id == "outbreak-area-travel" for f in a.fired)
        }
        assert (travel == {"p1"}) is flagged, day


def test_a_campaign_must_be_named_when_there_are_several(ws: Workspace) -> None:
    ws.add([Campaign(id="other", name="other", scope=("c2",), start=dt.date(2020, 1, 25))])
    with pytest.raises(gridguard.ConfigError, match="c1-2020, other"):
        screen(ws, day=DAY)
    result = screen(ws, campaign_id="other", day=DAY)
    assert {a.person_id for a in stored(ws, Assessment)} == {"p9"}
    assert result.flagged == 1


def test_notifications_go_to_the_outbox_once(ws: Workspace) -> None:
    outbox = pytest.importorskip("gridguard.model.messages")
    ws.add([Team(id="t1", name="第一小分队", area_id="c1", home_grid_id="g1",
                 members=(TeamMember(name="黄干部", role=MemberRole.CADRE),
                          TeamMember(name="刘医生", role=MemberRole.DOCTOR)))])  # fmt: skip
    first = screen(ws, campaign_id=CAMPAIGN, day=DAY)
    assert first.notify_mode == "outbox"
    messages = stored(ws, outbox.OutboxMessage)
    assessments = stored(ws, Assessment)
    urgent = [a for a in assessments if any(f.rule_id == "fever" for f in a.fired)]
    # A fever goes at once, one message per role, to the team member holding it in the
    # person's grid (no configuration stored: the place tree says who). Team t1 has a
    # doctor and no grid worker: the grid worker's alert is undeliverable, not dropped...
    at_once = [m for m in messages if not m.data.get("digest")]
    assert sorted(m.recipient for m in at_once) == sorted(
        f"{role}@g1" for a in urgent for role in a.notify
    )
    for m in at_once:
        nobody = m.data["role"] == "grid_worker"
        assert (m.channel == "undeliverable") is nobody, m
        assert ("undeliverable" in m.data) is nobody, m
    # ...the rest wait for the run's digest: one message per recipient and channel.
    digests = [m for m in messages if m.data.get("digest")]
    assert len({(m.recipient, m.channel) for m in digests}) == len(digests)
    listed = sum(m.data["persons"] for m in digests)
    assert listed == sum(len(a.notify) for a in assessments if a not in urgent)
    assert first.notifications == len(messages)
    assert screen(ws, campaign_id=CAMPAIGN, day=DAY).notifications == 0
    assert len(stored(ws, outbox.OutboxMessage)) == len(messages)


def test_a_custom_rule_set_and_its_version_are_recorded(ws: Workspace) -> None:
    rules = parse_rule_set(
        """
        id = "visitors"
        version = "7"
        title = { en = "Visitors", zh = "访客" }
        [[rules]]
        id = "any-fever"
        title = { en = "Any fever", zh = "发热" }
        line = "door_to_door"
        when = "temperature >= 37.5"
        then = [{ classify = "low" }]
        """
    )
    result = screen(ws, rules, campaign_id=CAMPAIGN, day=DAY)
    (assessment,) = stored(ws, Assessment)
    assert (assessment.person_id, assessment.rule_set_id, assessment.rule_set_version) == (
        "p3",
        "visitors",
        "7",
    )
    assert result.run.rule_set_digest == rules.digest


# -- the two paths agree on random screenings ------------------------------------------------------

_PERSONS = ("p1", "p2", "p3", "p4", "p5")


@st.composite
def random_screenings(draw: st.DrawFn) -> list[Screening]:
    out = []
    offset = draw(st.integers(1, 2**64))
    for n, person in enumerate(draw(st.lists(st.sampled_from(_PERSONS), max_size=8))):
        day = DAY - dt.timedelta(days=draw(st.integers(0, 4)))
        trips = draw(
            st.lists(
                st.builds(
                    Trip,
                    destination=st.sampled_from(("武汉", "广州")),
                    returned=st.one_of(
                        st.none(),
                        st.integers(0, 20).map(lambda d: DAY - dt.timedelta(days=d)),
                    ),
                ),
                max_size=1,
            )
        )
        exposures = draw(
            st.lists(
                st.builds(
                    Exposure,
                    kind=st.sampled_from(("confirmed_case", "outbreak_area_arrival", "other")),
                    last_contact=st.integers(0, 20).map(lambda d: DAY - dt.timedelta(days=d)),
                ),
                max_size=1,
            )
        )
        out.append(
            Screening(
                id=uuid.UUID(int=offset + n * 7919),  # several on one hour: ties by id
                person_id=person,
                at=_at(day, draw(st.sampled_from((0, 9, 23)))),
                trips=trips,
                exposures=exposures,
                symptoms=draw(st.lists(st.sampled_from(("cough", "fatigue")), max_size=1)),
                temperature=draw(st.one_of(st.none(), st.sampled_from((36.6, 37.2, 37.3, 38.0)))),
            )
        )
    return out


def _outcome(
    url: str, screenings: list[Screening], rules: RuleSet | None = None
) -> tuple[Any, ...]:
    """Everything a run stores, whole: assessments, orders, tasks and queued messages."""
    from gridguard.model.messages import OutboxMessage

    def rows(cls: type[Any], drop: tuple[str, ...] = ()) -> list[Any]:
        found = [attrs.asdict(r, recurse=True) for r in stored(ws, cls)]
        return sorted(
            (sorted((k, repr(v)) for k, v in row.items() if k not in drop) for row in found),
        )

    with gridguard.open(url) as ws:
        ws.add(place_tree())
        ws.record(screenings)
        screen(ws, rules, campaign_id=CAMPAIGN, day=DAY)
        # When a message was queued is the wall clock of each store's run.
        return (
            rows(Assessment),
            rows(QuarantineOrder, drop=("ordered_at",)),
            rows(Task),
            rows(OutboxMessage, drop=("at", "recorded_by")),
        )


_ACTIONS = (
    '{ classify = "high" }',
    '{ classify = "low" }',
    '{ quarantine = "home" }',
    '{ quarantine = "central" }',
    "{ follow_up = 12 }",
    '{ notify = ["grid_worker"] }',
    '{ notify = ["community_doctor", "building_observer"] }',
    '{ refer = "fever_clinic" }',
    '{ task = "delivery", for = "household", within_hours = 24 }',
    '{ task = "visit", within_hours = 6 }',
)


@st.composite
def random_rule_sets(draw: st.DrawFn) -> RuleSet:
    """One to three rules of random conditions and actions; some count a condition in a place.

    A rule may take the id of a built-in urgent rule (``fever``), so its alerts go at once.
    """
    texts = []
    for i in range(draw(st.integers(1, 3))):
        condition = draw(conditions())
        if draw(st.booleans()):  # most random conditions are false: let the screened fire
            condition = f"({condition}) or not missing(screened_at)"
        if draw(st.booleans()):
            level = draw(st.sampled_from(("household", "stairwell", "building")))
            others = draw(st.sampled_from(("", ", others=True")))
            condition = f"count_in({level}, {condition}{others}) >= {draw(st.integers(1, 2))}"
        actions = draw(st.lists(st.sampled_from(_ACTIONS), min_size=1, max_size=4, unique=True))
        rule_id = draw(st.sampled_from((f"r{i}", "fever"))) if i == 0 else f"r{i}"
        texts.append(
            f'[[rules]]\nid = "{rule_id}"\n'
            f'title = {{ en = "Rule {i}", zh = "规则{i}" }}\nline = "door_to_door"\n'
            f"priority = {draw(st.integers(1, 3))}\nwhen = '''{condition}'''\n"
            f"then = [{', '.join(actions)}]\n"
        )
    head = 'id = "random"\nversion = "1"\ntitle = { en = "Random", zh = "随机" }\n'
    try:
        return parse_rule_set(head + "\n".join(texts))
    except RuleSetError:  # a quarantine over windows of different lengths: no rule set
        assume(False)
        raise


@given(random_screenings(), random_rule_sets())
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_memory_and_sqlite_run_random_rule_sets_alike(
    tmp_path: Path, screenings: list[Screening], rules: RuleSet
) -> None:
    """The set-based writes and the Python path store the same records, field for field."""
    db = tmp_path / f"random-{uuid.uuid4().hex}.db"
    in_python = _outcome("memory://", screenings, rules)
    assert in_python == _outcome(f"sqlite:///{db}", screenings, rules)


@given(random_screenings())
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_memory_and_sqlite_screen_alike(tmp_path: Path, screenings: list[Screening]) -> None:
    db = tmp_path / f"agree-{uuid.uuid4().hex}.db"
    assert _outcome("memory://", screenings) == _outcome(f"sqlite:///{db}", screenings)


@given(random_screenings())
@settings(max_examples=15, deadline=None)
def test_digests_made_a_line_and_a_message_at_a_time_are_the_same(
    screenings: list[Screening],
) -> None:
    """A city's digests are made in pieces (lines read in bulk, messages queued in chunks);
    the pieces' size changes nothing that is queued."""
    from gridguard.screening import _digest, _run

    whole = _outcome("memory://", screenings)
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        patch.setattr(_digest, "LINES_AT_ONCE", 1)
        patch.setattr(_run, "DIGESTS_QUEUED", 1)
        assert _outcome(f"sqlite:///{tmp}/pieces.db", screenings) == whole


def test_task_kinds_cover_the_actions() -> None:
    assert {k.value for k in TaskKind} == {"visit", "phone_call", "delivery", "referral"}


class _FeverPlugin:
    """A plugin registering a rule function, as a third party would."""

    @gridguard.hookimpl
    def register_rule_functions(self, register: Any) -> None:
        from gridguard.rules import RuleFunction

        register(
            RuleFunction(
                name="is_febrile",
                python=lambda t: None if t is None else t >= 37.3,
                sql={"sqlite": "({0} >= 37.3)", "postgresql": "({0} >= 37.3)"},
                returns="bool",
            )
        )


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_function_registered_by_a_plugin_runs_in_a_screening(
    tmp_path: Path, backend: str
) -> None:
    from gridguard.screening._run import rule_functions

    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'plugin.db'}"
    with gridguard.open(url, plugins=[_FeverPlugin()]) as ws:
        ws.add(place_tree())
        ws.record(facts())
        rules = parse_rule_set(
            """
            id = "plugin-rules"
            version = "1"
            title = { en = "Plugin rules", zh = "插件规则" }
            [[rules]]
            id = "febrile"
            title = { en = "Febrile", zh = "发热" }
            line = "door_to_door"
            when = "is_febrile(temperature)"
            then = [{ classify = "medium" }]
            """,
            functions=rule_functions(ws),
        )
        screen(ws, rules, campaign_id=CAMPAIGN, day=DAY)
        assert fired(ws) == {"p3": {"febrile"}}


def test_a_day_in_the_future_is_refused(ws: Workspace) -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    with pytest.raises(gridguard.ValidationError, match=r"\$\.day: must not be after today"):
        screen(ws, campaign_id=CAMPAIGN, day=tomorrow)
    assert stored(ws, ScreeningRun) == []


@given(keys=st.lists(st.text(), min_size=1, max_size=20))
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ids_made_in_sqlite_are_the_ids_python_makes(tmp_path: Path, keys: list[str]) -> None:
    from gridguard.model.assessments import keyed_id

    with gridguard.open(tmp_path / "ids.db") as ws, ws.transaction() as uow:
        made = [m for key in keys for (m,) in uow.query("SELECT gg_keyed_id(?)", [key])]
    assert made == [keyed_id(key) for key in keys]
    assert all(uuid.UUID(m) for m in made)


_CHANGE = st.one_of(
    st.tuples(
        st.just("screening"),
        st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
        st.integers(min_value=0, max_value=4),  # days before DAY
        st.sampled_from([36.5, 37.4, 38.9]),
        st.sampled_from([(), ("cough",)]),
    ),
    st.tuples(
        st.just("move"),
        st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
        st.sampled_from(["h1", "h2", "h3"]),
    ),
)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(st.lists(_CHANGE, min_size=1, max_size=3), min_size=1, max_size=3))
def test_incremental_runs_leave_nothing_for_a_full_run_to_write(
    backend: str, changes: list[list[tuple[Any, ...]]], tmp_path: Path
) -> None:
    """Whatever changes between runs (late or new screenings, moves), the incremental runs
    of the day have written everything a full run would."""
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / f'{uuid.uuid4()}.db'}"
    names = {"p1": "陈建国", "p2": "陈小红", "p3": "李明", "p4": "王芳", "p5": "王强"}
    with gridguard.open(url) as ws:
        ws.add(place_tree())
        ws.record(facts())
        screen(ws, campaign_id=CAMPAIGN, day=DAY)
        for step in changes:
            for change in step:
                if change[0] == "screening":
                    _, person, back, temperature, symptoms = change
                    when = _at(DAY - dt.timedelta(days=back), 8)
                    ws.record(
                        [
                            Screening(
                                person_id=person,
                                at=when,
                                temperature=temperature,
                                symptoms=list(symptoms),
                            )
                        ]
                    )
                else:
                    _, person, household = change
                    with ws.transaction() as uow:
                        uow.put(
                            Person, [Person(id=person, household_id=household, name=names[person])]
                        )
            screen(ws, campaign_id=CAMPAIGN, day=DAY)
        written = _written(ws)
        full = screen(ws, campaign_id=CAMPAIGN, day=DAY, full=True)
        assert (full.assessments, full.orders, full.tasks) == (0, 0, 0)
        assert _written(ws) == written


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_that_fails_half_way_stores_nothing_and_names_its_error(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-based writes fail after the assessments: the error is the statement's, the
    store is as before, and the next run (its temporary tables gone) writes everything."""
    from gridguard.screening import _setwise

    with ExitStack() as stack:
        if backend == "postgresql":
            url, _ = stack.enter_context(pg_schema())
        else:
            url = f"sqlite:///{tmp_path / 'half.db'}"
        ws = stack.enter_context(gridguard.open(url))
        ws.add(place_tree())
        ws.record(facts())

        def broken(uow: Any, dialect: Any) -> int:
            # A failing statement: PostgreSQL then refuses every statement but a rollback.
            return len(list(uow.query("SELECT * FROM gg_no_such_table")))

        with monkeypatch.context() as patch:
            patch.setattr(_setwise, "_tasks", broken)
            with pytest.raises(Exception, match="gg_no_such_table"):
                screen(ws, campaign_id=CAMPAIGN, day=DAY)
        assert stored(ws, Assessment) == []
        assert stored(ws, ScreeningRun) == []
        result = screen(ws, campaign_id=CAMPAIGN, day=DAY)
        assert result.assessments == len(stored(ws, Assessment)) > 0
        assert result.tasks == len(stored(ws, Task)) > 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_assessments_stored_under_other_ids_are_not_written_again(
    backend: str, tmp_path: Path
) -> None:
    """A store whose assessments carry ids of another scheme (made before ids were computed
    in SQL): a full run over the same facts finds them by content and writes nothing."""
    with ExitStack() as stack:
        if backend == "postgresql":
            url, _ = stack.enter_context(pg_schema())
            other = "gen_random_uuid()"
        else:
            url = f"sqlite:///{tmp_path / 'ids.db'}"
            other = "lower(hex(randomblob(16)))"
        ws = stack.enter_context(gridguard.open(url))
        ws.add(place_tree())
        ws.record(facts())
        first = screen(ws, campaign_id=CAMPAIGN, day=DAY)
        assert first.assessments > 0
        before = sorted(str(a.id) for a in stored(ws, Assessment))
        with ws.transaction() as uow:
            list(uow.query(f"UPDATE assessments SET id = {other}"))
        again = screen(ws, campaign_id=CAMPAIGN, day=DAY, full=True)
        assert (again.assessments, again.orders, again.tasks, again.notifications) == (0, 0, 0, 0)
        after = sorted(str(a.id) for a in stored(ws, Assessment))
        assert len(after) == len(before)
        assert set(after).isdisjoint(before)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_references_of_the_set_based_rows_are_checked_once_in_bulk(
    backend: str, tmp_path: Path
) -> None:
    """The run's transaction may leave row-by-row foreign-key checks off (SQLite): the new
    assessments' persons and households, which every set-based row takes, are checked."""
    from gridguard.errors import StorageError
    from gridguard.screening import _setwise

    with ExitStack() as stack:
        url = (
            stack.enter_context(pg_schema())[0]
            if backend == "postgresql"
            else f"sqlite:///{tmp_path / 'refs.db'}"
        )
        ws = stack.enter_context(gridguard.open(url))
        ws.add(place_tree())
        with ws._transaction(bulk=True) as uow:
            # SQLite's bulk write leaves row-by-row checks off; PostgreSQL always checks.
            assert ws.dialect.checks_references(uow) is (backend == "postgresql")
            list(uow.query(f"CREATE TEMP TABLE {_setwise.NEW} (person_id TEXT, household_id TEXT)"))
            list(uow.query(f"INSERT INTO {_setwise.NEW} VALUES ('p1', 'h1'), ('p3', 'h2')"))
            _setwise._check_references(uow, ws.dialect)
            list(uow.query(f"INSERT INTO {_setwise.NEW} VALUES ('ghost', 'h1'), ('p4', 'h404')"))
            with pytest.raises(StorageError, match=r"^2 flagged persons"):
                _setwise._check_references(uow, ws.dialect)
            list(uow.query(f"DROP TABLE {_setwise.NEW}"))
