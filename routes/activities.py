"""Branch activities: the secretary's list and forms, the activity page with its attendance, the rotating check-in
QR, the member's 我的活动, and the page a check-in QR opens outside the app (/a/…)."""
import uuid as uuid_module
from datetime import timedelta
from io import BytesIO

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Activity, ActivityInvitee, Attendance, Station, SyncReceipt, User, utcnow
from webapp import labels
from webapp.access import branch_asked, deny, requested_id, role_required, stations_in_scope
from webapp.activities import (
    CREDITS,
    OPEN_TO_STAFF,
    SHEET_LABELS,
    TOLERANCE_STEPS,
    ActivityError,
    attendance_sheet,
    cancel_activity,
    check_in_opens,
    counts_by_activity,
    invitable,
    invitee_ids,
    is_open,
    may_attend,
    may_manage,
    mark_attendance,
    month_range,
    my_activities,
    save_activity,
    step_code,
    time_step,
    verify_scan,
)
from webapp.filters import local_time
from webapp.htmx import render
from webapp.patrols import RecordError
from webapp.printing import public_base_url
from webapp.sync import sync_batch

bp = Blueprint("activities", __name__)

PAST_LIMIT = 50
QR_SIZE = 600


def _tz() -> str:
    return current_app.config["TIMEZONE"]


def get_activity(activity_id: int, *, manage: bool = False) -> Activity:
    """An activity the user manages, or — for viewing — may attend or attended (else 403). Another branch's activity
    the user was not invited to answers 404, like an unknown id (an admin: any of the work area)."""
    activity = Activity.select(Activity, Station).join(Station).where(Activity.id == activity_id).first()
    if activity is None or activity.station.work_area_id != current_user.work_area_id:
        deny(404, "unknown" if activity is None else "other_work_area")
    user = current_user
    if may_manage(user, activity):
        return activity
    invited = may_attend(user, activity) or Attendance.select().where(
        (Attendance.activity == activity) & (Attendance.user == user.id)).exists()
    if activity.station_id != user.station_id and not invited:
        deny(404, "other_station", target=f"station={activity.station_id}")
    if manage or not invited:
        deny(403, "not_invited" if not invited else "not_organiser")
    return activity


@bp.route("/activities/")
@role_required("secretary", "admin")
def index():
    """The branch's activities, upcoming and past, filtered by kind and month (htmx swaps the results)."""
    station = branch_asked(current_user, request.values)
    kind = request.args.get("kind", "")
    kind = kind if kind in Activity.KINDS else ""
    month = request.args.get("month", "")
    bounds = month_range(month, _tz())
    query = Activity.select().where(Activity.station == station.id)
    if kind:
        query = query.where(Activity.kind == kind)
    if bounds:
        query = query.where((Activity.starts_at >= bounds[0]) & (Activity.starts_at < bounds[1]))
    now = utcnow()
    upcoming = list(query.where(Activity.ends_at >= now).order_by(Activity.starts_at))
    past = list(query.where(Activity.ends_at < now).order_by(Activity.starts_at.desc()).limit(None if bounds else PAST_LIMIT))
    return render(
        "activities/index.html", "activities/_list.html", station=station, upcoming=upcoming, past=past,
        kind=kind, month=month if bounds else "", kinds=Activity.KINDS, limited=not bounds and len(past) == PAST_LIMIT,
        counts=counts_by_activity([a.id for a in upcoming + past]), stations=list(stations_in_scope(current_user)),
    )


@bp.route("/activities/mine")
@login_required
def mine():
    """我的活动: what I am invited to, and how I attended."""
    activities = list(my_activities(current_user).limit(200))
    rows = {a.activity_id: a for a in Attendance.select().where(
        (Attendance.user == current_user.id) & Attendance.activity.in_([a.id for a in activities]))}
    now = utcnow()
    return render_template("activities/mine.html", now=now, rows=rows, labels=SHEET_LABELS,
                           upcoming=[a for a in reversed(activities) if a.ends_at >= now],
                           past=[a for a in activities if a.ends_at < now])


def _form_page(station: Station, activity: Activity | None, form: dict, chosen: set, errors: dict, status: int = 200):
    members, others = invitable(station)
    return render_template("activities/form.html", station=station, activity=activity, form=form, chosen=chosen,
                           errors=errors, members=members, others=others, kinds=Activity.KINDS, credits=CREDITS,
                           open_to_staff=[Activity.KINDS[k] for k in OPEN_TO_STAFF]), status


def _local(value) -> str:
    """A naive-UTC time as a datetime-local value in the work area's zone."""
    return local_time(value, "%Y-%m-%dT%H:%M")


