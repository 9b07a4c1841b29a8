"""A well's history (井史): the timeline of its records and charts of each reading."""
from datetime import timedelta

from flask import Blueprint, current_app, request
from flask_login import current_user, login_required

from models import Patrol, utcnow
from webapp.access import get_well
from webapp.charts import line_chart
from webapp.history import RANGES, number, parse_cursor, parse_range, series, timeline
from webapp.htmx import is_htmx, render
from webapp.evidence import FLAG_LABELS

bp = Blueprint("history", __name__)



@bp.route("/wells/<int:well_id>/history")
@login_required
def show(well_id: int):
    """The charts and the first page of the timeline; htmx asks for later pages (?before=…) as a fragment."""
    well = get_well(current_user, well_id=well_id)  # whoever may open the well page, nobody else
    days = parse_range(request.args.get("range"))
    cursor = parse_cursor(request.args.get("before"), request.args.get("key"))
    tz = current_app.config["TIMEZONE"]
    end = utcnow()
    charts = [] if is_htmx() else series(well, days, end, tz)
    return render(
        "history/show.html", "history/_timeline.html",
        well=well, timeline=timeline(well, cursor), cursor=cursor, days=days, ranges=RANGES,
        charts=[(s, line_chart(s, end - timedelta(days=days), end, tz)) for s in charts],
        number=number, flag_labels=FLAG_LABELS, review_statuses=Patrol.REVIEW_STATUSES,
        may_review=current_user.has_role("admin") or (current_user.has_role("leader") and current_user.station_id == well.station_id),
    )
