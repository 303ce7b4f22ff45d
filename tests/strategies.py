"""Hypothesis strategies for every model class in :mod:`gridguard.model`.

Every strategy builds valid objects directly (no heavy filtering): identity
numbers get their check character from :meth:`GB11643.check_character`,
phones use mobile prefixes that ``phonenumbers`` accepts, timestamps are
aware and in the past, dates are not in the future.

``MODEL_STRATEGIES`` maps each model class to its strategy; :func:`models`
samples any of them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from hypothesis import strategies as st

from gridguard.model import (
    GB11643,
    Anomaly,
    AnomalyKind,
    Area,
    AreaLevel,
    Building,
    Campaign,
    Channel,
    CheckIn,
    CheckInStatus,
    Exposure,
    ExposureKind,
    HealthReport,
    Household,
    LineOfDefense,
    MemberRole,
    OutbreakArea,
    Person,
    Residency,
    ResidentId,
    Screening,
    ServiceKind,
    ServiceRequest,
    Sex,
    Stairwell,
    Team,
    TeamKind,
    TeamMember,
    Trip,
    Visit,
    VisitOutcome,
)

__all__ = [
    "CN_MOBILE_PREFIXES",
    "MODEL_STRATEGIES",
    "TIME_ZONES",
    "aware_datetimes",
    "cn_mobile_numbers",
    "identifiers",
    "models",
    "past_dates",
    "resident_id_parts",
    "valid_resident_id_numbers",
    "valid_resident_ids",
]

TODAY = dt.date.today()
EARLIEST_DATE = dt.date(1900, 1, 1)
# Naive bounds for generated timestamps, a day short of now so that even a
# UTC-12 wall clock cannot be in the future.
_LATEST_NAIVE = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
_EARLIEST_NAIVE = dt.datetime(2000, 1, 1)

TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Asia/Hong_Kong",
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
)
"""IANA zones for campaigns and timestamps, several with DST."""

CN_MOBILE_PREFIXES = (
    *(str(p) for p in range(130, 140)),
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    *(str(p) for p in range(180, 190)),
    "198",
    "199",
)
"""Three-digit mobile prefixes every 8-digit suffix of which ``phonenumbers`` accepts."""

_ID_HEAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ID_TAIL = _ID_HEAD + "_.:-/"


def identifiers() -> st.SearchStrategy[str]:
    """Ids as the model accepts them: alphanumeric first, then letters, digits, ``_.:-/``."""
    return st.builds(
        str.__add__,
        st.sampled_from(_ID_HEAD),
        st.text(alphabet=_ID_TAIL, max_size=15),
    )


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# Printable text: no control characters (category C), no line or paragraph separators
# (Zl, Zp: the model refuses them where it refuses control characters), no surrogates.
_chars = st.characters(codec="utf-8", exclude_categories=("C", "Zl", "Zp"))
# A first character that is neither whitespace nor a control character, so
# the text is never blank.
_visible = st.characters(codec="utf-8", exclude_categories=("C", "Z"))

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


def _chinese_names() -> st.SearchStrategy[str]:
    return st.builds(
        str.__add__,
        st.sampled_from(_SURNAMES),
        st.text(alphabet=_GIVEN, min_size=1, max_size=2),
    )


def names() -> st.SearchStrategy[str]:
    """Non-blank text without control characters; often a Chinese personal name."""
    return _chinese_names() | st.builds(str.__add__, _visible, st.text(_chars, max_size=20))


def free_text(max_size: int = 30) -> st.SearchStrategy[str]:
    """Notes and similar optional text (may be empty)."""
    return st.text(_chars, max_size=max_size)


def past_dates(min_value: dt.date = EARLIEST_DATE) -> st.SearchStrategy[dt.date]:
    """Dates from ``min_value`` up to today."""
    return st.dates(min_value=min_value, max_value=TODAY)


def _zone_objects() -> st.SearchStrategy[dt.tzinfo]:
    fixed = st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5))]
    )
    return fixed | st.sampled_from(TIME_ZONES).map(zoneinfo.ZoneInfo)


def aware_datetimes() -> st.SearchStrategy[dt.datetime]:
    """Aware timestamps between 2000 and a day ago, in several zones.

    Wall-clock times inside a DST gap do not exist; Python compares them
    unequal to every instant, so they are left out.
    """
    return st.datetimes(
        min_value=_EARLIEST_NAIVE,
        max_value=_LATEST_NAIVE,
        timezones=_zone_objects(),
        allow_imaginary=False,
    )


# --- identity numbers and phones -------------------------------------------


@st.composite
def resident_id_parts(draw: st.DrawFn) -> tuple[str, dt.date, Sex]:
    """A valid GB 11643 number with the birth date and sex it encodes."""
    region = draw(st.integers(min_value=110000, max_value=659999))
    born = draw(past_dates())
    sequence = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{region:06d}{born:%Y%m%d}{sequence:03d}"
    number = first17 + GB11643.check_character(first17)
    sex = Sex.MALE if sequence % 2 else Sex.FEMALE
    return number, born, sex


def valid_resident_id_numbers() -> st.SearchStrategy[str]:
    """Valid 18-character identity numbers in canonical form."""
    return resident_id_parts().map(lambda parts: parts[0])


def valid_resident_ids() -> st.SearchStrategy[ResidentId]:
    """Valid :class:`ResidentId` objects (scheme ``CN``)."""
    return valid_resident_id_numbers().map(ResidentId)


def cn_mobile_numbers() -> st.SearchStrategy[str]:
    """Valid mainland mobile numbers in E.164, e.g. ``+8613800138000``."""
    return st.builds(
        lambda prefix, rest: f"+86{prefix}{rest:08d}",
        st.sampled_from(CN_MOBILE_PREFIXES),
        st.integers(min_value=0, max_value=99_999_999),
    )


def _phone_spellings() -> st.SearchStrategy[str]:
    """The same numbers as people write them; the model normalises to E.164."""

    def spell(e164: str, style: int) -> str:
        local = e164[3:]
        return [
            e164,
            local,
            "0086" + local,
            f"{local[:3]}-{local[3:7]}-{local[7:]}",
            f"+86 {local[:3]} {local[3:7]} {local[7:]}",
        ][style]

    return st.builds(spell, cn_mobile_numbers(), st.integers(min_value=0, max_value=4))


# --- places and people -----------------------------------------------------


def areas() -> st.SearchStrategy[Area]:
    return st.builds(
        Area,
        id=identifiers(),
        name=names(),
        level=st.sampled_from(AreaLevel),
        parent_id=optional(identifiers()),
        code=optional(st.from_regex(r"[1-6][0-9]{5}([0-9]{3}([0-9]{3})?)?", fullmatch=True)),
    )


def buildings() -> st.SearchStrategy[Building]:
    return st.builds(
        Building,
        id=identifiers(),
        area_id=identifiers(),
        name=names(),
        compound=optional(names()),
        managed=st.booleans(),
        observer_id=optional(identifiers()),
    )


def stairwells() -> st.SearchStrategy[Stairwell]:
    return st.builds(
        Stairwell,
        id=identifiers(),
        building_id=identifiers(),
        name=names(),
        floors=st.integers(min_value=1, max_value=200),
        doors_per_floor=st.integers(min_value=1, max_value=50),
    )


def households() -> st.SearchStrategy[Household]:
    return st.builds(
        Household,
        id=identifiers(),
        stairwell_id=identifiers(),
        floor=st.integers(min_value=-5, max_value=200),
        door=names(),
        address=names(),
        phone=optional(_phone_spellings()),
    )


@st.composite
def persons(draw: st.DrawFn) -> Person:
    """A person; with an identity number, birth date and sex agree with it (or are left out)."""
    parts = draw(optional(resident_id_parts()))
    if parts is None:
        resident_id = None
        birth_date = draw(optional(past_dates()))
        sex = draw(optional(st.sampled_from(Sex)))
    else:
        number, born, encoded_sex = parts
        resident_id = draw(st.sampled_from([number, number.lower(), ResidentId(number)]))
        birth_date = draw(st.sampled_from([None, born]))
        sex = draw(st.sampled_from([None, encoded_sex]))
    return Person(
        id=draw(identifiers()),
        household_id=draw(identifiers()),
        name=draw(names()),
        resident_id=resident_id,
        phone=draw(optional(_phone_spellings())),
        sex=sex,
        birth_date=birth_date,
        residency=draw(st.sampled_from(Residency)),
    )


# --- teams and campaigns -----------------------------------------------------


def team_members() -> st.SearchStrategy[TeamMember]:
    return st.builds(
        TeamMember,
        name=names(),
        role=st.sampled_from(MemberRole),
        party_member=st.booleans(),
        phone=optional(_phone_spellings()),
        person_id=optional(identifiers()),
    )


def teams() -> st.SearchStrategy[Team]:
    return st.builds(
        Team,
        id=identifiers(),
        name=names(),
        area_id=identifiers(),
        kind=st.sampled_from(TeamKind),
        members=st.lists(team_members(), max_size=4),
        home_grid_id=optional(identifiers()),
    )


def outbreak_areas() -> st.SearchStrategy[OutbreakArea]:
    return st.builds(
        OutbreakArea,
        name=names(),
        code=optional(st.from_regex(r"[1-6][0-9]{1,5}", fullmatch=True)),
    )


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    start = draw(past_dates(dt.date(2000, 1, 1)))
    end = draw(optional(st.dates(min_value=start, max_value=start + dt.timedelta(days=400))))
    return Campaign(
        id=draw(identifiers()),
        name=draw(names()),
        scope=draw(st.lists(identifiers(), min_size=1, max_size=3)),
        start=start,
        end=end,
        time_zone=draw(st.sampled_from(TIME_ZONES)),
        outbreak_areas=draw(st.lists(outbreak_areas(), max_size=3)),
        look_back_days=draw(st.integers(min_value=1, max_value=365)),
    )


def lines_of_defense() -> st.SearchStrategy[LineOfDefense]:
    return st.builds(
        LineOfDefense,
        name=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
        title_en=names(),
        title_zh=names(),
        description=free_text(),
        order=st.integers(min_value=-1000, max_value=1000),
    )


# --- facts -----------------------------------------------------------------


def _fact_fields() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "id": st.uuids(),
        "at": aware_datetimes(),
        "recorded_by": optional(identifiers()),
    }


def visits() -> st.SearchStrategy[Visit]:
    return st.builds(
        Visit,
        household_id=identifiers(),
        outcome=st.sampled_from(VisitOutcome),
        channel=st.sampled_from(Channel),
        team_id=optional(identifiers()),
        campaign_id=optional(identifiers()),
        note=free_text(),
        **_fact_fields(),
    )


@st.composite
def trips(draw: st.DrawFn) -> Trip:
    departed = draw(optional(past_dates(dt.date(2000, 1, 1))))
    low = departed if departed is not None else dt.date(2000, 1, 1)
    returned = draw(optional(st.dates(min_value=low, max_value=TODAY)))
    return Trip(destination=draw(names()), departed=departed, returned=returned)


def exposures() -> st.SearchStrategy[Exposure]:
    return st.builds(
        Exposure,
        kind=st.sampled_from(ExposureKind),
        last_contact=past_dates(dt.date(2000, 1, 1)),
        note=free_text(),
    )


def temperatures() -> st.SearchStrategy[float]:
    """Body temperatures within the accepted 30-45 range, often to one decimal."""
    return st.floats(min_value=30.0, max_value=45.0) | st.integers(300, 450).map(
        lambda tenths: tenths / 10
    )


_symptoms = st.lists(
    st.sampled_from(["cough", "Fever", " fatigue ", "sore throat", "DIARRHEA", "发热", "咳嗽"]),
    max_size=4,
)


def screenings() -> st.SearchStrategy[Screening]:
    return st.builds(
        Screening,
        person_id=identifiers(),
        visit_id=optional(st.uuids()),
        trips=st.lists(trips(), max_size=3),
        exposures=st.lists(exposures(), max_size=3),
        symptoms=_symptoms,
        temperature=optional(temperatures()),
        **_fact_fields(),
    )


def anomalies() -> st.SearchStrategy[Anomaly]:
    return st.builds(
        Anomaly,
        kind=st.sampled_from(AnomalyKind),
        count=st.integers(min_value=1, max_value=10_000),
        note=free_text(),
        household_id=optional(identifiers()),
    )


@st.composite
def check_ins(draw: st.DrawFn) -> CheckIn:
    """A check-in whose status agrees with its anomalies."""
    found = draw(st.lists(anomalies(), max_size=3))
    status = CheckInStatus.ANOMALIES if found else CheckInStatus.ALL_NORMAL
    fields = {name: draw(strategy) for name, strategy in _fact_fields().items()}
    return CheckIn(
        building_id=draw(identifiers()),
        observer_id=draw(identifiers()),
        status=status,
        anomalies=found,
        **fields,
    )


def health_reports() -> st.SearchStrategy[HealthReport]:
    return st.builds(
        HealthReport,
        person_id=identifiers(),
        temperature=optional(temperatures()),
        symptoms=_symptoms,
        **_fact_fields(),
    )


def service_requests() -> st.SearchStrategy[ServiceRequest]:
    return st.builds(
        ServiceRequest,
        household_id=identifiers(),
        service=st.sampled_from(ServiceKind),
        note=free_text(),
        **_fact_fields(),
    )


MODEL_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    Area: areas(),
    Building: buildings(),
    Stairwell: stairwells(),
    Household: households(),
    Person: persons(),
    TeamMember: team_members(),
    Team: teams(),
    OutbreakArea: outbreak_areas(),
    Campaign: campaigns(),
    LineOfDefense: lines_of_defense(),
    Visit: visits(),
    Trip: trips(),
    Exposure: exposures(),
    Screening: screenings(),
    Anomaly: anomalies(),
    CheckIn: check_ins(),
    HealthReport: health_reports(),
    ServiceRequest: service_requests(),
}
"""One strategy per serialisable model class."""


def models() -> st.SearchStrategy[Any]:
    """Any model object."""
    return st.one_of(*MODEL_STRATEGIES.values())


# --- notifications: the outbox and its attempt log -------------------------

from gridguard.model.messages import NotifyConfiguration  # noqa: E402
from gridguard.notify import DeliveryAttempt, DeliveryOutcome, Message, OutboxMessage  # noqa: E402

_JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(_chars, max_size=10)
)
json_values = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
"""JSON values that survive a round trip unchanged (no floats, no tuples)."""


def _non_blank(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.builds(str.__add__, _visible, st.text(_chars, max_size=max_size))


def messages(area_id: st.SearchStrategy[str | None] | None = None) -> st.SearchStrategy[Message]:
    """Rendered messages; ``area_id`` defaults to any id or none."""
    return st.builds(
        Message,
        id=st.uuids(),
        recipient=_non_blank(),
        subject=free_text(),
        body=free_text(60),
        data=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        channel=_non_blank(10),
        area_id=area_id if area_id is not None else optional(identifiers()),
        topic=_non_blank(10),
        at=aware_datetimes(),
        not_before=optional(aware_datetimes()),
    )


def outbox_messages() -> st.SearchStrategy[OutboxMessage]:
    return st.builds(
        OutboxMessage,
        area_id=identifiers(),
        channel=_non_blank(10),
        recipient=_non_blank(),
        topic=_non_blank(10),
        subject=free_text(),
        body=free_text(60),
        data=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        not_before=optional(aware_datetimes()),
        **_fact_fields(),
    )


def delivery_attempts() -> st.SearchStrategy[DeliveryAttempt]:
    return st.builds(
        DeliveryAttempt,
        message_id=st.uuids(),
        attempt=st.integers(1, 50),
        outcome=st.sampled_from(DeliveryOutcome),
        due_at=optional(aware_datetimes()),
        error=free_text(),
        **_fact_fields(),
    )


def notify_configurations() -> st.SearchStrategy[NotifyConfiguration]:
    return st.builds(
        NotifyConfiguration,
        settings=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        source=free_text(),
        **_fact_fields(),
    )


MODEL_STRATEGIES[OutboxMessage] = outbox_messages()
MODEL_STRATEGIES[DeliveryAttempt] = delivery_attempts()
MODEL_STRATEGIES[NotifyConfiguration] = notify_configurations()


# --- screening rules: assessments, quarantine orders, tasks, runs -------------

from gridguard.model.assessments import (  # noqa: E402
    Assessment,
    FiredRule,
    OrderStatus,
    QuarantineKind,
    QuarantineOrder,
    RiskLevel,
    ScreeningRun,
    Task,
    TaskKind,
    TaskStatus,
)


def fired_rules() -> st.SearchStrategy[FiredRule]:
    return st.builds(
        FiredRule,
        rule_id=identifiers(),
        line=identifiers(),
        priority=st.integers(-1000, 1000),
        why=free_text(60),
    )


def assessments() -> st.SearchStrategy[Assessment]:
    return st.builds(
        Assessment,
        person_id=identifiers(),
        household_id=identifiers(),
        campaign_id=identifiers(),
        rule_set_id=identifiers(),
        rule_set_version=_non_blank(10),
        day=past_dates(),
        screening_id=optional(st.uuids()),
        risk=st.sampled_from(RiskLevel),
        fired=st.lists(fired_rules(), max_size=3).map(tuple),
        referrals=st.lists(identifiers(), max_size=2).map(tuple),
        notify=st.lists(identifiers(), max_size=3).map(tuple),
        follow_up_hours=optional(st.integers(1, 336)),
        **_fact_fields(),
    )


@st.composite
def quarantine_orders(draw: st.DrawFn) -> QuarantineOrder:
    start = draw(past_dates())
    return QuarantineOrder(
        id=draw(identifiers()),
        household_id=draw(identifiers()),
        person_id=draw(optional(identifiers())),
        kind=draw(st.sampled_from(QuarantineKind)),
        start=start,
        end=start + dt.timedelta(days=draw(st.integers(1, 60))),
        reason=draw(free_text(60)),
        rule_id=draw(identifiers()),
        rule_set_id=draw(identifiers()),
        rule_set_version=draw(_non_blank(10)),
        campaign_id=draw(optional(identifiers())),
        status=draw(st.sampled_from(OrderStatus)),
        ordered_by=draw(optional(_non_blank(10))),
        ordered_at=draw(optional(aware_datetimes())),
    )


def tasks() -> st.SearchStrategy[Task]:
    return st.builds(
        Task,
        id=identifiers(),
        household_id=identifiers(),
        person_id=optional(identifiers()),
        kind=st.sampled_from(TaskKind),
        due=aware_datetimes(),
        note=free_text(),
        rule_id=identifiers(),
        rule_set_id=identifiers(),
        rule_set_version=_non_blank(10),
        status=st.sampled_from(TaskStatus),
    )


def screening_runs() -> st.SearchStrategy[ScreeningRun]:
    return st.builds(
        ScreeningRun,
        campaign_id=identifiers(),
        rule_set_id=identifiers(),
        rule_set_version=_non_blank(10),
        rule_set_digest=st.text("0123456789abcdef", min_size=64, max_size=64),
        day=past_dates(),
        mode=st.sampled_from(["full", "changed"]),
        flagged=st.integers(0, 5_000_000),
        watermark=optional(aware_datetimes()),
        **_fact_fields(),
    )


MODEL_STRATEGIES[Assessment] = assessments()
MODEL_STRATEGIES[QuarantineOrder] = quarantine_orders()
MODEL_STRATEGIES[Task] = tasks()
MODEL_STRATEGIES[ScreeningRun] = screening_runs()


# --- data-driven targeting: outside lists, matches, review, targets --------

from gridguard.targeting import (  # noqa: E402
    Candidate,
    ListEntry,
    Match,
    MatchPass,
    OutsideList,
    ReviewDecision,
    ReviewItem,
    Target,
)

_scores = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def outside_lists() -> st.SearchStrategy[OutsideList]:
    return st.builds(
        OutsideList,
        id=identifiers(),
        source=_non_blank(),
        area_id=identifiers(),
        exposure=st.sampled_from(ExposureKind),
        received=optional(past_dates()),
        note=free_text(),
    )


def list_entries() -> st.SearchStrategy[ListEntry]:
    """List rows as lists write them: numbers valid or mistyped, names in any script."""
    typed_numbers = valid_resident_id_numbers() | st.text("0123456789X", min_size=15, max_size=19)
    return st.builds(
        ListEntry,
        list_id=identifiers(),
        row=st.integers(1, 10**6),
        name=optional(names()),
        id_number=optional(typed_numbers),
        phone=optional(cn_mobile_numbers()),
        last_contact=optional(past_dates()),
        origin=free_text(10),
        note=free_text(),
        **_fact_fields(),
    )


def candidates() -> st.SearchStrategy[Candidate]:
    return st.builds(Candidate, person_id=identifiers(), score=_scores)


def matches() -> st.SearchStrategy[Match]:
    return st.builds(
        Match,
        entry_id=st.uuids(),
        person_id=identifiers(),
        match_pass=st.sampled_from(MatchPass),
        score=_scores,
        source=_non_blank(),
        **_fact_fields(),
    )


def review_items() -> st.SearchStrategy[ReviewItem]:
    return st.builds(
        ReviewItem,
        entry_id=st.uuids(),
        reason=_non_blank(40),
        candidates=st.lists(candidates(), max_size=3),
        **_fact_fields(),
    )


def review_decisions() -> st.SearchStrategy[ReviewDecision]:
    return st.builds(
        ReviewDecision,
        entry_id=st.uuids(),
        person_id=optional(identifiers()),
        note=free_text(),
        **_fact_fields(),
    )


def targets() -> st.SearchStrategy[Target]:
    return st.builds(
        Target,
        id=identifiers(),
        household_id=identifiers(),
        grid_id=optional(identifiers()),
        priority=st.floats(min_value=0.0, max_value=1_000.0, allow_nan=False),
        persons=st.lists(identifiers(), max_size=3),
        sources=st.lists(_non_blank(10), max_size=2),
        reasons=st.lists(free_text(), max_size=3),
        last_contact=optional(past_dates()),
    )


MODEL_STRATEGIES[OutsideList] = outside_lists()
MODEL_STRATEGIES[ListEntry] = list_entries()
MODEL_STRATEGIES[Candidate] = candidates()
MODEL_STRATEGIES[Match] = matches()
MODEL_STRATEGIES[ReviewItem] = review_items()
MODEL_STRATEGIES[ReviewDecision] = review_decisions()
MODEL_STRATEGIES[Target] = targets()


# --- the building watch: monitoring points and their daily reports ---------

from gridguard.model.watch import MonitoringPoint, PointReport  # noqa: E402


def monitoring_points() -> st.SearchStrategy[MonitoringPoint]:
    return st.builds(
        MonitoringPoint,
        id=identifiers(),
        area_id=identifiers(),
        name=_non_blank(),
        observer_id=optional(identifiers()),
    )


@st.composite
def point_reports(draw: st.DrawFn) -> PointReport:
    """A monitoring point's report whose status agrees with its anomalies."""
    found = draw(st.lists(anomalies(), max_size=3))
    status = CheckInStatus.ANOMALIES if found else CheckInStatus.ALL_NORMAL
    fields = {name: draw(strategy) for name, strategy in _fact_fields().items()}
    return PointReport(
        point_id=draw(identifiers()),
        observer_id=draw(identifiers()),
        status=status,
        anomalies=found,
        **fields,
    )


