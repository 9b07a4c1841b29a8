"""Review (审核) of patrols and equipment checks: the records of a shift, and approve or return with a comment (批注) —
the same rules for both kinds."""
from datetime import date

from models import Equipment, EquipmentCheck, Patrol, User, Well, db, utcnow

from .shifts import Shift, shift_at

MAX_COMMENT = 300
DECISIONS = {"approve": "approved", "return": "returned"}


def decide(record, decision: str, comment: str, reviewer) -> str | None:
    """Record the leader's decision on a patrol or check; a Chinese message when it cannot be taken, else None."""
    if decision not in DECISIONS:
        return "请选择审核通过或退回。"
    comment = (comment or "").strip()[:MAX_COMMENT]
    if decision == "return" and not comment:
        return "退回时请写明批注。"
    model = type(record)
    record.review_status = DECISIONS[decision]
    record.reviewed_by, record.reviewed_at, record.review_comment = reviewer.id, utcnow(), comment
    record.save(only=[model.review_status, model.reviewed_by, model.reviewed_at, model.review_comment])
    return None


def approvable(records) -> list:
    """The records a bulk approval takes: pending, normal and without any proof-of-presence flag."""
    return [r for r in records if r.review_status == "pending" and not r.flags and not r.is_abnormal]


def bulk_approve(model, records, reviewer) -> int:
    """Approve the approvable records of one model in one statement; returns how many."""
    ids = [r.id for r in approvable(records)]
    if ids:
        with db.atomic():
            model.update(review_status="approved", reviewed_by=reviewer.id, reviewed_at=utcnow()).where(
                model.id.in_(ids) & (model.review_status == "pending")).execute()
    return len(ids)


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


def shift_choice(shifts: list[Shift], tz: str, values) -> tuple[date, Shift]:
    """The (day, shift) asked for in request values (?date=YYYY-MM-DD&shift=N), or the current one."""
    today, current = shift_at(utcnow(), shifts, tz)
    try:
        day = date.fromisoformat(values.get("date", ""))
    except ValueError:
        day = today
    try:
        index = int(values.get("shift", ""))
    except ValueError:
        index = None
    shift = shifts[index] if index is not None and 0 <= index < len(shifts) else (current if day == today else shifts[0])
    return day, shift
