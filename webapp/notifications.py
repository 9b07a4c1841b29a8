"""Notifications (the bell): a view of the records, not a second copy of them.

What a user is told is computed from the records each time — so an item goes away by itself once it is dealt with
(a flagged check-in reviewed, an alert acknowledged, a hazard rectified), and nothing has to be written at the
moment something happens. "Unread" is what came after the user last opened the list (`user.notifications_seen_at`).
The optional Web Push channel (webapp/push.py) sends, on a timer, the items newer than what it sent last.

For a station leader: check-ins flagged for proof of presence waiting for review, open key-well fluctuation alerts,
overdue hazards of the station. For everyone: their records returned with a comment and not yet corrected,
hazards assigned to them, their commitments approved or returned, open alerts on their contracted wells.
"""
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import gettext, lazy_gettext as _l
from peewee import fn

from models import Commitment, EquipmentCheck, Equipment, FluctuationAlert, Hazard, HazardStep, Patrol, Well, db, utcnow

from .evidence import FLAG_LABELS

DAYS = 14  # older items are not notifications any more: the pages themselves list what is still open
LIMIT = 50


@dataclass(frozen=True)
class Item:
    key: str  # stable: the same record gives the same key (the push channel's de-duplication)
    kind: str
    at: datetime  # UTC, naive like the database's times
    title: str
    text: str
    url: str


KIND_LABELS = {"flagged": _l("到场存疑"), "alert": _l("重点井波动"), "overdue": _l("隐患超期"), "returned": _l("记录被退回"),
               "assigned": _l("隐患分派"), "commitment": _l("承诺审核")}


def _time(moment: datetime, tz: str) -> str:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def fn_exists(model, condition):
    """EXISTS (SELECT 1 FROM model WHERE condition), for "not yet corrected"."""
    return fn.EXISTS(model.select(model.id).where(condition))


def _leader_items(user, since, today, tz, link) -> list[Item]:
    items = []
    for p in (Patrol.select(Patrol, Well).join(Well)
              .where((Patrol.station == user.station_id) & (Patrol.flags != "") & (Patrol.review_status == "pending")
                     & (Patrol.clock_time >= since)).order_by(Patrol.clock_time.desc()).limit(LIMIT)):
        reasons = gettext("、").join(str(FLAG_LABELS.get(f, f)) for f in p.flags.split())
        # New for the leader when it reached the server (an offline check-in arrives hours after it was made).
        items.append(Item(f"flagged:{p.id}", "flagged", p.received_at, gettext("到场存疑：%(well)s", well=p.well.code),
                          gettext("%(time)s 的巡检：%(reasons)s", time=_time(p.clock_time, tz), reasons=reasons),
                          link("review.patrol", patrol_id=p.id)))
    for h in (Hazard.select().where((Hazard.station == user.station_id) & Hazard.status.in_(("reported", "assigned"))
                                    & Hazard.deadline.is_null(False) & (Hazard.deadline < today))
              .order_by(Hazard.deadline).limit(LIMIT)):
        due = datetime.combine(h.deadline + timedelta(days=1), time()).replace(tzinfo=ZoneInfo(tz))
        at = due.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        items.append(Item(f"overdue:{h.id}", "overdue", at, gettext("隐患超期未整改"),
                          gettext("%(description)s（期限 %(deadline)s）", description=h.description[:40],
                                  deadline=h.deadline.isoformat()), link("hazards.show", hazard_id=h.id)))
    return items


def _alert_items(wells_query, since, tz, link) -> list[Item]:
    items = []
    for a in (FluctuationAlert.select(FluctuationAlert, Well).join(Well)
              .where(wells_query & FluctuationAlert.acknowledged_at.is_null() & (FluctuationAlert.created_at >= since))
              .order_by(FluctuationAlert.created_at.desc()).limit(LIMIT)):
        values = {"metric": a.metric_label, "value": f"{a.value:g}", "baseline": f"{a.baseline:g}"}
        text = (gettext("%(metric)s升至 %(value)s（近 7 天中位 %(baseline)s）", **values) if a.value > a.baseline
                else gettext("%(metric)s降至 %(value)s（近 7 天中位 %(baseline)s）", **values))
        items.append(Item(f"alert:{a.id}", "alert", a.created_at, gettext("重点井波动：%(well)s", well=a.well.code), text,
                          link("wells.show", well_id=a.well_id)))
    return items


