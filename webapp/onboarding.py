"""Onboarding a work area from its spreadsheets: stations, wells, equipment and staff as .xlsx files.

Three steps, none of which needs a Flask request: `parse_upload` reads one file into normalised rows (types,
required values, ranges, duplicates within the file) with row-numbered Chinese errors; `plan` checks the rows of
all files together against the database (stations, 井号 and 工号 held elsewhere) and counts what would be created,
updated or left alone; `apply` re-plans inside one transaction and writes everything or nothing. Rows are matched
by natural key (station name, 井号, 工号, equipment name + station); nothing is ever deleted and existing users
keep their passwords and roles (roles are only added).
"""
import io
import itertools
import json
import logging
import os
import re
import secrets
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from werkzeug.security import generate_password_hash

from models import EQUIPMENT_KINDS, Equipment, Station, User, Well, db
from webapp.exports import Column, Sheet, to_xlsx
from webapp.passwords import password_problem
from webapp.text import clean_line

log = logging.getLogger("jingzhan.onboarding")

MAX_ROWS = 5000
MAX_CELL = 200  # characters in any cell; longer text is refused, never silently cut
KINDS = ("stations", "wells", "equipment", "staff")
KIND_LABELS = {"stations": _l("站点"), "wells": _l("油水井"), "equipment": _l("设备"), "staff": _l("员工")}
# The values a sheet holds (choices, yes/no, genders, roles) are part of the file format: Chinese in every language.
YES_NO = {"是": True, "否": False}  # i18n: data
STATION_KINDS = {"生产站": "station", "机关": "office"}  # i18n: data
# str(): the models' labels may be lazy texts; read at import (no request), they are the Chinese of the file format.
WELL_KINDS = {str(label): key for key, label in Well.KINDS.items()}
EQUIPMENT_BY_LABEL = {str(label): key for key, label in EQUIPMENT_KINDS.items()}
GENDERS = {"男": "M", "女": "F"}  # i18n: data
ROLE_LABELS = {"员工": "worker", "站长": "leader", "支部书记": "secretary", "管理员": "admin"}  # i18n: data
EMPLOYEE_NO = re.compile(r"[A-Za-z0-9_-]{1,20}")
PLAN_TTL = 3600  # seconds an uploaded preview or a result page with passwords is kept


@dataclass(frozen=True)
class Field:
    """One column: header, key in the parsed row, how to read it, whether it is required, max length."""

    header: str
    key: str
    kind: str = "text"  # text, choice, yesno, int, decimal, date
    required: bool = False
    max_length: int = 60
    choices: dict | None = None
    low: float | None = None
    high: float | None = None
    example: object = ""
    width: int = 14
    note: object = ""  # a lazy text (the template's 说明 sheet)
    added_later: bool = False  # a column templates downloaded before it existed lack: absent, it changes nothing


def _either(first: str, second: str, blank: str | None = None):
    """The note of a two-valued column, the values themselves being the file format's (Chinese)."""
    if blank is None:
        return _l("%(first)s 或 %(second)s", first=first, second=second)
    return _l("%(first)s 或 %(second)s，可空（%(blank)s）", first=first, second=second, blank=blank)


