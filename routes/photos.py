"""Serving stored photos, only to those allowed to see the records they belong to (the same station, or an admin).

A photo's bytes never change (they are stored under their hash), so once allowed the browser may keep them a year
without asking again; the ETag is that hash, and a revalidation is answered 304 after the same access checks."""
import logging
import uuid as uuid_module

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user, login_required

from models import Photo, Station
from webapp.access import require_station
from webapp.photo_store import store_for
from webapp.photos import read_photo

CACHE_CONTROL = "private, max-age=31536000, immutable"
log = logging.getLogger("jingzhan.photos")

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
    etag = f"{photo.sha256}{'.thumb' if thumb else ''}"
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        data = read_photo(store_for(current_app), photo.uuid, photo.sha256, thumb, current_app.config["PHOTO_DIR"])
        if data is None:
            log.error("photo %s%s has a row but no bytes in %r", photo.uuid, " (thumbnail)" if thumb else "",
                      store_for(current_app))
            abort(404)
        response = Response(data, mimetype="image/jpeg")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.route("/<uuid>.jpg")
@login_required
def show(uuid: str):
    return _send(uuid, thumb=False)


@bp.route("/<uuid>/thumb.jpg")
@login_required
def thumb(uuid: str):
    return _send(uuid, thumb=True)
