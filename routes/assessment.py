"""《3K+行为》党员量化考核: a member's breakdown, the 四比 board, the secretary's deductions, the admin's rules editor
and the year's figures of a branch (page, .xlsx, CSV)."""

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
from flask_login import current_user, login_required
from peewee import JOIN

from models import Deduction, Station, User, utcnow
from webapp.access import (
    branch_asked,
    get_station,
    parse_id,
    require_station,
    role_required,
)
from webapp.assessment import (
    DIMENSIONS,
    FIGURE_RECORDS,
    FOUR_COMPARISONS,
    MAX_DEDUCTION,
    MAX_REASON,
    PER_MEMBER,
    SOURCES,
    YEAR_FIGURES,
    AssessmentError,
    Clock,
    MemberScore,
    Period,
    board,
    figure_records,
    in_force,
    latest_version,
    open_months,
    parse_period,
    parse_rules,
    parse_year,
    party_members,
    record_deduction,
    rule_versions,
    rules_form,
    save_rules,
    score_members,
    this_month,
    undo_deduction,
    undone_ids,
    unscored_reports,
    year_report,
    year_sheets,
)
from webapp.exports import CSV_MIMETYPE, XLSX_MIMETYPE, to_csv, to_xlsx
from webapp.htmx import render
from webapp.party import manages_branch, secretary_of
from webapp.periods import today_in
from webapp.printing import send_download
from webapp.shifts import parse_shifts

bp = Blueprint("assessment", __name__, url_prefix="/assessment")

WRITERS = {"xlsx": (to_xlsx, XLSX_MIMETYPE), "csv": (to_csv, CSV_MIMETYPE)}
# Where each kind of source record opens: (endpoint, argument).
RECORD_PAGES = {"hazard": ("hazards.show", "hazard_id"), "commitment": ("commitments.show", "commitment_id"),
                "well": ("wells.show", "well_id"), "well_history": ("history.show", "well_id"),
                "activity": ("activities.show", "activity_id"), "suggestion": ("suggestions.show", "suggestion_id")}


def _today():
    return today_in(current_app.config["TIMEZONE"])


def _clock() -> Clock:
    return Clock(current_app.config["TIMEZONE"], parse_shifts(current_user.work_area.shifts), utcnow(),
                 current_user.work_area_id)


def may_see_breakdown(user, member: User) -> bool:
    """The member themself, their branch's secretary, or an admin of the work area."""
    return member.id == user.id or manages_branch(user, member.station_id)


def get_member(user_id: int) -> User:
    """A party member whose breakdown the user may see: 404 outside the user's branch (an admin: the work area) or
    not a member, 403 for a colleague of the branch who is not its secretary."""
    member = User.select(User, Station).join(Station).where(User.id == user_id).first()
    require_station(current_user, member.station if member else None)
    if not member.is_party_member:
        abort(404)
    if not may_see_breakdown(current_user, member):
        abort(403)
    return member


def record_url(record) -> str | None:
    """Where a score's source record opens."""
    if record.kind not in RECORD_PAGES:
        return None
    endpoint, argument = RECORD_PAGES[record.kind]
    return url_for(endpoint, **{argument: record.id})


@bp.context_processor
def helpers():
    return {"record_url": record_url, "dimensions": DIMENSIONS, "comparisons": FOUR_COMPARISONS,
            "may_see_breakdown": may_see_breakdown}


def _period(default: Period) -> tuple[Period | None, str | None]:
    """The period asked for (?period= or ?month=), or the default; with the Chinese message when it is refused."""
    text = request.args.get("period") or request.args.get("month")
    if not text:
        return default, None
    try:
        return parse_period(text, _today()), None
    except AssessmentError as exc:
        return None, str(exc)


def _ranked(member: User, period: Period) -> tuple[MemberScore, int]:
    """The member's score for the period, ranked in the work area and the branch (the board is public there)."""
    members = party_members(current_user.work_area_id)
    if all(m.id != member.id for m in members):
        members.append(member)  # a disabled member's breakdown is still shown to those who may see it
    scores = score_members(members, period.months, _clock())
    board(scores)
    return scores[member.id], len(members)


def _breakdown(member: User):
    period, error = _period(this_month(_today()))
    score, count = _ranked(member, period) if period else (None, 0)
    unscored = unscored_reports(member.id, period.months, _clock()) if period else []
    return render("assessment/member.html", "assessment/_member.html", status=422 if error else 200, member=member,
                  score=score, period=period, error=error, period_text=request.args.get("period") or request.args.get("month") or "",
                  members=count, unscored=unscored)


@bp.route("/me")
@login_required
def me():
    """My points for a month (?month=) or a quarter or year, down to the records, and my rank."""
    if not current_user.is_party_member:
        abort(404, description=gettext("《3K+行为》量化考核面向党员。"))
    return _breakdown(current_user._get_current_object())


@bp.route("/me/summary")
@login_required
def summary():
    """This month's points and ranks, the block in 我的 (loaded by htmx)."""
    if not current_user.is_party_member:
        return "", 204
    score, count = _ranked(current_user._get_current_object(), this_month(_today()))
    return render("assessment/_summary.html", "assessment/_summary.html", score=score, members=count)


