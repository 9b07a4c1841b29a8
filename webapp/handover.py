"""交接班: the outgoing operator's handover note, prefilled from the shift's records, and the incoming operator's
confirmation. The figures are stored as they stood at handover, so the note reads the same later."""
import json
from datetime import date, datetime

from flask_babel import gettext

from models import Handover, Hazard, Patrol, Station, Well, WellOperation, db, utcnow

from .patrols import OPERATIONS
from .reports import oil_of
from .review import shift_checks, shift_patrols
from .shifts import Shift, coverage, shift_table, window
from .text import clean_text

MAX_REASON = 200
MAX_NOTE = 1000


def shift_summary(station: Station, day: date, shift: Shift, tz: str, now: datetime) -> dict:
    """What the shift did, as plain data: every well's patrols against what was due, abnormal findings, operations,
    the station's open hazards and the key wells' last measured production."""
    start, end = window(day, shift, tz)
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    patrols = shift_patrols(station.id, start, end)
    checks = shift_checks(station.id, start, end)
    rows = shift_table(wells, patrols, shift, start, end, now)
    operations = (
        WellOperation.select(WellOperation, Patrol, Well).join(Patrol).switch(WellOperation).join(Well)
        .where((Patrol.station == station.id) & (Patrol.clock_time >= start) & (Patrol.clock_time < end))
        .order_by(Patrol.clock_time)
    )
    hazards = Hazard.select().where((Hazard.station == station) & Hazard.still_open()).order_by(Hazard.reported_at)
    measured = {}
    for patrol in patrols:  # in time order: the last measurement of each key well wins
        if patrol.well.is_key_well and patrol.liquid_t_per_day is not None:
            measured[patrol.well_id] = patrol
    return {
        "coverage": round(coverage(rows), 1),
        "wells": [{"id": r.well.id, "code": r.well.code, "required": r.required, "done": r.done, "status": r.status,
                   "label": str(r.label)} for r in rows],
        "abnormal": [{"what": p.well.code, "note": p.note, "author": p.author.name, "at": p.device_time.isoformat()}
                     for p in patrols if p.is_abnormal]
        + [{"what": gettext("%(equipment)s 检查", equipment=c.equipment.name), "note": gettext("望闻听摸测有异常项"),
            "author": c.author.name, "at": c.device_time.isoformat()} for c in checks if c.is_abnormal],
        "operations": [{"well": o.well.code, "label": str(OPERATIONS[o.code][1]), "at": o.patrol.device_time.isoformat()}
                       for o in operations if o.code in OPERATIONS and o.code != "xun"],
        "hazards": [{"id": h.id, "description": h.description[:80], "status": str(h.status_label),
                     "reported": h.reported_at.date().isoformat()} for h in hazards],
        "key_wells": [{"code": w.code, "liquid": p.liquid_t_per_day, "water_cut": p.water_cut_pct,
                       "oil": oil_of(p.liquid_t_per_day, p.water_cut_pct)}
                      for w in wells if w.is_key_well and (p := measured.get(w.id))],
    }


def not_done(summary: dict) -> list[dict]:
    """The wells of a summary that did not get all their patrols: each needs a reason in the handover."""
    return [w for w in summary["wells"] if w["status"] != "done"]


def clean_reasons(summary: dict, form) -> tuple[dict, list[str]]:
    """The reason typed for each well not done (form field reason-<well id>), and the wells still without one."""
    reasons, missing = {}, []
    for well in not_done(summary):
        reason = clean_text(form.get(f"reason-{well['id']}"))[:MAX_REASON]
        if reason:
            reasons[str(well["id"])] = reason
        else:
            missing.append(well["code"])
    return reasons, missing


def find(station: Station, day: date, shift: Shift) -> Handover | None:
    return Handover.get_or_none((Handover.station == station) & (Handover.day == day) & (Handover.shift_index == shift.index))


def refusal(existing: Handover | None, user, start: datetime, now: datetime) -> str | None:
    """Why the user may not hand this shift over (now), or None."""
    if now < start:
        return gettext("这个班还没开始，不能交班。")
    if existing is not None and existing.confirmed_at is not None:
        return gettext("这个班已经交接完毕，记录不能再修改。")
    if existing is not None and existing.outgoing_id != user.id:
        return gettext("这个班已由%(name)s交班，请由接班人确认。", name=existing.outgoing.name)
    return None


def hand_over(station: Station, day: date, shift: Shift, user, summary: dict, reasons: dict, note: str) -> Handover:
    """Save the outgoing operator's handover; until it is confirmed the same operator may revise it (see refusal)."""
    fields = {"outgoing": user.id, "summary": json.dumps(summary, ensure_ascii=False),
              "missed_reasons": json.dumps(reasons, ensure_ascii=False), "note": clean_text(note)[:MAX_NOTE],
              "created_at": utcnow()}
    with db.atomic():
        existing = Handover.get_or_none((Handover.station == station) & (Handover.day == day)
                                        & (Handover.shift_index == shift.index))
        if existing is None:
            return Handover.create(station=station, day=day, shift_index=shift.index, **fields)
        Handover.update(**fields).where((Handover.id == existing.id) & Handover.confirmed_at.is_null()).execute()
        return Handover.get_by_id(existing.id)


def confirm(handover: Handover, user, note: str) -> str | None:
    """The incoming operator takes the shift over; a Chinese message when they may not, else None."""
    if handover.confirmed_at is not None:
        return gettext("这次交接班已经确认过了。")
    if handover.outgoing_id == user.id:
        return gettext("交班人不能自己接班确认，请由接班人确认。")
    changed = Handover.update(incoming=user.id, confirmed_at=utcnow(), incoming_note=clean_text(note)[:MAX_NOTE]).where(
        (Handover.id == handover.id) & Handover.confirmed_at.is_null()).execute()
    return None if changed else gettext("这次交接班已经确认过了。")
