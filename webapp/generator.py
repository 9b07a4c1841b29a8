"""Deterministic history for benchmarks and the demo: patrols per well per shift with drifting readings, well
operations, 望闻听摸测 equipment checks, hazards with their closed-loop steps and key-well fluctuation alerts.

It adds rows to a database that already holds a work area (the demo's): bulk `insert_many` in chunks, one
transaction per batch of days, so a million patrols take minutes on SQLite. The same seed, end time and
database give the same rows. add_work_areas puts more work areas under the demo's plant (each with its office and
four stations, 135 staff, wells, equipment and 承包井), and generate / generate_party_history take the work areas
to fill (default: the first one, the demo's).

The demo's history (generate_history) also has the branches' party work (generate_party_history): activities with
their attendance, suggestions and their decisions, pioneer projects with milestones, 示范岗 and rated commitments
(with all_quarters, every quarter's commitments rated, for a history of a year or more). All of it in bulk.

Run: .venv/bin/python bench/generate.py PATH.db --patrols 100000   (PATH.db is created with the demo if missing;
a postgresql://… URL instead of PATH.db fills that database); --areas 5 spreads the patrols over five work areas.
`jingzhan seed-demo --history-days 14` gives the demo two weeks of history (what `make run` does).
"""
import argparse
import json
import math
import random
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from peewee import SqliteDatabase, chunked

from models import (
    Activity,
    ActivityInvitee,
    Attendance,
    CheckTemplate,
    Commitment,
    CommitmentProgress,
    Deduction,
    Equipment,
    EquipmentCheck,
    FluctuationAlert,
    Hazard,
    HazardStep,
    Milestone,
    ModelPost,
    Patrol,
    PioneerProject,
    Plant,
    Station,
    Suggestion,
    User,
    UserRole,
    Well,
    WellContract,
    WellOperation,
    WorkArea,
    db,
    new_token,
    utcnow,
)
from . import tallies
from .patrols import READINGS
from .shifts import parse_shifts, shift_at, window

# Bump when the generated data changes shape, so cached benchmark databases are rebuilt.
VERSION = 3
WELLS_PER_STATION = 40
MISSED = 0.01  # share of due patrols never made (漏巡)
MANUAL = 0.03  # typed the 井号 instead of scanning
NO_GPS = 0.02
FAR = 0.005  # checked in too far from the well (beyond PRESENCE_MAX_DISTANCE_M)
CLOCK = 0.003  # phone clock off by more than ten minutes
ABNORMAL = 0.004
OPERATION = 0.05  # a patrol of an oil well that also logs one of the ten operations
CHECK_EVERY_DAYS = 7  # each piece of equipment gets a 望闻听摸测 check once a week
CHECK_ABNORMAL = 0.03
HAZARDS_PER_STATION_DAY = 0.05  # with those from checks, about 190 a year for the work area (the case study: 150+)
HAZARD_FROM_CHECK = 0.1  # an abnormal check raises a hazard this often
STALL_DAYS = 60  # only hazards younger than this may still be open
REVIEW_LAG_HOURS = 36  # older records are reviewed; newer ones are partly still pending
BATCH_PATROLS = 20000  # rows per transaction

# Per reading of an oil well: (low, high) of a well's normal value, relative step of the drift, decimals.
OIL_PROFILE = {
    "current_up_a": (25, 75, 0.015, 1),
    "current_down_a": (20, 70, 0.015, 1),
    "oil_pressure_mpa": (0.3, 1.5, 0.02, 2),
    "casing_pressure_mpa": (0.5, 3.0, 0.02, 2),
    "back_pressure_mpa": (0.2, 1.0, 0.02, 2),
    "wellhead_temp_c": (25, 55, 0.01, 1),
    "liquid_t_per_day": (3, 60, 0.02, 1),
    "water_cut_pct": (70, 97, 0.003, 1),
}
# 螺杆泵井 and 电泵井: their drive's readings, the wellhead's as a beam-pump well's.
_WELLHEAD = {k: OIL_PROFILE[k] for k in ("oil_pressure_mpa", "casing_pressure_mpa", "back_pressure_mpa", "wellhead_temp_c",
                                        "liquid_t_per_day", "water_cut_pct")}
PCP_PROFILE = {"current_a": (15, 45, 0.015, 1), "rotation_rpm": (60, 180, 0.005, 0), **_WELLHEAD}
ESP_PROFILE = {"current_a": (20, 60, 0.015, 1), "voltage_v": (900, 1500, 0.003, 0), "frequency_hz": (40, 55, 0.003, 1),
               **_WELLHEAD}
INJECTION_PROFILE = {
    "injection_m3_per_day": (30, 100, 0.01, 1),
    "pump_pressure_mpa": (14, 22, 0.005, 2),
    "oil_pressure_mpa": (8, 18, 0.01, 2),
    "casing_pressure_mpa": (2, 8, 0.01, 2),
}
PROFILES = {"oil": OIL_PROFILE, "pcp": PCP_PROFILE, "esp": ESP_PROFILE, "injection": INJECTION_PROFILE}
STROKES_M = (2.5, 3.0, 3.6, 4.2, 4.8)
STROKES_PER_MIN = (2.0, 3.0, 4.0, 4.5, 5.0, 6.0)
# (reading, factor, note) of an abnormal patrol; the factor applies to that patrol only.
OIL_ABNORMAL = [
    ("current_up_a", 1.6, "上行电流偏高，疑似卡泵"),
    ("oil_pressure_mpa", 0.3, "油压突降，疑似管线穿孔"),
    ("liquid_t_per_day", 0.5, "产液量明显下降，疑似泵漏失"),
    (None, 1.0, "盘根盒渗油，已紧固盘根"),
]
INJECTION_ABNORMAL = [("oil_pressure_mpa", 1.3, "注水压力偏高，已通知注水站"), (None, 1.0, "井口阀门渗漏")]
RETURN_COMMENTS = ["读数与上班差异大，请复核", "请到井口扫码重新打卡", "异常情况描述不清，请补充"]
CHECK_NOTES = {
    "wang": "有渗漏痕迹", "wen": "有焦糊味", "ting": "有异响", "mo": "温度偏高", "ce": "读数超出正常范围",
}
HAZARDS = [
    ("井场围栏破损", "general"), ("抽油机护栏螺栓松动", "general"), ("配电柜接地线锈蚀", "major"),
    ("井口阀门渗漏", "general"), ("输油管线保温层脱落", "general"), ("井场可燃物未清理", "general"),
    ("电缆破皮外露", "major"), ("加热炉烟道腐蚀", "major"), ("硫化氢检测仪超期未校验", "serious"),
]
RECTIFY_NOTES = ["已修复", "已更换损坏部件", "已紧固并做好标记", "已清理完毕"]
ALERT_NOTES = ["已现场核实，调整参数后恢复", "已安排热洗", "已上报作业区，安排作业"]


