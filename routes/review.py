"""The station leader's shift dashboard (站长看板) and the review of patrols and equipment checks."""
import json
import statistics
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from models import (
    SENSES,
    BulkApproval,
    Equipment,
    EquipmentCheck,
    FluctuationAlert,
    Hazard,
    Patrol,
    Station,
    User,
    Well,
    WellOperation,
    utcnow,
)
from webapp.access import field_stations, require_station, role_required, station_asked
from webapp.checks import template_items
from webapp.evidence import FLAG_LABELS, evidence_of, given_up, station_mix
from webapp.fluctuations import BASELINE_DAYS, MIN_SAMPLES, deviations
from webapp.hazards import is_overdue
from webapp.htmx import is_htmx, render
from webapp.patrols import OPERATIONS
from webapp.periods import month_bounds, month_text, today_in
from webapp.readings import rules, set_for, shown_fields
from webapp.reports import ReportError, parse_month
from webapp.review import (
    LEFT_OUT,
    approvable,
    next_pending,
    seen_state,
    shift_checks,
    shift_choice,
    shift_patrols,
    sort_for_bulk,
    station_overview,
    undo_bulk,
    undoable_bulk,
)
from webapp.review import bulk_approve as approve_all
from webapp.review import decide as record_decision
from webapp.shifts import coverage, parse_shifts, shift_table, window

bp = Blueprint("review", __name__, url_prefix="/review")
bp.add_app_template_global(seen_state)  # the review state a decision form was shown (review/_decision.html)

LEADERS = ("leader", "admin")
HISTORY_DAYS = 7


@bp.route("/")
@role_required(*LEADERS)
def dashboard():
    station = station_asked(current_user, request.values)
    tz = current_app.config["TIMEZONE"]
    shifts = parse_shifts(current_user.work_area.shifts)
    day, shift = shift_choice(shifts, tz, request.values)
    start, end = window(day, shift, tz)
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    in_shift = shift_patrols(station.id, start, end)
    rows = shift_table(wells, in_shift, shift, start, end, utcnow())
    counts = {status: sum(1 for r in rows if r.status == status) for status in ("done", "due", "overdue", "missed")}
    checks = shift_checks(station.id, start, end)
    today = today_in(tz)
    hazards = list(Hazard.select().where((Hazard.station == station) & Hazard.still_open()).order_by(Hazard.reported_at))
    pending = [p for p in in_shift if p.review_status == "pending"]
    pending_checks = [c for c in checks if c.review_status == "pending"]
    alerts = list(
        FluctuationAlert.select(FluctuationAlert, Well).join(Well)
        .where((Well.station == station) & FluctuationAlert.acknowledged_at.is_null()).order_by(FluctuationAlert.created_at)
    )
    return render(
        "review/dashboard.html", "review/_board.html",
        station=station, stations=field_stations(current_user),
        day=day, shift=shift, shifts=shifts, rows=rows, counts=counts, coverage=coverage(rows),
        flagged=[p for p in in_shift if p.flags], abnormal=[p for p in in_shift if p.is_abnormal],
        checks=[c for c in checks if c.is_abnormal], hazards=hazards, overdue=[h for h in hazards if is_overdue(h, today)],
        today=today, pending=pending, pending_checks=pending_checks, alerts=alerts,
        bulk=len(approvable(pending + pending_checks, current_user.work_area_id)), flag_labels=FLAG_LABELS,
        undoable=undoable_bulk(station.id, current_user),
    )


@bp.route("/evidence")
@role_required(*LEADERS)
def evidence_mix():
    """Per worker of the station and month: NFC / QR / typed check-ins and their flags (docs/evidence.md)."""
    station = station_asked(current_user, request.values)
    tz = current_app.config["TIMEZONE"]
    today = today_in(tz)
    error = None
    try:
        year, month = parse_month(request.args.get("month") or month_text(today.year, today.month), today)
    except ReportError as exc:
        error, (year, month) = exc.message, (today.year, today.month)
    start, end = month_bounds(year, month, tz)
    return render("review/evidence.html", "review/_evidence_mix.html", status=422 if error else 200, station=station,
                  stations=field_stations(current_user), month=month_text(year, month), error=error,
                  mixes=station_mix(station.id, start, end), flag_labels=FLAG_LABELS,
                  given_up=given_up(station.id, start, end))


