"""Equipment checks by 望闻听摸测: the default check templates per equipment kind and the `equipment_check` record."""
import json

from flask_babel import gettext

from models import SENSES, CheckTemplate, Equipment, EquipmentCheck, Station, Well

from .access import MAX_ID
from .patrols import Context, RecordError, _number, _text, find_corrected
from .photos import check_photos, photo_list

MAX_ITEM_NOTE = 200
MAX_ITEM_PHOTOS = 5


def _look(code, label, hint=""):
    return {"code": code, "sense": "wang", "label": label, "hint": hint}


def _item(sense, code, label, hint=""):
    return {"code": code, "sense": sense, "label": label, "hint": hint}


def _measure(code, label, unit, normal_min, normal_max, limit_min, limit_max, hint=""):
    """A 测 item: a number with its normal range (outside it the item is abnormal) and the limits of a sane reading."""
    return {"code": code, "sense": "ce", "label": label, "unit": unit, "normal_min": normal_min, "normal_max": normal_max,
            "limit_min": limit_min, "limit_max": limit_max, "hint": hint}


# The concrete items an operator checks on each kind of equipment; seeded as version 1, then edited by admins.
DEFAULT_TEMPLATES = {  # i18n: data
    "pumping_unit": [
        _look("leak", "减速箱、盘根盒无漏油", "看减速箱结合面、盘根盒、光杆有无油迹"),
        _look("belt", "皮带松紧适度、无磨损断股"),
        _look("bolts", "各部紧固件无松动", "曲柄销、平衡块、底座螺栓"),
        _look("alignment", "驴头、悬绳器、盘根盒三点对中"),
        _item("wen", "smell", "无皮带或绝缘烧焦味、无油气味"),
        _item("ting", "noise", "减速箱、轴承无异响，无碰撞声"),
        _item("mo", "bearing", "中轴、尾轴承温度正常、无振动", "手背贴近，不烫手"),
        _item("mo", "rod", "光杆温度正常", "光杆发烫可能是卡井或盘根过紧"),
        _measure("current_up", "上行电流", "A", 5, 80, 0, 300),
        _measure("current_down", "下行电流", "A", 5, 80, 0, 300),
    ],
    "motor": [
        _look("box", "接线盒密封、外壳无破损"),
        _item("wen", "smell", "无焦糊味"),
        _item("ting", "noise", "无异响、无扫膛声"),
        _item("mo", "shell", "外壳温度、振动正常"),
        _measure("current", "运行电流", "A", 5, 80, 0, 300),
        _measure("temp", "外壳温度", "°C", -30, 75, -40, 150),
    ],
    "gearbox": [
        _look("oil", "油位正常、无渗漏"),
        _item("wen", "smell", "无焦味"),
        _item("ting", "gears", "齿轮啮合无异响"),
        _item("mo", "case", "箱体无局部过热"),
        _measure("temp", "箱体温度", "°C", -30, 70, -40, 150),
    ],
    "wellhead": [
        _look("valves", "阀门、法兰无渗漏"),
        _look("gauges", "压力表完好、读数清楚"),
        _look("packing", "盘根无渗漏"),
        _item("wen", "smell", "无油气、硫化氢异味"),
        _item("ting", "hiss", "无刺漏声"),
        _item("mo", "rod", "光杆不发烫"),
        _measure("oil_pressure", "油压", "MPa", 0, 10, 0, 40),
        _measure("casing_pressure", "套压", "MPa", 0, 10, 0, 40),
    ],
    "control_cabinet": [
        _look("lights", "指示灯正常、柜门关闭、接地完好"),
        _item("wen", "smell", "无焦糊味"),
        _item("ting", "arc", "无放电声"),
        _item("mo", "heat", "柜体无发热"),
        _measure("voltage", "电压", "V", 360, 400, 0, 1000),
    ],
    "heater": [
        _look("flame", "火焰正常、炉体无渗漏"),
        _item("wen", "gas", "无燃气味"),
        _item("ting", "burner", "燃烧器无异常声"),
        _item("mo", "shell", "炉体无局部过热"),
        _measure("outlet_temp", "出口温度", "°C", 50, 80, 0, 200),
        _measure("pressure", "炉内压力", "MPa", 0, 1.6, 0, 10),
    ],
    "pump": [
        _look("leak", "机封无渗漏、压力表正常"),
        _item("wen", "smell", "无焦味"),
        _item("ting", "noise", "无异响、无汽蚀声"),
        _item("mo", "bearing", "轴承温度、振动正常"),
        _measure("outlet_pressure", "出口压力", "MPa", 0.5, 2.5, 0, 10),
        _measure("bearing_temp", "轴承温度", "°C", -30, 75, -40, 150),
    ],
}


