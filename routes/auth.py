"""Login with 工号 and password, logout, and changing one's password."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required

from models import AuthEvent, User, db
from webapp import logins, sessions
from webapp.errors import error_response, wants_json
from webapp.htmx import is_background_fetch, is_htmx
from webapp.passwords import password_problem
from webapp.text import clean_line

bp = Blueprint("auth", __name__)

MAX_FIELD = 128
# What a user who must replace a password someone else chose may still open.
OPEN_BEFORE_OWN_PASSWORD = {"auth.change_password", "auth.logout", "auth.login", "static", "pwa.service_worker",
                            "pwa.offline", "pwa.manifest", "pwa.icon", "api.health", "api.me", "api.signing_key",
                            "notifications.count"}


@bp.before_app_request
def require_own_password():
    """A printed one-time password (onboarding, a reset by the admin) opens only the page to choose one's own."""
    # The endpoint first: static files and the service worker never load the session for this.
    if request.endpoint in OPEN_BEFORE_OWN_PASSWORD:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    message = gettext("请先设置您自己的密码：初始密码只能用来登录一次。")
    if wants_json():
        return make_response(jsonify({"error": {"code": "password_change_required", "message": message}}), 403)
    if is_background_fetch():
        return error_response(403, message)
    target = url_for("auth.change_password")
    if is_htmx():
        response = error_response(403, message)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)  # the page itself says why (templates/auth/password.html)


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login; anything else goes home."""
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("home.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    error = None
    employee_no = ""
    remember = True
    status = 200
    retry_after = None
    if request.method == "POST":
        employee_no = clean_line(request.form.get("employee_no"), MAX_FIELD).upper()
        password = request.form.get("password", "")
        remember = bool(request.form.get("remember"))
        if not employee_no or not password:
            error, status = gettext("请输入工号和密码。"), 422
        else:
            result = logins.attempt(employee_no, password, request.remote_addr or "")
            if result.user is not None:
                result.user.issue_signing_key()
                sessions.log_in(result.user, remember=remember)
                return redirect(safe_next(request.args.get("next")))
            error, status, retry_after = result.error, result.status, result.retry_after
    page = render_template("auth/login.html", error=error, employee_no=employee_no, remember=remember)
    response = make_response(page, status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.log_out()
    flash(gettext("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


def _too_many(checked, page):
    """The password typed again too often wrongly: the account is locked for a while (logins.reconfirm)."""
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(checked.retry_after)
    return response


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        user = current_user._get_current_object()
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        confirm = request.form.get("confirm_password", "")
        # Checked exactly as typed: a longer text than any password may be is simply wrong, never cut short.
        checked = logins.reconfirm(user, current, request.remote_addr or "", "change_password")
        if checked.user is None:
            if checked.status == 429:
                return _too_many(checked, render_template("auth/password.html", errors={"current_password": checked.error}))
            errors["current_password"] = checked.error
        problem = password_problem(new, employee_no=user.employee_no, label=gettext("新密码"),
                                   context_words=current_app.config["PASSWORD_CONTEXT_WORDS"])
        if problem:
            errors["new_password"] = problem
        elif new == current:
            errors["new_password"] = gettext("新密码不能与当前密码相同。")
        if new != confirm:
            errors["confirm_password"] = gettext("两次输入的新密码不一致。")
        if not errors:
            remember = sessions.request_session().persistent
            with db.atomic():
                user.set_password(new)
                user.must_change_password = False
                user.save(only=[User.password_hash, User.must_change_password])  # ends every session, this one too
                AuthEvent.record("password_changed", user=user, address=request.remote_addr or "")
            # This device goes on with a new session; the others must log in with the new password.
            sessions.log_in(user, remember=remember)
            flash(gettext("密码已修改，其他设备上的登录已失效。"), "success")
            return redirect(url_for("home.me"))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)


@bp.route("/sessions", methods=["GET", "POST"])
@login_required
def devices():
    """The devices logged in to this account; with the password again, log out every one but this."""
    current = sessions.request_session()
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        checked = logins.reconfirm(current_user._get_current_object(), password, request.remote_addr or "", "end_sessions")
        if checked.status == 429:
            return _too_many(checked, render_template("auth/sessions.html", rows=sessions.live_sessions(current_user),
                                                      current=current, error=checked.error,
                                                      device_label=sessions.device_label))
        if checked.user is None:
            error = gettext("密码不正确。")
        else:
            count = sessions.end_other_sessions(current)
            flash(ngettext("已让其他 %(num)s 台设备退出登录。", "已让其他 %(num)s 台设备退出登录。", count) if count
                  else gettext("没有其他设备在登录。"), "success")
            return redirect(url_for("auth.devices"))
    rows = sessions.live_sessions(current_user)
    return render_template("auth/sessions.html", rows=rows, current=current, error=error,
                           device_label=sessions.device_label), (422 if error else 200)
