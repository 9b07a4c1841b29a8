"""Onboarding a work area from spreadsheets (admins): templates, upload → preview → confirm, one-time passwords.

Between the preview and the confirmation the parsed rows wait server-side (webapp.onboarding.Store, a JSON file
under the instance folder named by a random token that is also kept in the admin's signed session); the confirm
re-checks them against the database inside the transaction that writes them.
"""
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from webapp import onboarding
from webapp.access import role_required
from webapp.exports import XLSX_MIMETYPE
from webapp.periods import today_in
from webapp.printing import send_download

bp = Blueprint("onboarding", __name__, url_prefix="/admin/onboarding")

PREVIEW_KEY = "onboarding_preview"
RESULT_KEY = "onboarding_result"


def _store() -> onboarding.Store:
    return onboarding.Store(Path(current_app.config["INSTANCE_PATH"]) / "onboarding")


def _no_store(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _page(problems=None, counts=None, token=None, files=None, status=200):
    html = render_template("onboarding/index.html", kinds=onboarding.KIND_LABELS, problems=problems or [],
                           counts=counts, token=token, files=files or [], max_rows=onboarding.MAX_ROWS)
    return _no_store(current_app.make_response((html, status)))


@bp.route("/")
@role_required("admin")
def index():
    """The upload form, with the four templates."""
    return _page()


@bp.route("/template/<kind>.xlsx")
@role_required("admin")
def template(kind: str):
    if kind not in onboarding.SPECS:
        abort(404)
    filename = gettext("%(sheet)s导入模板.xlsx", sheet=onboarding.KIND_LABELS[kind])
    return send_download(onboarding.template_xlsx(kind), XLSX_MIMETYPE, filename)


@bp.route("/preview", methods=["POST"])
@role_required("admin")
def preview():
    """Check every uploaded file and the rows together; show what would change, or every problem."""
    rows, problems, files = {}, [], []
    for kind in onboarding.KINDS:
        upload = request.files.get(kind)
        if upload is None or not upload.filename:
            continue
        files.append((kind, upload.filename[:80]))
        if not upload.filename.lower().endswith(".xlsx"):
            problems.append(onboarding.Problem(kind, 0, onboarding.not_xlsx()))
            continue
        rows[kind], found = onboarding.parse_upload(kind, upload.read(), today_in(current_user.work_area.timezone))
        problems += found
    if not files:
        return _page(problems=[onboarding.Problem("", 0, gettext("请至少选择一个文件。"))], status=422)
    result = onboarding.plan(current_user.work_area, rows)
    problems = sorted(problems + result.problems, key=lambda p: (onboarding.KINDS.index(p.kind), p.row))
    if problems:
        return _page(problems=problems, counts=result.counts, files=files, status=422)
    token = _store().put({"user": current_user.id, "rows": rows})
    old = session.get(PREVIEW_KEY)
    if old:
        _store().drop(old)
    session[PREVIEW_KEY] = token
    return _page(counts=result.counts, token=token, files=files)


@bp.route("/apply", methods=["POST"])
@role_required("admin")
def apply():
    """Apply the previewed rows in one transaction, then show the result with the one-time passwords."""
    token = request.form.get("token", "")
    store = _store()
    payload = store.get(token) if token and token == session.get(PREVIEW_KEY) else None
    if payload is None or payload.get("user") != current_user.id:
        return _page(problems=[onboarding.Problem("", 0, gettext("预览已过期或不属于您，请重新上传文件。"))], status=422)
    try:
        result = onboarding.apply(current_user.work_area, payload["rows"])
    except onboarding.ImportRefused as refused:
        return _page(problems=refused.problems, status=422)
    store.drop(token)
    session.pop(PREVIEW_KEY, None)
    old = session.get(RESULT_KEY)
    if old:
        store.drop(old)
    result_token = store.put({"user": current_user.id, "counts": result.counts, "passwords": result.passwords,
                              "new_wells": len(result.new_well_ids)})
    session[RESULT_KEY] = result_token
    return redirect(url_for("onboarding.result", token=result_token))


def _result(token: str) -> dict:
    payload = _store().get(token) if token == session.get(RESULT_KEY) else None
    if payload is None or payload.get("user") != current_user.id:
        abort(404)
    return payload


@bp.route("/result/<token:token>")
@role_required("admin")
def result(token: str):
    """What the import did, and the new accounts' one-time passwords (printable)."""
    payload = _result(token)
    html = render_template("onboarding/result.html", token=token, kinds=onboarding.KIND_LABELS, **payload)
    return _no_store(current_app.make_response(html))


@bp.route("/result/<token:token>/passwords.xlsx")
@role_required("admin")
def passwords(token: str):
    payload = _result(token)
    data = onboarding.passwords_xlsx(current_user.work_area.name, payload["passwords"])
    return send_download(data, XLSX_MIMETYPE, gettext("新账号初始密码.xlsx"))


@bp.route("/result/<token:token>/clear", methods=["POST"])
@role_required("admin")
def clear(token: str):
    """Forget the one-time passwords on the server once they are printed."""
    _result(token)
    _store().drop(token)
    session.pop(RESULT_KEY, None)
    return redirect(url_for("onboarding.index"))