# The headers, examples and choice values are the import format (Chinese in every language); the notes are read.
SPECS = {  # i18n: data
    "stations": [
        Field("站名", "name", required=True, example="海南五号站", note=_l("必填，作业区内唯一")),
        Field("党支部名称", "branch_name", required=True, max_length=80, example="海南五号站党支部", width=20, note=_l("必填")),
        Field("类型", "kind", "choice", required=True, choices=STATION_KINDS, example="生产站", note=_either("生产站", "机关")),
        Field("排序", "sort_order", "int", low=0, high=9999, example=5, width=8, note=_l("整数 0–9999，可空（0）")),
    ],
    "wells": [
        Field("井号", "code", required=True, max_length=30, example="海5-01", note=_l("必填，作业区内唯一")),
        Field("所属站", "station", required=True, example="海南五号站", note=_l("已有的站或本次站点表中的站")),
        Field("井别", "kind", "choice", required=True, choices=WELL_KINDS, example="采油井",
              note=_l("%(kinds)s（采油井即抽油机井；各井别巡检记录的读数见读数项设置）", kinds="、".join(WELL_KINDS))),
        Field("重点井", "is_key_well", "yesno", example="否", width=8, note=_either("是", "否", "否")),
        Field("纬度", "latitude", "decimal", low=-90, high=90, example=40.95, width=12, note=_l("−90 到 90，可空")),
        Field("经度", "longitude", "decimal", low=-180, high=180, example=121.95, width=12, note=_l("−180 到 180，可空")),
        Field("巡检周期(小时)", "patrol_interval_hours", "int", low=1, high=168, example=8, note=_l("整数 1–168，可空（8）")),
        Field("日配注(m³)", "allocation_m3_per_day", "decimal", low=0, high=2000, example="", width=12,
              note=_l("注水井的日配注 0–2000，可空"), added_later=True),
    ],
    "equipment": [
        Field("设备名称", "name", required=True, example="海5-01 抽油机", width=18, note=_l("必填，同一站内唯一")),
        Field("所属站", "station", required=True, example="海南五号站", note=_l("已有的站或本次站点表中的站")),
        Field("所在井", "well", max_length=30, example="海5-01", note=_l("可空（站内设备）；须是该站的井")),
        Field("设备类型", "kind", "choice", required=True, choices=EQUIPMENT_BY_LABEL, example="抽油机",
              note="、".join(EQUIPMENT_BY_LABEL)),
        Field("型号", "model", example="CYJ10-3-53HB", width=16, note=_l("可空")),
        Field("投用日期", "installed_on", "date", example=date(2015, 6, 1), width=12, note=_l("日期，如 2015-06-01，可空")),
    ],
    "staff": [
        Field("工号", "employee_no", required=True, max_length=20, example="HN5001", note=_l("必填，字母、数字、- 或 _")),
        Field("姓名", "name", required=True, max_length=40, example="张三", width=10, note=_l("必填")),
        Field("性别", "gender", "choice", required=True, choices=GENDERS, example="男", width=6, note=_either("男", "女")),
        Field("所属站", "station", required=True, example="海南五号站", note=_l("已有的站或本次站点表中的站")),
        Field("岗位", "post", max_length=40, example="采油工", width=12, note=_l("可空")),
        Field("党员", "is_party_member", "yesno", example="是", width=6, note=_either("是", "否", "否")),
        Field("入党时间", "party_joined_on", "date", example=date(2010, 7, 1), width=12, note=_l("党员的入党日期，可空")),
        Field("角色", "roles", max_length=40, example="员工、站长",
              note=_l("%(roles)s，多个用“、”分隔；可空（%(default)s）", roles="、".join(ROLE_LABELS), default="员工")),
    ],
}
# The header of each column by kind and key, for messages that name a column.
HEADERS = {kind: {f.key: f.header for f in fields} for kind, fields in SPECS.items()}
# The natural key of each kind, for duplicates within a file.
KEYS = {"stations": ("name",), "wells": ("code",), "equipment": ("station", "name"), "staff": ("employee_no",)}


@dataclass
class Problem:
    """One reason the import cannot be applied: the sheet (kind), the row in the file (0: the file itself), why."""

    kind: str
    row: int
    message: str

    @property
    def where(self) -> str:
        if self.kind not in KIND_LABELS:
            return ""
        label = KIND_LABELS[self.kind]
        return gettext("%(sheet)s表第 %(row)s 行", sheet=label, row=self.row) if self.row else gettext("%(sheet)s表", sheet=label)


