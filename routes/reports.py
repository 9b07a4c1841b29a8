"""Station reports for leaders: the single-well daily report with production against plan, the monthly patrol
summary, their .xlsx/.csv exports, and the month's plan (配产)."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import utcnow
from webapp.access import field_stations, role_required, station_asked
from webapp.exports import CSV_MIMETYPE, XLSX_MIMETYPE, to_csv, to_xlsx
from webapp.htmx import is_htmx, render
from webapp.patrols import READINGS
from webapp.periods import today_in
from webapp.printing import send_download
from webapp.reports import (
    ReportError,
    check_plan,
    daily_report,
    daily_sheets,
    month_text,
    monthly_report,
    monthly_sheets,
    parse_day,
    parse_month,
    save_plan,
)
from webapp.shifts import parse_shifts, shift_at

bp = Blueprint("reports", __name__, url_prefix="/reports")

LEADERS = ("leader", "admin")
WRITERS = {"xlsx": (to_xlsx, XLSX_MIMETYPE), "csv": (to_csv, CSV_MIMETYPE)}


def _setting():
    return parse_shifts(current_user.work_area.shifts), current_app.config["TIMEZONE"]


def _shift_day(shifts, tz):
    """Today's shift day: before the first shift starts, the night shift still belongs to yesterday."""
    return shift_at(utcnow(), shifts, tz)[0]


def _daily_page(station, day_text: str, *, status: int = 200, plan_form: dict | None = None,
                plan_errors: dict | None = None, plan_saved: str | None = None, partial: str = "reports/_daily.html"):
    """The daily report page (or the fragment htmx asked for); a bad date shows its message instead of the report."""
    shifts, tz = _setting()
    report, error = None, None
    try:
        day = parse_day(day_text, today_in(tz))
    except ReportError as exc:
        error, status = exc.message, 422
    else:
        report = daily_report(station, day, shifts, tz)
        plan_form = plan_form or {"month": report.month, "liquid_t_per_day": report.production.plan_liquid,
                                  "oil_t_per_day": report.production.plan_oil}
    return render("reports/daily.html", partial, status=status, station=station, stations=field_stations(current_user), report=report,
                  error=error, day_text=day_text, plan_form=plan_form or {}, plan_errors=plan_errors or {},
                  plan_saved=plan_saved, tz=tz, readings=READINGS, snapshot=report.snapshot if report else [])


@bp.route("/daily")
@role_required(*LEADERS)
def daily():
    """单井日报 of a station for a day, with the station's production against the month's plan."""
    shifts, tz = _setting()
    return _daily_page(station_asked(current_user, request.values), request.args.get("date") or _shift_day(shifts, tz).isoformat())


@bp.route("/daily.<any(xlsx, csv):fmt>")
@role_required(*LEADERS)
def daily_export(fmt: str):
    """The daily report as .xlsx or CSV: the page's figures, sheet by sheet."""
    station = station_asked(current_user, request.values)
    shifts, tz = _setting()
    try:
        day = parse_day(request.args.get("date") or _shift_day(shifts, tz).isoformat(), today_in(tz))
    except ReportError as exc:
        abort(422, description=exc.message)
    write, mimetype = WRITERS[fmt]
    data = write(daily_sheets(daily_report(station, day, shifts, tz), tz))
    name = gettext("%(station)s-单井日报-%(day)s", station=station.name, day=day.isoformat())
    return send_download(data, mimetype, f"{name}.{fmt}")


@bp.route("/plan", methods=["POST"])
@role_required(*LEADERS)
def plan():
    """Set the station's planned daily production (配产) for a month; errors come back with the input kept (422)."""
    station = station_asked(current_user, request.values)
    shifts, tz = _setting()
    try:
        day_text = parse_day(request.form.get("date") or "", today_in(tz)).isoformat()
    except ReportError:
        day_text = _shift_day(shifts, tz).isoformat()  # the page to return to; the plan itself is what counts here
    values, errors = check_plan(request.form, today_in(tz))
    if errors:
        form = {name: request.form.get(name, "") for name in ("month", "liquid_t_per_day", "oil_t_per_day")}
        return _daily_page(station, day_text, status=422, plan_form=form, plan_errors=errors,
                           partial="reports/_production.html")
    save_plan(station, values["month"], values["liquid_t_per_day"], values["oil_t_per_day"], current_user.id)
    message = gettext("已保存 %(station)s %(month)s 的配产。", station=station.name, month=values["month"])
    if is_htmx():
        return _daily_page(station, day_text, plan_saved=message, partial="reports/_production.html")
    flash(message, "success")
    return redirect(url_for("reports.daily", station=station.id, date=day_text))


def _month_text(tz: str) -> str:
    today = today_in(tz)
    return request.args.get("month") or month_text(today.year, today.month)


@bp.route("/monthly")
@role_required(*LEADERS)
def monthly():
    """The month's patrol summary of a station: per well, per worker, per day."""
    station = station_asked(current_user, request.values)
    shifts, tz = _setting()
    text = _month_text(tz)
    report, error = None, None
    try:
        year, month = parse_month(text, today_in(tz))
    except ReportError as exc:
        error = exc.message
    else:
        report = monthly_report(station, year, month, shifts, tz)
    return render("reports/monthly.html", "reports/_monthly.html", status=422 if error else 200, station=station,
                  stations=field_stations(current_user), report=report, error=error, month_text=text, tz=tz)


@bp.route("/monthly.<any(xlsx, csv):fmt>")
@role_required(*LEADERS)
def monthly_export(fmt: str):
    """The monthly summary as .xlsx or CSV (按井, 按人, 按日)."""
    station = station_asked(current_user, request.values)
    shifts, tz = _setting()
    try:
        year, month = parse_month(_month_text(tz), today_in(tz))
    except ReportError as exc:
        abort(422, description=exc.message)
    write, mimetype = WRITERS[fmt]
    data = write(monthly_sheets(monthly_report(station, year, month, shifts, tz), tz))
    name = gettext("%(station)s-巡检月报-%(month)s", station=station.name, month=month_text(year, month))
    return send_download(data, mimetype, f"{name}.{fmt}")
