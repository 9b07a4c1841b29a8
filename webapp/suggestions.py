"""合理化建议: any employee writes one on the phone (offline too); their branch adopts it or not, with a note."""

from flask_babel import gettext
from peewee import JOIN

from models import Station, Suggestion, User, utcnow

from .party import PartyError, manages_branch
from .patrols import Context, RecordError, _text
from .periods import SETTLED, local_today, month_bounds, month_of, open_months
from .text import clean_line, clean_text

MAX_TITLE = 80
MAX_BODY = 2000
MAX_NOTE = 300
DECISIONS = ("adopted", "declined")


def create_suggestion(ctx: Context, data: dict) -> Suggestion:
    """Handler of the `suggestion` record type: the author is the session's user, the branch their station's."""
    title = clean_line(_text(data.get("title"), gettext("建议标题"), MAX_TITLE, "title"), MAX_TITLE)
    if not title:
        raise RecordError("missing_title", gettext("请写明建议标题。"), "title")
    body = _text(data.get("body"), gettext("建议内容"), MAX_BODY, "body")
    if not body:
        raise RecordError("missing_body", gettext("请写明建议内容：现状、建议怎么做、预期效果。"), "body")
    return Suggestion.create(uuid=ctx.uuid, author=ctx.user.id, station=ctx.user.station_id, title=title, body=body,
                             device_time=ctx.device_time, received_at=ctx.received_at)


def may_decide(user, suggestion: Suggestion) -> bool:
    """The branch's secretary, or the 党总支 level (an admin of the work area) — never the author."""
    if suggestion.author_id == user.id:
        return False
    return manages_branch(user, suggestion.station_id)


def decide(user, suggestion: Suggestion, decision: str, note: str, tz: str) -> None:
    """Adopt or decline (a note is required to decline); a changed decision records who changed it and when.
    Editing only the note keeps who decided and when, so the month an adoption counts in does not move; and a
    decision of a settled month (before last month) stays as it is."""
    if suggestion.author_id == user.id:
        raise PartyError(gettext("不能处理自己的建议，请由党总支处理。"))
    if not may_decide(user, suggestion):
        raise PartyError(gettext("只能处理本支部的建议。"))
    if decision not in DECISIONS:
        raise PartyError(gettext("请选择采纳或不采纳。"))
    note = clean_text(note)
    if len(note) > MAX_NOTE:
        raise PartyError(gettext("处理意见不能超过 %(max)s 字。", max=MAX_NOTE))
    if decision == "declined" and not note:
        raise PartyError(gettext("不采纳时请写明理由，让提建议的同事知道。"))
    if suggestion.decided_at is not None and month_of(suggestion.decided_at, tz) not in open_months(local_today(utcnow(), tz)):
        raise PartyError(SETTLED)
    if decision != suggestion.status:
        suggestion.status, suggestion.decided_by, suggestion.decided_at = decision, user.id, utcnow()
    suggestion.decision_note = note
    suggestion.save()


def listing():
    """Suggestions, newest first, with their authors, stations and deciders: a list costs one query."""
    decider = User.alias()
    return (Suggestion.select(Suggestion, User, Station, decider).join(User, on=Suggestion.author).switch(Suggestion)
            .join(Station).switch(Suggestion).join(decider, JOIN.LEFT_OUTER, on=Suggestion.decided_by)
            .order_by(Suggestion.device_time.desc(), Suggestion.id.desc()))


def branch_suggestions(station_id: int, status: str, month: tuple[int, int] | None, tz: str) -> list[Suggestion]:
    """A branch's suggestions; `status` "all" or one of Suggestion.STATUSES, `month` (year, month) of writing in
    the work area's zone, or None for every month."""
    query = listing().where(Suggestion.station == station_id)
    if status in Suggestion.STATUSES:
        query = query.where(Suggestion.status == status)
    if month:
        start, end = month_bounds(*month, tz)
        query = query.where((Suggestion.device_time >= start) & (Suggestion.device_time < end))
    return list(query)
