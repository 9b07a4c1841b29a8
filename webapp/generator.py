"""Deterministic history for benchmarks and the demo: patrols per well per shift with drifting readings, well
operations, 望闻听摸测 equipment checks, hazards with their closed-loop steps and key-well fluctuation alerts.

It adds rows to a database that already holds a work area (the demo's): bulk `insert_many` in chunks, one
transaction per batch of days, so a million patrols take minutes on SQLite. The same seed, end time and
database give the same rows.

Run: .venv/bin/python bench/generate.py PATH.db --patrols 100000   (PATH.db is created with the demo if missing);
`jingzhan seed-demo --history-days 14` gives the demo two weeks of history (what `make run` does).
"""
import argparse
import json
import math
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from peewee import SqliteDatabase, chunked

from models import (
    CheckTemplate,
    Equipment,
    EquipmentCheck,
    FluctuationAlert,
    Hazard,
    HazardStep,
    Patrol,
    Station,
    User,
    UserRole,
    Well,
    WellOperation,
    WorkArea,
    db,
    utcnow,
)
from .patrols import READINGS
from .shifts import parse_shifts, window

# Bump when the generated data changes shape, so cached benchmark databases are rebuilt.
VERSION = 1
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
INJECTION_PROFILE = {
    "oil_pressure_mpa": (8, 18, 0.01, 2),
    "casing_pressure_mpa": (2, 8, 0.01, 2),
}
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