MODEL_STRATEGIES[MonitoringPoint] = monitoring_points()
MODEL_STRATEGIES[PointReport] = point_reports()


# --- the audit log --------------------------------------------------------------

from gridguard.security.audit import AuditEntry, AuditOutcome  # noqa: E402


def audit_entries() -> st.SearchStrategy[AuditEntry]:
    hashes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
    return st.builds(
        AuditEntry,
        seq=st.integers(1, 10**9),
        principal=_non_blank(),
        role=_non_blank(),
        scope=_non_blank(),
        action=_non_blank(),
        target=_non_blank(),
        count=st.integers(0, 10**6),
        outcome=st.sampled_from(AuditOutcome),
        reason=st.text(max_size=20),
        prev_hash=hashes,
        hash=hashes,
        **_fact_fields(),
    )


MODEL_STRATEGIES[AuditEntry] = audit_entries()


# --- quarantine lifecycle and services --------------------------------------------

from gridguard.model.quarantine import QuarantineExtension, QuarantineRelease  # noqa: E402
from gridguard.model.services import ServiceAssignment, ServiceCompletion  # noqa: E402


@st.composite
def quarantine_releases(draw: st.DrawFn) -> QuarantineRelease:
    """A release; an early one always has a reason."""
    early = draw(st.booleans())
    return QuarantineRelease(
        order_id=draw(identifiers()),
        household_id=draw(identifiers()),
        person_id=draw(optional(identifiers())),
        end=draw(past_dates()),
        early=early,
        reason=draw(_non_blank(20)) if early else draw(free_text(20)),
        released_by=draw(optional(_non_blank(10))),
        **{name: draw(strategy) for name, strategy in _fact_fields().items()},
    )


