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
KIND_LABELS = {"stations": "站点", "wells": "油水井", "equipment": "设备", "staff": "员工"}
YES_NO = {"是": True, "否": False}
STATION_KINDS = {"生产站": "station", "机关": "office"}
WELL_KINDS = {label: key for key, label in Well.KINDS.items()}
EQUIPMENT_BY_LABEL = {label: key for key, label in EQUIPMENT_KINDS.items()}
GENDERS = {"男": "M", "女": "F"}
ROLE_LABELS = {"员工": "worker", "站长": "leader", "支部书记": "secretary", "管理员": "admin"}
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
    note: str = ""


SPECS = {
    "stations": [
        Field("站名", "name", required=True, example="海南五号站", note="必填，作业区内唯一"),
        Field("党支部名称", "branch_name", required=True, max_length=80, example="海南五号站党支部", width=20, note="必填"),
        Field("类型", "kind", "choice", required=True, choices=STATION_KINDS, example="生产站", note="生产站 或 机关"),
        Field("排序", "sort_order", "int", low=0, high=9999, example=5, width=8, note="整数 0–9999，可空（0）"),
    ],
    "wells": [
        Field("井号", "code", required=True, max_length=30, example="海5-01", note="必填，作业区内唯一"),
        Field("所属站", "station", required=True, example="海南五号站", note="已有的站或本次站点表中的站"),
        Field("井别", "kind", "choice", required=True, choices=WELL_KINDS, example="采油井", note="采油井 或 注水井"),
        Field("重点井", "is_key_well", "yesno", example="否", width=8, note="是 或 否，可空（否）"),
        Field("纬度", "latitude", "decimal", low=-90, high=90, example=40.95, width=12, note="−90 到 90，可空"),
        Field("经度", "longitude", "decimal", low=-180, high=180, example=121.95, width=12, note="−180 到 180，可空"),
        Field("巡检周期(小时)", "patrol_interval_hours", "int", low=1, high=168, example=8, note="整数 1–168，可空（8）"),
    ],
    "equipment": [
        Field("设备名称", "name", required=True, example="海5-01 抽油机", width=18, note="必填，同一站内唯一"),
        Field("所属站", "station", required=True, example="海南五号站", note="已有的站或本次站点表中的站"),
        Field("所在井", "well", max_length=30, example="海5-01", note="可空（站内设备）；须是该站的井"),
        Field("设备类型", "kind", "choice", required=True, choices=EQUIPMENT_BY_LABEL, example="抽油机",
              note="、".join(EQUIPMENT_KINDS.values())),
        Field("型号", "model", example="CYJ10-3-53HB", width=16, note="可空"),
        Field("投用日期", "installed_on", "date", example=date(2015, 6, 1), width=12, note="日期，如 2015-06-01，可空"),
    ],
    "staff": [
        Field("工号", "employee_no", required=True, max_length=20, example="HN5001", note="必填，字母、数字、- 或 _"),
        Field("姓名", "name", required=True, max_length=40, example="张三", width=10, note="必填"),
        Field("性别", "gender", "choice", required=True, choices=GENDERS, example="男", width=6, note="男 或 女"),
        Field("所属站", "station", required=True, example="海南五号站", note="已有的站或本次站点表中的站"),
        Field("岗位", "post", max_length=40, example="采油工", width=12, note="可空"),
        Field("党员", "is_party_member", "yesno", example="是", width=6, note="是 或 否，可空（否）"),
        Field("入党时间", "party_joined_on", "date", example=date(2010, 7, 1), width=12, note="党员的入党日期，可空"),
        Field("角色", "roles", max_length=40, example="员工、站长", note="员工、站长、支部书记、管理员，多个用“、”分隔；可空（员工）"),
    ],
}
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
        return f"{label}表第 {self.row} 行" if self.row else f"{label}表"


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
    data = Sheet(KIND_LABELS[kind], f"{KIND_LABELS[kind]}导入表（第 2 行为表头，从第 3 行起每行一条；示例行请替换）",
                 [Column(f.header, width=f.width) for f in fields], rows=[[f.example for f in fields]])
    notes = Sheet("说明", f"{KIND_LABELS[kind]}表填写说明", [Column("列", width=16), Column("必填", width=6), Column("说明", width=60)],
                  rows=[[f.header, "是" if f.required else "否", f.note] for f in fields]
                  + [["", "", f"每个文件最多 {MAX_ROWS} 行；每格最多 {MAX_CELL} 字；只读取第一个工作表。"],
                     ["", "", "再次导入同一文件不会重复创建：按站名、井号、工号、设备名称+所属站匹配，只更新有变化的字段，不删除任何数据。"]])
    return to_xlsx([data, notes])