def ensure_default_templates() -> int:
    """Create version 1 of every default template that has none yet; return how many were made."""
    made = 0
    for kind, items in DEFAULT_TEMPLATES.items():
        if not CheckTemplate.select().where((CheckTemplate.kind == kind) & CheckTemplate.work_area.is_null()).exists():
            CheckTemplate.create(kind=kind, version=1, items=json.dumps(items, ensure_ascii=False), is_current=True)
            made += 1
    return made


def template_items(template: CheckTemplate) -> list[dict]:
    return json.loads(template.items)


def find_equipment(user, data: dict) -> Equipment:
    """The checked equipment; only the author's station (any, for an admin). How its well was identified is judged
    with the record's other evidence (webapp/evidence.py)."""
    equipment_id = data.get("equipment_id")
    if isinstance(equipment_id, bool) or not isinstance(equipment_id, int):
        raise RecordError("invalid_value", gettext("缺少设备编号。"), "equipment_id")
    equipment = (
        Equipment.select(Equipment, Station).join(Station).where(Equipment.id == equipment_id).first()
        if abs(equipment_id) <= MAX_ID else None  # beyond the database's integer: not found
    )
    if equipment is None or equipment.station.work_area_id != user.work_area_id:
        raise RecordError("unknown_equipment", gettext("找不到这台设备。"), "equipment_id")
    if equipment.station_id != user.station_id and not user.has_role("admin"):
        raise RecordError("not_in_station", gettext("%(equipment)s 不属于您所在的站。", equipment=equipment.name), "equipment_id")
    return equipment


def clean_results(items: list[dict], raw) -> tuple[dict, bool, list[str]]:
    """Each item's answer checked against the template: (results, any abnormal, photo uuids)."""
    if not isinstance(raw, dict):
        raise RecordError("invalid_value", gettext("检查结果格式不对。"), "items")
    known = {item["code"]: item for item in items}
    unknown = set(raw) - set(known)
    if unknown:
        raise RecordError("unknown_item", gettext("未知的检查项：%(items)s", items="、".join(sorted(map(str, unknown)))[:60]), "items")
    results, abnormal, photos = {}, False, []
    for code, item in known.items():
        answer = raw.get(code)
        where = f"items.{code}"
        if not isinstance(answer, dict):
            raise RecordError("missing_item", gettext("「%(sense)s」%(item)s 还没有检查。", sense=SENSES[item["sense"]], item=item["label"]),
                              where)
        ok = answer.get("ok")
        if not isinstance(ok, bool):
            raise RecordError("missing_item", gettext("「%(sense)s」%(item)s 请选正常或异常。", sense=SENSES[item["sense"]],
                                                      item=item["label"]), where)
        result = {"ok": ok}
        if item["sense"] == "ce":
            value = answer.get("value")
            if value is None or value == "":
                raise RecordError("missing_value", gettext("请填写%(label)s。", label=item["label"]), where)
            value = _number(value, item["label"], item["limit_min"], item["limit_max"], where)
            result["value"] = value
            if not item["normal_min"] <= value <= item["normal_max"]:
                result["ok"] = False  # outside the normal range is abnormal, whatever was tapped
        note = _text(answer.get("note") or "", gettext("说明"), MAX_ITEM_NOTE, where)
        item_photos = photo_list(answer.get("photos"), where, MAX_ITEM_PHOTOS)
        if not result["ok"] and not note and not item_photos:
            raise RecordError("missing_note", gettext("%(item)s 异常：请写明情况或拍照。", item=item["label"]), where)
        if note:
            result["note"] = note
        if item_photos:
            result["photos"] = item_photos
            photos.extend(item_photos)
        abnormal = abnormal or not result["ok"]
        results[code] = result
    return results, abnormal, photos


