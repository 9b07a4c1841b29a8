"""交接班: the outgoing operator hands the shift over with a note prefilled from its records; the incoming one confirms."""
import json

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Handover, Station, User, utcnow
from webapp.access import require_station, station_asked
from webapp.handover import clean_reasons, confirm, find, hand_over, not_done, refusal, shift_summary
from webapp.htmx import render
from webapp.review import shift_choice
from webapp.shifts import parse_shifts, window

bp = Blueprint("handover", __name__, url_prefix="/handover")

RECENT = 10


def _page(station, day, shift, shifts, status=200, error=None, form=None):
    tz = current_app.config["TIMEZONE"]
    existing = find(station, day, shift)
    summary = json.loads(existing.summary) if existing else shift_summary(station, day, shift, tz, utcnow())
    recent = list(Handover.select(Handover, User).join(User, on=Handover.outgoing).where(Handover.station == station)
                  .order_by(Handover.day.desc(), Handover.shift_index.desc()).limit(RECENT))
    return render("handover/index.html", "handover/_shift.html", status=status, station=station, day=day, shift=shift,
                  shifts=shifts, handover=existing, summary=summary, not_done=not_done(summary), error=error,
                  form=form or {}, reasons=json.loads(existing.missed_reasons) if existing else {}, recent=recent,
                  incoming=User.get_by_id(existing.incoming_id) if existing and existing.incoming_id else None,
                  shift_names={s.index: s.name for s in shifts})


@bp.route("/")
@login_required
def index():
    station = station_asked(current_user, request.values)
    shifts = parse_shifts(current_user.work_area.shifts)
    day, shift = shift_choice(shifts, current_app.config["TIMEZONE"], request.values)
    return _page(station, day, shift, shifts)


@bp.route("/", methods=["POST"])
@login_required
def create():
    station = station_asked(current_user, request.values)
    tz = current_app.config["TIMEZONE"]
    shifts = parse_shifts(current_user.work_area.shifts)
    day, shift = shift_choice(shifts, tz, request.form)
    now = utcnow()
    error = refusal(find(station, day, shift), current_user, window(day, shift, tz)[0], now)
    if error:
        return _page(station, day, shift, shifts, status=409, error=error, form=request.form)
    summary = shift_summary(station, day, shift, tz, now)
    reasons, missing = clean_reasons(summary, request.form)
    if missing:
        error = gettext("请写明这些井未按时巡检的原因：%(wells)s", wells=gettext("、").join(missing))
        return _page(station, day, shift, shifts, status=422, error=error, form=request.form)
    hand_over(station, day, shift, current_user, summary, reasons, request.form.get("note"))
    flash(gettext("已交班，等待接班人确认。"), "success")
    return redirect(url_for("handover.index", station=station.id, date=day.isoformat(), shift=shift.index))


@bp.route("/<int:handover_id>/confirm", methods=["POST"])
@login_required
def take_over(handover_id: int):
    handover = Handover.select(Handover, Station).join(Station).where(Handover.id == handover_id).first()
    require_station(current_user, handover.station if handover else None)
    error = confirm(handover, current_user, request.form.get("note"))
    flash(error or gettext("已接班确认。"), "error" if error else "success")
    return redirect(url_for("handover.index", station=handover.station_id, date=handover.day.isoformat(),
                            shift=handover.shift_index))
