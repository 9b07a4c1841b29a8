"""Commitments (承诺): members draft and submit, the branch secretary approves or returns and rates; progress from the phone."""
import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Commitment, CommitmentProgress, Station, User
from webapp.access import require_station, role_required
from webapp.periods import today_in
from webapp.party import (
    PartyError,
    draft_commitment,
    period_label,
    periods,
    progress_totals,
    rate_commitment,
    rating_opens,
    review_commitment,
    may_review,
    secretary_of,
    submit_commitment,
)

bp = Blueprint("commitments", __name__, url_prefix="/commitments")


def get_commitment(commitment_id: int) -> Commitment:
    """A commitment the user may see: their own, or any of their branch for its secretary (an admin: the work area)."""
    commitment = Commitment.select(Commitment, User, Station).join(User, on=Commitment.member).switch(Commitment).join(
        Station).where(Commitment.id == commitment_id).first()
    require_station(current_user, commitment.station if commitment else None)  # another branch's: 404
    user = current_user
    if commitment.member_id != user.id and not secretary_of(user, commitment.station_id) and not user.has_role("admin"):
        abort(403)
    return commitment


def _today():
    return today_in(current_app.config["TIMEZONE"])


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """My commitments, and the form to draft a new one."""
    error = None
    form = {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            commitment = draft_commitment(current_user._get_current_object(), form, _today())
        except PartyError as exc:
            error = str(exc)
        else:
            if form.get("submit"):
                submit_commitment(current_user._get_current_object(), commitment)
                flash(gettext("承诺已提交支部审核。"), "success")
            else:
                flash(gettext("承诺草稿已保存。"), "success")
            return redirect(url_for("commitments.index"))
    mine = list(Commitment.select().where(Commitment.member == current_user.id).order_by(Commitment.period.desc(), Commitment.id.desc()))
    totals = progress_totals([c.id for c in mine])
    return render_template(
        "commitments/index.html", commitments=mine, totals=totals, error=error, form=form,
        periods=periods(_today()), categories=Commitment.CATEGORIES, period_label=period_label,
    ), (422 if error else 200)


@bp.route("/<int:commitment_id>")
@login_required
def show(commitment_id: int):
    commitment = get_commitment(commitment_id)
    progress = list(CommitmentProgress.select().where(CommitmentProgress.commitment == commitment).order_by(CommitmentProgress.device_time.desc()))
    total = sum(p.quantity or 0 for p in progress)
    return render_template("commitments/show.html", commitment=commitment, progress=progress, total=total,
                           period_label=period_label, ratings=Commitment.RATINGS, json=json,
                           can_review=may_review(current_user, commitment), rating_opens=rating_opens,
                           today=today_in(current_app.config["TIMEZONE"]))


@bp.route("/<int:commitment_id>/submit", methods=["POST"])
@login_required
def submit(commitment_id: int):
    commitment = get_commitment(commitment_id)
    try:
        submit_commitment(current_user._get_current_object(), commitment)
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("承诺已提交支部审核。"), "success")
    return redirect(url_for("commitments.show", commitment_id=commitment.id))


@bp.route("/review")
@role_required("secretary")
def review_list():
    """The branch's commitments waiting for review, and the approved ones to rate."""
    branch = Commitment.select(Commitment, User).join(User, on=Commitment.member).where(Commitment.station == current_user.station_id)
    waiting = list(branch.where(Commitment.status == "submitted").order_by(Commitment.created_at))
    approved = list(branch.where(Commitment.status == "approved").order_by(User.employee_no, Commitment.period))
    return render_template("commitments/review.html", waiting=waiting, approved=approved, period_label=period_label,
                           totals=progress_totals([c.id for c in approved]), ratings=Commitment.RATINGS,
                           rating_opens=rating_opens, today=today_in(current_app.config["TIMEZONE"]))


@bp.route("/<int:commitment_id>/review", methods=["POST"])
@role_required("secretary", "admin")
def review(commitment_id: int):
    commitment = get_commitment(commitment_id)
    try:
        review_commitment(current_user._get_current_object(), commitment, request.form.get("decision") == "approve",
                          request.form.get("comment", ""))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("已公开承诺。") if commitment.status == "approved" else gettext("已退回修改。"), "success")
    return redirect(_back(commitment))


def _back(commitment):
    """Back to the branch's review list for its secretary; to the commitment itself for the 党总支 level."""
    if secretary_of(current_user, commitment.station_id):
        return url_for("commitments.review_list")
    return url_for("commitments.show", commitment_id=commitment.id)


@bp.route("/<int:commitment_id>/rate", methods=["POST"])
@role_required("secretary", "admin")
def rate(commitment_id: int):
    commitment = get_commitment(commitment_id)
    try:
        rate_commitment(current_user._get_current_object(), commitment, request.form.get("rating", ""),
                        today_in(current_app.config["TIMEZONE"]))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("已评定：%(rating)s。", rating=commitment.rating_label), "success")
    return redirect(_back(commitment))
