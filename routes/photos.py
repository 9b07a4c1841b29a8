"""Serving stored photos, only to those allowed to see the records they belong to (the same station, or an admin)."""
import uuid as uuid_module

from flask import Blueprint, abort, current_app, send_file
from flask_login import current_user, login_required

from models import Photo, Station
from webapp.access import require_station
from webapp.photos import photo_path

bp = Blueprint("photos", __name__, url_prefix="/photos")


def _photo(uuid: str) -> Photo:
    try:
        parsed = uuid_module.UUID(uuid)
    except ValueError:
        abort(404)
    # Checked here: PostgreSQL would refuse a malformed uuid with an error, not an empty result.
    if str(parsed) != uuid:
        abort(404)
    photo = Photo.select(Photo, Station).join(Station).where(Photo.uuid == parsed).first()
    if photo is None or photo.station.work_area_id != current_user.work_area_id:
        abort(404)
    if not photo.shared:  # pictures of procedures and cards are for the whole work area
        require_station(current_user, photo.station)
    return photo


def _send(uuid: str, thumb: bool):
    photo = _photo(uuid)
    response = send_file(photo_path(current_app.config["PHOTO_DIR"], str(photo.uuid), thumb=thumb), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/<uuid>.jpg")
@login_required
def show(uuid: str):
    return _send(uuid, thumb=False)


@bp.route("/<uuid>/thumb.jpg")
@login_required
def thumb(uuid: str):
    return _send(uuid, thumb=True)