def _own_items(user, since, tz, link) -> list[Item]:
    items = []
    corrected = Patrol.alias()
    for p in (Patrol.select(Patrol, Well).join(Well)
              .where((Patrol.author == user.id) & (Patrol.review_status == "returned") & (Patrol.reviewed_at >= since)
                     & ~fn_exists(corrected, corrected.corrects == Patrol.id)).limit(LIMIT)):
        items.append(Item(f"returned-patrol:{p.id}", "returned", p.reviewed_at, gettext("巡检被退回：%(well)s", well=p.well.code),
                          gettext("批注：%(comment)s", comment=p.review_comment[:60]), link("patrols.index")))
    corrected_check = EquipmentCheck.alias()
    for c in (EquipmentCheck.select(EquipmentCheck, Equipment).join(Equipment)
              .where((EquipmentCheck.author == user.id) & (EquipmentCheck.review_status == "returned")
                     & (EquipmentCheck.reviewed_at >= since)
                     & ~fn_exists(corrected_check, corrected_check.corrects == EquipmentCheck.id)).limit(LIMIT)):
        items.append(Item(f"returned-check:{c.id}", "returned", c.reviewed_at,
                          gettext("设备检查被退回：%(equipment)s", equipment=c.equipment.name),
                          gettext("批注：%(comment)s", comment=c.review_comment[:60]), link("patrols.index")))
    hazards = list(Hazard.select().where((Hazard.assignee == user.id) & (Hazard.status == "assigned")).limit(LIMIT))
    # When each was last handed to the user (assigned, or returned for more work): one query for all of them.
    handed = dict(HazardStep.select(HazardStep.hazard, fn.MAX(HazardStep.at))
                  .where(HazardStep.hazard.in_([h.id for h in hazards]) & HazardStep.action.in_(("assign", "return")))
                  .group_by(HazardStep.hazard).tuples()) if hazards else {}
    for h in hazards:
        at = handed.get(h.id) or h.reported_at
        if at >= since:
            deadline = h.deadline.isoformat() if h.deadline else gettext("未定")
            items.append(Item(f"assigned:{h.id}:{at.isoformat()}", "assigned", at, gettext("隐患分派给您整改"),
                              gettext("%(description)s（期限 %(deadline)s）", description=h.description[:40], deadline=deadline),
                              link("hazards.show", hazard_id=h.id)))
    for c in (Commitment.select().where((Commitment.member == user.id) & Commitment.status.in_(("approved", "returned"))
                                        & (Commitment.reviewed_at >= since)).limit(LIMIT)):
        text = (gettext("“%(content)s”已通过，将公开在三亮卡上", content=c.content[:30]) if c.status == "approved"
                else gettext("“%(content)s”被退回：%(comment)s", content=c.content[:30], comment=c.review_comment[:40]))
        items.append(Item(f"commitment:{c.id}:{c.status}", "commitment", c.reviewed_at, gettext("承诺审核结果"), text,
                          link("commitments.show", commitment_id=c.id)))
    return items


def feed(user, tz: str, now: datetime | None = None, link=url_for) -> list[Item]:
    """The user's notifications of the last DAYS days, newest first (at most LIMIT). `link` builds the pages'
    paths (url_for in a request; the push timer passes the app's URL map)."""
    now = now or utcnow()
    since = now - timedelta(days=DAYS)
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).date()
    items = _own_items(user, since, tz, link)
    items += _alert_items(Well.contractor == user.id, since, tz, link)
    if user.has_role("leader"):
        items += _leader_items(user, since, today, tz, link)
        items += _alert_items(Well.station == user.station_id, since, tz, link)
    # A phone's clock may run ahead: nothing is newer than now, so opening the list reads everything in it.
    unique = {item.key: replace(item, at=min(item.at, now)) for item in items}  # an alert on one's own well comes once
    return sorted(unique.values(), key=lambda i: (i.at, i.key), reverse=True)[:LIMIT]


def unread(user, items: list[Item]) -> int:
    seen = user.notifications_seen_at
    return sum(1 for i in items if seen is None or i.at > seen)


def mark_seen(user, now: datetime | None = None) -> None:
    user.notifications_seen_at = now or utcnow()
    with db.atomic():
        type(user).update(notifications_seen_at=user.notifications_seen_at).where(type(user).id == user.id).execute()