@bp.route("/bulk/<int:batch_id>/undo", methods=["POST"])
@role_required(*LEADERS)
def undo_bulk_approval(batch_id: int):
    """Undo one's own one-tap approval within its minutes: its records are pending again."""
    batch = BulkApproval.get_or_none(BulkApproval.id == batch_id)
    station = Station.get_or_none(Station.id == batch.station_id) if batch else None
    require_station(current_user, station)
    error = undo_bulk(batch, current_user)
    flash(error or gettext("已撤销刚才的一键审核，这些记录重新待审核。"), "error" if error else "success")
    return redirect(url_for("review.dashboard", station=batch.station_id))


@bp.route("/overview")
@role_required("admin")
def overview():
    """The work area at a glance for one shift: coverage, records to review and open hazards per station."""
    tz = current_app.config["TIMEZONE"]
    shifts = parse_shifts(current_user.work_area.shifts)
    day, shift = shift_choice(shifts, tz, request.values)
    rows = station_overview(field_stations(current_user), day, shift, tz)
    return render("review/overview.html", "review/_overview.html", rows=rows, day=day, shift=shift, shifts=shifts,
                  link_stations=True)


def get_patrol(patrol_id: int) -> Patrol:
    """A patrol of the leader's station (an admin: of the work area); 404 outside it, 403 for another station."""
    patrol = Patrol.select(Patrol, Well, Station).join(Well).switch(Patrol).join(Station).where(Patrol.id == patrol_id).first()
    require_station(current_user, patrol.station if patrol else None)
    return patrol


def _patrol_page(record: Patrol, status: int = 200, error: str | None = None):
    operations = [(OPERATIONS[o.code], json.loads(o.values)) for o in WellOperation.select().where(WellOperation.patrol == record)
                  if o.code in OPERATIONS]
    fields = shown_fields(record, set_for(record.well.kind, current_user.work_area_id, record.reading_set_id)[1])
    return render("review/patrol.html", "review/_patrol.html", status=status, patrol=record, reading_fields=fields,
                  devs=deviations(record, [f.key for f in fields], rules(fields)), min_samples=MIN_SAMPLES,
                  confirmed=record.confirmed.split(), baseline_days=BASELINE_DAYS,
                  correction=Patrol.select(Patrol.id).where(Patrol.corrects == record.id).first(),
                  operations=operations, flag_labels=FLAG_LABELS, error=error,
                  evidence=evidence_of("patrol", record.id))


@bp.route("/patrols/<int:patrol_id>")
@role_required(*LEADERS)
def patrol(patrol_id: int):
    return _patrol_page(get_patrol(patrol_id))


@bp.route("/patrols/<int:patrol_id>", methods=["POST"])
@role_required(*LEADERS)
def decide(patrol_id: int):
    """Approve, or return with a comment (批注); the worker's correction will be a new record linked to this one."""
    record = get_patrol(patrol_id)
    error = record_decision(record, request.form.get("decision"), request.form.get("comment"), current_user,
                            seen=request.form.get("seen"))
    if error:
        return _patrol_page(record, status=422, error=error)
    return _decided(record, gettext("%(well)s 的巡检", well=record.well.code))


def get_check(check_id: int) -> EquipmentCheck:
    """An equipment check of the leader's station (an admin: of the work area); 404 outside it."""
    check = (EquipmentCheck.select(EquipmentCheck, Equipment, Station, User).join(Equipment)
             .switch(EquipmentCheck).join(Station).switch(EquipmentCheck).join(User, on=EquipmentCheck.author)
             .where(EquipmentCheck.id == check_id).first())
    require_station(current_user, check.station if check else None)
    return check