@dataclass
class Plan:
    """What an import would do: problems (nothing is applied while there are any) and counts per kind."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict = field(default_factory=lambda: {kind: {"created": 0, "updated": 0, "unchanged": 0} for kind in KINDS})
    passwords: list[tuple[str, str, str]] = field(default_factory=list)  # 工号, 姓名, one-time password
    new_well_ids: list[int] = field(default_factory=list)


# ---- templates -------------------------------------------------------------------------------------------------

def template_xlsx(kind: str) -> bytes:
    """The blank template of one kind: Chinese headers, one example row, widths, and a 说明 sheet."""
    fields = SPECS[kind]
    label = str(KIND_LABELS[kind])
    data = Sheet(label, gettext("%(sheet)s导入表（第 2 行为表头，从第 3 行起每行一条；示例行请替换）", sheet=label),
                 [Column(f.header, width=f.width) for f in fields], rows=[[f.example for f in fields]])
    notes = Sheet(gettext("说明"), gettext("%(sheet)s表填写说明", sheet=label),
                  [Column(gettext("列"), width=16), Column(gettext("必填"), width=6), Column(gettext("说明"), width=60)],
                  rows=[[f.header, gettext("是") if f.required else gettext("否"), str(f.note)] for f in fields]
                  + [["", "", gettext("每个文件最多 %(rows)s 行；每格最多 %(chars)s 字；只读取第一个工作表。",
                                      rows=MAX_ROWS, chars=MAX_CELL)],
                     ["", "", gettext("再次导入同一文件不会重复创建：按站名、井号、工号、设备名称+所属站匹配，"
                                      "只更新有变化的字段，不删除任何数据。")]])
    return to_xlsx([data, notes])


# ---- reading a file ---------------------------------------------------------------------------------------------

def not_xlsx() -> str:
    return gettext("不是 .xlsx 文件（请在 Excel 或 WPS 中“另存为 Excel 工作簿 .xlsx”）")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"  # i18n: data (a yes/no cell read as the format's words)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _date(value, text: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)  # i18n: data
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _cell(spec: Field, value, today: date):
    """The cell read as spec says: (normalised value, None) or (None, Chinese reason)."""
    raw = _text(value)
    if len(raw) > MAX_CELL * 4:
        return None, gettext("“%(column)s”内容过长（超过 %(max)s 字）", column=spec.header, max=MAX_CELL)
    text = clean_line(raw, MAX_CELL * 4)
    if not text:
        return (None, gettext("缺少“%(column)s”", column=spec.header)) if spec.required else (None, None)
    if len(text) > (spec.max_length if spec.kind == "text" else MAX_CELL):
        return None, gettext("“%(column)s”超过 %(max)s 字", column=spec.header, max=spec.max_length)
    if spec.kind == "text":
        return text, None
    if spec.kind in ("choice", "yesno"):
        choices = YES_NO if spec.kind == "yesno" else spec.choices
        if text not in choices:
            return None, gettext("“%(column)s”应为 %(choices)s，不能是“%(value)s”", column=spec.header,
                                 choices=" / ".join(choices), value=text[:20])
        return choices[text], None
    if spec.kind == "int":
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or number != number.to_integral_value() or not spec.low <= number <= spec.high:
            return None, gettext("“%(column)s”应为 %(low)s–%(high)s 的整数，不能是“%(value)s”", column=spec.header,
                                 low=format(spec.low, "g"), high=format(spec.high, "g"), value=text[:20])
        return int(number), None
    if spec.kind == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not spec.low <= number <= spec.high:
            return None, gettext("“%(column)s”应在 %(low)s 到 %(high)s 之间，不能是“%(value)s”", column=spec.header,
                                 low=format(spec.low, "g"), high=format(spec.high, "g"), value=text[:20])
        return str(number.quantize(Decimal("0.000001"))), None
    if spec.kind == "date":
        day = _date(value, text)
        if day is None or not date(1900, 1, 1) <= day <= today:
            return None, gettext("“%(column)s”不是有效日期（如 2015-06-01，且不晚于今天）：“%(value)s”",
                                 column=spec.header, value=text[:20])
        return day.isoformat(), None
    raise ValueError(spec.kind)


def _header_row(rows, fields) -> tuple[int, dict] | None:
    """Find the header among the first rows: (row number, column index by key), or None."""
    wanted = {f.header: f.key for f in fields}
    needed = {f.header for f in fields if not f.added_later}
    for number, row in rows:
        names = [clean_line(_text(v), 40) for v in row]
        if needed <= set(names):
            return number, {wanted[name]: index for index, name in enumerate(names) if name in wanted}
    return None


def parse_upload(kind: str, data: bytes, today: date) -> tuple[list[dict], list[Problem]]:
    """Read one uploaded file of kind: its rows (dicts of normalised, JSON-ready values with "_row") and problems.
    Formulas are not evaluated: their text is kept as plain text."""
    fields = SPECS[kind]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [], [Problem(kind, 0, not_xlsx())]
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        head = []
        for number in range(1, 6):
            row = next(rows, None)
            if row is None:
                break
            head.append((number, row))
        found = _header_row(head, fields)
        if found is None:
            expected = "、".join(f.header for f in fields)
            return [], [Problem(kind, 0, gettext("表头不对：前 5 行中没有找到包含 %(columns)s 的表头行，请使用下载的模板",
                                                 columns=expected))]
        header_number, columns = found
        parsed, problems, seen = [], [], {}
        body = ((n, r) for n, r in head if n > header_number)
        numbered = ((number, row) for number, row in enumerate(rows, start=len(head) + 1))
        for number, row in itertools.chain(body, numbered):
            values = [row[columns[f.key]] if columns.get(f.key, len(row)) < len(row) else None for f in fields]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if len(parsed) + len(problems) >= MAX_ROWS:
                return [], [Problem(kind, 0, gettext("超过 %(max)s 行，请分成几个文件导入", max=MAX_ROWS))]
            item, reasons = {"_row": number}, []
            for spec, value in zip(fields, values, strict=True):
                if spec.key not in columns:
                    continue  # a column of a newer template: what the database holds stays
                item[spec.key], reason = _cell(spec, value, today)
                if reason:
                    reasons.append(reason)
            if not reasons:
                reasons += _row_rules(kind, item)
            if not reasons:
                key = tuple(item[k] for k in KEYS[kind])
                if key in seen:
                    reasons.append(gettext("与第 %(row)s 行重复（%(key)s）", row=seen[key], key="、".join(str(k) for k in key)))
                else:
                    seen[key] = number
            if reasons:
                problems.append(Problem(kind, number, gettext("；").join(reasons)))
            else:
                parsed.append(item)
        book.close()
    except Exception:  # a damaged or hostile zip: whatever openpyxl raises, the answer is the same
        log.warning("onboarding: unreadable %s file", kind, exc_info=True)
        return [], [Problem(kind, 0, gettext("无法读取这个 .xlsx 文件，文件可能已损坏"))]
    return parsed, problems


def _row_rules(kind: str, item: dict) -> list[str]:
    """Rules across the cells of one row."""
    reasons = []
    if kind == "wells":
        if item["patrol_interval_hours"] is None:
            item["patrol_interval_hours"] = 8
        item["is_key_well"] = bool(item["is_key_well"])
        if (item["latitude"] is None) != (item["longitude"] is None):
            reasons.append(gettext("%(latitude)s和%(longitude)s要么都填，要么都不填",
                                   latitude=HEADERS["wells"]["latitude"], longitude=HEADERS["wells"]["longitude"]))
    elif kind == "stations":
        item["sort_order"] = item["sort_order"] or 0
    elif kind == "equipment":
        item["model"] = item["model"] or ""
    elif kind == "staff":
        item["post"] = item["post"] or ""
        item["is_party_member"] = bool(item["is_party_member"])
        if item["employee_no"] and not EMPLOYEE_NO.fullmatch(item["employee_no"]):
            reasons.append(gettext("“%(column)s”只能由字母、数字、- 或 _ 组成", column=HEADERS["staff"]["employee_no"]))
        if item["party_joined_on"] and not item["is_party_member"]:
            reasons.append(gettext("不是党员却填了“%(column)s”", column=HEADERS["staff"]["party_joined_on"]))
        roles = set()
        for label in re.split(r"[、,，;；\s]+", item["roles"] or "员工"):  # i18n: data (the format's default role)
            if not label:
                continue
            if label not in ROLE_LABELS:
                reasons.append(gettext("未知角色“%(role)s”（可用：%(roles)s）", role=label[:20], roles="、".join(ROLE_LABELS)))
            else:
                roles.add(ROLE_LABELS[label])
        item["roles"] = sorted(roles | {"worker"})  # everyone is staff, as in the demo work area
    return reasons


# ---- planning and applying --------------------------------------------------------------------------------------

def _changes(obj, values: dict) -> dict:
    """The fields of obj whose value differs from values (dates and decimals compared as text)."""
    changed = {}
    for key, value in values.items():
        current = getattr(obj, key if key not in ("station", "well") else f"{key}_id")
        if isinstance(current, date):
            current = current.isoformat()
        elif isinstance(current, Decimal):
            current = str(current.quantize(Decimal("0.000001")))
        elif isinstance(current, float):
            current = str(Decimal(repr(current)).quantize(Decimal("0.000001")))
        if current != value:
            changed[key] = value
    return changed


def _db_value(key: str, value):
    if value is not None and key in ("installed_on", "party_joined_on"):
        return date.fromisoformat(value)
    if value is not None and key in ("latitude", "longitude"):
        return Decimal(value)
    if value is not None and key == "allocation_m3_per_day":
        return float(value)
    return value


def _save(model, obj, changed: dict) -> None:
    if not changed:
        return
    for key, value in changed.items():
        setattr(obj, key, _db_value(key, value))
    obj.save(only=[getattr(model, key) for key in changed])


def one_time_password() -> str:
    """A random password that passes the policy: three groups of four unambiguous letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    while True:
        password = "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        if password_problem(password) is None:
            return password


