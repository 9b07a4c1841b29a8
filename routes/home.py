"""The home page of each role, the 记录 tab and the 我的 tab."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, refresh
from flask_login import current_user, login_required
from peewee import Case, fn

from models import Station, User, Well
from webapp.i18n import LANGUAGES

bp = Blueprint("home", __name__)


def station_overview(work_area_id: int):
    """Per station of the work area: wells, key wells, staff, party members, women party members."""
    wells = (
        Well.select(
            Well.station,
            fn.COUNT(Well.id).alias("wells"),
            fn.SUM(Case(None, [(Well.is_key_well, 1)], 0)).alias("key_wells"),
        )
        .join(Station)
        .where(Station.work_area == work_area_id)
        .group_by(Well.station)
    )
    staff = (
        User.select(
            User.station,
            fn.COUNT(User.id).alias("staff"),
            fn.SUM(Case(None, [(User.is_party_member, 1)], 0)).alias("party"),
            fn.SUM(Case(None, [(User.is_party_member & (User.gender == "F"), 1)], 0)).alias("party_women"),
        )
        .where(User.work_area == work_area_id)
        .group_by(User.station)
    )
    well_counts = {row.station_id: row for row in wells}
    staff_counts = {row.station_id: row for row in staff}
    rows = []
    for station in Station.select().where(Station.work_area == work_area_id).order_by(Station.sort_order, Station.id):
        w, s = well_counts.get(station.id), staff_counts.get(station.id)
        rows.append(
            {
                "station": station,
                "wells": w.wells if w else 0,
                "key_wells": int(w.key_wells or 0) if w else 0,
                "staff": s.staff if s else 0,
                "party": int(s.party or 0) if s else 0,
                "party_women": int(s.party_women or 0) if s else 0,
            }
        )
    return rows


@bp.route("/")
@login_required
def index():
    user = current_user
    context = {"station": user.station}
    if user.has_role("admin"):
        rows = station_overview(user.work_area_id)
        context["overview"] = rows
        context["totals"] = {key: sum(r[key] for r in rows) for key in ("wells", "key_wells", "staff", "party", "party_women")}
    if user.has_role("leader"):
        context["key_wells"] = list(
            Well.select().where((Well.station == user.station_id) & Well.is_key_well).order_by(Well.code)
        )
        context["station_counts"] = next(
            (r for r in context.get("overview") or station_overview(user.work_area_id) if r["station"].id == user.station_id),
            None,
        )
    if user.has_role("secretary"):
        context["members"] = list(
            User.select()
            .where((User.station == user.station_id) & User.is_party_member)
            .order_by(User.party_joined_on, User.employee_no)
        )
    context["my_wells"] = list(Well.select().where(Well.contractor == user.id).order_by(Well.code))
    return render_template("home/index.html", **context)


@bp.route("/me")
@login_required
def me():
    return render_template("home/me.html", user=current_user, station=current_user.station, languages=LANGUAGES)


@bp.route("/me/language", methods=["POST"])
@login_required
def set_language():
    """The user's language (issue 10.4): one of LANGUAGES, or "" to follow the browser."""
    choice = request.form.get("language", "")
    if choice and choice not in LANGUAGES:
        flash(gettext("没有这种语言。"), "error")
        return redirect(url_for("home.me"), 303)
    User.update(language=choice).where(User.id == current_user.id).execute()
    current_user.language = choice
    refresh()  # the locale of this request was chosen before the change
    flash(gettext("语言已更改。"), "success")
    return redirect(url_for("home.me"), 303)