def _insert(model, rows: list, returning: bool = False) -> list:
    """Insert rows in chunks small enough for SQLite's parameter limit; with returning, the (id, uuid) of each."""
    if not rows:
        return []
    size = max(1, 30000 // len(rows[0]))
    out = []
    for chunk in chunked(rows, size):
        query = model.insert_many(chunk)
        if returning:
            out.extend(query.returning(model.id, model.uuid).tuples().execute())
        else:
            query.execute()
    return out


def _ids(rows: list, inserted: list) -> list[int]:
    """The ids of rows in their order, from the (id, uuid) pairs that RETURNING gave in any order."""
    by_uuid = {row_uuid: row_id for row_id, row_uuid in inserted}
    return [by_uuid[row["uuid"]] for row in rows]


def top_up_wells(per_station: int = WELLS_PER_STATION, seed: int = 1) -> int:
    """Add wells (with their equipment) until each production station has per_station; returns how many were added."""
    from webapp.demo import OIL_WELL_EQUIPMENT

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
                kind = "injection" if n % 7 == 0 else "oil"
                is_key = kind == "oil" and rng.random() < 0.18
                rows.append({
                    "station": station.id, "code": f"海{station.sort_order}-{n:02d}", "kind": kind, "is_key_well": is_key,
                    "qr_token": f"gen{rng.getrandbits(96):024x}",
                    "latitude": round(lat + rng.uniform(-0.008, 0.008), 6),
                    "longitude": round(lon + rng.uniform(-0.008, 0.008), 6),
                    "patrol_interval_hours": 4 if is_key else (12 if kind == "injection" else 8),
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


def patrols_per_day(honour_intervals: bool = False) -> float:
    """How many patrols a day the generator makes for the wells now in the database."""
    area = WorkArea.select().order_by(WorkArea.id).first()
    shifts = parse_shifts(area.shifts)
    wells = Well.select(Well.patrol_interval_hours).join(Station).where((Station.work_area == area) & (Station.kind == "station"))
    return (1 - MISSED) * sum(_rounds(w.patrol_interval_hours, s, honour_intervals) for w in wells for s in shifts)


def days_for(patrols: int, honour_intervals: bool = False) -> int:
    """Days of history that give at least `patrols` patrols (the last day, today, is only partly over)."""
    return math.ceil(patrols / patrols_per_day(honour_intervals)) + 1


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
    profile = OIL_PROFILE if well.kind == "oil" else INJECTION_PROFILE
    base = {name: rng.uniform(low, high) for name, (low, high, _step, _dec) in profile.items()}
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


def generate(days: int, seed: int = 1, end: datetime | None = None, honour_intervals: bool = False, progress=None) -> dict:
    """Add `days` days of history (the last one being today, up to `end`, naive UTC, default now) for every well of
    the work area's production stations; returns the counts of what was added. Call with a connection open."""
    end = (end or utcnow()).replace(microsecond=0)
    area = WorkArea.select().order_by(WorkArea.id).first()
    shifts, tz = parse_shifts(area.shifts), area.timezone
    rng = random.Random(f"{seed}/{end.isoformat()}/{days}")
    stations = [_Station(s, rng) for s in Station.select().where((Station.work_area == area) & (Station.kind == "station"))
                .order_by(Station.sort_order, Station.id)]
    templates = {}
    for site in stations:
        for piece in site.equipment:
            if piece.kind not in templates:
                template = CheckTemplate.current(piece.kind)
                templates[piece.kind] = template and (template.id, json.loads(template.items))
    last_day = end.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()
    counts = dict.fromkeys(("patrols", "operations", "alerts", "checks", "hazards", "hazard_steps"), 0)
    batch = _Batch()
    began = time.perf_counter()
    pragmas = _fast_writes()
    try:
        for offset in range(days - 1, -1, -1):
            day = last_day - timedelta(days=offset)
            ordinal = day.toordinal()
            for shift in shifts:
                start, _stop = window(day, shift, tz)
                if start >= end:
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
        metric, factor, note = rng.choice(OIL_ABNORMAL if well.kind == "oil" else INJECTION_ABNORMAL)
        is_abnormal = True
        if metric:
            low, high = READINGS[metric][2:4]
            readings = dict(readings, **{metric: round(min(max(readings[metric] * factor, low), high), 2)})
    row = {
        "uuid": _uuid(rng), "well": well.id, "station": site.station.id, "author": author, "method": method,
        "device_time": clock_time - timedelta(seconds=offset), "clock_offset_s": offset, "clock_time": clock_time,
        "received_at": min(clock_time + timedelta(seconds=rng.randint(5, 3 * 3600)), end),
        "latitude": latitude, "longitude": longitude, "accuracy_m": accuracy, "distance_m": distance,
        **{name: readings.get(name) for name in READINGS},
        "is_abnormal": is_abnormal, "note": note, "flags": " ".join(flags), "corrects": None,
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


def generate_history(days: int, seed: int = 1) -> dict:
    """`days` days of history up to now for the wells already in the bound database (e.g. the demo's), each well
    patrolled as often as its interval asks, so past shifts show as done; returns the counts added."""
    return generate(days, seed=seed, honour_intervals=True)


def build_database(path: Path, patrols: int, seed: int = 1, password: str = "bench-pass-2026",
                   wells_per_station: int = WELLS_PER_STATION, honour_intervals: bool = False, progress=None) -> dict:
    """A new SQLite database at path: the demo work area, wells topped up to wells_per_station, and about
    `patrols` patrols of history ending now. Returns what was made and how long it took."""
    from . import create_app, migrations
    from .demo import seed_demo

    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench", "INSTANCE_PATH": path.parent})
    began = time.perf_counter()
    with db.connection_context():
        migrations.upgrade()
        seed_demo(password)
        added_wells = top_up_wells(wells_per_station, seed)
        days = days_for(patrols, honour_intervals)
        counts = generate(days, seed=seed, honour_intervals=honour_intervals, progress=progress)
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        wells = Well.select().count()
    return {"days": days, "wells": wells, "wells_added": added_wells, "seconds": round(time.perf_counter() - began, 1),
            "bytes": path.stat().st_size, **counts}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate patrol history into a 井站通 SQLite database.")
    parser.add_argument("database", type=Path, help="SQLite file; created with the demo work area if missing")
    parser.add_argument("--patrols", type=int, default=100_000, help="about how many patrols (picks the number of days)")
    parser.add_argument("--days", type=int, help="days of history instead of --patrols")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wells-per-station", type=int, default=WELLS_PER_STATION)
    parser.add_argument("--intervals", action="store_true", help="patrol each well as often as its patrol interval asks")
    parser.add_argument("--password", default="bench-pass-2026", help="password of the demo users of a new database")
    args = parser.parse_args(argv)

    def progress(counts, seconds):
        print(f"  {counts['patrols']:>9,} patrols, {counts['checks']:>7,} checks, {counts['hazards']:>5,} hazards"
              f"  {seconds:6.1f} s", file=sys.stderr)

    if not args.database.exists():
        summary = build_database(args.database, args.patrols, args.seed, args.password, args.wells_per_station,
                                 args.intervals, progress)
    else:
        from . import create_app

        create_app({"DATABASE_URL": f"sqlite:///{args.database}", "SECRET_KEY": "bench", "INSTANCE_PATH": args.database.parent})
        with db.connection_context():
            top_up_wells(args.wells_per_station, args.seed)
            days = args.days or days_for(args.patrols, args.intervals)
            summary = {"days": days, **generate(days, args.seed, honour_intervals=args.intervals, progress=progress)}
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
