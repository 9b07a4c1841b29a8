"""The station's well list (htmx search and filters), the well page (by id, QR label or NFC tag), and the 扫码 tab."""
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from peewee import JOIN

from models import (
    Equipment,
    EquipmentCheck,
    FluctuationAlert,
    Hazard,
    Patrol,
    Station,
    User,
    Well,
    utcnow,
)
from webapp.access import (
    MAX_ID,
    get_station,
    get_well,
    may_open,
    requested_id,
    stations_in_scope,
)
from webapp.fluctuations import BASELINE_DAYS, baselines
from webapp.hazards import is_overdue
from webapp.htmx import render
from webapp.patrols import CHOICES, OPERATIONS
from webapp.periods import today_in
from webapp.readings import set_for
from webapp.text import clean_line

bp = Blueprint("wells", __name__)

MAX_QUERY = 30
MAX_SUN_CHARS = 64  # e is 32 hex digits and c 16: anything much longer is not a tag's URL
SUN_E = re.compile(r"[0-9A-Fa-f]{32}")
SUN_C = re.compile(r"[0-9A-Fa-f]{16}")
KIND_FILTERS = {"": _l("全部"), "oil": _l("采油井"), "injection": _l("注水井"), "key": _l("重点井")}


def filter_wells(station: Station, q: str, kind: str):
    """Wells of station matching the search text and the kind filter, in code order."""
    query = Well.select(Well, User).join(User, JOIN.LEFT_OUTER, on=Well.contractor).where(Well.station == station)
    if q:
        query = query.where(Well.code.contains(q))
    if kind == "key":
        query = query.where(Well.is_key_well)
    elif kind == "oil":  # 采油井: every producing well, whatever lifts it
        query = query.where(Well.kind.in_(Well.PRODUCING))
    elif kind == "injection":
        query = query.where(Well.kind == kind)
    # Codes like 海1-07 sort correctly as text because numbers are zero-padded.
    return query.order_by(Well.code)


@bp.route("/wells/")
@login_required
def index():
    stations = list(stations_in_scope(current_user))
    station_id = requested_id(request.args, "station")
    if station_id is not None:
        station = get_station(station_id, current_user)
    else:
        with_wells = [s for s in stations if s.kind == "station"]
        station = next((s for s in stations if s.id == current_user.station_id and s.kind == "station"), None)
        station = station or (with_wells[0] if with_wells else current_user.station)
    q = clean_line(request.args.get("q"), MAX_QUERY)
    kind = request.args.get("kind", "")
    if kind not in KIND_FILTERS:
        kind = ""
    wells = list(filter_wells(station, q, kind))
    station_equipment = list(
        Equipment.select().where((Equipment.station == station) & Equipment.well.is_null()).order_by(Equipment.id)
    )
    return render(
        "wells/index.html",
        "wells/_results.html",
        station=station,
        stations=stations,
        wells=wells,
        q=q,
        kind=kind,
        kinds=KIND_FILTERS,
        station_equipment=station_equipment,
        can_check=station.id == current_user.station_id or current_user.has_role("admin"),
    )


def _show(well: Well, method: str):
    equipment = list(Equipment.select().where(Equipment.well == well).order_by(Equipment.id))
    last_checks = EquipmentCheck.latest_per(EquipmentCheck.equipment, [e.id for e in equipment])
    hazards = list(
        Hazard.select().where((Hazard.well == well) & Hazard.still_open()).order_by(Hazard.reported_at.desc())
    )
    alerts = list(open_alerts().where(FluctuationAlert.well == well))
    last = Patrol.select().where(Patrol.well == well).order_by(Patrol.device_time.desc()).first()
    reading_set, fields = set_for(well.kind, current_user.work_area_id)
    last_readings = {} if last is None else {f.key: getattr(last, f.key) for f in fields if getattr(last, f.key) is not None}
    return render_template(
        "wells/show.html",
        well=well,
        equipment=equipment,
        method=method,
        can_patrol=well.station_id == current_user.station_id or current_user.has_role("admin"),
        reading_fields=fields,
        reading_set=reading_set,
        baselines=baselines(well.id, [f.key for f in fields if f.kind], utcnow()),
        baseline_days=BASELINE_DAYS,
        operations=OPERATIONS,
        choices=CHOICES,
        last_readings=last_readings,
        last_checks=last_checks,
        hazards=hazards,
        alerts=alerts,
        can_acknowledge=may_acknowledge(well),
        today=today_in(current_app.config["TIMEZONE"]),
        is_overdue=is_overdue,
    )


