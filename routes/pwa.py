"""What makes the app work offline: the service worker at the root scope and the offline page."""
import hashlib
import json
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template, url_for

from webapp.procedures import topics

bp = Blueprint("pwa", __name__)

STATIC = Path(__file__).resolve().parent.parent / "webapp" / "static"
# The app shell: what every field page needs, cached when the service worker installs.
SHELL_FILES = [
    "css/app.css",
    "js/app.js",
    "js/outbox.js",
    "js/patrol.js",
    "js/scanner.js",
    "js/scan-page.js",
    "js/records.js",
    "js/photo.js",
    "js/check.js",
    "js/hazard-form.js",
    "js/rectify.js",
    "js/progress.js",
    "js/suggestion-form.js",
    "vendor/htmx-2.0.11.min.js",
    "vendor/jsQR-1.4.0.min.js",
]


def static_version() -> str:
    """A hash of every static file: a new deployment with any changed file is a new service worker."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(STATIC)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@bp.route("/sw.js")
def service_worker():
    if "SW_VERSION" not in current_app.config:
        current_app.config["SW_VERSION"] = static_version()
    precache = [url_for("static", filename=name) for name in SHELL_FILES] + [url_for("pwa.offline")]
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


@bp.route("/offline")
def offline():
    return render_template("offline.html")