@bp.route("/activities/new", methods=["GET", "POST"])
@role_required("secretary", "admin")
def create():
    """安排活动: the form, ticking every party member of the branch; refused input comes back with its reasons (422)."""
    station = branch_asked(current_user, request.values)
    if request.method == "POST":
        try:
            activity = save_activity(current_user._get_current_object(), station, request.form, now=utcnow(), tz_name=_tz())
        except ActivityError as exc:
            return _form_page(station, None, request.form.to_dict(), set(request.form.getlist("invitees")), exc.errors, 422)
        flash(gettext("已安排%(kind)s：%(topic)s。", kind=activity.kind_label, topic=activity.topic), "success")
        return redirect(url_for("activities.show", activity_id=activity.id))
    start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    form = {"kind": "theme_day", "starts_at": _local(start), "ends_at": _local(start + timedelta(hours=2))}
    members, _ = invitable(station)
    return _form_page(station, None, form, {str(m.id) for m in members}, {})


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def update(activity_id: int):
    """Change an activity; who is expected becomes exactly who is ticked."""
    activity = get_activity(activity_id, manage=True)
    if request.method == "POST":
        try:
            activity = save_activity(current_user._get_current_object(), activity.station, request.form, now=utcnow(),
                                     tz_name=_tz(), activity=activity)
        except ActivityError as exc:
            return _form_page(activity.station, activity, request.form.to_dict(), set(request.form.getlist("invitees")),
                              exc.errors, 422)
        flash(gettext("活动已修改。"), "success")
        return redirect(url_for("activities.show", activity_id=activity.id))
    form = {"kind": activity.kind, "topic": activity.topic, "place": activity.place, "note": activity.note,
            "starts_at": _local(activity.starts_at), "ends_at": _local(activity.ends_at),
            "hours": "" if activity.hours is None else f"{activity.hours:g}",
            "days": "" if activity.days is None else f"{activity.days:g}"}
    return _form_page(activity.station, activity, form, {str(i) for i in invitee_ids(activity)}, {})


@bp.route("/activities/<int:activity_id>/cancel", methods=["POST"])
@login_required
def cancel(activity_id: int):
    """Cancel an activity: its code stops working at once."""
    activity = get_activity(activity_id, manage=True)
    try:
        cancel_activity(activity, utcnow(), _tz())
    except ActivityError as exc:
        flash(exc.errors["form"], "error")
    else:
        flash(gettext("已取消：%(topic)s。", topic=activity.topic), "success")
    return redirect(url_for("activities.show", activity_id=activity.id))


def _show_context(activity: Activity, error: dict | None = None) -> dict:
    now = utcnow()
    manage = may_manage(current_user, activity)
    mine = Attendance.get_or_none((Attendance.activity == activity) & (Attendance.user == current_user.id))
    return {"activity": activity, "manage": manage, "mine": mine, "now": now, "errors": error or {},
            "sheet": attendance_sheet(activity, now) if manage else None, "labels": SHEET_LABELS,
            "open": is_open(activity, now), "opens_at": check_in_opens(activity),
            "organiser": User.get_by_id(activity.organiser_id)}


@bp.route("/activities/<int:activity_id>")
@login_required
def show(activity_id: int):
    """The activity; for its organiser and the branch secretary, the attendance sheet with marking."""
    return render("activities/show.html", "activities/_attendance.html", **_show_context(get_activity(activity_id)))


@bp.route("/activities/<int:activity_id>/attendance", methods=["POST"])
@login_required
def mark(activity_id: int):
    """The organiser marks a person present (by hand) or excused, from the activity page."""
    activity = get_activity(activity_id, manage=True)
    member_id = requested_id(request.form, "user_id")
    member = User.get_or_none(User.id == member_id) if member_id is not None else None
    if member is None or member.work_area_id != current_user.work_area_id:
        abort(404)
    try:
        mark_attendance(current_user._get_current_object(), activity, member, request.form.get("status", ""),
                        request.form.get("reason", ""), utcnow(), _tz())
    except ActivityError as exc:
        errors = {f"{k}-{member.id}" if k == "reason" else "form": v for k, v in exc.errors.items()}
        return render("activities/show.html", "activities/_attendance.html", status=422,
                      **_show_context(activity, errors))
    return render("activities/show.html", "activities/_attendance.html", **_show_context(activity))


