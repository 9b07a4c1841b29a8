"""The bell: the user's notifications (a view of the records, webapp/notifications.py), and the optional Web Push
subscription of this phone."""
from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from webapp import push
from webapp.notifications import KIND_LABELS, feed, mark_seen, unread

bp = Blueprint("notifications", __name__)


@bp.route("/notifications/")
@login_required
def index():
    user = current_user._get_current_object()
    items = feed(user, current_app.config["TIMEZONE"])
    response = make_response(render_template(
        "notifications/index.html", items=items, seen_before=user.notifications_seen_at, kinds=KIND_LABELS,
        push_key=current_app.config["VAPID_PUBLIC_KEY"] if push.configured(current_app.config) else ""))
    response.headers["Cache-Control"] = "private, no-store"  # never from the offline copy: it would be stale
    return response


@bp.route("/notifications/seen", methods=["POST"])
@login_required
def seen():
    """Opening the list reads it: the page posts this once shown (a GET changes nothing), or the button does."""
    mark_seen(current_user._get_current_object())
    if request.headers.get("HX-Request"):
        return "", 204
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/count")
@login_required
def count():
    """For the bell's badge, polled by app.js while the page is open and online."""
    user = current_user._get_current_object()
    response = jsonify({"unread": unread(user, feed(user, current_app.config["TIMEZONE"]))})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/api/v1/push/subscription", methods=["POST", "DELETE"])
@login_required
def subscription():
    if not push.configured(current_app.config):
        return jsonify({"error": {"code": "push_off", "message": gettext("服务器没有开通推送通知。")}}), 404
    body = request.get_json(silent=True)
    if request.method == "DELETE":
        push.unsubscribe(current_user, (body or {}).get("endpoint") if isinstance(body, dict) else None)
        return "", 204
    try:
        push.subscribe(current_user, body)
    except push.PushError as exc:
        return jsonify({"error": {"code": "invalid_subscription", "message": str(exc)}}), 422
    return jsonify({"ok": True}), 201