def open_alerts():
    return FluctuationAlert.select().where(FluctuationAlert.acknowledged_at.is_null()).order_by(FluctuationAlert.created_at)


def may_acknowledge(well: Well) -> bool:
    """The station's leader, an admin, or the party member contracted to the well (承包井党员)."""
    user = current_user
    return (user.has_role("admin") or (user.has_role("leader") and user.station_id == well.station_id)
            or well.contractor_id == user.id)


@bp.route("/wells/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(alert_id: int):
    """Close a fluctuation alert with a note of the action taken."""
    alert = FluctuationAlert.get_or_none(FluctuationAlert.id == alert_id)
    if alert is None:
        abort(404)
    well = get_well(current_user, well_id=alert.well_id)
    if not may_acknowledge(well):
        abort(403)
    note = clean_line(request.form.get("note"), 300)
    if not note:
        flash(gettext("请写明采取的措施。"), "error")
    elif alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at, alert.action_note = current_user.id, utcnow(), note
        alert.save()
        flash(gettext("已处理 %(code)s 的%(metric)s波动。", code=well.code, metric=alert.metric_label), "success")
    return redirect(url_for("wells.show", well_id=well.id) + "#alerts")


@bp.route("/wells/<int:well_id>")
@login_required
def show(well_id: int):
    """The well page reached from the list or by typing the 井号; the offline copy serves it for label and tag URLs."""
    if well_id > MAX_ID:
        abort(404)
    return _show(get_well(current_user, well_id=well_id), method="manual")


@bp.route("/n/<int:well_id>")
@login_required
def tapped(well_id: int):
    """The page a well's NFC tag opens: /n/<id>?e=…&c=…, a new SUN message at every tap (docs/nfc.md). Nothing is
    verified here: the phone sends e and c with its records and the server judges them at sync, with a key the phone
    never holds. The page does not repeat e and c either: evidence.js reads them from the address."""
    e, c = request.args.get("e", ""), request.args.get("c", "")
    if well_id > MAX_ID or len(e) > MAX_SUN_CHARS or len(c) > MAX_SUN_CHARS:
        abort(404)
    well = get_well(current_user, well_id=well_id)
    # Only a well-formed read is announced as a tag; a damaged tag's page still opens, as a visit without proof.
    return _show(well, method="nfc" if SUN_E.fullmatch(e) and SUN_C.fullmatch(c) else "manual")


@bp.route("/w/<token:qr_token>")
@login_required
def scanned(qr_token: str):
    """The page a well's QR label opens (in the phone's camera app or the in-app scanner)."""
    if len(qr_token) > 64:
        abort(404)
    # ?via=manual: reached by typing the 井号 (offline too), not by scanning the label.
    method = "manual" if request.args.get("via") == "manual" else "scan"
    return _show(get_well(current_user, qr_token=qr_token), method=method)


@bp.route("/scan", methods=["GET", "POST"])
def scan():
    """The 扫码 tab: the camera scanner (open to anyone, for 三亮 cards) and 井号 entry (staff only)."""
    error = None
    code = ""
    if request.method == "POST" and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if request.method == "POST":
        code = clean_line(request.form.get("code"), MAX_QUERY)
        if not code:
            error = gettext("请输入井号。")
        else:
            well = (
                Well.select(Well, Station)
                .join(Station)
                .where((Well.code == code) & (Station.work_area == current_user.work_area_id))
                .first()
            )
            if well is None:
                error = gettext("本作业区没有井号为「%(code)s」的井，请核对后重新输入。", code=code)
            elif not may_open(current_user, well):
                error = gettext("%(code)s 属于%(station)s，不是您所在的站。", code=well.code, station=well.station.name)
            else:
                # By id: the label's token is proof of a scan, never handed out for a typed 井号.
                return redirect(url_for("wells.show", well_id=well.id, via="manual"))
    return render_template("wells/scan.html", error=error, code=code), (422 if error else 200)
