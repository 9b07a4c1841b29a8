"""The JSON API used by the phone (`/api/v1`, described in openapi.yaml)."""
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext
from flask_login import current_user, login_required

from models import EQUIPMENT_KINDS, ROLES, CheckTemplate, Equipment, Patrol, Well, db, utcnow
from webapp.checks import template_items
from webapp.photo_store import store_for
from webapp.photos import MAX_UPLOAD_BYTES, PhotoError, store_photo
from webapp.patrols import READINGS
from webapp.sync import MAX_BATCH_BYTES, BatchError, sync_batch

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def json_error(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


@bp.route("/health")
def health():
    """Liveness and database reachability, for the phone's connectivity check and for monitoring."""
    db.execute_sql("SELECT 1")
    return jsonify({"status": "ok", "server_time": utcnow().isoformat(timespec="seconds") + "Z"})


@bp.route("/me")
@login_required
def me():
    """Who the phone is logged in as: the author of every record it syncs."""
    user = current_user
    return jsonify(
        {
            "id": user.id,
            "employee_no": user.employee_no,
            "name": user.name,
            "station": {"id": user.station_id, "name": user.station.name},
            "roles": [role for role in ROLES if role in user.roles],
            "is_party_member": user.is_party_member,
        }
    )


@bp.route("/signing-key")
@login_required
def signing_key():
    """The key this user's phone signs exported records with (so nobody can forge them in a file)."""
    user = current_user._get_current_object()
    response = jsonify({"user_id": user.id, "key": user.issue_signing_key()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sync", methods=["POST"])
@login_required
def sync():
    """Receive a batch of field records from the outbox; answer each record created, duplicate or rejected."""
    if request.content_length is not None and request.content_length > MAX_BATCH_BYTES:
        return json_error(413, "too_large", gettext("一次同步的内容不能超过 %(size)s MB，请分批同步。", size=MAX_BATCH_BYTES // 1024 // 1024))
    request.max_content_length = MAX_BATCH_BYTES
    if not request.is_json:
        return json_error(415, "unsupported_media_type", gettext("请以 application/json 格式提交。"))
    payload = request.get_json(silent=True)
    if payload is None:
        return json_error(400, "invalid_json", gettext("请求内容不是有效的 JSON。"))
    try:
        answer = sync_batch(current_user._get_current_object(), payload, settings=current_app.config)
    except BatchError as exc:
        return json_error(exc.status, exc.code, exc.message)
    return jsonify(answer)


@bp.route("/photos", methods=["POST"])
@login_required
def photos():
    """Upload one photo by its uuid (before the record that refers to it); the same uuid again changes nothing."""
    # Form overhead on top of the photo itself.
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES + 64 * 1024:
        return json_error(413, "too_large", gettext("照片不能超过 %(size)s MB。", size=MAX_UPLOAD_BYTES // 1024 // 1024))
    request.max_content_length = MAX_UPLOAD_BYTES + 64 * 1024
    upload = request.files.get("file")
    if upload is None:
        return json_error(400, "missing_file", gettext("没有收到照片文件。"))
    try:
        photo, created = store_photo(current_user._get_current_object(), request.form.get("uuid", ""),
                                     upload.read(), store_for(current_app))
    except PhotoError as exc:
        return json_error(exc.status, exc.code, exc.message)
    body = {"uuid": str(photo.uuid), "status": "created" if created else "duplicate",
            "width": photo.width, "height": photo.height, "size": photo.size}
    return jsonify(body), 201 if created else 200


@bp.route("/check-templates")
@login_required
def check_templates():
    """The current 望闻听摸测 template of every equipment kind (cached by the phone for checks offline)."""
    templates = [t for _, t in sorted(CheckTemplate.currents(current_user.work_area_id).items())]
    return jsonify(
        {
            "templates": [
                {"id": t.id, "kind": t.kind, "kind_label": str(EQUIPMENT_KINDS.get(t.kind, t.kind)), "version": t.version,
                 "items": template_items(t)}
                for t in templates
            ]
        }
    )


@bp.route("/wells")
@login_required
def wells():
    """The well directory of the user's station, cached by the phone for scanning and check-ins offline. A label
    is given by its hash only, and no well's place: the phone holds nothing to fake a scan or a position with."""
    from webapp.labels import label_hash  # here, not at the top: this function is the only user in the module

    station_wells = list(Well.select().where(Well.station == current_user.station_id).order_by(Well.code))
    ids = [w.id for w in station_wells]
    equipment = {}
    station_equipment = []
    for item in Equipment.select().where(Equipment.station == current_user.station_id).order_by(Equipment.id):
        entry = {"id": item.id, "kind": item.kind, "kind_label": item.kind_label, "name": item.name, "model": item.model}
        if item.well_id is None:
            station_equipment.append(entry)
        else:
            equipment.setdefault(item.well_id, []).append(entry)
    last = Patrol.latest_per(Patrol.well, ids)
    body = []
    for well in station_wells:
        patrol = last.get(well.id)
        body.append(
            {
                "id": well.id,
                "code": well.code,
                "kind": well.kind,
                "is_key_well": well.is_key_well,
                "label_hash": label_hash(well.qr_token),
                "patrol_interval_hours": well.patrol_interval_hours,
                "equipment": equipment.get(well.id, []),
                "last_patrol": None if patrol is None else {
                    "at": patrol.device_time.isoformat(timespec="seconds") + "Z",
                    "readings": {k: getattr(patrol, k) for k in READINGS if getattr(patrol, k) is not None},
                },
            }
        )
    return jsonify(
        {
            "station": {"id": current_user.station_id, "name": current_user.station.name},
            "wells": body,
            "station_equipment": station_equipment,
        }
    )
