"""Review (审核) of patrols and equipment checks: the records of a shift, and approve or return with a comment (批注) —
the same rules for both kinds."""
import json
from datetime import date, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import fn

from models import (
    BulkApproval,
    Equipment,
    EquipmentCheck,
    FluctuationAlert,
    Hazard,
    Patrol,
    ReadingSet,
    User,
    Well,
    db,
    utcnow,
)

from .fluctuations import BASELINE_DAYS, deviation
from .hazards import is_overdue
from .periods import today_in
from .readings import fields_of, rules, sets_of
from .shifts import Shift, coverage, shift_at, shift_table, window

MAX_COMMENT = 300
DECISIONS = {"approve": "approved", "return": "returned"}


def seen_state(record) -> str:
    """What the leader's page showed of a record's review, sent back with the decision: its status and when it was
    last decided."""
    return f"{record.review_status}:{record.reviewed_at.isoformat() if record.reviewed_at else ''}"


def decide(record, decision: str, comment: str, reviewer, seen: str | None = None) -> str | None:
    """Record the leader's decision on a patrol or check; a Chinese message when it cannot be taken, else None.

    With `seen` (seen_state of the page the leader decided on), the decision is taken only if nobody decided the
    record since — two leaders on the same record at once: the second is told who decided what, and nothing of
    theirs is written (one conditional UPDATE, so even the same instant cannot overwrite)."""
    if decision not in DECISIONS:
        return gettext("请选择审核通过或退回。")
    comment = (comment or "").strip()[:MAX_COMMENT]
    if decision == "return" and not comment:
        return gettext("退回时请写明批注。")
    model = type(record)
    query = model.update(review_status=DECISIONS[decision], reviewed_by=reviewer.id, reviewed_at=utcnow(),
                         review_comment=comment).where(model.id == record.id)
    if seen is not None:
        status, _, at = str(seen)[:60].partition(":")
        when = _parse_seen(at) if at else None
        if status not in Patrol.REVIEW_STATUSES or (at and when is None):  # the same statuses for checks
            return gettext("这条记录刚被改动过，请刷新后再决定。")
        query = query.where((model.review_status == status)
                            & (model.reviewed_at.is_null() if when is None else model.reviewed_at == when))
    if not query.execute():
        now = model.select(model, User).join(User, on=model.reviewed_by).where(model.id == record.id).first()
        if now is None:
            return gettext("这条记录刚被改动过，请刷新后再决定。")
        return gettext("这条记录刚由 %(who)s 定为“%(status)s”，您的决定没有记下；请看过后再决定。", who=now.reviewed_by.name,
                       status=Patrol.REVIEW_STATUSES[now.review_status])
    fresh = model.get_by_id(record.id)
    record.review_status, record.reviewed_by, record.reviewed_at = fresh.review_status, fresh.reviewed_by_id, fresh.reviewed_at
    record.review_comment = fresh.review_comment
    return None


def _parse_seen(text: str):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError:  # a surrogate or NUL is a ValueError too
        return None


# Why a pending record is left for the leader to open, in the order they are looked at.
LEFT_OUT = {
    "flagged": _l("有到场或时间标记"),
    "abnormal": _l("员工标为异常，或检查有异常项"),
    "alert": _l("触发了重点井波动、尚未处理"),
    "deviation": _l("有读数偏离近 7 天中位数超过阈值（含员工已确认的）"),
    "corrected": _l("员工已申请更正"),
}


def alerted_patrols(records) -> set[int]:
    """Ids of the patrols among records whose key-well fluctuation alert is still open."""
    # Asked even with no patrols: the dashboard's queries stay the same whatever the data (tests/test_generate.py).
    ids = [r.id for r in records if isinstance(r, Patrol)]
    return set(FluctuationAlert.select(FluctuationAlert.patrol).where(
        FluctuationAlert.patrol.in_(ids) & FluctuationAlert.acknowledged_at.is_null()).scalars())


