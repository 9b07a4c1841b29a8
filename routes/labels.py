"""Well QR labels for leaders and admins: the station list, PNG and PDF downloads, regenerating a label."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Well
from webapp import labels
from webapp.access import get_managed_well, get_station, role_required, stations_in_scope
from webapp.printing import public_base_url, send_download

bp = Blueprint("labels", __name__, url_prefix="/labels")

MANAGERS = ("leader", "admin")


@bp.route("/")
@role_required(*MANAGERS)
def index():
    stations = list(stations_in_scope(current_user))
    wells = Well.select().where(Well.station.in_([s.id for s in stations])).order_by(Well.code)
    by_station = {s.id: [] for s in stations}
    for well in wells:
        by_station[well.station_id].append(well)
    per_page = labels.LABELS_PER_PAGE
    sheets = [(s, ws, -(-len(ws) // per_page)) for s in stations if (ws := by_station[s.id])]
    return render_template(
        "labels/index.html",
        sheets=sheets,
        per_page=per_page,
        base_url=public_base_url(),
        base_url_configured=bool(current_app.config.get("BASE_URL")),
    )


@bp.route("/wells/<int:well_id>.png")
@role_required(*MANAGERS)
def well_png(well_id: int):
    well = get_managed_well(well_id, current_user)
    png = labels.well_label_png(well, public_base_url())
    return send_download(png, "image/png", f"{well.code}.png")


@bp.route("/stations/<int:station_id>.pdf")
@role_required(*MANAGERS)
def station_pdf(station_id: int):
    station = get_station(station_id, current_user)
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    if not wells:
        abort(404, description=gettext("%(station)s没有井，没有可打印的标签。", station=station.name))
    pdf = labels.station_labels_pdf(station, wells, public_base_url())
    return send_download(pdf, "application/pdf", gettext("%(station)s井口标签.pdf", station=station.name))


@bp.route("/wells/<int:well_id>/regenerate", methods=["POST"])
@role_required(*MANAGERS)
def regenerate(well_id: int):
    well = get_managed_well(well_id, current_user)
    well.regenerate_token(by=current_user.id)
    flash(gettext("已重新生成 %(code)s 的标签，请打印新标签贴上。旧标签不再算作有效扫码；换标签前离线扫的记录照常保留并注明。", code=well.code), "success")
    return redirect(url_for("labels.index", _anchor=f"well-{well.id}"))