# ---- reading a file ---------------------------------------------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
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
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
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
        return None, f"“{spec.header}”内容过长（超过 {MAX_CELL} 字）"
    text = clean_line(raw, MAX_CELL * 4)
    if not text:
        return (None, f"缺少“{spec.header}”") if spec.required else (None, None)
    if len(text) > (spec.max_length if spec.kind == "text" else MAX_CELL):
        return None, f"“{spec.header}”超过 {spec.max_length} 字"
    if spec.kind == "text":
        return text, None
    if spec.kind in ("choice", "yesno"):
        choices = YES_NO if spec.kind == "yesno" else spec.choices
        if text not in choices:
            return None, f"“{spec.header}”应为 {' / '.join(choices)}，不能是“{text[:20]}”"
        return choices[text], None
    if spec.kind == "int":
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or number != number.to_integral_value() or not spec.low <= number <= spec.high:
            return None, f"“{spec.header}”应为 {spec.low:g}–{spec.high:g} 的整数，不能是“{text[:20]}”"
        return int(number), None
    if spec.kind == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not spec.low <= number <= spec.high:
            return None, f"“{spec.header}”应在 {spec.low:g} 到 {spec.high:g} 之间，不能是“{text[:20]}”"
        return str(number.quantize(Decimal("0.000001"))), None
    if spec.kind == "date":
        day = _date(value, text)
        if day is None or not date(1900, 1, 1) <= day <= today:
            return None, f"“{spec.header}”不是有效日期（如 2015-06-01，且不晚于今天）：“{text[:20]}”"
        return day.isoformat(), None
    raise ValueError(spec.kind)


def _header_row(rows, fields) -> tuple[int, dict] | None:
    """Find the header among the first rows: (row number, column index by key), or None."""
    wanted = {f.header: f.key for f in fields}
    for number, row in rows:
        names = [clean_line(_text(v), 40) for v in row]
        if wanted.keys() <= set(names):
            return number, {wanted[name]: index for index, name in enumerate(names) if name in wanted}
    return None


def parse_upload(kind: str, data: bytes, today: date | None = None) -> tuple[list[dict], list[Problem]]:
    """Read one uploaded file of kind: its rows (dicts of normalised, JSON-ready values with "_row") and problems.
    Formulas are not evaluated: their text is kept as plain text."""
    today = today or date.today()
    fields = SPECS[kind]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [], [Problem(kind, 0, "不是 .xlsx 文件（请在 Excel 或 WPS 中“另存为 Excel 工作簿 .xlsx”）")]
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
            return [], [Problem(kind, 0, f"表头不对：前 5 行中没有找到包含 {expected} 的表头行，请使用下载的模板")]
        header_number, columns = found
        parsed, problems, seen = [], [], {}
        body = ((n, r) for n, r in head if n > header_number)
        numbered = ((number, row) for number, row in enumerate(rows, start=len(head) + 1))
        for number, row in itertools.chain(body, numbered):
            values = [row[columns[f.key]] if columns[f.key] < len(row) else None for f in fields]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if len(parsed) + len(problems) >= MAX_ROWS:
                return [], [Problem(kind, 0, f"超过 {MAX_ROWS} 行，请分成几个文件导入")]
            item, reasons = {"_row": number}, []
            for spec, value in zip(fields, values, strict=True):
                item[spec.key], reason = _cell(spec, value, today)
                if reason:
                    reasons.append(reason)
            if not reasons:
                reasons += _row_rules(kind, item)
            if not reasons:
                key = tuple(item[k] for k in KEYS[kind])
                if key in seen:
                    reasons.append(f"与第 {seen[key]} 行重复（{'、'.join(str(k) for k in key)}）")
                else:
                    seen[key] = number
            if reasons:
                problems.append(Problem(kind, number, "；".join(reasons)))
            else:
                parsed.append(item)
        book.close()
    except Exception:  # a damaged or hostile zip: whatever openpyxl raises, the answer is the same
        log.warning("onboarding: unreadable %s file", kind, exc_info=True)
        return [], [Problem(kind, 0, "无法读取这个 .xlsx 文件，文件可能已损坏")]
    return parsed, problems