def check_history(check: EquipmentCheck) -> dict:
    """The equipment's earlier checks of the last HISTORY_DAYS days: how often each item was abnormal, and the
    median of each measured item, to set this check against."""
    since = check.device_time - timedelta(days=HISTORY_DAYS)
    earlier = [json.loads(c.results) for c in EquipmentCheck.select(EquipmentCheck.results).where(
        (EquipmentCheck.equipment == check.equipment_id) & (EquipmentCheck.id != check.id)
        & (EquipmentCheck.device_time >= since) & (EquipmentCheck.device_time < check.device_time))]
    abnormal, medians = {}, {}
    for code in {code for results in earlier for code in results}:
        answers = [results[code] for results in earlier if isinstance(results.get(code), dict)]
        abnormal[code] = sum(1 for a in answers if not a.get("ok", True))
        values = [a["value"] for a in answers if isinstance(a.get("value"), (int, float))]
        if values:
            medians[code] = statistics.median(values)
    return {"count": len(earlier), "abnormal": abnormal, "medians": medians}


def _check_page(check: EquipmentCheck, status: int = 200, error: str | None = None):
    results = json.loads(check.results)
    items = [(item, results.get(item["code"], {})) for item in template_items(check.template)]
    return render("review/check.html", "review/_check.html", status=status, check=check, items=items, senses=SENSES,
                  history=check_history(check), flag_labels=FLAG_LABELS, statuses=Patrol.REVIEW_STATUSES, error=error,
                  evidence=evidence_of("equipment_check", check.id))


@bp.route("/checks/<int:check_id>")
@role_required(*LEADERS)
def check(check_id: int):
    return _check_page(get_check(check_id))


@bp.route("/checks/<int:check_id>", methods=["POST"])
@role_required(*LEADERS)
def decide_check(check_id: int):
    record = get_check(check_id)
    error = record_decision(record, request.form.get("decision"), request.form.get("comment"), current_user,
                            seen=request.form.get("seen"))
    if error:
        return _check_page(record, status=422, error=error)
    return _decided(record, gettext("%(equipment)s 的检查", equipment=record.equipment.name))


def _decided(record, what: str):
    """After a decision: say what was decided, and open the station's next pending record (or the dashboard)."""
    done = gettext("已审核通过") if record.review_status == "approved" else gettext("已退回")
    following = next_pending(record.station_id, after=record)
    if following is None:
        flash(gettext("%(what)s%(done)s。本站近 7 天没有待审核的记录了。", what=what, done=done), "success")
        url = url_for("review.dashboard", station=record.station_id)
    else:
        flash(gettext("%(what)s%(done)s。这是下一条待审核的记录。", what=what, done=done), "success")
        kind, record_id = following
        url = (url_for("review.patrol", patrol_id=record_id) if kind == "patrol"
               else url_for("review.check", check_id=record_id))
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url  # a new page: the next record, with the message above
        return response
    return redirect(url, 303)


@bp.route("/bulk-approve", methods=["POST"])
@role_required(*LEADERS)
def bulk_approve():
    """Approve every normal, unflagged, pending patrol and equipment check of one shift in one action."""
    station = station_asked(current_user, request.values)
    tz = current_app.config["TIMEZONE"]
    day, shift = shift_choice(parse_shifts(current_user.work_area.shifts), tz, request.values)
    start, end = window(day, shift, tz)
    in_shift, checks_in_shift = shift_patrols(station.id, start, end), shift_checks(station.id, start, end)
    if request.form.get("confirm") != "1":
        # First what would be approved and what is left for the leader, and why; then the leader confirms.
        take, left = sort_for_bulk(in_shift + checks_in_shift, current_user.work_area_id)
        return render("review/bulk.html", "review/_bulk.html", station=station, day=day, shift=shift,
                      count=len(take), left=left, reasons=LEFT_OUT)
    batch, left = approve_all(station.id, in_shift + checks_in_shift, current_user)
    patrols, checks = len(json.loads(batch.patrol_ids)), len(json.loads(batch.check_ids))
    if checks:
        flash(gettext("已批量审核 %(patrols)s 条正常、无标记的巡检和 %(checks)s 条设备检查。", patrols=patrols, checks=checks),
              "success")
    else:
        flash(gettext("已批量审核 %(patrols)s 条正常、无标记的巡检。", patrols=patrols), "success")
    if sum(left.values()):
        reasons = gettext("，").join(f"{LEFT_OUT[key]} {count}" for key, count in left.items() if count)
        flash(gettext("留给您逐条看的 %(count)s 条：%(reasons)s。", count=sum(left.values()), reasons=reasons), "info")
    return redirect(url_for("review.dashboard", station=station.id, date=day.isoformat(), shift=shift.index))
