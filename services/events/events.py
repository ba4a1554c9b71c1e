"""Events (活动) and lecture series (校友大讲堂): schedule, organiser, status.

Inputs arrive already shaped by the contract schemas (services/common/contracts/events/);
these functions enforce what needs the database (schedules, status transitions) and
record events in the outbox within the caller's transaction.

Seats are counted under a per-event lock. Every transaction that changes an
event's seats or waitlist (sign-up, cancellation, capacity change) starts by
locking the event's row (`lock_event`), so such transactions run one at a time
per event, across threads, processes and service instances alike, and each
sees everything the previous one committed. Events do not block each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.contracts.events import events as event_contracts
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import each, page, paged_select
from services.common.statemachine import StateMachine
from services.events.common import as_utc, flush_or_conflict
from services.events.models import Event, LectureSeries, OutboxMessage, Registration
from services.events.waitlist import fill_free_seats

DRAFT, PUBLISHED, CLOSED, FINISHED, CANCELLED = (
    "draft",
    "published",
    "closed",
    "finished",
    "cancelled",
)

# Status names read after "活动": 活动尚未发布，不接受报名。
EVENT_STATUS = StateMachine(
    "活动",
    {
        DRAFT: "尚未发布",
        PUBLISHED: "已发布",
        CLOSED: "报名已截止",
        FINISHED: "已结束",
        CANCELLED: "已取消",
    },
    {
        "publish": (DRAFT, PUBLISHED),
        "close": (PUBLISHED, CLOSED),
        "finish": ({PUBLISHED, CLOSED}, FINISHED),
        "cancel": ({DRAFT, PUBLISHED, CLOSED}, CANCELLED),
    },
)
STATUS_NAMES = EVENT_STATUS.names
EDITABLE_STATUSES = frozenset({DRAFT, PUBLISHED, CLOSED})
# Registrations change (cancel, check in) only while the event is on.
LIVE_STATUSES = frozenset({PUBLISHED, CLOSED})
EVENT_FIELDS = (
    "kind",
    "title",
    "description",
    "organiser_type",
    "organiser_id",
    "venue",
    "starts_at",
    "ends_at",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "series_id",
    "speaker_alumnus_id",
)
TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
ID_FIELDS = ("organiser_id", "series_id", "speaker_alumnus_id")

EVENT = event_contracts.Event()
SERIES = event_contracts.LectureSeries()
EVENT_CANCELLED = event_contracts.EventCancelledData()


# ---- events ----------------------------------------------------------------


def create_event(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """A new event, in draft until published."""
    values = _normalised(data)
    _check_event(session, values)
    event = Event(status=DRAFT, seats_taken=0, **values)
    session.add(event)
    session.flush()
    return EVENT.dump(event)


def update_event(session: Session, event_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update; a larger capacity promotes from the waitlist at once."""
    event = lock_event(session, event_id)
    if event.status not in EDITABLE_STATUSES:
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，不能再修改。",
            {"status": event.status},
            reason="event_not_editable",
        )
    values = {**{field: getattr(event, field) for field in EVENT_FIELDS}, **_normalised(patch)}
    _check_event(session, values)
    if values["capacity"] < event.seats_taken:
        raise ValidationFailed(
            "活动容量不能少于已确认的座位数。",
            {"fields": {"capacity": [f"已有 {event.seats_taken} 个座位被确认。"]}},
            reason="capacity_below_seats_taken",
        )
    for field, value in values.items():
        setattr(event, field, value)
    session.flush()
    if event.status in LIVE_STATUSES:
        fill_free_seats(session, event)
    return EVENT.dump(event)


def get_event(session: Session, event_id: str) -> dict[str, Any]:
    return EVENT.dump(find_event(session, event_id))


