"""The work-area admin: check templates, reading sets and operating procedures (each saved as a new version)."""
import json
import uuid as uuid_module

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user

from models import EQUIPMENT_KINDS, SENSES, CheckTemplate, Photo, Procedure, ReadingSet, Well, WorkArea, db
from webapp import tallies
from webapp.access import role_required
from webapp.checks import parse_template_rows, save_template, template_items
from webapp.photo_store import store_for
from webapp.photos import PhotoError, store_photo
from webapp.procedures import MAX_BODY, MAX_TITLE, save_procedure, topics
from webapp.readings import (
    CATALOGUE,
    MAX_FIELDS,
    THRESHOLD_KIND_LABELS,
    ReadingSetError,
    form_row,
    parse_rows,
    save_set,
    set_for,
)
from webapp.shifts import parse_shifts
from webapp.text import clean_line, clean_text

bp = Blueprint("admin", __name__, url_prefix="/admin")

EXTRA_ROWS = 3
ITEM_FIELDS = ("code", "sense", "label", "hint", "unit", "normal_min", "normal_max", "limit_min", "limit_max", "delete")


@bp.route("/")
@role_required("admin")
def index():
    templates = CheckTemplate.currents(current_user.work_area_id)
    return render_template("admin/index.html", kinds=EQUIPMENT_KINDS, templates=templates, well_kinds=Well.KINDS,
                           reading_sets=ReadingSet.currents(current_user.work_area_id))


def _rows_from_form(form) -> list[dict]:
    count = min(form.get("rows", type=int) or 0, 100)
    return [{field: form.get(f"items-{n}-{field}", "") for field in ITEM_FIELDS} for n in range(count)]


SHIFT_PRESETS = {"08:00-20:00 20:00-08:00": _l("两班倒（8 点交班）"), "08:00-16:00 16:00-00:00 00:00-08:00": _l("三班倒（8 点交班）")}


@bp.route("/shifts", methods=["GET", "POST"])
@role_required("admin")
def shifts():
    """The work area's shifts (班次), in its time zone: they decide what the dashboard counts as due, done and missed."""
    area = current_user.work_area
    spec, error = area.shifts, None
    if request.method == "POST":
        spec = " ".join(clean_line(request.form.get("custom") or request.form.get("preset"), 120).split())
        try:
            parse_shifts(spec)
        except ValueError as exc:
            error = str(exc)
        else:
            with db.atomic():  # the shift tallies are counted afresh under the new shifts (webapp/tallies.py)
                WorkArea.update(shifts=spec).where(WorkArea.id == area.id).execute()
                tallies.adopt(area.id, parse_shifts(spec), current_app.config["TIMEZONE"])
            flash(gettext("已保存班次设置；看板和交接班从现在起按新班次计算。"), "success")
            return redirect(url_for("admin.shifts"))
    return render_template("admin/shifts.html", spec=spec, presets=SHIFT_PRESETS, error=error,
                           current=parse_shifts(area.shifts)), (422 if error else 200)


@bp.route("/templates/<kind>", methods=["GET", "POST"])
@role_required("admin")
def edit_template(kind: str):
    if kind not in EQUIPMENT_KINDS:
        abort(404)
    current = CheckTemplate.current(kind, current_user.work_area_id)
    errors = []
    if request.method == "POST":
        rows = _rows_from_form(request.form)
        items, errors = parse_template_rows(rows)
        if not errors:
            template = save_template(kind, items, current_user._get_current_object())
            flash(gettext("已保存%(kind)s检查模板第 %(version)s 版；已有的检查记录仍按原版本保存。", kind=EQUIPMENT_KINDS[kind],
                          version=template.version), "success")
            return redirect(url_for("admin.edit_template", kind=kind))
    else:
        rows = template_items(current) if current else []
    rows = list(rows) + [{} for _ in range(EXTRA_ROWS)]
    return render_template("admin/template.html", kind=kind, label=EQUIPMENT_KINDS[kind], current=current, rows=rows,
                           senses=SENSES, errors=errors), (422 if errors else 200)


READING_FIELDS = ("key", "required", "low", "high", "kind", "threshold", "alert", "delete")


@bp.route("/readings/<well_kind>", methods=["GET", "POST"])
@role_required("admin")
def edit_readings(well_kind: str):
    """The readings a patrol records at one kind of well: which, required or not, their range, and past which change
    against the well's 7-day median the phone asks, the review marks ⚠ and a key well raises an alert."""
    kind = well_kind
    if kind not in Well.KINDS:
        abort(404)
    current, fields = set_for(kind, current_user.work_area_id)
    errors = []
    if request.method == "POST":
        count = min(request.form.get("rows", type=int) or 0, MAX_FIELDS + EXTRA_ROWS)
        rows = [{name: request.form.get(f"fields-{n}-{name}", "") for name in READING_FIELDS} for n in range(count)]
        try:
            parsed = parse_rows(rows)
        except ReadingSetError as exc:
            errors = exc.errors
        else:
            saved = save_set(kind, parsed, current_user._get_current_object())
            flash(gettext("已保存%(kind)s读数项第 %(version)s 版；已有的巡检仍按原版本保存，手机更新离线副本后按新版本录入。",
                          kind=Well.KINDS[kind], version=saved.version), "success")
            return redirect(url_for("admin.edit_readings", well_kind=kind))
    else:
        rows = [form_row(f) for f in fields]
    rows = list(rows) + [{} for _ in range(EXTRA_ROWS)]
    return render_template("admin/readings.html", kind=kind, label=Well.KINDS[kind], current=current, rows=rows,
                           catalogue=CATALOGUE, threshold_kinds=THRESHOLD_KIND_LABELS, errors=errors), (422 if errors else 200)


@bp.route("/procedures/<topic>", methods=["GET", "POST"])
@role_required("admin")
def edit_procedure(topic: str):
    names = topics()
    if topic not in names:
        abort(404)
    current = Procedure.current(topic, current_user.work_area_id)
    errors = []
    title = current.title if current else names[topic]
    body = current.body if current else ""
    photos = json.loads(current.photos) if current else []
    if request.method == "POST":
        title = clean_line(request.form.get("title"), MAX_TITLE + 1)
        body = clean_text(request.form.get("body"))
        photos = [p for p in photos if p not in request.form.getlist("remove_photo")]
        if not title:
            errors.append(gettext("请填写标题。"))
        elif len(title) > MAX_TITLE:
            errors.append(gettext("标题不能超过 %(max)s 字。", max=MAX_TITLE))
        if not body:
            errors.append(gettext("请填写规程内容。"))
        elif len(body) > MAX_BODY:
            errors.append(gettext("规程内容不能超过 %(max)s 字。", max=MAX_BODY))
        for upload in request.files.getlist("photos"):
            if not upload or not upload.filename:
                continue
            try:
                photo, _ = store_photo(current_user._get_current_object(), str(uuid_module.uuid4()), upload.read(),
                                       store_for(current_app))
            except PhotoError as exc:
                errors.append(gettext("%(file)s：%(error)s", file=upload.filename[:40], error=exc.message))
                continue
            Photo.update(shared=True).where(Photo.id == photo.id).execute()
            photos.append(str(photo.uuid))
        if not errors:
            with db.atomic():
                procedure = save_procedure(topic, title, body, photos, current_user._get_current_object())
            flash(gettext("已保存《%(title)s》第 %(version)s 版。", title=procedure.title, version=procedure.version), "success")
            return redirect(url_for("procedures.show", topic=topic))
    return render_template("admin/procedure.html", topic=topic, name=names[topic], current=current, title=title,
                           body=body, photos=photos, errors=errors), (422 if errors else 200)