@st.composite
def quarantine_extensions(draw: st.DrawFn) -> QuarantineExtension:
    previous = draw(past_dates())
    return QuarantineExtension(
        order_id=draw(identifiers()),
        household_id=draw(identifiers()),
        last_exposure=draw(past_dates()),
        previous_end=previous,
        new_end=previous + dt.timedelta(days=draw(st.integers(1, 30))),
        reason=draw(free_text(20)),
        **{name: draw(strategy) for name, strategy in _fact_fields().items()},
    )


@st.composite
def service_assignments(draw: st.DrawFn) -> ServiceAssignment:
    """Assigned to a team or to a person, never both."""
    to_team = draw(st.booleans())
    return ServiceAssignment(
        request_id=draw(st.uuids()),
        household_id=draw(identifiers()),
        team_id=draw(identifiers()) if to_team else None,
        person_id=None if to_team else draw(identifiers()),
        due=draw(aware_datetimes()),
        **{name: draw(strategy) for name, strategy in _fact_fields().items()},
    )


def service_completions() -> st.SearchStrategy[ServiceCompletion]:
    return st.builds(
        ServiceCompletion,
        request_id=st.uuids(),
        household_id=identifiers(),
        note=free_text(20),
        **_fact_fields(),
    )


MODEL_STRATEGIES[QuarantineRelease] = quarantine_releases()
MODEL_STRATEGIES[QuarantineExtension] = quarantine_extensions()
MODEL_STRATEGIES[ServiceAssignment] = service_assignments()
MODEL_STRATEGIES[ServiceCompletion] = service_completions()