def create_equipment_check(ctx: Context, data: dict) -> EquipmentCheck:
    """Handler of the `equipment_check` record type."""
    from .evidence import all_flags, judge_presence, read_method

    equipment = find_equipment(ctx.user, data)
    method = read_method(data)
    template_id = data.get("template_id")
    template = (CheckTemplate.in_area(ctx.user.work_area_id).where(CheckTemplate.id == template_id).first()
                if isinstance(template_id, int) and abs(template_id) <= MAX_ID else None)
    if template is None or template.kind != equipment.kind:
        raise RecordError("unknown_template", gettext("没有%(kind)s的检查模板。", kind=equipment.kind_label), "template_id")
    results, abnormal, photos = clean_results(template_items(template), data.get("items"))
    check_photos(ctx.user, photos)
    corrects = find_corrected(EquipmentCheck, ctx.user, data.get("corrects_uuid"), gettext("设备检查"),
                                equipment=equipment.id)
    well = Well.select(Well, Station).join(Station).where(Well.id == equipment.well_id).first() if equipment.well_id else None
    judge_presence(ctx, well, method=method)
    return EquipmentCheck.create(
        uuid=ctx.uuid, equipment=equipment, well=equipment.well_id, station=equipment.station_id, author=ctx.user.id,
        template=template, method=method, device_time=ctx.device_time, received_at=ctx.received_at,
        clock_offset_s=ctx.clock_offset_s, clock_time=ctx.clock_time, is_abnormal=abnormal, corrects=corrects,
        results=json.dumps(results, ensure_ascii=False), flags=" ".join(all_flags(ctx)),
    )


def save_template(kind: str, items: list[dict], user) -> CheckTemplate:
    """A new current version of a kind's template; checks keep pointing at the version they used."""
    return CheckTemplate.new_version(kind, user.work_area_id, items=json.dumps(items, ensure_ascii=False), created_by=user)


MAX_LABEL = 40
MAX_HINT = 80


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_template_rows(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """Items from the admin's edit form (one dict per row; empty rows and rows marked delete are dropped)."""
    items, errors, codes = [], [], set()
    for number, row in enumerate(rows, start=1):
        label = (row.get("label") or "").strip()
        if row.get("delete") or not label:
            continue
        sense = row.get("sense")
        if sense not in SENSES:
            errors.append(gettext("第 %(row)s 行：请选择望、闻、听、摸或测。", row=number))
            continue
        if len(label) > MAX_LABEL:
            errors.append(gettext("第 %(row)s 行：检查内容不能超过 %(max)s 字。", row=number, max=MAX_LABEL))
            continue
        code = (row.get("code") or "").strip() or f"item{number}"
        while code in codes:
            code = f"{code}_{number}"
        codes.add(code)
        item = {"code": code[:40], "sense": sense, "label": label, "hint": (row.get("hint") or "").strip()[:MAX_HINT]}
        if sense == "ce":
            unit = (row.get("unit") or "").strip()
            numbers = [_float(row.get(k)) for k in ("normal_min", "normal_max", "limit_min", "limit_max")]
            if not unit or None in numbers:
                errors.append(gettext("第 %(row)s 行（%(item)s）：测量项要填单位、正常范围和合理上下限。", row=number, item=label))
                continue
            normal_min, normal_max, limit_min, limit_max = numbers
            if not limit_min <= normal_min <= normal_max <= limit_max:
                errors.append(gettext("第 %(row)s 行（%(item)s）：应满足 下限 ≤ 正常下限 ≤ 正常上限 ≤ 上限。", row=number, item=label))
                continue
            item.update(unit=unit[:10], normal_min=normal_min, normal_max=normal_max, limit_min=limit_min, limit_max=limit_max)
        items.append(item)
    if not items and not errors:
        errors.append(gettext("模板至少要有一个检查项。"))
    return items, errors