def list_events(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Filter and page events by start time; `next_cursor` is opaque to clients.

    `drafts` (contract `EventListQuery`) hides drafts: `none`, or all but those
    of the department `drafts_department_id` (`department`) or of the chapter
    `drafts_chapter_id` (`chapter`).
    """
    query = select(Event)
    for field in ("kind", "status", "organiser_type"):
        if params.get(field):
            query = query.where(getattr(Event, field) == params[field])
    for field in ("organiser_id", "series_id"):
        if params.get(field):
            query = query.where(getattr(Event, field) == str(params[field]))
    if params.get("drafts") == "none":
        query = query.where(Event.status != DRAFT)
    elif params.get("drafts") == "department":
        query = query.where(
            or_(
                Event.status != DRAFT,
                and_(
                    Event.organiser_type == "department",
                    Event.organiser_id == str(params["drafts_department_id"]),
                ),
            )
        )
    elif params.get("drafts") == "chapter":
        query = query.where(
            or_(
                Event.status != DRAFT,
                and_(
                    Event.organiser_type == "chapter",
                    Event.organiser_id == str(params["drafts_chapter_id"]),
                ),
            )
        )
    if params.get("starts_after"):
        query = query.where(Event.starts_at >= as_utc(params["starts_after"]))
    if params.get("starts_before"):
        query = query.where(Event.starts_at < as_utc(params["starts_before"]))
    query = paged_select(query, [Event.starts_at, Event.id], params, (datetime, str))
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda e: [e.starts_at, e.id], each(EVENT.dump))


def publish_event(session: Session, event_id: str, now: datetime) -> dict[str, Any]:
    """Draft → published: the event becomes public and takes sign-ups inside its window."""
    event = _transition(session, event_id, "publish")
    if as_utc(event.ends_at) <= now:
        raise Conflict(
            "活动已经结束，不能发布。", {"ends_at": iso_utc(event.ends_at)}, reason="event_over"
        )
    snapshot = EVENT.dump(event)
    OutboxMessage.record(session, "event_published", snapshot)
    return snapshot


def close_event(session: Session, event_id: str) -> dict[str, Any]:
    """Published → closed: no more sign-ups; cancellations and promotions go on."""
    return EVENT.dump(_transition(session, event_id, "close"))


def finish_event(session: Session, event_id: str, now: datetime) -> dict[str, Any]:
    event = _transition(session, event_id, "finish")
    if as_utc(event.starts_at) > now:
        raise Conflict(
            "活动尚未开始，不能标记为已结束。",
            {"starts_at": iso_utc(event.starts_at)},
            reason="event_not_started",
        )
    return EVENT.dump(event)


def cancel_event(session: Session, event_id: str, reason: str | None = None) -> dict[str, Any]:
    """→ cancelled; registrations stay as they were, and the event names whom to tell."""
    event = _transition(session, event_id, "cancel")
    alumnus_ids = session.scalars(
        select(Registration.alumnus_id)
        .where(Registration.event_id == event.id, Registration.status != CANCELLED)
        .order_by(Registration.seq)
    ).all()
    OutboxMessage.record(
        session,
        "event_cancelled",
        EVENT_CANCELLED.dump({"event": event, "reason": reason, "alumnus_ids": alumnus_ids}),
    )
    return EVENT.dump(event)


def lock_event(session: Session, event_id: str) -> Event:
    """The event, locked until the transaction ends.

    PostgreSQL: `SELECT … FOR UPDATE` on the event's row; a second transaction
    locking the same event waits for the first to commit and then reads what
    it wrote. SQLite has no row locks and ignores FOR UPDATE, and pysqlite
    begins a transaction only at the first write, so a no-op UPDATE first takes
    the database's write lock before anything is read.
    """
    event_id = str(event_id)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(seats_taken=Event.seats_taken)
            .execution_options(synchronize_session=False)
        )
    event = session.scalars(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        # An event loaded earlier in this session must not hide what others committed.
        .execution_options(populate_existing=True)
    ).first()
    if event is None:
        raise NotFound("活动不存在。", {"event_id": event_id})
    return event


def _transition(session: Session, event_id: str, step: str) -> Event:
    """Take `step` under the event's lock, so that nothing changes the status meanwhile."""
    event = lock_event(session, event_id)
    event.status = EVENT_STATUS.target(event.status, step)
    session.flush()
    return event


def find_event(session: Session, event_id: str) -> Event:
    event = session.get(Event, str(event_id))
    if event is None:
        raise NotFound("活动不存在。", {"event_id": str(event_id)})
    return event


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """Contract values as stored: times in UTC (SQLite keeps no offset), ids as strings."""
    values = {field: data[field] for field in EVENT_FIELDS if field in data}
    for field in TIME_FIELDS:
        if field in values:
            values[field] = as_utc(values[field])
    for field in ID_FIELDS:
        if values.get(field) is not None:
            values[field] = str(values[field])
    return values


def _check_event(session: Session, values: dict[str, Any]) -> None:
    """The rules between fields; every broken one is reported at once, by field."""
    problems: dict[str, list[str]] = {}

    def broken(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    starts, ends = as_utc(values["starts_at"]), as_utc(values["ends_at"])
    opens = as_utc(values["registration_opens_at"])
    closes = as_utc(values["registration_closes_at"])
    if ends <= starts:
        broken("ends_at", "结束时间应晚于开始时间。")
    if closes <= opens:
        broken("registration_closes_at", "报名截止时间应晚于报名开始时间。")
    if closes > ends:
        broken("registration_closes_at", "报名截止时间不能晚于活动结束时间。")
    if values["organiser_type"] == "office" and values.get("organiser_id"):
        broken("organiser_id", "校友会办公室主办的活动不填主办方 ID。")
    if values["organiser_type"] != "office" and not values.get("organiser_id"):
        broken("organiser_id", "院系或校友会主办的活动须填写主办方 ID。")
    if values.get("series_id"):
        if values["kind"] != "lecture":
            broken("series_id", "只有讲座可以归入讲座系列。")
        elif session.get(LectureSeries, values["series_id"]) is None:
            broken("series_id", "讲座系列不存在。")
    if problems:
        raise ValidationFailed("活动信息校验失败。", {"fields": problems}, reason="invalid_event")


# ---- lecture series --------------------------------------------------------


def create_series(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    _ensure_series_title_free(session, data["title"])
    series = LectureSeries(title=data["title"], description=data.get("description", ""))
    session.add(series)
    flush_or_conflict(session, "讲座系列名称已存在。", reason="series_title_taken")
    return SERIES.dump(series)


def update_series(session: Session, series_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    series = _series(session, series_id)
    if "title" in patch and patch["title"] != series.title:
        _ensure_series_title_free(session, patch["title"])
    for field in ("title", "description"):
        if field in patch:
            setattr(series, field, patch[field])
    flush_or_conflict(session, "讲座系列名称已存在。", reason="series_title_taken")
    return SERIES.dump(series)


def get_series(session: Session, series_id: str) -> dict[str, Any]:
    return SERIES.dump(_series(session, series_id))


def list_series(session: Session) -> list[dict[str, Any]]:
    return SERIES.dump(
        session.scalars(select(LectureSeries).order_by(LectureSeries.created_at)), many=True
    )


def delete_series(session: Session, series_id: str) -> None:
    """Only an empty series goes; lectures keep their series otherwise."""
    series = _series(session, series_id)
    lectures = session.scalar(
        select(func.count()).select_from(Event).where(Event.series_id == series.id)
    )
    if lectures:
        raise Conflict(
            "该系列下还有讲座，不能删除。", {"events": lectures}, reason="series_not_empty"
        )
    session.delete(series)
    session.flush()


def _series(session: Session, series_id: str) -> LectureSeries:
    series = session.get(LectureSeries, str(series_id))
    if series is None:
        raise NotFound("讲座系列不存在。", {"series_id": str(series_id)})
    return series


def _ensure_series_title_free(session: Session, title: str) -> None:
    if session.scalars(select(LectureSeries.id).where(LectureSeries.title == title)).first():
        raise Conflict("讲座系列名称已存在。", {"title": title}, reason="series_title_taken")