@bp.route("/members/<int:user_id>")
@login_required
def member(user_id: int):
    """A member's breakdown, for the member, their branch's secretary and admins."""
    return _breakdown(get_member(user_id))


@bp.route("/board")
@login_required
def board_view():
    """四比 board: everyone's totals and ranks, of a branch (?station=) or the work area (?station=all)."""
    station_text = request.args.get("station") or str(current_user.station_id)
    station = None
    if station_text != "all":
        station_id = parse_id(station_text)
        station = Station.get_or_none(Station.id == station_id) if station_id else None
        if station is None or station.work_area_id != current_user.work_area_id:
            abort(404)
    period, error = _period(this_month(_today()))
    rows = []
    if period:
        rows = board(score_members(party_members(current_user.work_area_id), period.months, _clock()))
        if station:
            rows = [r for r in rows if r.member.station_id == station.id]
    stations = list(Station.select().where(Station.work_area == current_user.work_area_id).order_by(Station.sort_order, Station.id))
    return render("assessment/board.html", "assessment/_board.html", status=422 if error else 200, rows=rows,
                  station=station, stations=stations, period=period, error=error,
                  period_text=request.args.get("period") or (period.text if period else ""), quick=_quick_periods())


def _quick_periods() -> list[tuple[str, str]]:
    today = _today()
    previous = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return [(f"{today.year}-{today.month:02d}", gettext("本月")), (f"{previous[0]}-{previous[1]:02d}", gettext("上月")),
            (f"{today.year}Q{(today.month - 1) // 3 + 1}", gettext("本季度")), (str(today.year), gettext("本年")),
            (str(today.year - 1), gettext("上年"))]


def _deductions_page(branch: Station, month: str, status: int = 200, error: str | None = None, form: dict | None = None):
    members = party_members(current_user.work_area_id, branch.id)
    recorder = User.alias()
    rows = list(Deduction.select(Deduction, User, recorder).join(User, on=(Deduction.member == User.id))
                .switch(Deduction).join(recorder, on=(Deduction.recorded_by == recorder.id), join_type=JOIN.LEFT_OUTER)
                .where((Deduction.station == branch.id) & (Deduction.month == month))
                .order_by(Deduction.recorded_at.desc(), Deduction.id.desc()))
    stations = list(Station.select().where(Station.work_area == current_user.work_area_id).order_by(Station.sort_order, Station.id)) \
        if current_user.has_role("admin") else []
    return render("assessment/deductions.html", "assessment/_deductions.html", status=status, branch=branch, month=month,
                  members=[m for m in members if m.id != current_user.id], rows=rows, undone=undone_ids(rows),
                  months=open_months(_today()), error=error, form=form or {}, stations=stations,
                  max_points=MAX_DEDUCTION, max_reason=MAX_REASON)


@bp.route("/deductions")
@role_required("secretary", "admin")
def deductions():
    """The branch's deductions of a month, the form to record one and the buttons to undo one."""
    branch = branch_asked(current_user, request.values)
    month = request.args.get("month") or open_months(_today())[0]
    try:
        period = parse_period(month, _today())
    except AssessmentError as exc:
        return _deductions_page(branch, open_months(_today())[0], status=422, error=str(exc))
    if len(period.months) != 1:
        return _deductions_page(branch, open_months(_today())[0], status=422, error=gettext("请选择一个月份。"))
    return _deductions_page(branch, period.text)


def _deduction_member(member_id) -> User:
    """A party member whose deductions the user keeps: 404 outside the user's branch (an admin: the work area), 403
    for a colleague who is not its secretary."""
    member = User.get_or_none(User.id == member_id) if member_id else None
    require_station(current_user, member.station if member else None)
    if not member.is_party_member:
        abort(404)
    if not secretary_of(current_user, member.station_id) and not current_user.has_role("admin"):
        abort(403)
    return member


@bp.route("/deductions", methods=["POST"])
@role_required("secretary", "admin")
def add_deduction():
    """Record a deduction (0 < points ≤ the cap, a reason); a refused one comes back with what was typed (422)."""
    member = _deduction_member(parse_id(request.form.get("member")))
    branch = member.station
    month = request.form.get("month", "")
    try:
        deduction = record_deduction(member, month, request.form.get("points", ""), request.form.get("reason", ""),
                                     current_user._get_current_object(), _today())
    except AssessmentError as exc:
        form = {k: request.form.get(k, "")[:MAX_REASON + 10] for k in ("member", "points", "reason")}
        return _deductions_page(branch, month if month in open_months(_today()) else open_months(_today())[0],
                                status=422, error=str(exc), form=form)
    flash(gettext("已记录：%(name)s %(month)s 扣 %(points)s 分。", name=member.name, month=deduction.month,
                  points=format(deduction.points, "g")), "success")
    return redirect(url_for("assessment.deductions", station=branch.id, month=deduction.month))


