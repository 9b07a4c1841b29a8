"""三亮 cards: my card, a colleague's full card, the public card behind the QR, badges to print."""
import uuid
from io import BytesIO

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Photo, Station, User, db
from webapp import badges, labels
from webapp.access import require_station
from webapp.party import OPTIONAL_PUBLIC, branch_members, card, commitment_lines, manages_branch, period_label, public_card
from webapp.photo_store import store_for
from webapp.photos import PhotoError, read_photos, store_photo
from webapp.pioneer import current_posts
from webapp.printing import public_base_url, send_download

bp = Blueprint("cards", __name__)


def get_member(user_id: int) -> User:
    """A colleague of the same work area (404 otherwise: ids outside it are not confirmed)."""
    member = User.select(User, Station).join(Station).where(User.id == user_id).first()
    if member is None or member.work_area_id != current_user.work_area_id:
        abort(404)
    return member


def _full(member: User, own: bool):
    if member.is_party_member:
        member.issue_card_token()
    return render_template("cards/show.html", own=own, public=False, url=card_url(member), period_label=period_label,
                           optional=OPTIONAL_PUBLIC, posts=current_posts([member.id]).get(member.id, []), **card(member))


def _post_lines(member_ids) -> dict[int, str]:
    """Per member, their current 示范岗 as one badge line."""
    return {member_id: gettext("、").join(p.title for p in posts) for member_id, posts in current_posts(member_ids).items()}


def _avatars(members) -> dict[str, bytes]:
    """The card photos of these members, by avatar uuid."""
    return read_photos([m.avatar for m in members], store_for(current_app), current_app.config["PHOTO_DIR"])


def card_url(member: User) -> str | None:
    return badges.card_url(public_base_url(), member.card_token) if member.card_token else None


@bp.route("/cards/me")
@login_required
def mine():
    return _full(current_user._get_current_object(), own=True)


@bp.route("/cards/<int:user_id>")
@login_required
def show(user_id: int):
    member = get_member(user_id)
    return _full(member, own=member.id == current_user.id)


@bp.route("/c/<token:token>")
def public(token: str):
    """The public card behind the QR: no login; an unknown and a reissued token look exactly the same."""
    member = None
    if 16 <= len(token) <= 64:
        member = User.select(User, Station).join(Station).where(
            (User.card_token == token) & User.is_enabled & User.is_party_member).first()
    if member is None:
        return render_template("cards/invalid.html"), 404
    response = current_app.make_response(render_template("cards/show.html", own=False, public=True, url=None, token=token,
                                                         period_label=period_label, optional=OPTIONAL_PUBLIC,
                                                         posts=current_posts([member.id]).get(member.id, []),
                                                         **public_card(member)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/c/<token:token>/photo.jpg")
def public_photo(token: str):
    """The member's photo on the public card, only if the member chose to show it."""
    # The same card as /c/<token>: an enabled party member's (a card reissued or withdrawn shows nothing).
    member = User.get_or_none((User.card_token == token) & User.is_enabled & User.is_party_member) \
        if 16 <= len(token) <= 64 else None
    if member is None or not member.avatar or "photo" not in member.public_fields:
        abort(404)
    data = _avatars([member]).get(member.avatar)
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cards/<int:user_id>/qr.png")
@login_required
def qr(user_id: int):
    """The card's QR as shown on the card page."""
    member = get_member(user_id)
    if not member.card_token:
        abort(404)
    out = BytesIO()
    labels.qr_image(badges.card_url(public_base_url(), member.card_token), 440).save(out, "PNG")
    response = send_file(BytesIO(out.getvalue()), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/cards/me/settings", methods=["POST"])
@login_required
def settings():
    chosen = [field for field in OPTIONAL_PUBLIC if request.form.get(field)]
    user = current_user._get_current_object()
    user.card_public = " ".join(chosen)
    user.save(only=[User.card_public])
    flash(gettext("已保存公开卡片的显示设置。"), "success")
    return redirect(url_for("cards.mine"))


@bp.route("/cards/me/reissue", methods=["POST"])
@login_required
def reissue():
    user = current_user._get_current_object()
    if not user.is_party_member:
        abort(403)
    user.issue_card_token(reissue=True)
    flash(gettext("已重新生成三亮卡二维码：旧二维码已失效，请重新打印胸卡。"), "success")
    return redirect(url_for("cards.mine"))


@bp.route("/cards/<int:user_id>/photo", methods=["POST"])
@login_required
def photo(user_id: int):
    """The member or an admin uploads the card photo; it is checked and re-encoded like every photo."""
    member = get_member(user_id)
    if member.id != current_user.id and not current_user.has_role("admin"):
        abort(403)
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        flash(gettext("请选择照片。"), "error")
    else:
        try:
            stored, _ = store_photo(member, str(uuid.uuid4()), upload.read(), store_for(current_app))
        except PhotoError as exc:
            flash(exc.message, "error")
        else:
            # The card photo is part of the card, which colleagues across the work area open.
            with db.atomic():
                Photo.update(shared=True).where(Photo.id == stored.id).execute()
                member.avatar = str(stored.uuid)
                member.save(only=[User.avatar])
            flash(gettext("照片已更新。"), "success")
    return redirect(url_for("cards.mine") if member.id == current_user.id else url_for("cards.show", user_id=member.id))


@bp.route("/cards/<int:user_id>/badge.png")
@login_required
def badge(user_id: int):
    member = get_member(user_id)
    if member.id != current_user.id and not manages_branch(current_user, member.station_id):
        abort(403)
    member.issue_card_token()
    png = badges.badge_png(member, public_base_url(), _avatars([member]).get(member.avatar), member.work_area.party_org_name,
                           commitment_lines([member.id]).get(member.id, ""), _post_lines([member.id]).get(member.id, ""))
    return send_download(png, "image/png", gettext("%(name)s-三亮卡.png", name=member.name))


@bp.route("/cards/branch/<int:station_id>/badges.pdf")
@login_required
def branch_badges(station_id: int):
    station = Station.get_or_none(Station.id == station_id)
    require_station(current_user, station)  # another branch: 404
    if not manages_branch(current_user, station.id):
        abort(403)
    members = list(branch_members(station))
    if not members:
        abort(404)
    for member in members:
        member.issue_card_token()
    lines = commitment_lines([m.id for m in members])
    pdf = badges.badges_pdf([(m, lines.get(m.id, "")) for m in members], public_base_url(), _avatars(members),
                            station.work_area.party_org_name, _post_lines([m.id for m in members]))
    return send_download(pdf, "application/pdf", gettext("%(branch)s-三亮胸卡.pdf", branch=station.branch_name))
