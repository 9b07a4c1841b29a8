"""What makes the app work offline: the service worker at the root scope and the offline page."""
import hashlib
import json
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, url_for
from flask_babel import gettext

from webapp import i18n
from webapp.icons import ICONS, icon_png
from webapp.procedures import topics

bp = Blueprint("pwa", __name__)

STATIC = Path(__file__).resolve().parent.parent / "webapp" / "static"
# The app shell: what every field page needs, cached when the service worker installs.
SHELL_FILES = [
    "css/app.css",
    "js/app.js",
    "js/i18n.js",
    "js/outbox.js",
    "js/evidence.js",
    "js/deviation.js",
    "js/patrol.js",
    "js/scanner.js",
    "js/qr-worker.js",
    "js/scan-page.js",
    "js/records.js",
    "js/photo.js",
    "js/check.js",
    "js/hazard-form.js",
    "js/rectify.js",
    "js/progress.js",
    "js/suggestion-form.js",
    "js/install.js",
    "js/settings.js",
    "vendor/htmx-2.0.11.min.js",
    "vendor/jsQR-1.4.0-nokanji.min.js",
]
# Scripts of pages that are never kept offline (the 通知 page is no-store): not worth a phone's first download.
ONLINE_ONLY = ["js/push.js"]


def static_version() -> str:
    """A hash of every static file and catalogue: a new deployment with any changed one is a new service worker."""
    digest = hashlib.sha256()
    files = [(root, path) for root in (STATIC, i18n.TRANSLATIONS) for path in sorted(root.rglob("*"))]
    for root, path in files:
        if path.is_file() and path.suffix != ".mo":  # the .mo is compiled from the .po on each machine
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@bp.route("/sw.js")
def service_worker():
    if "SW_VERSION" not in current_app.config:
        current_app.config["SW_VERSION"] = static_version()
    precache = [url_for("static", filename=name) for name in SHELL_FILES] + [url_for("pwa.offline")]
    precache += [url_for("pwa.script_messages", language=language) for language in i18n.LANGUAGES if language != i18n.DEFAULT]
    # Pages every worker may need offline besides their station's wells: the check, hazard and suggestion forms, the procedures.
    pages = [url_for("checks.new"), url_for("hazards.new"), url_for("suggestions.new"), url_for("procedures.index")]
    pages += [url_for("procedures.show", topic=topic) for topic in topics()]
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    source = (
        source.replace("__VERSION__", current_app.config["SW_VERSION"])
        .replace("__PRECACHE__", json.dumps(precache))
        .replace("__OFFLINE_PAGES__", json.dumps(pages))
    )
    response = make_response(source)
    response.headers["Content-Type"] = "application/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/i18n/<language>.js")
def script_messages(language):
    """The translations of the scripts' texts (webapp/static/js/i18n.js); the same for everyone, so cacheable."""
    if language not in i18n.LANGUAGES or language == i18n.DEFAULT:
        abort(404)
    body = "globalThis.JZ_MESSAGES = " + json.dumps(i18n.script_messages(language), ensure_ascii=False) + ";\n"
    response = make_response(body)
    response.headers["Content-Type"] = "application/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
def offline():
    return render_template("offline.html")


@bp.route("/manifest.webmanifest")
def manifest():
    """What makes the app installable: its name, colours, start page and icons (docs/decisions.md, issue 10)."""
    icon = {name: url_for("pwa.icon", name=name) for name in ICONS}
    body = {
        "id": "/",
        "name": "井站通",
        "short_name": "井站通",
        "description": gettext("作业区巡井打卡、望闻听摸测设备检查、隐患上报与整改、三亮卡和党建工作，无信号也能用。"),
        "lang": i18n.html_lang(),
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": "#a3141c",
        "background_color": "#ffffff",
        "categories": ["business", "productivity", "utilities"],
        "icons": [
            {"src": icon["icon-192.png"], "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": icon["icon-512.png"], "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": icon["maskable-512.png"], "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": gettext("扫码巡井"), "short_name": gettext("扫码"), "url": url_for("wells.scan"), "icons": [{"src": icon["icon-192.png"], "sizes": "192x192"}]},
            {"name": gettext("我的记录"), "short_name": gettext("记录"), "url": url_for("patrols.index"), "icons": [{"src": icon["icon-192.png"], "sizes": "192x192"}]},
        ],
    }
    response = jsonify(body)
    response.headers["Content-Type"] = "application/manifest+json"
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.vary.update(("Accept-Language", "Cookie"))  # in the language of whoever asks
    return response


@bp.route("/icons/<name>")
def icon(name: str):
    if name not in ICONS:
        abort(404)
    response = make_response(icon_png(name))
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "public, max-age=604800"
    return response