@bp.route("/activities/<int:activity_id>/qr")
@login_required
def qr(activity_id: int):
    """签到二维码: full screen; htmx asks again every few seconds and gets the current code."""
    activity = get_activity(activity_id, manage=True)
    now = utcnow()
    present = Attendance.select().where((Attendance.activity == activity) & (Attendance.status == "present")).count()
    expected = ActivityInvitee.select().where(ActivityInvitee.activity == activity).count()
    response = render("activities/qr.html", "activities/_qr.html", activity=activity, step=time_step(now), now=now,
                      open=is_open(activity, now), opens_at=check_in_opens(activity), present=present,
                      expected=expected)
    response.headers["Cache-Control"] = "no-store"  # a copy kept for offline would show a dead code
    return response


@bp.route("/activities/<int:activity_id>/qr/<int:step>.png")
@login_required
def qr_png(activity_id: int, step: int):
    """The code of one step as an image; only steps still accepted (a saved image stops working)."""
    activity = get_activity(activity_id, manage=True)
    if activity.cancelled_at is not None or abs(step - time_step(utcnow())) > TOLERANCE_STEPS:
        abort(404)
    url = public_base_url() + url_for("activities.checkin", activity_id=activity.id, step=step,
                                      code=step_code(activity, step))
    out = BytesIO()
    labels.qr_image(url, QR_SIZE).save(out, "PNG")
    response = send_file(BytesIO(out.getvalue()), mimetype="image/png")
    # One URL per step: the page asks for the same image until the step changes.
    response.headers["Cache-Control"] = "private, max-age=120"
    return response


# How the check-in page answers a scan it refuses: like any id outside the user's scope, or a bad request.
CHECKIN_STATUS = {"unknown_activity": 404, "not_invited": 403}


@bp.route("/a/<int:activity_id>/<int:step>.<code>", methods=["GET", "POST"])
def checkin(activity_id: int, step: int, code: str):
    """What the check-in QR opens outside the app's scanner: an explanation and, logged in, a 签到 button whose
    record (uuid and time fixed when the page opened) goes through the same once-only path as the phone's outbox."""
    if not current_user.is_authenticated:
        return _checkin_page(None, None)
    user = current_user._get_current_object()
    if request.method == "POST":
        activity = Activity.select(Activity, Station).join(Station).where(Activity.id == activity_id).first()
        if activity is None or activity.station.work_area_id != user.work_area_id:
            return _checkin_page(None, gettext("找不到这项活动。"), status=404)
        if not may_attend(user, activity):  # scope first, like every id in a URL; the record's own checks follow
            return _checkin_page(None, gettext("您不在本次活动的参加人员之中，请联系活动组织人。"), status=403)
        # A second tap of the same page (a double tap, or after a slow answer) is the first check-in again — even
        # when the second turned between the two, which would make it a different record to the sync path.
        if _checked_in_already(user, request.form.get("uuid", "")):
            flash(gettext("签到成功。"), "success")
            return redirect(url_for("activities.show", activity_id=activity_id))
        # The page is online: the check-in is made now, on the server's clock (a time from the form is not trusted).
        record = {"uuid": request.form.get("uuid", ""), "type": "attendance", "created_at": _now_iso(),
                  "data": {"activity_id": activity_id, "step": step, "code": code}}
        payload = {"device_id": "web", "sent_at": _now_iso(), "records": [record]}
        result = sync_batch(user, payload, settings=current_app.config)["results"][0]
        if result["status"] != "rejected":  # a second tap is a duplicate of the first
            flash(gettext("签到成功。"), "success")
            return redirect(url_for("activities.show", activity_id=activity_id))
        return _checkin_page(None, result["error"]["message"], status=422)
    try:
        activity = verify_scan(user, activity_id, step, code, utcnow())
    except RecordError as exc:
        return _checkin_page(None, exc.message, status=CHECKIN_STATUS.get(exc.code, 422))
    mine = Attendance.get_or_none((Attendance.activity == activity) & (Attendance.user == user.id)
                                  & (Attendance.status == "present"))
    return _checkin_page(activity, None, mine=mine, uuid=str(uuid_module.uuid4()))


def _checked_in_already(user, raw_uuid: str) -> bool:
    """True when this user's check-in with that page's uuid is already stored."""
    try:
        wanted = uuid_module.UUID(raw_uuid) if isinstance(raw_uuid, str) and len(raw_uuid) <= 36 else None
    except ValueError:
        wanted = None
    return wanted is not None and SyncReceipt.select().where(
        (SyncReceipt.uuid == wanted) & (SyncReceipt.author == user.id) & (SyncReceipt.type == "attendance")).exists()


def _now_iso() -> str:
    return utcnow().isoformat(timespec="seconds") + "Z"


def _checkin_page(activity, error, status: int = 200, **context):
    """The check-in page holds a one-time form: no copy is kept (the service worker skips no-store pages)."""
    page = render_template("activities/checkin.html", activity=activity, error=error, **context)
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"
    return response