def plan(area, rows: dict, *, write: bool = False) -> Plan:
    """Check rows ({kind: [row, …]}) against the database; with write=True also apply them (call inside a
    transaction: the caller rolls back when problems are returned)."""
    result = Plan()
    counts = result.counts
    stations = {s.name: s for s in Station.select().where(Station.work_area == area.id)}
    station_ids = {}  # name -> id, or None for a station this import creates (until written)
    for name, station in stations.items():
        station_ids[name] = station.id

    for item in rows.get("stations", []):
        values = {k: item[k] for k in ("branch_name", "kind", "sort_order")}
        station = stations.get(item["name"])
        if station is None:
            counts["stations"]["created"] += 1
            station_ids[item["name"]] = None
            if write:
                station = Station.create(work_area=area.id, name=item["name"], **values)
                station_ids[item["name"]] = station.id
        elif changed := _changes(station, values):
            counts["stations"]["updated"] += 1
            if write:
                _save(Station, station, changed)
        else:
            counts["stations"]["unchanged"] += 1

    def station_of(kind, item) -> bool:
        if item["station"] not in station_ids:
            result.problems.append(Problem(kind, item["_row"], gettext("未知的站“%(station)s”（须是已有的站或站点表中的站）",
                                                                       station=item["station"][:30])))
            return False
        return True

    area_stations = [sid for sid in station_ids.values() if sid is not None]
    wells = {w.code: w for w in Well.select().where(Well.station.in_(area_stations))} if area_stations else {}
    id_to_name = {sid: name for name, sid in station_ids.items() if sid is not None}
    well_station = {code: id_to_name.get(w.station_id) for code, w in wells.items()}
    for item in rows.get("wells", []):
        if not station_of("wells", item):
            continue
        existing = wells.get(item["code"])
        if existing is not None and well_station[item["code"]] != item["station"]:
            result.problems.append(Problem("wells", item["_row"],
                                           gettext("井号“%(code)s”已属于%(owner)s，不能再登记到%(station)s", code=item["code"],
                                                   owner=well_station[item["code"]], station=item["station"])))
            continue
        well_station[item["code"]] = item["station"]
        values = {k: item[k] for k in ("kind", "is_key_well", "latitude", "longitude", "patrol_interval_hours",
                                       "allocation_m3_per_day") if k in item}
        if existing is None:
            counts["wells"]["created"] += 1
            if write:
                well = Well.create(station=station_ids[item["station"]], code=item["code"],
                                   **{k: _db_value(k, v) for k, v in values.items()})
                wells[item["code"]] = well
                result.new_well_ids.append(well.id)
        elif changed := _changes(existing, values):
            counts["wells"]["updated"] += 1
            if write:
                _save(Well, existing, changed)
        else:
            counts["wells"]["unchanged"] += 1

    for item in rows.get("equipment", []):
        if not station_of("equipment", item):
            continue
        if item["well"] and well_station.get(item["well"]) != item["station"]:
            result.problems.append(Problem("equipment", item["_row"], gettext("所在井“%(well)s”不是%(station)s的井",
                                                                              well=item["well"], station=item["station"])))
            continue
        sid = station_ids[item["station"]]
        matches = list(Equipment.select().where((Equipment.station == sid) & (Equipment.name == item["name"]))) if sid else []
        if len(matches) > 1:
            result.problems.append(Problem("equipment", item["_row"], gettext(
                "%(station)s已有 %(count)s 台名为“%(name)s”的设备，无法确定更新哪一台", station=item["station"],
                count=len(matches), name=item["name"])))
            continue
        values = {"kind": item["kind"], "model": item["model"], "installed_on": item["installed_on"]}
        if not matches:
            counts["equipment"]["created"] += 1
            if write:
                well = wells[item["well"]] if item["well"] else None
                Equipment.create(station=sid, well=well, name=item["name"],
                                 **{k: _db_value(k, v) for k, v in values.items()})
        else:
            # A well this preview would create has no id yet: the equipment moving to it counts as updated.
            values["well"] = (wells[item["well"]].id if item["well"] in wells else "new") if item["well"] else None
            if changed := _changes(matches[0], values):
                counts["equipment"]["updated"] += 1
                if write:
                    _save(Equipment, matches[0], changed)
            else:
                counts["equipment"]["unchanged"] += 1

    numbers = [item["employee_no"] for item in rows.get("staff", [])]
    users = {u.employee_no: u for u in User.select().where(User.employee_no.in_(numbers))} if numbers else {}
    for item in rows.get("staff", []):
        if not station_of("staff", item):
            continue
        existing = users.get(item["employee_no"])
        if existing is not None and (existing.work_area_id != area.id or existing.name != item["name"]):
            number = item["employee_no"]
            taken = (gettext("工号“%(number)s”已被另一人使用（%(name)s）", number=number, name=existing.name)
                     if existing.work_area_id == area.id else gettext("工号“%(number)s”已被另一人使用", number=number))
            result.problems.append(Problem("staff", item["_row"], taken))
            continue
        values = {k: item[k] for k in ("name", "gender", "post", "is_party_member", "party_joined_on")}
        if existing is None:
            counts["staff"]["created"] += 1
            if write:
                password = one_time_password()
                user = User.create(work_area=area.id, station=station_ids[item["station"]], employee_no=item["employee_no"],
                                   password_hash=generate_password_hash(password), must_change_password=True,
                                   **{k: _db_value(k, v) for k, v in values.items()})
                user.grant(*item["roles"])
                result.passwords.append((user.employee_no, user.name, password))
            continue
        sid = station_ids[item["station"]]
        changed = _changes(existing, {**values, "station": sid}) if sid is not None else {"station": None}
        missing_roles = set(item["roles"]) - existing.roles
        if changed or missing_roles:
            counts["staff"]["updated"] += 1
            if write:
                _save(User, existing, changed)
                existing.grant(*sorted(missing_roles))
        else:
            counts["staff"]["unchanged"] += 1
    result.problems.sort(key=lambda p: (KINDS.index(p.kind), p.row))
    return result