def deviating_patrols(records, work_area_id: int) -> set[int]:
    """Ids of the pending patrols among records with a reading past its set's threshold against the well's baseline
    (confirmed by the worker or not) — on every well, key well or not. Three queries whatever the records: the sets
    the patrols were made with, the current sets, and the wells' history over the window of all of them."""
    patrols = [r for r in records if isinstance(r, Patrol) and r.review_status == "pending"]
    by_id = {row.id: fields_of(row.fields) for row in ReadingSet.select().where(
        ReadingSet.id.in_({p.reading_set_id for p in patrols if p.reading_set_id}))}
    current = sets_of(work_area_id)
    wanted = {}
    for p in patrols:
        fields = by_id.get(p.reading_set_id) or current.get(p.well.kind) or []
        wanted[p.id] = {key: rule for key, rule in rules(fields).items() if getattr(p, key) is not None}
    keys = sorted({key for ruled in wanted.values() for key in ruled})
    first = min((p.device_time for p in patrols), default=utcnow()) - timedelta(days=BASELINE_DAYS)
    last = max((p.device_time for p in patrols), default=utcnow())
    columns = [Patrol.id, Patrol.well, Patrol.device_time, *[getattr(Patrol, k) for k in keys]]
    history = {}
    for row in (Patrol.select(*columns).where(Patrol.well.in_({p.well_id for p in patrols})
                                                & (Patrol.device_time >= first) & (Patrol.device_time < last)).tuples()):
        history.setdefault(row[1], []).append(row)
    found = set()
    for p in patrols:
        since = p.device_time - timedelta(days=BASELINE_DAYS)
        earlier = [row for row in history.get(p.well_id, ()) if row[0] != p.id and since <= row[2] < p.device_time]
        for key, (kind, threshold) in wanted[p.id].items():
            column = 3 + keys.index(key)
            values = [row[column] for row in earlier if row[column] is not None]
            if deviation(getattr(p, key), values, kind, threshold).beyond:
                found.add(p.id)
                break
    return found


def corrected_records(records) -> set[tuple[type, int]]:
    """(model, id) of the records among records that their author has corrected since (one query per kind)."""
    found = set()
    for model in (Patrol, EquipmentCheck):
        ids = [r.id for r in records if isinstance(r, model)]
        found |= {(model, i) for i in model.select(model.corrects).where(model.corrects.in_(ids)).scalars()}
    return found


def sort_for_bulk(records, work_area_id: int) -> tuple[list, dict[str, int]]:
    """(what a bulk approval takes, how many pending records it leaves out by reason): it takes only pending records
    that are normal, carry no flag (a copied round, a run of identical readings, a presence or time mark), raised no
    open fluctuation alert and have no reading past its threshold — anything else is the leader's to open."""
    alerted = alerted_patrols(records)
    deviating = deviating_patrols(records, work_area_id)
    corrected = corrected_records(records)
    take, left = [], dict.fromkeys(LEFT_OUT, 0)
    for record in records:
        if record.review_status != "pending":
            continue
        is_patrol = isinstance(record, Patrol)
        reason = ("flagged" if record.flags else "abnormal" if record.is_abnormal
                  else "alert" if is_patrol and record.id in alerted
                  else "deviation" if is_patrol and record.id in deviating
                  else "corrected" if (type(record), record.id) in corrected else None)
        if reason:
            left[reason] += 1
        else:
            take.append(record)
    return take, left


def approvable(records, work_area_id: int) -> list:
    """The records a bulk approval takes (sort_for_bulk)."""
    return sort_for_bulk(records, work_area_id)[0]


UNDO_MINUTES = 10


