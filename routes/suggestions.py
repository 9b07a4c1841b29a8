"""合理化建议: the phone's form (offline), the author's list in 我的, and the branch's decisions."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from models import Suggestion
from webapp.access import branch_asked, require_station, role_required, stations_in_scope
from webapp.periods import today_in
from webapp.htmx import is_htmx, render
from webapp.party import PartyError, secretary_of
from webapp.reports import ReportError, parse_month
from webapp.suggestions import MAX_BODY, MAX_NOTE, MAX_TITLE, branch_suggestions, decide, listing, may_decide

bp = Blueprint("suggestions", __name__, url_prefix="/suggestions")

FILTERS = {"all": _l("全部"), **Suggestion.STATUSES}


def get_suggestion(suggestion_id: int) -> Suggestion:
    """A suggestion the user may read: their own, their branch's as its secretary, the work area's as an admin."""
    suggestion = listing().where(Suggestion.id == suggestion_id).first()
    require_station(current_user, suggestion.station if suggestion else None)  # another branch's: 404
    user = current_user
    if suggestion.author_id != user.id and not secretary_of(user, suggestion.station_id) and not user.has_role("admin"):
        abort(403)
    return suggestion


def _decision_context(**extra) -> dict:
    return {"may_decide": may_decide, "max_note": MAX_NOTE, **extra}


@bp.route("/")
@login_required
def index():
    """我的建议: what I suggested and what the branch decided."""
    mine = list(listing().where(Suggestion.author == current_user.id))
    return render_template("suggestions/index.html", suggestions=mine, **_decision_context())


@bp.route("/new")
@login_required
def new():
    """The form; the phone saves it into the outbox (offline too)."""
    return render_template("suggestions/new.html", max_title=MAX_TITLE, max_body=MAX_BODY)


@bp.route("/branch")
@role_required("secretary", "admin")
def branch():
    """The branch's suggestions to decide, filtered by status and month (htmx swaps the list)."""
    station = branch_asked(current_user, request.args)
    status = request.args.get("status", "all")
    status = status if status in FILTERS else "all"
    month_text, month, error = request.args.get("month", "").strip(), None, None
    if month_text:
        try:
            month = parse_month(month_text, today_in(current_app.config["TIMEZONE"]))
        except ReportError as exc:
            error = exc.message
    suggestions = [] if error else branch_suggestions(station.id, status, month, current_app.config["TIMEZONE"])
    return render("suggestions/branch.html", "suggestions/_list.html", status=422 if error else 200,
                  station=station, stations=list(stations_in_scope(current_user)), suggestions=suggestions,
                  show=status, month=month_text, error=error, filters=FILTERS, **_decision_context())


@bp.route("/<int:suggestion_id>")
@login_required
def show(suggestion_id: int):
    return render_template("suggestions/show.html", s=get_suggestion(suggestion_id), **_decision_context())


@bp.route("/<int:suggestion_id>/decision", methods=["POST"])
@login_required
def decision(suggestion_id: int):
    """Adopt or decline, or change the decision; htmx swaps the suggestion in the branch's list."""
    suggestion = get_suggestion(suggestion_id)
    if not may_decide(current_user, suggestion):
        abort(403)
    try:
        decide(current_user._get_current_object(), suggestion, request.form.get("decision", ""),
               request.form.get("note", ""), current_app.config["TIMEZONE"])
    except PartyError as exc:
        return render("suggestions/show.html", "suggestions/_suggestion.html", status=422, s=get_suggestion(suggestion_id),
                      **_decision_context(error=str(exc), note=request.form.get("note", "")))
    if is_htmx():
        return render("suggestions/show.html", "suggestions/_suggestion.html", s=get_suggestion(suggestion_id),
                      **_decision_context())
    flash(gettext("已处理：%(decision)s。", decision=suggestion.status_label), "success")
    if secretary_of(current_user, suggestion.station_id):
        return redirect(url_for("suggestions.branch") + f"#suggestion-{suggestion.id}")
    return redirect(url_for("suggestions.show", suggestion_id=suggestion.id))
