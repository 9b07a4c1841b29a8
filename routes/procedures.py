"""Reading the operating procedures (操作规程) on the phone, offline too."""
import json

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from models import Procedure
from webapp.procedures import topics

bp = Blueprint("procedures", __name__, url_prefix="/procedures")


@bp.route("/")
@login_required
def index():
    current = Procedure.currents(current_user.work_area_id)
    return render_template("procedures/index.html", topics=topics(), current=current)


@bp.route("/<topic>")
@login_required
def show(topic: str):
    names = topics()
    if topic not in names:
        abort(404)
    procedure = Procedure.current(topic, current_user.work_area_id)
    photos = json.loads(procedure.photos) if procedure else []
    return render_template("procedures/show.html", topic=topic, name=names[topic], procedure=procedure, photos=photos)