def bulk_approve(station_id: int, records, reviewer) -> tuple[BulkApproval, dict[str, int]]:
    """Approve the approvable ones of the shift's records (patrols and checks, sort_for_bulk) in one transaction,
    kept as one BulkApproval (to undo); with how many it left to the leader, by reason."""
    at = utcnow()
    take, left = sort_for_bulk(records, reviewer.work_area_id)
    with db.atomic():
        approved = {}
        for model in (Patrol, EquipmentCheck):
            wanted = [r.id for r in take if isinstance(r, model)]
            # Only what is still pending now: a record another leader decided meanwhile is left as they decided it.
            ids = [row for (row,) in model.select(model.id).where(model.id.in_(wanted) & (model.review_status == "pending"))
                   .tuples()] if wanted else []
            if ids:
                model.update(review_status="approved", reviewed_by=reviewer.id, reviewed_at=at).where(
                    model.id.in_(ids) & (model.review_status == "pending")).execute()
            approved[model] = ids
        batch = BulkApproval.create(station=station_id, reviewer=reviewer.id, approved_at=at,
                                    patrol_ids=json.dumps(approved[Patrol]), check_ids=json.dumps(approved[EquipmentCheck]))
    return batch, left


def undoable_bulk(station_id: int, user) -> BulkApproval | None:
    """The user's latest one-tap approval of the station that can still be undone."""
    since = utcnow() - timedelta(minutes=UNDO_MINUTES)
    return (BulkApproval.select().where((BulkApproval.station == station_id) & (BulkApproval.reviewer == user.id)
                                        & BulkApproval.undone_at.is_null() & (BulkApproval.approved_at >= since))
            .order_by(BulkApproval.id.desc()).first())


def undo_bulk(batch: BulkApproval, user) -> str | None:
    """Put the batch's records back to pending, if it is the reviewer's own, within UNDO_MINUTES and not undone yet;
    a record decided again since is left alone. A Chinese message when it cannot be undone, else None."""
    if batch.reviewer_id != user.id:
        return gettext("只能撤销自己的一键审核。")
    if batch.undone_at is not None:
        return gettext("这次一键审核已经撤销过了。")
    if utcnow() - batch.approved_at > timedelta(minutes=UNDO_MINUTES):
        return gettext("一键审核 %(minutes)s 分钟内才能撤销；请逐条退回。", minutes=UNDO_MINUTES)
    with db.atomic():
        taken = BulkApproval.update(undone_at=utcnow()).where(
            (BulkApproval.id == batch.id) & BulkApproval.undone_at.is_null()).execute()
        if not taken:  # undone by a concurrent request
            return gettext("这次一键审核已经撤销过了。")
        for model, ids in ((Patrol, json.loads(batch.patrol_ids)), (EquipmentCheck, json.loads(batch.check_ids))):
            if ids:
                model.update(review_status="pending", reviewed_by=None, reviewed_at=None).where(
                    model.id.in_(ids) & (model.review_status == "approved") & (model.reviewed_by == user.id)
                    & (model.reviewed_at == batch.approved_at)).execute()
    return None


def shift_patrols(station, start, end):
    """Patrols of the station in the shift [start, end), on the server's clock."""
    return list(
        Patrol.select(Patrol, Well, User)
        .join(Well).switch(Patrol).join(User, on=Patrol.author)
        .where((Patrol.station == station) & (Patrol.clock_time >= start) & (Patrol.clock_time < end))
        .order_by(Patrol.clock_time)
    )


def shift_checks(station, start, end):
    """Equipment checks of the station in the shift [start, end), on the server's clock."""
    return list(
        EquipmentCheck.select(EquipmentCheck, Equipment, User)
        .join(Equipment).switch(EquipmentCheck).join(User, on=EquipmentCheck.author)
        .where((EquipmentCheck.station == station) & (EquipmentCheck.clock_time >= start) & (EquipmentCheck.clock_time < end))
        .order_by(EquipmentCheck.clock_time)
    )


EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2199, 12, 31)


