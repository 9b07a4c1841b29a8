"""The worker's own patrols: the 记录 tab."""
from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from models import Equipment, EquipmentCheck, Hazard, Patrol, Well, utcnow
from webapp.evidence import FLAG_LABELS

bp = Blueprint("patrols", __name__)

RECENT_DAYS = 7


@bp.route("/records")
@login_required
def index():
    """Today's and recent patrols that reached the server; the phone adds those still in its outbox."""
    since = utcnow() - timedelta(days=RECENT_DAYS)
    patrols = list(
        Patrol.select(Patrol, Well)
        .join(Well)
        .where((Patrol.author == current_user.id) & (Patrol.device_time >= since))
        .order_by(Patrol.device_time.desc())
        .limit(200)
    )
    checks = list(
        EquipmentCheck.select(EquipmentCheck, Equipment)
        .join(Equipment)
        .where((EquipmentCheck.author == current_user.id) & (EquipmentCheck.device_time >= since))
        .order_by(EquipmentCheck.device_time.desc())
        .limit(200)
    )
    hazards = list(
        Hazard.select()
        .where(((Hazard.reporter == current_user.id) | (Hazard.assignee == current_user.id))
               & (Hazard.still_open() | (Hazard.reported_at >= since)))
        .order_by(Hazard.reported_at.desc())
        .limit(200)
    )
    corrected = set(Patrol.select(Patrol.corrects).where(Patrol.corrects.in_([p.id for p in patrols])).scalars())
    return render_template("patrols/index.html", patrols=patrols, checks=checks, hazards=hazards, corrected=corrected,
                           flag_labels=FLAG_LABELS, statuses=Patrol.REVIEW_STATUSES, days=RECENT_DAYS)