def _later(at: datetime, hours: float) -> datetime:
    """at plus some hours, to the whole second (as the phones send times)."""
    return (at + timedelta(hours=hours)).replace(microsecond=0)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _insert(model, rows: list, returning=False) -> list:
    """Insert rows in chunks small enough for SQLite's parameter limit; with returning (True: id and uuid, or a tuple of
    fields), those fields of each inserted row, in any order."""
    if not rows:
        return []
    size = max(1, 30000 // len(rows[0]))
    fields = (model.id, model.uuid) if returning is True else returning
    out = []
    for chunk in chunked(rows, size):
        query = model.insert_many(chunk)
        if fields:
            out.extend(query.returning(*fields).tuples().execute())
        else:
            query.execute()
    return out


def _ids(rows: list, inserted: list) -> list[int]:
    """The ids of rows in their order, from the (id, uuid) pairs that RETURNING gave in any order."""
    return _ids_by(rows, inserted, "uuid")


def _ids_by(rows: list, inserted: list, key: str) -> list[int]:
    """The ids of rows in their order, from the (id, key) pairs that RETURNING gave in any order."""
    by_key = {row_key: row_id for row_id, row_key in inserted}
    return [by_key[row[key]] for row in rows]


def top_up_wells(per_station: int = WELLS_PER_STATION, seed: int = 1) -> int:
    """Add wells (with their equipment) until each production station has per_station; returns how many were added."""
    from webapp.demo import OIL_WELL_EQUIPMENT, allocation, well_kind

    rng = random.Random(f"wells/{seed}")
    added = 0
    with db.atomic():
        for station in Station.select().where(Station.kind == "station").order_by(Station.sort_order, Station.id):
            wells = list(Well.select().where(Well.station == station).order_by(Well.code))
            if len(wells) >= per_station:
                continue
            numbers = [int(w.code.rsplit("-", 1)[-1]) for w in wells if w.code.rsplit("-", 1)[-1].isdigit()]
            lat = sum(float(w.latitude) for w in wells) / len(wells) if wells else 40.9
            lon = sum(float(w.longitude) for w in wells) / len(wells) if wells else 121.9
            rows = []
            for n in range(max(numbers, default=0) + 1, max(numbers, default=0) + 1 + per_station - len(wells)):
                kind = well_kind(n)
                is_key = kind != "injection" and rng.random() < 0.18
                rows.append({
                    "station": station.id, "code": f"海{station.sort_order}-{n:02d}", "kind": kind, "is_key_well": is_key,
                    "qr_token": f"gen{rng.getrandbits(96):024x}",
                    "latitude": round(lat + rng.uniform(-0.008, 0.008), 6),
                    "longitude": round(lon + rng.uniform(-0.008, 0.008), 6),
                    "patrol_interval_hours": 4 if is_key else (12 if kind == "injection" else 8),
                    "allocation_m3_per_day": allocation(n),
                })
            Well.insert_many(rows).execute()
            codes = [r["code"] for r in rows]
            equipment = []
            for well in Well.select().where((Well.station == station) & Well.code.in_(codes)).order_by(Well.code):
                kinds = OIL_WELL_EQUIPMENT if well.kind == "oil" else OIL_WELL_EQUIPMENT[3:4]
                for kind, label, models in kinds:
                    equipment.append({"station": station.id, "well": well.id, "kind": kind, "name": f"{well.code} {label}",
                                      "model": rng.choice(models), "installed_on": date(rng.randint(2006, 2020), rng.randint(1, 12), 1)})
            Equipment.insert_many(equipment).execute()
            added += len(rows)
    return added


AREA_NUMBERS = "一二三四五六七八九十"


def add_work_areas(count: int, seed: int = 1, wells_per_station: int = WELLS_PER_STATION) -> list[int]:
    """Add `count` work areas under the first work area's plant, each shaped like the demo's: an office and four
    stations with their 党支部, 135 staff (48 party members, the same roles, the demo's password), wells_per_station
    wells a station with their equipment, and 承包井 held by the party members since 1 January. Returns the new work
    areas' ids (history comes from generate / generate_party_history). Call with a connection open."""
    from .demo import _Names, OIL_WELL_EQUIPMENT, STATION_EQUIPMENT, STATIONS, _roles_for, _staff_rows

    first = WorkArea.select().order_by(WorkArea.id).first()
    template = User.select(User.password_hash).where(User.work_area == first).order_by(User.id).first()
    plant = first.plant_id or Plant.create(name="生成采油厂").id
    taken = {name for (name,) in WorkArea.select(WorkArea.name).tuples()}
    numbers = [n for n in range(1, count + len(taken) + 2) if f"模拟{n:03d}作业区" not in taken][:count]
    contract_start = date(utcnow().year, 1, 1)
    created = []
    with db.atomic():
        for number in numbers:
            rng = random.Random(f"area/{seed}/{number}")
            names = _Names(rng)
            name = f"模拟{number:03d}作业区"
            area = WorkArea.create(name=name, party_org_name=f"{name}党总支", plant=plant)
            stations = []
            for index, spec in enumerate(STATIONS):
                station_name = f"{name}机关" if spec[1] == "office" else f"{name}{AREA_NUMBERS[index - 1]}号站"
                branch = f"{station_name}党支部"
                stations.append(Station.create(work_area=area, name=station_name, kind=spec[1], branch_name=branch,
                                               sort_order=index))
            tallies.adopt_area(area)
            for index, (station, spec) in enumerate(zip(stations, STATIONS, strict=True)):
                rows = _staff_rows(rng, names, index, station.id, area.id, template.password_hash, spec)
                for row in rows:
                    row["employee_no"] = f"G{number:03d}{row['employee_no'][2:]}"  # HN1003 → G0011003
                User.insert_many(rows).execute()
                ids = {u.employee_no: u.id for u in User.select(User.id, User.employee_no).where(User.station == station)}
                roles = [{"user": ids[row["employee_no"]], "role": role} for n, row in enumerate(rows)
                         for role in _roles_for(n, spec[1]) if role != "plant_admin"]
                UserRole.insert_many(roles).execute()
                if spec[1] == "station":
                    members = [ids[row["employee_no"]] for row in rows if row["is_party_member"]]
                    _area_wells(rng, station, index, number, wells_per_station, members, contract_start,
                                OIL_WELL_EQUIPMENT, STATION_EQUIPMENT)
            created.append(area.id)
    return created


def _area_wells(rng, station, index: int, number: int, per_station: int, members: list[int], contract_start: date,
                well_equipment, station_equipment) -> None:
    """A generated station's wells (one in seven injection, about 18 % of the oil wells key wells), their equipment and
    the station's, and the 承包井: the party members take three wells each in turn, key wells first."""
    from .demo import allocation, well_kind

    base_lat, base_lon = 40.6 + 0.05 * (number % 10), 121.5 + 0.05 * (number // 10 % 10)
    rows = []
    for n in range(1, per_station + 1):
        kind = well_kind(n)
        is_key = kind != "injection" and rng.random() < 0.18
        rows.append({
            "station": station.id, "code": f"模{number}-{index}-{n:02d}", "kind": kind, "is_key_well": is_key,
            "qr_token": f"gen{rng.getrandbits(96):024x}",
            "latitude": round(base_lat + index * 0.01 + rng.uniform(-0.004, 0.004), 6),
            "longitude": round(base_lon + index * 0.01 + rng.uniform(-0.004, 0.004), 6),
            "patrol_interval_hours": 4 if is_key else (12 if kind == "injection" else 8), "contractor": None,
            "allocation_m3_per_day": allocation(n),
        })
    for i, row in enumerate(sorted(rows, key=lambda r: not r["is_key_well"])[:len(members) * 3]):
        row["contractor"] = members[i % len(members)]
    Well.insert_many(rows).execute()
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    WellContract.insert_many([{"well": w.id, "member": w.contractor_id, "start_date": contract_start}
                              for w in wells if w.contractor_id]).execute()
    equipment = []
    for well in wells:
        for kind, label, models in (well_equipment if well.kind == "oil" else well_equipment[3:4]):
            equipment.append({"station": station.id, "well": well.id, "kind": kind, "name": f"{well.code} {label}",
                              "model": rng.choice(models), "installed_on": date(rng.randint(2006, 2020), rng.randint(1, 12), 1)})
    for kind, label, model in station_equipment:
        equipment.append({"station": station.id, "well": None, "kind": kind, "name": label, "model": model})
    _insert(Equipment, equipment)


def _areas(areas) -> list[WorkArea]:
    """The work areas asked for (ids or rows), in id order; None: the first work area (the demo's)."""
    if areas is None:
        return [WorkArea.select().order_by(WorkArea.id).first()]
    ids = [a.id if isinstance(a, WorkArea) else a for a in areas]
    return list(WorkArea.select().where(WorkArea.id.in_(ids)).order_by(WorkArea.id))


def patrols_per_day(honour_intervals: bool = False, areas=None) -> float:
    """How many patrols a day the generator makes for the wells now in the database (of the work areas asked for)."""
    total = 0.0
    for area in _areas(areas):
        shifts = parse_shifts(area.shifts)
        wells = (Well.select(Well.patrol_interval_hours).join(Station)
                 .where((Station.work_area == area) & (Station.kind == "station")))
        total += (1 - MISSED) * sum(_rounds(w.patrol_interval_hours, s, honour_intervals) for w in wells for s in shifts)
    return total


def days_for(patrols: int, honour_intervals: bool = False, areas=None) -> int:
    """Days of history that give at least `patrols` patrols (the last day, today, is only partly over)."""
    return math.ceil(patrols / patrols_per_day(honour_intervals, areas)) + 1


def _rounds(interval_hours: int, shift, honour_intervals: bool) -> int:
    """Patrols of one well in one shift: one, or as many as its interval asks (as webapp.shifts.well_status counts)."""
    return max(1, math.ceil(shift.hours / max(interval_hours, 1))) if honour_intervals else 1


class _Station:
    """What the generator keeps per station: wells, operators, leader, equipment and each well's readings."""

    def __init__(self, station, rng):
        self.station = station
        self.wells = list(Well.select().where(Well.station == station).order_by(Well.code))
        roles = {}
        for row in UserRole.select(UserRole.user, UserRole.role).join(User).where(User.station == station):
            roles.setdefault(row.user_id, set()).add(row.role)
        staff = list(User.select().where((User.station == station) & User.is_enabled).order_by(User.employee_no))
        self.leader = next((u.id for u in staff if "leader" in roles.get(u.id, ())), staff[0].id)
        self.operators = [u.id for u in staff if not roles.get(u.id, set()) & {"leader", "secretary", "admin"}] or [self.leader]
        self.equipment = list(Equipment.select().where((Equipment.station == station) & Equipment.is_in_service).order_by(Equipment.id))
        self.state = {w.id: _well_state(w, rng) for w in self.wells}


def _well_state(well, rng) -> dict:
    """A well's normal readings and where they have drifted to."""
    profile = PROFILES.get(well.kind, OIL_PROFILE)
    base = {name: rng.uniform(low, high) for name, (low, high, _step, _dec) in profile.items()}
    if well.allocation_m3_per_day and "injection_m3_per_day" in base:  # an injection well injects about its 配注
        base["injection_m3_per_day"] = well.allocation_m3_per_day * rng.uniform(0.85, 1.05)
    if well.kind == "oil":
        base["current_down_a"] = base["current_up_a"] * rng.uniform(0.75, 1.05)
        fixed = {"stroke_m": rng.choice(STROKES_M), "strokes_per_min": rng.choice(STROKES_PER_MIN)}
    else:
        fixed = {}
    return {"profile": profile, "base": base, "now": dict(base), "fixed": fixed}


def _readings(state, rng) -> dict:
    """The next readings of a well: a mean-reverting random walk around a slowly moving base, within READINGS."""
    out = dict(state["fixed"])
    for name, (_low, _high, step, decimals) in state["profile"].items():
        base, now = state["base"][name], state["now"][name]
        if name == "water_cut_pct":
            state["base"][name] = base = min(99.0, base + 0.0005)  # water cut creeps up as a field ages
        now += rng.gauss(0, step * base) + 0.1 * (base - now)
        low, high = READINGS[name][2:4]
        state["now"][name] = now = min(max(now, low), high)
        out[name] = round(now, decimals)
    return out


def _position(well, rng, far: bool):
    """(latitude, longitude, distance_m) of a check-in near the well, or far from it."""
    distance = rng.uniform(250, 1500) if far else abs(rng.gauss(0, 12)) + 2
    bearing = rng.uniform(0, 2 * math.pi)
    lat, lon = float(well.latitude), float(well.longitude)
    dlat = distance * math.cos(bearing) / 111320
    dlon = distance * math.sin(bearing) / (111320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6), round(distance, 1)


def _review(rng, at: datetime, end: datetime, leader: int, comments=RETURN_COMMENTS) -> dict:
    """Review columns of a record made at `at`: older ones approved (a few returned), recent ones mostly pending."""
    age_h = (end - at).total_seconds() / 3600
    if age_h < 12 or (age_h < REVIEW_LAG_HOURS and rng.random() < 0.7):
        return {"review_status": "pending", "reviewed_by": None, "reviewed_at": None, "review_comment": ""}
    reviewed_at = min(_later(at, rng.uniform(2, 30)), end)
    if rng.random() < 0.01:
        return {"review_status": "returned", "reviewed_by": leader, "reviewed_at": reviewed_at, "review_comment": rng.choice(comments)}
    return {"review_status": "approved", "reviewed_by": leader, "reviewed_at": reviewed_at, "review_comment": ""}


def _operation(code: str, readings: dict, rng) -> dict:
    """Values of one of the ten operations, within the ranges of webapp.patrols.OPERATIONS."""
    if code == "bie":
        start = readings.get("oil_pressure_mpa", 1.0)
        return {"minutes": rng.choice((5, 10, 15)), "start_mpa": start, "end_mpa": round(min(40, start + rng.uniform(1.5, 4)), 2)}
    if code == "peng":
        return {"times": rng.randint(1, 5)}
    if code == "tiao":
        spm = readings.get("strokes_per_min", 4.0)
        return {"param": "冲次", "old": spm, "new": max(1.0, spm + rng.choice((-1.0, -0.5, 0.5, 1.0)))}
    if code == "kong":
        before = readings.get("casing_pressure_mpa", 1.5)
        return {"before_mpa": before, "after_mpa": round(before * rng.uniform(0.4, 0.8), 2)}
    if code == "xi":
        return {"volume_m3": round(rng.uniform(20, 60), 1), "temp_c": round(rng.uniform(70, 90), 1)}
    if code == "bu":
        return {"action": rng.choice(("补盘根", "换盘根"))}
    if code == "liang":
        hours = rng.choice((2, 4, 8))
        return {"hours": hours, "liquid_t": round(readings.get("liquid_t_per_day", 10) * hours / 24, 2)}
    if code == "bi":
        return {"finding": rng.choice(("产液量与上月持平", "含水较上周上升 1 个百分点，继续观察", "电流平衡率偏低，建议调平衡"))}
    return {"item": rng.choice(("压力表", "电流表", "防冲距"))}


OPERATION_CODES = ("bie", "peng", "tiao", "kong", "xi", "bu", "liang", "bi", "jiao")


def _check_results(items: list[dict], abnormal: bool, rng) -> dict:
    """Results in the shape webapp.checks.clean_results keeps: {code: {"ok", "value"?, "note"?}}."""
    bad = rng.randrange(len(items)) if abnormal else -1
    results = {}
    for i, item in enumerate(items):
        result = {"ok": i != bad}
        if item["sense"] == "ce":
            low, high = item["normal_min"], item["normal_max"]
            span = high - low
            if i == bad:
                value = min(item["limit_max"], high + span * rng.uniform(0.05, 0.3))
            else:
                value = rng.uniform(low + 0.2 * span, high - 0.2 * span)
            result["value"] = round(value, 1) if span >= 5 else round(value, 2)
        if i == bad:
            result["note"] = CHECK_NOTES[item["sense"]]
        results[item["code"]] = result
    return results


def _hazard_steps(rng, hazard: dict, site: _Station, end: datetime) -> tuple[dict, list[dict]]:
    """The hazard's steps up to `end` (report → assign → rectify → [return → rectify] → verify → close) and its state."""
    at = hazard["reported_at"]
    steps = [{"action": "report", "actor": hazard["reporter"], "at": at, "note": hazard["description"]}]
    state = {"status": "reported", "assignee": None, "deadline": None, "rectified_by": None, "closed_at": None}
    stalls = (end - at).days < STALL_DAYS and rng.random() < 0.15
    assignee = rng.choice(site.operators)
    plan = [("assign", rng.uniform(1, 20))]
    if not stalls:
        plan.append(("rectify", rng.uniform(12, 190)))
        if rng.random() < 0.1:
            plan += [("return", rng.uniform(2, 24)), ("rectify", rng.uniform(12, 72))]
        plan += [("verify", rng.uniform(2, 36)), ("close", rng.uniform(1, 24))]
    for action, hours in plan:
        at = _later(at, hours)
        if at >= end:
            break
        step = {"action": action, "actor": site.leader, "at": at, "note": "", "assignee": None, "deadline": None}
        if action == "assign":
            deadline = at.date() + timedelta(days=rng.randint(3, 14))
            step.update(assignee=assignee, deadline=deadline)
            state.update(status="assigned", assignee=assignee, deadline=deadline)
        elif action == "rectify":
            step.update(actor=assignee, note=rng.choice(RECTIFY_NOTES))
            state.update(status="rectified", rectified_by=assignee)
        elif action == "return":
            step["note"] = "整改不到位，请重新处理"
            state.update(status="assigned", rectified_by=None)
        elif action == "verify":
            state["status"] = "verified"
        else:
            state.update(status="closed", closed_at=at)
        steps.append(step)
    return state, steps


class _Batch:
    """Rows waiting to be written in one transaction; records point at each other by position until inserted."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.patrols, self.operations, self.alerts = [], [], []  # operations/alerts: (patrol index, row)
        self.checks, self.hazards = [], []  # hazards: (check index or None, hazard row, steps)

    def flush(self, counts: dict) -> None:
        with db.atomic():
            patrol_ids = _ids(self.patrols, _insert(Patrol, self.patrols, returning=True))
            _insert(WellOperation, [dict(row, patrol=patrol_ids[i]) for i, row in self.operations])
            _insert(FluctuationAlert, [dict(row, patrol=patrol_ids[i]) for i, row in self.alerts])
            check_ids = _ids(self.checks, _insert(EquipmentCheck, self.checks, returning=True))
            hazards = [dict(row, source_check=None if i is None else check_ids[i]) for i, row, _steps in self.hazards]
            hazard_ids = _ids(hazards, _insert(Hazard, hazards, returning=True))
            steps = [dict(step, hazard=hazard_ids[n]) for n, (_i, _row, hazard_steps) in enumerate(self.hazards) for step in hazard_steps]
            _insert(HazardStep, steps)
        for name, rows in (("patrols", self.patrols), ("operations", self.operations), ("alerts", self.alerts),
                           ("checks", self.checks), ("hazards", self.hazards), ("hazard_steps", steps)):
            counts[name] += len(rows)
        self.clear()


def generate(days: int, seed: int = 1, end: datetime | None = None, honour_intervals: bool = False, progress=None,
             areas=None) -> dict:
    """Add `days` days of history (the last one being today, up to `end`, naive UTC, default now) for every well of
    the production stations of the work areas (ids; default the first work area); returns the counts of what was
    added. Call with a connection open."""
    end = (end or utcnow()).replace(microsecond=0)
    rng = random.Random(f"{seed}/{end.isoformat()}/{days}")
    plans = []  # per work area: its shifts, time zone, last day, stations and check templates
    for area in _areas(areas):
        shifts, tz = parse_shifts(area.shifts), area.timezone
        stations = [_Station(s, rng) for s in Station.select().where((Station.work_area == area) & (Station.kind == "station"))
                    .order_by(Station.sort_order, Station.id)]
        templates = {}
        for site in stations:
            for piece in site.equipment:
                if piece.kind not in templates:
                    template = CheckTemplate.current(piece.kind, area.id)
                    templates[piece.kind] = template and (template.id, json.loads(template.items))
        # The day of the shift under way, not the calendar date: just after midnight the night shift that is on
        # belongs to yesterday, and must be part of the history too.
        last_day, _shift_now = shift_at(end, shifts, tz)
        plans.append((shifts, tz, last_day, stations, templates))
    # `days` days of history means the last days × 24 hours: just after a shift change the new shift day has hardly
    # begun, and the shifts that ended a moment ago belong to the history too.
    since = end - timedelta(days=days)
    counts = dict.fromkeys(("patrols", "operations", "alerts", "checks", "hazards", "hazard_steps"), 0)
    batch = _Batch()
    began = time.perf_counter()
    pragmas = _fast_writes()
    try:
        for offset in range(days, -1, -1) if days else ():
            for shifts, tz, last_day, stations, templates in plans:
                day = last_day - timedelta(days=offset)
                ordinal = day.toordinal()
                for shift in shifts:
                    start, stop = window(day, shift, tz)
                    if start >= end or stop <= since:
                        continue
                    turn = ordinal * len(shifts) + shift.index
                    for site in stations:
                        _shift(rng, batch, site, shift, start, end, turn, honour_intervals)
                        if shift.index == 0:
                            _checks_and_hazards(rng, batch, site, ordinal, start, shift, end, turn, templates)
            if len(batch.patrols) >= BATCH_PATROLS:
                batch.flush(counts)
                if progress:
                    progress(counts, time.perf_counter() - began)
        batch.flush(counts)
    finally:
        _restore(pragmas)
    if progress:
        progress(counts, time.perf_counter() - began)
    return counts


def _shift(rng, batch: _Batch, site: _Station, shift, start: datetime, end: datetime, turn: int, honour_intervals: bool) -> None:
    """The patrols of one station in one shift: two operators each walk half the wells, round after round."""
    team = [site.operators[(2 * turn) % len(site.operators)], site.operators[(2 * turn + 1) % len(site.operators)]]
    half = (len(site.wells) + 1) // 2
    for position, well in enumerate(site.wells):
        author, place = team[position // half], position % half
        rounds = _rounds(well.patrol_interval_hours, shift, honour_intervals)
        round_hours = shift.hours / rounds
        for r in range(rounds):
            readings = _readings(site.state[well.id], rng)  # the well drifts whether or not it is visited
            if rng.random() < MISSED:
                continue
            clock_time = start + timedelta(hours=r * round_hours + 0.25 + 0.8 * round_hours * place / half,
                                           seconds=rng.randint(0, 300))
            if clock_time >= end:
                continue
            row, metric = _patrol(rng, site, well, author, clock_time.replace(microsecond=0), end, readings)
            batch.patrols.append(row)
            index = len(batch.patrols) - 1
            if well.kind == "oil" and rng.random() < OPERATION:
                code = rng.choice(OPERATION_CODES)
                batch.operations.append((index, {"well": well.id, "code": code,
                                                 "values": json.dumps(_operation(code, readings, rng), ensure_ascii=False)}))
            if well.is_key_well and metric in FluctuationAlert.METRICS:
                batch.alerts.append((index, _alert(rng, site, well, row, metric, end)))


def _alert(rng, site: _Station, well, patrol: dict, metric: str, end: datetime) -> dict:
    """A key well's fluctuation alert for an abnormal reading; acknowledged by the leader unless it is recent."""
    created = patrol["received_at"]
    acknowledged = (end - created).days >= 2
    return {
        "well": well.id, "metric": metric, "value": patrol[metric], "baseline": round(site.state[well.id]["base"][metric], 2),
        "created_at": created, "acknowledged_by": site.leader if acknowledged else None,
        "acknowledged_at": min(_later(created, rng.uniform(1, 12)), end) if acknowledged else None,
        "action_note": rng.choice(ALERT_NOTES) if acknowledged else "",
    }


def _patrol(rng, site: _Station, well, author: int, clock_time: datetime, end: datetime, readings: dict) -> tuple[dict, str]:
    """One patrol row, flags and review included (in the order webapp.patrols.presence_flags gives them), and the
    reading that made it abnormal, if any."""
    flags = []
    method = "manual" if rng.random() < MANUAL else "scan"
    if method == "manual":
        flags.append("manual")
    latitude = longitude = accuracy = distance = None
    if rng.random() < NO_GPS or well.latitude is None:
        flags.append("no_gps")
    else:
        far = rng.random() < FAR
        latitude, longitude, distance = _position(well, rng, far)
        accuracy = round(rng.uniform(3, 20), 1)
        if far:
            flags.append("far")
    offset = rng.randint(-30, 30)
    if rng.random() < CLOCK:
        offset = rng.choice((-1, 1)) * rng.randint(700, 3600)
        flags.append("clock")
    note, is_abnormal, metric = "", False, None
    if rng.random() < ABNORMAL:
        metric, factor, note = rng.choice(INJECTION_ABNORMAL if well.kind == "injection" else OIL_ABNORMAL)
        is_abnormal = True
        if metric == "current_up_a" and "current_a" in readings:  # 螺杆泵井, 电泵井: one running current
            metric = "current_a"
        if metric:
            low, high = READINGS[metric][2:4]
            readings = dict(readings, **{metric: round(min(max(readings[metric] * factor, low), high), 2)})
    row = {
        "uuid": _uuid(rng), "well": well.id, "station": site.station.id, "author": author, "method": method,
        "device_time": clock_time - timedelta(seconds=offset), "clock_offset_s": offset, "clock_time": clock_time,
        "received_at": min(clock_time + timedelta(seconds=rng.randint(5, 3 * 3600)), end),
        "latitude": latitude, "longitude": longitude, "accuracy_m": accuracy, "distance_m": distance,
        **{name: readings.get(name) for name in READINGS},
        "is_abnormal": is_abnormal, "note": note, "flags": " ".join(flags), "corrects": None, "confirmed": "",
        "reading_set": None,
        **_review(rng, clock_time, end, site.leader),
    }
    return row, metric


def _checks_and_hazards(rng, batch: _Batch, site: _Station, ordinal: int, start: datetime, shift, end: datetime, turn: int,
                        templates: dict) -> None:
    """The day's equipment checks (each piece once every CHECK_EVERY_DAYS days, in the day shift) and hazards."""
    team = [site.operators[(2 * turn) % len(site.operators)], site.operators[(2 * turn + 1) % len(site.operators)]]
    for n, piece in enumerate(site.equipment):
        template = templates.get(piece.kind)
        if template is None or (n + ordinal) % CHECK_EVERY_DAYS:
            continue
        clock_time = _later(start, rng.uniform(0.5, shift.hours - 0.5))
        if clock_time >= end:
            continue
        abnormal = rng.random() < CHECK_ABNORMAL
        offset = rng.randint(-30, 30)
        method = "manual" if rng.random() < MANUAL else "scan"
        row = {
            "uuid": _uuid(rng), "equipment": piece.id, "well": piece.well_id, "station": site.station.id,
            "author": rng.choice(team), "template": template[0], "method": method,
            "device_time": clock_time - timedelta(seconds=offset), "clock_offset_s": offset, "clock_time": clock_time,
            "received_at": min(clock_time + timedelta(seconds=rng.randint(5, 3 * 3600)), end),
            "is_abnormal": abnormal, "results": json.dumps(_check_results(template[1], abnormal, rng), ensure_ascii=False),
            "flags": "manual" if method == "manual" else "", "corrects": None,
            **_review(rng, clock_time, end, site.leader, ["请补充异常项的照片", "读数与上周差异大，请复核"]),
        }
        batch.checks.append(row)
        if abnormal and rng.random() < HAZARD_FROM_CHECK:
            item = next(code for code, result in json.loads(row["results"]).items() if not result["ok"])
            _hazard(rng, batch, site, row["author"], clock_time, end, piece.well_id, piece.id, len(batch.checks) - 1, item,
                    f"{piece.name}：{CHECK_NOTES[next(i['sense'] for i in template[1] if i['code'] == item)]}", "general")
    if rng.random() < HAZARDS_PER_STATION_DAY:
        at = _later(start, rng.uniform(0.5, shift.hours - 0.5))
        if at < end:
            well = rng.choice(site.wells) if site.wells and rng.random() < 0.6 else None
            description, severity = rng.choice(HAZARDS)
            _hazard(rng, batch, site, rng.choice(team), at, end, well.id if well else None, None, None, "",
                    f"{well.code} {description}" if well else description, severity)


def _hazard(rng, batch, site, reporter, at, end, well_id, equipment_id, check_index, item, description, severity) -> None:
    row = {"uuid": _uuid(rng), "station": site.station.id, "well": well_id, "equipment": equipment_id, "source_item": item,
           "reporter": reporter, "description": description, "severity": severity, "photos": "[]", "reported_at": at}
    state, steps = _hazard_steps(rng, row, site, end)
    row.update(state)
    steps = [{"uuid": _uuid(rng), "photos": "[]", "flags": "", "assignee": None, "deadline": None, **step} for step in steps]
    batch.hazards.append((check_index, row, steps))


def _fast_writes():
    """On SQLite, no fsync and a bigger page cache for this connection while generating; the old values to restore."""
    if not isinstance(db.obj, SqliteDatabase) or db.in_transaction():
        return None
    old = {name: db.execute_sql(f"PRAGMA {name}").fetchone()[0] for name in ("synchronous", "cache_size")}
    db.execute_sql("PRAGMA synchronous = OFF")
    db.execute_sql("PRAGMA cache_size = -262144")  # 256 MB
    return old


def _restore(old) -> None:
    if old:
        for name, value in old.items():
            db.execute_sql(f"PRAGMA {name} = {int(value)}")


# Party work of the demo (generate_party_history): what a branch secretary schedules and the branch's people do.
# 三会一课 without the 支委会, which only the committee attends: kind → topics.
MEETINGS = {
    "member_meeting": ["支部党员大会：通报本季度党建工作，部署冬季安全生产", "支部党员大会：民主评议党员",
                       "支部党员大会：讨论确定入党积极分子"],
    "group_meeting": ["党小组会：交流承包井管理经验", "党小组会：讨论冬季防冻堵措施", "党小组会：学习岗位安全操作规程"],
    "party_lecture": ["书记讲党课：弘扬石油精神，立足岗位作贡献", "党课：从严从实抓安全", "党课：党员身份在岗位上亮出来"],
}
THEME_DAYS = ["主题党日：重温入党誓词", "主题党日：井场安全隐患大排查", "主题党日：走访慰问老党员",
              "主题党日：观看警示教育片"]
STUDIES = ["学习《中华人民共和国安全生产法》", "学习《中国共产党章程》", "学习油田公司 HSE 管理规定",
           "学习《中国共产党纪律处分条例》"]
TRAININGS = [("抽油机节能降耗技术培训", 4.0), ("硫化氢防护与应急救援培训", 3.0), ("十字作业法实操培训", 6.0),
             ("冬季防冻堵操作培训", 2.5)]
VOLUNTEER_WORK = [("井场义务清理", 0.5), ("冬季井口保温义务献工", 1.0), ("站区环境整治义务劳动", 0.5),
                  ("输油管线巡护义务献工", 1.0)]
UPCOMING = [("party_lecture", "党课：学习身边的先进典型"), ("theme_day", "主题党日：冬季安全生产承诺践诺"),
            ("member_meeting", "支部党员大会：年度党员民主评议")]
# kind → (place, local start hour, hours it lasts; training and volunteer work last as long as they credit)
ACTIVITY_TIMES = {
    "member_meeting": ("站部会议室", 14.5, 2.0), "group_meeting": ("站部会议室", 15.0, 1.5),
    "party_lecture": ("作业区党员活动室", 14.5, 2.0), "theme_day": ("作业区党员活动室", 9.0, 2.5),
    "study": ("站部会议室", 15.0, 1.5), "training": ("作业区培训教室", 9.0, None), "volunteer": ("井场", 8.5, None),
}
EXCUSES = ["当班值守，不能离岗", "外出参加作业区技能培训", "病假", "事假：家中老人住院", "轮休回家"]
SCAN_OFFLINE = 0.1  # share of scanned check-ins that reach the server only later (no signal in the meeting room)
MARKED = 0.06  # present, but marked by the organiser (a phone with a flat battery)
ABSENT = 0.2  # an activity with one member absent without leave
# title, body, note on adopting, reason for declining
SUGGESTIONS = [
    ("加热炉烟道增设清灰口", "现状：加热炉烟道积灰只能停炉拆开清理。建议：在烟道弯头处增设清灰口，每月清灰一次。预期：减少停炉时间，提高热效率。",
     "已列入本季度维修计划，由维修班实施。", "烟道改造须由厂家出方案，已转设备组，本站暂不实施。"),
    ("巡检路线按井位重新排序", "现状：部分井的巡检顺序绕远，一个来回多走 3 公里。建议：按井位坐标重新排列巡检顺序。预期：每班节省约 40 分钟。",
     "已按建议调整巡检路线，下月起执行。", "路线与注水井倒班巡检有交叉，先维持现状，年底统一调整。"),
    ("冬季井口加装保温罩", "现状：低产井冬季井口易冻堵。建议：给产液量低于 5 吨的井加装可拆卸保温罩。预期：减少冻堵停井。",
     "采纳，已申请采购 20 套保温罩。", "作业区已统一安排伴热带改造，保温罩不再单独采购。"),
    ("站内增设应急物资柜", "现状：应急物资分散在库房和值班室，夜间取用不便。建议：在值班室旁设应急物资柜并张贴清单。预期：应急时 5 分钟内取到物资。",
     "已在值班室旁设柜，清单上墙，每月检查一次。", "库房改造后将统一设置，暂不单独增设。"),
    ("掺水泵进口加装过滤器", "现状：掺水泵叶轮常被杂质磨损。建议：进口加装 Y 型过滤器。预期：延长叶轮寿命，减少检修。",
     "先在 1 号掺水泵试装，效果好再推广。", "泵进口空间不够，已请设备组另行论证。"),
    ("新员工十字作业法师带徒", "现状：新员工对十字作业法掌握慢。建议：每名新员工指定一名党员师傅，三个月内考核出师。预期：新员工独立巡检时间缩短一半。",
     "采纳，已为 3 名新员工指定党员师傅。", "作业区已统一组织培训，本站不再另行安排。"),
    ("配电柜门锁统一更换", "现状：部分井场配电柜门锁锈死，开柜要撬。建议：统一更换为防锈挂锁。预期：开柜方便，防止外人误动。",
     "已报设备组，本月内更换完毕。", "配电柜门锁由作业区统一采购，已反映到设备组，本站暂不单独更换。"),
    ("交接班记录增加设备运行栏", "现状：交接班时设备运行情况靠口头交代。建议：交接班记录增加机泵、加热炉运行栏。预期：交接清楚，问题可追溯。",
     "采纳，交接班时在备注中逐项写明设备运行情况。", "交接班单已有设备异常栏，不再另加，请在异常栏如实填写。"),
    ("井场照明改用太阳能灯", "现状：偏远井场夜间照明不足，夜巡看不清仪表。建议：偏远井场装太阳能照明灯。预期：夜巡更安全。",
     "先在 2 口偏远井试点，效果好再推广。", "费用超出站内维修预算，已转报作业区统筹考虑。"),
    ("冬季巡检配发防滑鞋套", "现状：冬季井场结冰，巡检易滑倒。建议：给巡检员工配发防滑鞋套。预期：减少冬季滑倒事故。",
     "已申请采购，入冬前发放到人。", "劳保用品已含防滑鞋，请按规定穿戴。"),
    ("抽油机平衡记录上墙", "现状：各井平衡调整情况只在记录本上，交接时不直观。建议：在站部做平衡率看板，每周更新。预期：及时发现失衡井。",
     "采纳，看板已做好，每周一更新。", "系统里已有平衡率曲线，不再另做看板。"),
    ("资料室文件电子化归档", "现状：纸质资料查找慢，借出后常找不回。建议：常用资料扫描后按井号电子归档。预期：查找资料从半天缩短到几分钟。",
     "已安排资料员利用下班前时间逐步扫描。", "涉及档案管理规定，须按作业区统一部署进行。"),
]
# title ("{well}": the project's well), goal, milestones (title, what was done when it was reached)
PROJECTS = [
    ("{well} 产量恢复", "通过测图诊断、热洗清蜡和调参，使 {well} 日产液恢复到 20 吨以上。",
     [("测示功图、诊断泵况", "示功图显示供液不足，确定调小冲次的方案"), ("热洗清蜡", "热洗 40 方，回压由 0.9 MPa 降到 0.6 MPa"),
      ("调整冲次并观察 7 天", ""), ("产量复测验收", "")]),
    ("抽油机节能降耗攻关", "对站内高耗能抽油机调平衡、调参数，吨液耗电下降 8%。",
     [("摸清高耗能井底数", "测算全站吨液耗电，确定 5 口重点治理井"), ("逐井调平衡", "5 口井平衡率全部调到 90% 以上"),
      ("优化冲次冲程", ""), ("运行一个月对比评估", "")]),
    ("冬季防冻堵攻关", "入冬前完成全站管线、井口保温排查和整改，冬季不发生冻堵停井。",
     [("排查保温层破损点", "排查管线 12 公里，发现保温层破损 9 处"), ("修复破损保温层", "9 处全部修复并复查"),
      ("冬季运行总结", "")]),
]
OFFICE_PROJECTS = [
    ("巡检数据质量提升", "推动各站扫码打卡率达到 98%，漏巡率降到 1% 以下。",
     [("统计各站扫码率与漏巡", "汇总各站近一个月的扫码率和漏巡，形成通报"), ("到扫码率低的站现场指导", "到两个站现场指导补贴标签、规范打卡"),
      ("建立每周通报制度", ""), ("季度评估", "")]),
]
MODEL_POSTS = ["安全生产党员示范岗", "节能降耗党员示范岗", "技术革新党员示范岗", "青年突击队党员示范岗", "服务群众党员示范岗"]
# Quarterly commitments of the quarter just ended, rated by the branch (季度评诺): category, content, target, quantity,
# unit and the progress records (text, quantity). The demo's yearly commitments (webapp/demo.py) stay unrated.
QUARTER_COMMITMENTS = [
    ("safety", "带头排查井场隐患，发现问题当班上报", "本季度排查上报隐患 3 项", 3, "项",
     [("排查发现配电柜接地线锈蚀并上报", 1), ("排查发现井场围栏破损、电缆破皮外露并上报", 2)]),
    ("energy", "管好承包井的平衡和冲次，降低耗电", "承包井平衡率达到 90%", None, "",
     [("调整 2 口承包井平衡块，平衡率由 82% 提到 91%", None)]),
    ("service", "帮助新员工熟悉加热炉和外输泵操作", "带教新员工 2 人次", 2, "人次",
     [("带教新员工练习加热炉点火操作", 1), ("带教新员工熟悉外输泵倒泵流程", 1)]),
    ("study", "自学《安全生产法》并参加作业区考试", "考试成绩 90 分以上", None, "",
     [("完成《安全生产法》自学笔记", None), ("参加作业区考试，成绩 94 分", None)]),
]
ABSENCE_POINTS = 2
PARTY_COUNTS = ("activities", "invitees", "attendance", "deductions", "suggestions", "projects", "milestones",
                "model_posts", "commitments_rated", "commitment_progress")


def _at(day: date, hour: float, tz: str) -> datetime:
    """A local time of day (hours, e.g. 14.5 for 14:30) in the work area's zone, as naive UTC."""
    minutes = round(hour * 60)
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _month(moment: datetime, tz: str) -> str:
    """'YYYY-MM' of a naive-UTC moment in the work area's zone."""
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).strftime("%Y-%m")


class _Branch:
    """A station's 党支部: its enabled party members, the rest of its staff, its secretary (or leader, who then
    organises) and the ordinary members (no leader, secretary or admin role)."""

    def __init__(self, station):
        self.station = station
        staff = list(User.select().where((User.station == station) & User.is_enabled).order_by(User.employee_no))
        roles: dict[int, set] = {}
        for row in UserRole.select(UserRole.user, UserRole.role).join(User).where(User.station == station):
            roles.setdefault(row.user_id, set()).add(row.role)

        def holder(role):
            return next((u for u in staff if role in roles.get(u.id, ())), None)

        self.members = [u for u in staff if u.is_party_member]
        self.others = [u for u in staff if not u.is_party_member]
        self.secretary = holder("secretary") or holder("leader") or (self.members or staff or [None])[0]
        self.ordinary = [u for u in self.members if not roles.get(u.id, set()) & {"leader", "secretary", "admin"}] \
            or [u for u in self.members if u.id != self.secretary.id] or self.members


def generate_party_history(days: int, seed: int = 1, end: datetime | None = None, areas=None,
                           all_quarters: bool = False) -> dict:
    """`days` days of the branches' party work up to `end` (naive UTC, default now) for every station of the work areas
    (ids; default the first work area): per branch, a 三会一课, a 主题党日, a study session, a training (hours) and
    volunteer work (days) for every 30 days, held on past days with the party members' attendance (most scanned in, a
    few 请假 with a reason, now and then one absent, who may be docked); one activity still to come; suggestions by the
    staff, the older ones mostly decided by the secretary; a pioneer project with its milestones; two 示范岗; and one
    or two commitments of the quarter just ended, rated so that KO points exist — with all_quarters instead every
    ordinary member's commitments of every quarter ended in the period, rated after it (for a history of years).
    Written in bulk. Returns the counts added; nothing for days < 1. Call with a connection open. The same seed, end
    and database give the same rows (but for each activity's random check-in code secret)."""
    counts = dict.fromkeys(PARTY_COUNTS, 0)
    if days < 1:
        return counts
    end = (end or utcnow()).replace(microsecond=0)
    rng = random.Random(f"party/{seed}")
    with db.atomic():
        for area in _areas(areas):
            tz = area.timezone
            today = end.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()
            rows = _PartyRows()
            for station in Station.select().where(Station.work_area == area).order_by(Station.sort_order, Station.id):
                branch = _Branch(station)
                if branch.secretary is None:
                    continue
                if branch.members:
                    _party_activities(rng, branch, days, today, end, tz, rows)
                    _pioneer_project(rng, branch, days, today, tz, counts)
                    _model_posts(rng, branch, days, today, counts)
                    if all_quarters:
                        _quarter_commitments(rng, branch, days, today, end, tz, rows)
                    else:
                        _rated_commitments(rng, branch, days, today, end, tz, counts)
                _suggestions(rng, branch, days, today, end, tz, rows)
            rows.flush(counts)
    return counts


class _PartyRows:
    """Party rows of a work area waiting to be written in bulk; attendance and progress point at their activity or
    commitment by position until those are inserted."""

    def __init__(self):
        self.activities, self.invitees, self.attendance, self.deductions = [], [], [], []  # invitees, attendance: (i, row)
        self.suggestions, self.commitments, self.progress = [], [], []  # progress: (commitment index, row)

    def flush(self, counts: dict) -> None:
        activity_ids = _ids_by(self.activities, _insert(Activity, self.activities, (Activity.id, Activity.code_secret)),
                               "code_secret")
        _insert(ActivityInvitee, [dict(row, activity=activity_ids[i]) for i, row in self.invitees])
        _insert(Attendance, [dict(row, activity=activity_ids[i]) for i, row in self.attendance])
        _insert(Deduction, self.deductions)
        _insert(Suggestion, self.suggestions)
        key = (Commitment.id, Commitment.member, Commitment.period, Commitment.category)
        inserted = {(member, period, category): row_id
                    for row_id, member, period, category in _insert(Commitment, self.commitments, key)}
        commitment_ids = [inserted[(c["member"], c["period"], c["category"])] for c in self.commitments]
        _insert(CommitmentProgress, [dict(row, commitment=commitment_ids[i]) for i, row in self.progress])
        for name, rows in (("activities", self.activities), ("invitees", self.invitees), ("attendance", self.attendance),
                           ("deductions", self.deductions), ("suggestions", self.suggestions),
                           ("commitments_rated", [c for c in self.commitments if c["rating"]]),
                           ("commitment_progress", self.progress)):
            counts[name] += len(rows)
        self.__init__()


def _party_activities(rng, branch: _Branch, days: int, today: date, end: datetime, tz: str, rows: _PartyRows) -> None:
    """The five kinds on different past days of each 30 days (today only when there is no past day), and one to come."""
    past_days = list(range(1, days)) or [0]  # days before today
    plan = []
    for first in range(0, len(past_days), 30):
        slots = past_days[first:first + 30]
        if first and len(slots) < 15:
            break
        kind = rng.choice(sorted(MEETINGS))
        topics = [(kind, rng.choice(MEETINGS[kind]), None), ("theme_day", rng.choice(THEME_DAYS), None),
                  ("study", rng.choice(STUDIES), None), ("training", *rng.choice(TRAININGS)),
                  ("volunteer", *rng.choice(VOLUNTEER_WORK))]
        offsets = rng.sample(slots, len(topics)) if len(slots) >= len(topics) else [rng.choice(slots) for _ in topics]
        plan += [(kind, topic, credit, offset) for (kind, topic, credit), offset in zip(topics, offsets, strict=True)]
    kind, topic = rng.choice(UPCOMING)
    plan.append((kind, topic, None, -rng.randint(2, 6)))
    wells = None
    for kind, topic, credit, offset in sorted(plan, key=lambda p: -p[3]):
        place, hour, length = ACTIVITY_TIMES[kind]
        if branch.station.kind == "office":
            place = place.replace("站部", "机关")
        if kind == "volunteer":
            length = 3.5 if credit < 1 else 9.0
            if wells is None:
                wells = list(branch.station.wells.order_by(Well.code)) or [None]
            well = rng.choice(wells)
            place = f"{well.code} 井场" if well else "机关院区"
        elif kind == "training":
            length = credit + (1 if credit > 4 else 0)  # a lunch break in a day's training
        starts_at = _at(today - timedelta(days=offset), hour, tz)
        ends_at = starts_at + timedelta(hours=length)
        scheduled = starts_at - timedelta(days=rng.uniform(2, 7)) if offset > 0 else end - timedelta(hours=rng.uniform(2, 30))
        activity = {
            "station": branch.station.id, "kind": kind, "topic": topic, "place": place, "starts_at": starts_at,
            "ends_at": ends_at, "hours": credit if kind == "training" else None, "days": credit if kind == "volunteer" else None,
            "code_secret": new_token(), "organiser": branch.secretary.id,
            "note": "请提前 10 分钟到场，扫现场大屏上的二维码签到。" if offset < 0 else "",
            "created_at": min(scheduled, end).replace(microsecond=0),
        }
        rows.activities.append(activity)
        index = len(rows.activities) - 1
        rows.invitees += [(index, {"user": m.id}) for m in branch.members]
        if ends_at <= end:
            _attendance(rng, index, activity, branch, end, tz, rows)


def _attendance(rng, index: int, activity: dict, branch: _Branch, end: datetime, tz: str, rows: _PartyRows) -> None:
    """The attendance of a past activity: a few excused (请假, asked for beforehand), now and then one absent, and the
    rest present — scanned in around the start, or marked by the organiser."""
    organiser = activity["organiser"]
    others = [m for m in branch.members if m.id != organiser]
    excused = {m.id for m in rng.sample(others, min(len(others), rng.choice((0, 1, 1, 2))))}
    rest = [m for m in others if m.id not in excused]
    absent = rest[rng.randrange(len(rest))] if rest and rng.random() < ABSENT else None
    for member in branch.members:
        row = {"user": member.id, "status": "present", "method": "scan", "reason": "",
               "uuid": None, "device_time": None, "recorded_by": None}
        if member.id in excused:
            row.update(status="excused", method="marked", reason=rng.choice(EXCUSES), recorded_by=organiser,
                       received_at=_later(activity["starts_at"], -rng.uniform(2, 30)))
        elif absent is not None and member.id == absent.id:
            continue
        elif rng.random() < MARKED:
            row.update(method="marked", recorded_by=organiser, received_at=_later(activity["starts_at"], rng.uniform(0.1, 0.5)))
        else:
            device_time = _later(activity["starts_at"], rng.uniform(-25, 8) / 60)
            delay = rng.uniform(1, 2) * 3600 if rng.random() < SCAN_OFFLINE else rng.uniform(2, 90)
            row.update(uuid=_uuid(rng), device_time=device_time,
                       received_at=min(device_time + timedelta(seconds=round(delay)), end))
        rows.attendance.append((index, row))
    if absent is not None and absent.id != branch.secretary.id and activity["kind"] not in ("training", "volunteer") \
            and rng.random() < 0.5:
        label = Activity.KINDS.get(activity["kind"], activity["kind"])
        rows.deductions.append({
            "member": absent.id, "station": branch.station.id, "month": _month(activity["starts_at"], tz),
            "points": ABSENCE_POINTS, "reason": f"无故缺席{label}（{activity['topic']}）",
            "recorded_by": branch.secretary.id,
            "recorded_at": min(_later(activity["ends_at"], rng.uniform(16, 40)), end), "corrects": None})


def _suggestions(rng, branch: _Branch, days: int, today: date, end: datetime, tz: str, rows: _PartyRows) -> None:
    """About two suggestions a branch in five days, by its staff (the first by an ordinary party member), written
    during the day; most of those older than a few hours have been adopted or declined by the secretary, with a note."""
    authors = [u for u in branch.members + branch.others if u.id != branch.secretary.id]
    if not authors:
        return
    texts = rng.sample(SUGGESTIONS, len(SUGGESTIONS))
    for n in range(max(2, round(days * 0.4))):
        title, body, adopted_note, declined_note = texts[n % len(texts)]
        author = branch.ordinary[0] if n == 0 and branch.ordinary and branch.ordinary[0].id != branch.secretary.id \
            else rng.choice(authors)
        written = _at(today - timedelta(days=rng.randrange(days)), rng.uniform(8, 21), tz)
        written = min(written, _later(end, -rng.uniform(0.2, 2)))
        decided_at = _later(written, rng.uniform(4, 72))
        decides, adopts = rng.random() < 0.85, rng.random() < 0.65
        row = {"uuid": _uuid(rng), "author": author.id, "station": branch.station.id, "title": title, "body": body,
               "device_time": written, "received_at": min(_later(written, rng.uniform(0.001, 0.2)), end),
               "status": "submitted", "decided_by": None, "decided_at": None, "decision_note": ""}
        if decides and decided_at < end:
            row.update(status="adopted" if adopts else "declined", decided_by=branch.secretary.id, decided_at=decided_at,
                       decision_note=adopted_note if adopts else declined_note)
        rows.suggestions.append(row)


def _quarters(first_day: date, last_day: date) -> list[tuple[int, int, date, date]]:
    """(year, quarter, first day, last day) of every quarter that overlaps first_day … last_day."""
    out = []
    year, quarter = first_day.year, (first_day.month - 1) // 3 + 1
    while True:
        start = date(year, 3 * quarter - 2, 1)
        if start > last_day:
            return out
        stop = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
        out.append((year, quarter, start, stop))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


RATING_SHARES = (("excellent", 0.3), ("good", 0.6), ("fair", 0.08), ("poor", 0.02))


def _quarter_commitments(rng, branch: _Branch, days: int, today: date, end: datetime, tz: str, rows: _PartyRows) -> None:
    """Every ordinary member's one or two commitments of each quarter of the period, of the one before it (rated early
    in the period) and of the one running now, approved at its start, with their progress; the ended ones rated by the
    secretary 3–20 days after."""
    members = [m for m in branch.ordinary if m.id != branch.secretary.id]
    first_day = today - timedelta(days=days - 1)
    for year, quarter, start, stop in _quarters(first_day - timedelta(days=92), today):
        span = (stop - start).days
        for member in members:
            for category, content, target, quantity, unit, progress in rng.sample(QUARTER_COMMITMENTS, rng.choice((1, 2))):
                created_at = _at(start + timedelta(days=rng.randint(2, 10)), rng.uniform(9, 17), tz)
                rated_at = _at(stop + timedelta(days=rng.randint(3, 20)), rng.uniform(9, 17), tz)
                rating = rng.choices([r for r, _ in RATING_SHARES], [w for _, w in RATING_SHARES])[0]
                rated = stop < today and rated_at < end
                rows.commitments.append({
                    "member": member.id, "station": branch.station.id, "period": f"{year}Q{quarter}", "category": category,
                    "content": content, "target": target, "target_quantity": quantity, "unit": unit, "status": "approved",
                    "reviewer": branch.secretary.id, "review_comment": "",
                    "reviewed_at": min(_later(created_at, rng.uniform(4, 48)), end),
                    "rating": rating if rated else None, "rated_by": branch.secretary.id if rated else None,
                    "rated_at": rated_at if rated else None, "created_at": min(created_at, end)})
                index = len(rows.commitments) - 1
                for n, (text, amount) in enumerate(progress):
                    at = _at(start + timedelta(days=(n + 1) * span // (len(progress) + 1)), rng.uniform(9, 18), tz)
                    if at < end:
                        rows.progress.append((index, {"uuid": _uuid(rng), "author": member.id, "text": text,
                                                      "quantity": amount, "photos": "[]", "device_time": at,
                                                      "received_at": min(_later(at, rng.uniform(0.01, 2)), end)}))


def _pioneer_project(rng, branch: _Branch, days: int, today: date, tz: str, counts: dict) -> None:
    """A 先锋工程 begun before the period and due in a month or two, led by an ordinary party member: its first
    milestones reached (with what was done), the next one due about now, the last on the project's due date."""
    leader = rng.choice(branch.ordinary)
    wells = list(Well.select().where((Well.station == branch.station) & (Well.kind == "oil")).order_by(Well.code))
    key = [w for w in wells if w.is_key_well]
    well = next((w for w in key if w.contractor_id == leader.id), None) or (rng.choice(key or wells) if wells else None)
    title, goal, milestones = rng.choice(PROJECTS if well else OFFICE_PROJECTS)
    code = well.code if well else ""
    starts_on = today - timedelta(days=days - 1 + rng.randint(5, 20))
    due_on = today + timedelta(days=rng.randint(40, 80))
    project = PioneerProject.create(
        station=branch.station, title=title.format(well=code), goal=goal.format(well=code), leader=leader.id,
        well=well.id if well and "{well}" in title else None, starts_on=starts_on, due_on=due_on, status="active",
        created_by=branch.secretary.id, created_at=_at(starts_on, 9.5, tz))
    done = len(milestones) - 2
    span = (today - starts_on).days - 1
    for order, (milestone, note) in enumerate(milestones):
        if order < done:
            due = starts_on + timedelta(days=max(1, (order + 1) * span // (done + 1)))
        elif order == done:
            due = today + timedelta(days=rng.randint(-2, 10))  # now and then a few days overdue
        else:
            due = due_on
        done_at = _at(max(starts_on, due - timedelta(days=rng.randint(0, 2))), rng.uniform(9, 18), tz) if order < done else None
        owner = leader if order == 0 else rng.choice(branch.members)
        Milestone.create(project=project, title=milestone, owner=owner.id, due_on=due, done_at=done_at,
                         done_note=note if done_at else "", sort_order=order + 1)
        counts["milestones"] += 1
    counts["projects"] += 1


def _model_posts(rng, branch: _Branch, days: int, today: date, counts: dict) -> None:
    """Two ordinary members made 党员示范岗 by the secretary during the period."""
    members = rng.sample(branch.ordinary, min(2, len(branch.ordinary)))
    for member, title in zip(members, rng.sample(MODEL_POSTS, len(members)), strict=True):
        ModelPost.create(member=member.id, title=title, start_date=today - timedelta(days=rng.randrange(days)),
                         assigned_by=branch.secretary.id)
        counts["model_posts"] += 1


def _rated_commitments(rng, branch: _Branch, days: int, today: date, end: datetime, tz: str, counts: dict) -> None:
    """One or two members' commitments for the quarter just ended, approved at its start, with their progress, and
    rated 优秀 / 合格 by the secretary during the period — this month when the period reaches into it."""
    quarter = (today.month - 1) // 3 + 1
    year, quarter = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    first_day = date(year, 3 * quarter - 2, 1)
    last_day = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
    candidates = [m for m in branch.ordinary if m.id != branch.secretary.id]
    members = rng.sample(candidates, min(len(candidates), rng.choice((1, 2))))
    chosen = rng.sample(QUARTER_COMMITMENTS, len(members))
    for member, rating, (category, content, target, quantity, unit, progress) in zip(
            members, ("excellent", "good"), chosen, strict=False):
        created_at = _at(first_day + timedelta(days=rng.randint(2, 10)), rng.uniform(9, 17), tz)
        latest = min(days - 1, today.day - 1) or min(1, days - 1)  # days back: this month's when it can be
        rated_at = min(_at(today - timedelta(days=rng.randint(min(1, latest), latest)), rng.uniform(9, 17), tz),
                       _later(end, -rng.uniform(0.2, 2)))
        commitment = Commitment.create(
            member=member.id, station=branch.station, period=f"{year}Q{quarter}", category=category, content=content,
            target=target, target_quantity=quantity, unit=unit, status="approved", reviewer=branch.secretary.id,
            reviewed_at=_later(created_at, rng.uniform(4, 48)), rating=rating, rated_by=branch.secretary.id,
            rated_at=rated_at, created_at=created_at)
        span = (last_day - first_day).days
        for n, (text, amount) in enumerate(progress):
            CommitmentProgress.create(
                uuid=_uuid(rng), commitment=commitment, author=member.id, text=text, quantity=amount,
                device_time=_at(first_day + timedelta(days=(n + 1) * span // (len(progress) + 1)), rng.uniform(9, 18), tz),
                received_at=_at(first_day + timedelta(days=(n + 1) * span // (len(progress) + 1)), 19, tz))
            counts["commitment_progress"] += 1
        counts["commitments_rated"] += 1


def generate_history(days: int, seed: int = 1) -> dict:
    """`days` days of history up to now for the wells already in the bound database (e.g. the demo's), each well
    patrolled as often as its interval asks, so past shifts show as done, and of the branches' party work
    (generate_party_history); returns the counts added, of both (their keys differ)."""
    end = utcnow().replace(microsecond=0)
    counts = generate(days, seed=seed, end=end, honour_intervals=True)
    return {**counts, **generate_party_history(days, seed=seed, end=end)}


def build(url: str, patrols: int, seed: int = 1, password: str = "bench-pass-2026",
          wells_per_station: int = WELLS_PER_STATION, honour_intervals: bool = False, progress=None, *, areas: int = 1,
          party: bool = True, days: int | None = None, instance: Path | None = None) -> dict:
    """Fill the empty database at url (SQLite or PostgreSQL): the demo work area and areas − 1 more under its plant
    (add_work_areas), wells topped up to wells_per_station, about `patrols` patrols of history ending now spread over
    them (or `days` days of it), and with party the branches' party work of the same days, every quarter's commitments
    rated. Returns what was made and how long each part took."""
    from . import create_app, migrations
    from .demo import seed_demo

    instance = Path(instance) if instance else Path(url[len("sqlite:///"):]).parent if url.startswith("sqlite:///") \
        else Path(tempfile.gettempdir())
    create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance})
    began = time.perf_counter()
    with db.connection_context():
        migrations.upgrade()
        seed_demo(password)
        extra = add_work_areas(areas - 1, seed, wells_per_station) if areas > 1 else []
        added_wells = top_up_wells(wells_per_station, seed)
        ids = [WorkArea.select().order_by(WorkArea.id).first().id, *extra]
        days = days or days_for(patrols, honour_intervals, ids)
        end = utcnow().replace(microsecond=0)
        set_up = time.perf_counter()
        counts = generate(days, seed=seed, end=end, honour_intervals=honour_intervals, progress=progress, areas=ids)
        history = time.perf_counter()
        if party:
            counts.update(generate_party_history(days, seed=seed, end=end, areas=ids, all_quarters=True))
        if isinstance(db.obj, SqliteDatabase):
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            size = Path(url[len("sqlite:///"):]).stat().st_size
        else:
            size = db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]
        wells = Well.select().count()
    done = time.perf_counter()
    return {"days": days, "work_areas": len(ids), "wells": wells, "wells_added": added_wells,
            "seconds": round(done - began, 1), "seconds_setup": round(set_up - began, 1),
            "seconds_history": round(history - set_up, 1), "seconds_party": round(done - history, 1),
            "bytes": size, **counts}


def build_database(path: Path, patrols: int, seed: int = 1, password: str = "bench-pass-2026",
                   wells_per_station: int = WELLS_PER_STATION, honour_intervals: bool = False, progress=None, *,
                   areas: int = 1, party: bool = True) -> dict:
    """A new SQLite database at path, filled by build: the demo work area (and areas − 1 more), wells topped up to
    wells_per_station, and about `patrols` patrols of history ending now. Returns what was made and how long it took."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    return build(f"sqlite:///{path}", patrols, seed, password, wells_per_station, honour_intervals, progress,
                 areas=areas, party=party)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate history into a 井站通 database (SQLite file or PostgreSQL URL).")
    parser.add_argument("database", help="SQLite file (created with the demo work area if missing), or a postgresql://… "
                                         "URL of a database (filled with the demo work area if it has no tables)")
    parser.add_argument("--patrols", type=int, default=100_000, help="about how many patrols (picks the number of days)")
    parser.add_argument("--days", type=int, help="days of history instead of --patrols")
    parser.add_argument("--areas", type=int, default=1,
                        help="work areas to fill: the demo's and N − 1 more like it under its plant (added to an existing "
                             "database until it has N; all of its work areas get the history)")
    parser.add_argument("--no-party", dest="party", action="store_false",
                        help="no party work (activities and attendance, suggestions, rated commitments)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wells-per-station", type=int, default=WELLS_PER_STATION)
    parser.add_argument("--intervals", action="store_true", help="patrol each well as often as its patrol interval asks")
    parser.add_argument("--password", default="bench-pass-2026", help="password of the demo users of a new database")
    args = parser.parse_args(argv)
    if args.areas < 1:
        parser.error("--areas must be at least 1")

    def progress(counts, seconds):
        print(f"  {counts['patrols']:>9,} patrols, {counts['checks']:>7,} checks, {counts['hazards']:>5,} hazards"
              f"  {seconds:6.1f} s", file=sys.stderr)

    url = args.database if "://" in args.database else f"sqlite:///{Path(args.database).resolve()}"
    from . import create_app

    instance = Path(url[len("sqlite:///"):]).parent if url.startswith("sqlite:///") else Path(tempfile.gettempdir())
    fresh = url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists()
    if not fresh:
        create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance})
        with db.connection_context():
            fresh = "work_area" not in db.get_tables()
    if fresh:
        summary = build(url, args.patrols, args.seed, args.password, args.wells_per_station, args.intervals, progress,
                        areas=args.areas, party=args.party, days=args.days, instance=instance)
    else:
        with db.connection_context():
            ids = [area.id for area in WorkArea.select(WorkArea.id).order_by(WorkArea.id)]
            if args.areas > len(ids):
                ids += add_work_areas(args.areas - len(ids), args.seed, args.wells_per_station)
            top_up_wells(args.wells_per_station, args.seed)
            days = args.days or days_for(args.patrols, args.intervals, ids)
            end = utcnow().replace(microsecond=0)
            summary = {"days": days, "work_areas": len(ids),
                       **generate(days, args.seed, end=end, honour_intervals=args.intervals, progress=progress, areas=ids)}
            if args.party:  # a seed of its own, so that its check-in uuids differ from those of an earlier run
                party_seed = args.seed * 1_000_003 + int(end.timestamp())
                summary.update(generate_party_history(days, seed=party_seed, end=end, areas=ids, all_quarters=True))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
