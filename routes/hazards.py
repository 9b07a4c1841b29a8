"""Hazards (隐患): reporting on the phone, the station's list, a hazard's timeline, and the leader's steps."""
import uuid as uuid_module

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from peewee import JOIN

from models import Equipment, Hazard, HazardStep, Station, User, Well, db, utcnow
from webapp.access import get_station, parse_id, requested_id, require_station, stations_in_scope
from webapp.hazards import apply_step, is_overdue
from webapp.periods import today_in
from webapp.evidence import FLAG_LABELS, evidence_of
from webapp.htmx import render
from webapp.patrols import RecordError

bp = Blueprint("hazards", __name__, url_prefix="/hazards")

FILTERS = {"open": _l("未销项"), "overdue": _l("已超期"), "closed": _l("已销项"), "all": _l("全部")}
WEB_ACTIONS = ("assign", "verify", "return", "close", "reject")


def get_hazard(hazard_id: int) -> Hazard:
    """A hazard the user may see: their station's (an admin: the work area's); 404 outside it, 403 otherwise."""
    hazard = Hazard.select(Hazard, Station).join(Station).where(Hazard.id == hazard_id).first()
    require_station(current_user, hazard.station if hazard else None)
    return hazard


@bp.route("/")
@login_required
def index():
    station_id = requested_id(request.args, "station")
    station = get_station(station_id, current_user) if station_id else current_user.station
    show = request.args.get("show", "open")
    show = show if show in FILTERS else "open"
    today = today_in(current_app.config["TIMEZONE"])
    query = (
        Hazard.select(Hazard, Well, Equipment)
        .join(Well, JOIN.LEFT_OUTER, on=Hazard.well)
        .switch(Hazard)
        .join(Equipment, JOIN.LEFT_OUTER, on=Hazard.equipment)
        .where(Hazard.station == station.id)
        .order_by(Hazard.reported_at.desc())
    )
    if show == "open" or show == "overdue":
        query = query.where(Hazard.still_open())
    elif show == "closed":
        query = query.where(Hazard.status == "closed")
    hazards = [h for h in query if show != "overdue" or is_overdue(h, today)]
    return render(
        "hazards/index.html", "hazards/_list.html", hazards=hazards, station=station, show=show, filters=FILTERS,
        today=today, is_overdue=is_overdue, stations=[s for s in stations_in_scope(current_user) if s.kind == "station"],
    )


@bp.route("/new")
@login_required
def new():
    """The report form; the phone saves it into the outbox (offline too)."""
    wells = list(Well.select().where(Well.station == current_user.station_id).order_by(Well.code))
    return render_template("hazards/new.html", wells=wells, severities=Hazard.SEVERITIES)


def _detail_context(hazard: Hazard, error=None):
    steps = list(
        HazardStep.select(HazardStep, User).join(User, on=HazardStep.actor).where(HazardStep.hazard == hazard).order_by(HazardStep.at, HazardStep.id)
    )
    user = current_user
    manager = user.has_role("admin") or (user.has_role("leader") and user.station_id == hazard.station_id)
    can = {
        "assign": manager and hazard.status in ("reported", "assigned"),
        "reject": manager and hazard.status in ("reported", "assigned"),
        "verify": hazard.status == "rectified" and user.id != hazard.rectified_by_id,
        "close": manager and hazard.status == "verified",
        "manage": manager,
    }
    staff = list(User.select().where((User.station == hazard.station_id) & User.is_enabled).order_by(User.employee_no)) if can["assign"] else []
    others = list(Hazard.select().where((Hazard.station == hazard.station_id) & (Hazard.id != hazard.id)
                                        & (Hazard.status != "rejected")).order_by(Hazard.reported_at.desc()).limit(50)
                  ) if can["reject"] else []
    return {
        "hazard": hazard, "steps": steps, "can": can, "staff": staff, "error": error, "others": others,
        "evidence": evidence_of("hazard", hazard.id), "flag_labels": FLAG_LABELS,
        "overdue": is_overdue(hazard, today_in(current_app.config["TIMEZONE"])),
        "today": today_in(current_app.config["TIMEZONE"]).isoformat(),
    }


@bp.route("/<int:hazard_id>")
@login_required
def show(hazard_id: int):
    return render("hazards/show.html", "hazards/_detail.html", **_detail_context(get_hazard(hazard_id)))


@bp.route("/<int:hazard_id>/steps", methods=["POST"])
@login_required
def step(hazard_id: int):
    """A leader's or colleague's step from a PC or phone online: assign, verify, return, close."""
    hazard = get_hazard(hazard_id)
    action = request.form.get("action", "")
    if action not in WEB_ACTIONS:
        abort(400)
    data = {"note": request.form.get("note", ""), "deadline": request.form.get("deadline", "")}
    assignee = parse_id(request.form.get("assignee_id"))  # "²" or "٣" is no id: as if none was picked
    if assignee is not None:
        data["assignee_id"] = assignee
    if request.form.get("duplicate_of"):
        data["duplicate_of"] = request.form["duplicate_of"][:30]
    try:
        with db.atomic():
            apply_step(current_user._get_current_object(), hazard, action, data, at=utcnow(), step_uuid=uuid_module.uuid4())
    except RecordError as exc:
        return render("hazards/show.html", "hazards/_detail.html", status=422, **_detail_context(get_hazard(hazard_id), error=exc.message))
    return render("hazards/show.html", "hazards/_detail.html", **_detail_context(get_hazard(hazard_id)))