@bp.route("/deductions/undo", methods=["POST"])
@role_required("secretary", "admin")
def undo():
    """Undo a deduction with a correcting entry that keeps who undid it and why."""
    deduction_id = parse_id(request.form.get("deduction"))
    deduction = Deduction.get_or_none(Deduction.id == deduction_id) if deduction_id else None
    if deduction is None:
        abort(404)
    member = _deduction_member(deduction.member_id)
    try:
        undo_deduction(deduction, request.form.get("reason", ""), current_user._get_current_object(), _today())
    except AssessmentError as exc:
        return _deductions_page(member.station, deduction.month, status=422, error=str(exc))
    flash(gettext("已撤销第 %(id)s 号扣分（%(name)s %(month)s）。", id=deduction.id, name=member.name, month=deduction.month), "success")
    return redirect(url_for("assessment.deductions", station=member.station_id, month=deduction.month))


@bp.route("/rules", methods=["GET", "POST"])
@role_required("admin")
def rules():
    """The rules editor: the last saved version's rows; saving makes a new version from a month not yet past."""
    versions = rule_versions(current_user.work_area_id)
    today = _today()
    latest = latest_version(versions)
    errors, typed = [], None
    if request.method == "POST":
        valid_from, new_rules, errors, typed = parse_rules(request.form, today)
        if not errors:
            row = save_rules(valid_from, new_rules, current_user._get_current_object())
            flash(gettext("已保存考核规则第 %(version)s 版，自 %(month)s 起计分；之前的月份仍按原规则。", version=row.version,
                          month=gettext("%(year)s年%(month)s月", year=valid_from.year, month=format(valid_from.month, "02d"))),
                  "success")
            return redirect(url_for("assessment.rules"))
    if typed is None:
        typed = rules_form(latest, today)
    current = in_force(versions, today.replace(day=1))
    return render("assessment/rules.html", "assessment/rules.html", status=422 if errors else 200, versions=versions[::-1],
                  current=current, latest=latest, sources=SOURCES, typed=typed, errors=errors)


def _year_scope() -> tuple[list[Station], str]:
    """The branches of the year report: the secretary's own; an admin's pick or the whole work area (default)."""
    asked = request.args.get("station", "")
    if asked in ("", "all") and current_user.has_role("admin"):
        stations = list(Station.select().where(Station.work_area == current_user.work_area_id).order_by(Station.sort_order, Station.id))
        return stations, current_user.work_area.party_org_name
    if asked in ("", "all"):
        station = current_user.station
    elif parse_id(asked):
        station = get_station(parse_id(asked), current_user)
    else:
        abort(404)
    if not current_user.has_role("admin") and not secretary_of(current_user, station.id):
        abort(403)
    return [station], station.branch_name


@bp.route("/year")
@role_required("secretary", "admin")
def year():
    """The year's figures the case study reports, from the records, for a branch or the work area."""
    stations, label = _year_scope()
    text = request.args.get("year") or str(_today().year)
    report, error = None, None
    try:
        report = year_report(stations, parse_year(text, _today()), current_app.config["TIMEZONE"])
    except AssessmentError as exc:
        error = str(exc)
    all_stations = list(Station.select().where(Station.work_area == current_user.work_area_id).order_by(Station.sort_order, Station.id)) \
        if current_user.has_role("admin") else []
    return render("assessment/year.html", "assessment/_year.html", status=422 if error else 200, report=report,
                  error=error, label=label, figures=YEAR_FIGURES, figure_records=FIGURE_RECORDS, year_text=text[:8],
                  stations=all_stations,
                  station_value=request.args.get("station", "all" if current_user.has_role("admin") else ""))


@bp.route("/year/<figure>")
@role_required("secretary", "admin")
def year_figure(figure: str):
    """The records one figure of the year report counts, each opening its page: the figure is checkable."""
    found = next((f for f in YEAR_FIGURES if f.key == figure), None)
    if found is None or figure not in FIGURE_RECORDS:
        abort(404)
    stations, label = _year_scope()
    try:
        year_number = parse_year(request.args.get("year") or str(_today().year), _today())
    except AssessmentError as exc:
        abort(422, description=str(exc))
    tz = current_app.config["TIMEZONE"]
    report = year_report(stations, year_number, tz)
    total = report.columns[-1].values.get(figure, 0)
    records = figure_records(figure, stations, year_number, tz)
    return render_template("assessment/year_figure.html", figure=found, label=label, year=year_number, total=total,
                           records=records, station_value=request.args.get("station", ""),
                           per_member=figure in PER_MEMBER)


@bp.route("/year.<any(xlsx, csv):fmt>")
@role_required("secretary", "admin")
def year_export(fmt: str):
    """The year's figures as .xlsx or CSV, the same numbers as the page."""
    stations, label = _year_scope()
    try:
        year_number = parse_year(request.args.get("year") or str(_today().year), _today())
    except AssessmentError as exc:
        abort(422, description=str(exc))
    write, mimetype = WRITERS[fmt]
    report = year_report(stations, year_number, current_app.config["TIMEZONE"])
    return send_download(write(year_sheets(report, label)), mimetype,
                         gettext("%(scope)s-%(year)s年党建工作量.%(ext)s", scope=label, year=year_number, ext=fmt))
