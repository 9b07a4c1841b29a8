"""The branch secretary's contact pairing admin: 承包井 and paired colleagues / contact persons, kept with dates."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Pairing, User, Well, WellContract
from webapp.access import parse_id, requested_id, role_required
from webapp.periods import today_in
from webapp.party import PartyError, assign_contract, branch_members, set_pairing

bp = Blueprint("party", __name__, url_prefix="/party")


def _user_in_branch(user_id) -> User | None:
    user_id = parse_id(user_id)
    if user_id is None:
        return None
    return User.get_or_none((User.id == user_id) & (User.station == current_user.station_id))


@bp.route("/contacts")
@role_required("secretary")
def contacts():
    station = current_user.station
    members = list(branch_members(station))
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    staff = list(User.select().where((User.station == station) & User.is_enabled).order_by(User.employee_no))
    current = list(Pairing.select().where((Pairing.member.in_([m.id for m in members])) & Pairing.end_date.is_null()))
    by_member = {m.id: {"colleague": [], "contact": []} for m in members}
    names = {u.id: u for u in staff}
    for pairing in current:
        by_member[pairing.member_id][pairing.kind].append(pairing)
    history = list(
        WellContract.select().join(Well).where((Well.station == station) & WellContract.end_date.is_null(False))
        .order_by(WellContract.end_date.desc()).limit(20)
    )
    ended = list(
        Pairing.select().where(Pairing.member.in_([m.id for m in members]) & Pairing.end_date.is_null(False))
        .order_by(Pairing.end_date.desc()).limit(20)
    )
    return render_template("party/contacts.html", station=station, members=members, wells=wells, staff=staff,
                           pairings=by_member, names=names, history=history, ended=ended, kinds=Pairing.KINDS)


@bp.route("/contracts", methods=["POST"])
@role_required("secretary")
def contract():
    well = Well.get_or_none((Well.id == requested_id(request.form, "well_id")) & (Well.station == current_user.station_id))
    if well is None:
        abort(404)
    member_id = request.form.get("member_id", "")
    member = _user_in_branch(member_id) if member_id else None
    if member_id and member is None:
        abort(404)
    try:
        assign_contract(current_user._get_current_object(), well, member, today_in(current_app.config["TIMEZONE"]))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("%(well)s 的承包党员已改为 %(member)s。", well=well.code, member=member.name if member else gettext("（无）")),
              "success")
    return redirect(url_for("party.contacts") + f"#well-{well.id}")


@bp.route("/pairings", methods=["POST"])
@role_required("secretary")
def pairing():
    member = _user_in_branch(request.form.get("member_id", ""))
    partner = User.get_or_none((User.id == requested_id(request.form, "partner_id")) & (User.work_area == current_user.work_area_id))
    if member is None or partner is None:
        abort(404)
    try:
        set_pairing(current_user._get_current_object(), member, partner, request.form.get("kind", ""),
                    request.form.get("active") == "1", today_in(current_app.config["TIMEZONE"]))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("已更新联系点和联系人。"), "success")
    return redirect(url_for("party.contacts") + f"#member-{member.id}")