def shift_choice(shifts: list[Shift], tz: str, values) -> tuple[date, Shift]:
    """The (day, shift) asked for in request values (?date=YYYY-MM-DD&shift=N), or the current one."""
    today, current = shift_at(utcnow(), shifts, tz)
    try:
        day = date.fromisoformat(values.get("date", ""))
    except ValueError:
        day = today
    if not EARLIEST_DAY <= day <= LATEST_DAY:  # year 1 or 9999: a shift's window would overflow
        day = today
    try:
        index = int(values.get("shift", ""))
    except ValueError:
        index = None
    shift = shifts[index] if index is not None and 0 <= index < len(shifts) else (current if day == today else shifts[0])
    return day, shift


OVERVIEW_COUNTS = ("wells", "required", "covered", "done", "missed", "pending", "flagged", "abnormal", "hazards", "overdue",
                   "alerts")


def station_overview(stations, day: date, shift: Shift, tz: str) -> list[dict]:
    """Per station, for one shift: coverage, records to review and open hazards (five queries for any number of
    stations). What the work-area overview and the plant's overview show."""
    start, end = window(day, shift, tz)
    ids = [s.id for s in stations]
    wells = list(Well.select().where(Well.station.in_(ids)).order_by(Well.code))
    patrols = list(Patrol.select(Patrol.id, Patrol.well, Patrol.station, Patrol.flags, Patrol.is_abnormal, Patrol.review_status)
                   .where(Patrol.station.in_(ids) & (Patrol.clock_time >= start) & (Patrol.clock_time < end)))
    hazards = list(Hazard.select(Hazard.id, Hazard.station, Hazard.status, Hazard.deadline)
                   .where(Hazard.station.in_(ids) & Hazard.still_open()))
    alerts = (FluctuationAlert.select(Well.station, fn.COUNT(FluctuationAlert.id).alias("n")).join(Well)
              .where(Well.station.in_(ids) & FluctuationAlert.acknowledged_at.is_null()).group_by(Well.station))
    open_alerts = {a.well.station_id: a.n for a in alerts}
    today, now = today_in(tz), utcnow()
    rows = []
    for station in stations:
        mine = [p for p in patrols if p.station_id == station.id]
        table = shift_table([w for w in wells if w.station_id == station.id], mine, shift, start, end, now)
        open_hazards = [h for h in hazards if h.station_id == station.id]
        rows.append({
            "station": station, "wells": len(table), "coverage": coverage(table),
            "required": sum(r.required for r in table), "covered": sum(min(r.done, r.required) for r in table),
            "done": sum(1 for r in table if r.status == "done"), "missed": sum(1 for r in table if r.status in ("missed", "overdue")),
            "pending": sum(1 for p in mine if p.review_status == "pending"), "flagged": sum(1 for p in mine if p.flags),
            "abnormal": sum(1 for p in mine if p.is_abnormal), "hazards": len(open_hazards),
            "overdue": sum(1 for h in open_hazards if is_overdue(h, today)), "alerts": open_alerts.get(station.id, 0),
        })
    return rows


def overview_totals(rows: list[dict]) -> dict:
    """The station rows added up; coverage is of every patrol due, not an average of the stations' percentages."""
    totals = {key: sum(r[key] for r in rows) for key in OVERVIEW_COUNTS}
    totals["coverage"] = 100.0 * totals["covered"] / totals["required"] if totals["required"] else 100.0
    return totals


PENDING_DAYS = 7  # how far back "the next record to review" looks


def next_pending(station_id: int, after=None):
    """The station's oldest pending patrol (then equipment check) of the last PENDING_DAYS, other than `after`:
    what the leader opens next after a decision. (kind, id) or None."""
    since = utcnow() - timedelta(days=PENDING_DAYS)
    for kind, model in (("patrol", Patrol), ("check", EquipmentCheck)):
        query = model.select(model.id).where((model.station == station_id) & (model.review_status == "pending")
                                             & (model.clock_time >= since))
        if after is not None and isinstance(after, model):
            query = query.where(model.id != after.id)
        found = query.order_by(model.clock_time, model.id).scalar()
        if found:
            return kind, found
    return None
