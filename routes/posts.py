"""党员示范岗: the branch secretary assigns model posts to members; ending one keeps it, with its dates, as history."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import ModelPost, User
from webapp.access import branch_asked, parse_id, require_station, role_required, stations_in_scope
from webapp.periods import today_in
from webapp.party import PartyError, branch_members
from webapp.party import manages_branch
from webapp.pioneer import MAX_POST_TITLE, assign_post, current_posts, end_post

bp = Blueprint("posts", __name__, url_prefix="/posts")


def _back(station_id: int, member_id: int):
    return redirect(url_for("posts.index", station=station_id) + f"#member-{member_id}")


@bp.route("/")
@role_required("secretary", "admin")
def index():
    """The branch's members with their current 示范岗, the form to assign one, and the ended ones."""
    station = branch_asked(current_user, request.args)
    if not manages_branch(current_user, station.id):
        abort(403)
    members = list(branch_members(station))
    ids = [m.id for m in members]
    ended = list(
        ModelPost.select(ModelPost, User).join(User, on=ModelPost.member)
        .where(ModelPost.member.in_(ids) & ModelPost.end_date.is_null(False))
        .order_by(ModelPost.end_date.desc(), ModelPost.id.desc()).limit(30)
    ) if ids else []
    return render_template("posts/index.html", station=station, stations=list(stations_in_scope(current_user)),
                           members=members, posts=current_posts(ids), ended=ended, max_title=MAX_POST_TITLE)


@bp.route("/", methods=["POST"])
@role_required("secretary", "admin")
def create():
    member_id = parse_id(request.form.get("member_id"))
    member = User.get_or_none(User.id == member_id) if member_id else None
    require_station(current_user, member.station if member else None)  # another branch's member: 404
    if not manages_branch(current_user, member.station_id):
        abort(403)
    try:
        post = assign_post(current_user._get_current_object(), member, request.form.get("title", ""),
                           today_in(current_app.config["TIMEZONE"]))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("%(name)s 已设为“%(post)s”。", name=member.name, post=post.title), "success")
    return _back(member.station_id, member.id)


@bp.route("/<int:post_id>/end", methods=["POST"])
@role_required("secretary", "admin")
def end(post_id: int):
    """End a 示范岗 today (撤销); it stays in the history."""
    post = ModelPost.select(ModelPost, User).join(User, on=ModelPost.member).where(ModelPost.id == post_id).first()
    require_station(current_user, post.member.station if post else None)  # another branch's: 404
    if not manages_branch(current_user, post.member.station_id):
        abort(403)
    try:
        end_post(current_user._get_current_object(), post, today_in(current_app.config["TIMEZONE"]))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("已撤销 %(name)s 的“%(post)s”。", name=post.member.name, post=post.title), "success")
    return _back(post.member.station_id, post.member_id)
