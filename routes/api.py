"""The JSON API used by the phone (`/api/v1`, described in openapi.yaml)."""
from flask import Blueprint, jsonify
from flask_login import current_user, login_required

from models import ROLES, db, utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")


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
