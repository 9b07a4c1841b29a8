"""Login with 工号 and password, logout, and changing one's password."""
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from models import User, db, utcnow
from webapp.text import clean_line

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "工号或密码不正确，请重新输入。"
# Checked when the 工号 is unknown, so a wrong 工号 costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
MAX_FIELD = 128


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login; anything else goes home."""
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("home.index")
    return target


def authenticate(employee_no: str, password: str) -> tuple[User | None, str | None]:
    """The user for these credentials, or None and the Chinese reason."""
    user = User.get_or_none(User.employee_no == employee_no)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None, BAD_CREDENTIALS
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return None, f"登录失败次数过多，账号已暂时锁定，请 {minutes} 分钟后再试，或联系作业区管理员。"
    if not user.check_password(password):
        with db.atomic():
            user.failed_logins += 1
            if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
                user.failed_logins = 0
            user.save(only=[User.failed_logins, User.locked_until])
        return None, BAD_CREDENTIALS
    # Only someone who knows the password learns that the account is disabled.
    if not user.is_enabled:
        return None, "该账号已停用，请联系作业区管理员。"
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        user.save(only=[User.failed_logins, User.locked_until])
    return user, None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    error = None
    employee_no = ""
    remember = True
    if request.method == "POST":
        employee_no = clean_line(request.form.get("employee_no"), MAX_FIELD).upper()
        password = request.form.get("password", "")
        remember = bool(request.form.get("remember"))
        if not employee_no or not password:
            error = "请输入工号和密码。"
        elif len(password) > MAX_FIELD:
            error = BAD_CREDENTIALS
        else:
            user, error = authenticate(employee_no, password)
            if user is not None:
                user.issue_signing_key()
                login_user(user, remember=remember, duration=timedelta(seconds=current_app.config["REMEMBER_COOKIE_DURATION"]))
                return redirect(safe_next(request.args.get("next")))
    status = 200 if error is None else (422 if request.method == "POST" else 200)
    return render_template("auth/login.html", error=error, employee_no=employee_no, remember=remember), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        confirm = request.form.get("confirm_password", "")
        if not current_user.check_password(current[:MAX_FIELD]):
            errors["current_password"] = "当前密码不正确。"
        if len(new) < 8:
            errors["new_password"] = "新密码至少 8 位。"
        elif len(new) > MAX_FIELD:
            errors["new_password"] = f"新密码不能超过 {MAX_FIELD} 位。"
        elif new == current:
            errors["new_password"] = "新密码不能与当前密码相同。"
        if new != confirm:
            errors["confirm_password"] = "两次输入的新密码不一致。"
        if not errors:
            user = current_user._get_current_object()
            user.set_password(new)
            user.save(only=[User.password_hash])
            # The session id carries a tag of the password: log in again to keep this device.
            login_user(user, remember=True)
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("home.me"))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)
