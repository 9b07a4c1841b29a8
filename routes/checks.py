"""The 望闻听摸测 equipment check page (built on the phone from cached templates, so it works offline)."""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("checks", __name__, url_prefix="/checks")


@bp.route("/new")
@login_required
def new():
    return render_template("checks/new.html")