class ImportRefused(Exception):
    """The rows no longer apply (the database changed since the preview); nothing was written."""

    def __init__(self, problems):
        super().__init__("import refused")
        self.problems = problems


def apply(area, rows: dict) -> Plan:
    """Apply the rows in one transaction: everything, or nothing when any problem is found."""
    with db.atomic():
        result = plan(area, rows, write=True)
        if result.problems:
            raise ImportRefused(result.problems)  # leaving the block by an exception rolls everything back
    return result


def passwords_xlsx(area_name: str, passwords: list) -> bytes:
    """The one-time passwords as a workbook, to print or hand over."""
    title = gettext("%(area)s 新账号初始密码（首次登录后请在“我的 → 修改密码”中更改）", area=area_name)
    sheet = Sheet(gettext("初始密码"), title,
                  [Column(gettext("工号"), width=12), Column(gettext("姓名"), width=12), Column(gettext("初始密码"), width=20)],
                  rows=[list(row) for row in passwords])
    return to_xlsx([sheet])


# ---- keeping a preview between the two steps --------------------------------------------------------------------

class Store:
    """Parsed rows (and then the result with its passwords) kept server-side between requests, one JSON file per
    random token under the instance folder, readable only by this process's user; expired after PLAN_TTL."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, token: str) -> Path | None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token or ""):
            return None
        return self.folder / f"{token}.json"

    def purge(self) -> None:
        """Remove expired files."""
        if not self.folder.is_dir():
            return
        cutoff = time.time() - PLAN_TTL
        for path in self.folder.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass

    def put(self, payload: dict, token: str | None = None) -> str:
        self.purge()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = token or secrets.token_urlsafe(24)
        path = self._path(token)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8", opener=lambda p, flags: os.open(p, flags, 0o600)) as out:
            json.dump(payload, out, ensure_ascii=False)
        tmp.replace(path)
        return token

    def get(self, token: str) -> dict | None:
        path = self._path(token)
        if path is None or not path.is_file() or path.stat().st_mtime < time.time() - PLAN_TTL:
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def drop(self, token: str) -> None:
        path = self._path(token)
        if path is not None:
            path.unlink(missing_ok=True)
