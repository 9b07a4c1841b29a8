"""井口 NFC 标签 for the work area's admin: the tags, enrolling one to a well (what to program is shown once), revoking."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Station, Well
from webapp import tags
from webapp.access import parse_id, role_required
from webapp.printing import public_base_url

bp = Blueprint("tags", __name__, url_prefix="/tags")


def _wells():
    return (Well.select(Well, Station).join(Station).where(Station.work_area == current_user.work_area_id)
            .order_by(Station.sort_order, Well.code))


def _page(error=None, form=None, status=200):
    return render_template("tags/index.html", tags=list(tags.area_tags(current_user.work_area_id)), wells=list(_wells()),
                           error=error, form=form or {}), status


@bp.route("/")
@role_required("admin")
def index():
    return _page()


@bp.route("/", methods=["POST"])
@role_required("admin")
def enrol():
    """Enrol a tag; the answer shows the URL, offsets and keys to program, once (never cached)."""
    form = {"uid": (request.form.get("uid") or "")[:64], "well_id": request.form.get("well_id", "")}
    well_id = parse_id(request.form.get("well_id"))
    well = _wells().where(Well.id == well_id).first() if well_id is not None else None
    if well is None:
        return _page(gettext("请选择本作业区的一口井。"), form, 422)
    try:
        made = tags.enrol(current_user, well, form["uid"], public_base_url())
    except tags.TagError as exc:
        return _page(str(exc), form, 422)
    response = render_template("tags/programming.html", made=made, well=well)
    return response, 201, {"Cache-Control": "no-store"}


@bp.route("/<int:tag_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke(tag_id: int):
    tag = tags.get_area_tag(tag_id, current_user)
    if tag is None:
        abort(404)
    if tags.revoke(current_user, tag):
        flash(gettext("已停用 %(code)s 的标签 %(uid)s：此后贴它的记录会被标记。", code=tag.well.code, uid=tag.uid), "success")
    return redirect(url_for("tags.index"))
