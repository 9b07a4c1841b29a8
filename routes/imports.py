"""Importing records exported from a phone that could not sync (leaders, from a PC)."""

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext
from flask_login import current_user

from webapp.access import role_required
from webapp.sync import MAX_IMPORT_BYTES, BatchError, import_file

bp = Blueprint("imports", __name__, url_prefix="/imports")


@bp.route("/", methods=["GET", "POST"])
@role_required("leader", "admin")
def create():
    """Upload an exported file; each record is created once, or reported as already there or refused."""
    if request.method == "GET":
        return render_template("imports/create.html", results=None, error=None)
    # Refuse an oversized upload before reading any of it.
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        abort(413)
    request.max_content_length = MAX_IMPORT_BYTES
    upload = request.files.get("file")
    error = None
    results = None
    if upload is None or not upload.filename:
        error = gettext("请选择要导入的记录文件（.json）。")
    else:
        try:
            payload = current_app.json.loads(upload.read().decode("utf-8"))
            results = import_file(current_user._get_current_object(), payload, settings=current_app.config)
        except (UnicodeDecodeError, ValueError):  # ValueError: not JSON, or nested too deep (webapp.JsonProvider)
            error = gettext("文件无法读取：不是有效的 JSON 文本。")
        except BatchError as exc:
            error = exc.message
    status = 422 if error else 200
    return render_template("imports/create.html", results=results, error=error), status
