"""采油厂 pages for the plant admin: every work area's overview, and opening a new work area with its first admin."""
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import AuthEvent, utcnow
from webapp.access import deny, role_required
from webapp.plants import PlantError, area_overview, create_work_area, get_work_area, plant_of, plant_overview, rename_plant

bp = Blueprint("plant", __name__, url_prefix="/plant")


def _plant():
    plant = plant_of(current_user)
    if plant is None:  # a plant admin whose work area belongs to no plant has nothing to see
        deny(403, "plant")
    return plant


def _no_store(response):
    """Pages with a one-time password are never kept: not by the browser, not by the offline copy."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/")
@role_required("plant_admin")
def index():
    plant = _plant()
    areas = plant_overview(plant.id, current_app.config["TIMEZONE"], utcnow())
    return render_template("plant/index.html", plant=plant, areas=areas, form={}, error=None, name_error=None)


@bp.route("/name", methods=["POST"])
@role_required("plant_admin")
def rename():
    plant = _plant()
    old_name = plant.name
    try:
        rename_plant(plant, request.form.get("name"))
    except PlantError as exc:
        areas = plant_overview(plant.id, current_app.config["TIMEZONE"], utcnow())
        page = render_template("plant/index.html", plant=plant, areas=areas, form={}, error=None, name_error=str(exc),
                               typed_name=request.form.get("name", "")[:200])
        return make_response(page, 422)
    AuthEvent.record("plant_renamed", user=current_user._get_current_object(), address=request.remote_addr or "",
                     detail=f"{old_name} → {plant.name}")
    flash(gettext("采油厂名称已改为“%(name)s”。", name=plant.name), "success")
    return redirect(url_for("plant.index"), 303)


@bp.route("/areas/<int:area_id>")
@role_required("plant_admin")
def area(area_id: int):
    plant = _plant()
    work_area = get_work_area(plant.id, area_id)
    if work_area is None:
        abort(404)
    overview = area_overview(work_area, current_app.config["TIMEZONE"], utcnow())
    return render_template("plant/area.html", plant=plant, **overview)


@bp.route("/areas", methods=["POST"])
@role_required("plant_admin")
def create():
    plant = _plant()
    try:
        created = create_work_area(plant.id, request.form)
    except PlantError as exc:
        areas = plant_overview(plant.id, current_app.config["TIMEZONE"], utcnow())
        page = render_template("plant/index.html", plant=plant, areas=areas, form=request.form, error=str(exc),
                               name_error=None)
        return _no_store(make_response(page, 422))
    # The detail is a stored record of the audit log, written once in the source language.
    AuthEvent.record(  # i18n: data
        "work_area_created", user=current_user._get_current_object(), address=request.remote_addr or "",
        detail=f"{created.area.name} · 管理员 {created.admin.employee_no}")
    return _no_store(make_response(render_template("plant/created.html", plant=plant, created=created)))