def _row_rules(kind: str, item: dict) -> list[str]:
    """Rules across the cells of one row."""
    reasons = []
    if kind == "wells":
        if item["patrol_interval_hours"] is None:
            item["patrol_interval_hours"] = 8
        item["is_key_well"] = bool(item["is_key_well"])
        if (item["latitude"] is None) != (item["longitude"] is None):
            reasons.append("纬度和经度要么都填，要么都不填")
    elif kind == "stations":
        item["sort_order"] = item["sort_order"] or 0
    elif kind == "equipment":
        item["model"] = item["model"] or ""
    elif kind == "staff":
        item["post"] = item["post"] or ""
        item["is_party_member"] = bool(item["is_party_member"])
        if item["employee_no"] and not EMPLOYEE_NO.fullmatch(item["employee_no"]):
            reasons.append("“工号”只能由字母、数字、- 或 _ 组成")
        if item["party_joined_on"] and not item["is_party_member"]:
            reasons.append("不是党员却填了“入党时间”")
        roles = set()
        for label in re.split(r"[、,，;；\s]+", item["roles"] or "员工"):
            if not label:
                continue
            if label not in ROLE_LABELS:
                reasons.append(f"未知角色“{label[:20]}”（可用：{'、'.join(ROLE_LABELS)}）")
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
        if current != value:
            changed[key] = value
    return changed


def _db_value(key: str, value):
    if value is not None and key in ("installed_on", "party_joined_on"):
        return date.fromisoformat(value)
    if value is not None and key in ("latitude", "longitude"):
        return Decimal(value)
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
            result.problems.append(Problem(kind, item["_row"], f"未知的站“{item['station'][:30]}”（须是已有的站或站点表中的站）"))
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
                                           f"井号“{item['code']}”已属于{well_station[item['code']]}，不能再登记到{item['station']}"))
            continue
        well_station[item["code"]] = item["station"]
        values = {k: item[k] for k in ("kind", "is_key_well", "latitude", "longitude", "patrol_interval_hours")}
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
            result.problems.append(Problem("equipment", item["_row"], f"所在井“{item['well']}”不是{item['station']}的井"))
            continue
        sid = station_ids[item["station"]]
        matches = list(Equipment.select().where((Equipment.station == sid) & (Equipment.name == item["name"]))) if sid else []
        if len(matches) > 1:
            result.problems.append(Problem("equipment", item["_row"], f"{item['station']}已有 {len(matches)} 台名为“{item['name']}”的设备，无法确定更新哪一台"))
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
            result.problems.append(Problem("staff", item["_row"],
                                           f"工号“{item['employee_no']}”已被另一人使用" + (f"（{existing.name}）" if existing.work_area_id == area.id else "")))
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
    sheet = Sheet("初始密码", f"{area_name} 新账号初始密码（首次登录后请在“我的 → 修改密码”中更改）",
                  [Column("工号", width=12), Column("姓名", width=12), Column("初始密码", width=20)],
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
