"""Reading sets (读数项): which readings a patrol records at each kind of well, their ranges, and past which change
against the well's recent baseline a reading is questioned — data, versioned per work area like the check templates.

The catalogue (CATALOGUE) is every reading the server can store: each is a column of `patrol`, so baselines,
reports and exports query it like any other. A work area's set for a kind of well picks from the catalogue, says
which are required, narrows the range and sets the threshold (docs/decisions.md, "Reading sets").
"""
import json
import math
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext as _l

from models import ReadingSet, Well

from .access import MAX_ID
from .fluctuations import KINDS as THRESHOLD_KINDS

# key: (label, unit, lowest and highest value the server ever stores)
CATALOGUE = {
    "current_up_a": (_l("上行电流"), "A", 0, 300),
    "current_down_a": (_l("下行电流"), "A", 0, 300),
    "current_a": (_l("运行电流"), "A", 0, 300),
    "stroke_m": (_l("冲程"), "m", 0, 10),
    "strokes_per_min": (_l("冲次"), _l("次/min"), 0, 20),
    "rotation_rpm": (_l("转速"), "r/min", 0, 1000),
    "frequency_hz": (_l("频率"), "Hz", 0, 100),
    "voltage_v": (_l("电压"), "V", 0, 3000),
    "oil_pressure_mpa": (_l("油压"), "MPa", 0, 40),
    "casing_pressure_mpa": (_l("套压"), "MPa", 0, 40),
    "back_pressure_mpa": (_l("回压"), "MPa", 0, 10),
    "pump_pressure_mpa": (_l("泵压"), "MPa", 0, 60),
    "wellhead_temp_c": (_l("井口温度"), "°C", -40, 120),
    "liquid_t_per_day": (_l("产液量"), "t/d", 0, 500),
    "water_cut_pct": (_l("含水"), "%", 0, 100),
    "injection_m3_per_day": (_l("日注水量"), "m³/d", 0, 2000),
}
MAX_FIELDS = len(CATALOGUE)  # a set names each reading once


@dataclass(frozen=True)
class Field:
    """One reading of a set: its catalogue key, whether a patrol must carry it, its range, and its threshold
    ("relative": a fraction of the baseline; "absolute": in the reading's unit) — None: never questioned."""

    key: str
    required: bool
    low: float
    high: float
    kind: str | None
    threshold: float | None
    alert: bool = False  # on a key well, past its threshold it raises a 重点井波动 alert

    @property
    def label(self) -> str:
        return str(CATALOGUE[self.key][0])

    @property
    def unit(self) -> str:
        return str(CATALOGUE[self.key][1])

    @property
    def rule(self) -> tuple[str, float] | None:
        return (self.kind, self.threshold) if self.kind else None

    def as_data(self) -> dict:
        return {"key": self.key, "required": self.required, "low": self.low, "high": self.high, "kind": self.kind,
                "threshold": self.threshold, "alert": self.alert}


def _f(key, required, low=None, high=None, kind="relative", threshold=0.3, alert=False) -> dict:
    hard_low, hard_high = CATALOGUE[key][2:4]
    return Field(key, required, hard_low if low is None else low, hard_high if high is None else high,
                 kind, threshold if kind else None, alert).as_data()


# What every producing well records at its wellhead, whatever lifts it.
_WELLHEAD = [
    _f("oil_pressure_mpa", True, alert=True), _f("casing_pressure_mpa", True), _f("back_pressure_mpa", True),
    _f("wellhead_temp_c", True, kind="absolute", threshold=10),
    _f("liquid_t_per_day", False, alert=True, threshold=0.2),
    _f("water_cut_pct", False, kind="absolute", threshold=5, alert=True),
]
# The sets every work area starts from (shared rows, version 1). 抽油机井 as 井站通 always asked; 螺杆泵井 and 电泵井 with
# their drive's readings; 注水井 with 日注水量 against its 配注 and the pressures.
DEFAULT_SETS = {
    "oil": [
        _f("current_up_a", True, alert=True, threshold=0.2), _f("current_down_a", True, threshold=0.2),
        _f("stroke_m", True, threshold=0.1), _f("strokes_per_min", True, threshold=0.2), *_WELLHEAD,
    ],
    "pcp": [_f("current_a", True, alert=True, threshold=0.2), _f("rotation_rpm", True, threshold=0.1), *_WELLHEAD],
    "esp": [
        _f("current_a", True, alert=True, threshold=0.2), _f("voltage_v", True, threshold=0.1),
        _f("frequency_hz", True, kind="absolute", threshold=2), *_WELLHEAD,
    ],
    "injection": [
        _f("injection_m3_per_day", True, alert=True, threshold=0.2),
        _f("pump_pressure_mpa", True, threshold=0.15),
        _f("oil_pressure_mpa", True, alert=True, threshold=0.2),
        _f("casing_pressure_mpa", False),
    ],
}


# How the admin's form names the ways a threshold is read ("" : the reading is never questioned).
THRESHOLD_KIND_LABELS = {"relative": _l("相对（%）"), "absolute": _l("绝对（读数单位）"), "": _l("不提问")}


def form_row(field: Field) -> dict:
    """A field as the admin's form shows it: a relative threshold in percent."""
    threshold = field.threshold * 100 if field.kind == "relative" else field.threshold
    return {"key": field.key, "required": field.required, "low": f"{field.low:g}", "high": f"{field.high:g}",
            "kind": field.kind or "", "threshold": "" if threshold is None else f"{threshold:g}", "alert": field.alert}


class ReadingSetError(ValueError):
    """A set an admin wrote that cannot be used, with the Chinese reasons."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def fields_of(raw: str | list) -> list[Field]:
    """The fields of a stored set (its JSON), in order; entries the catalogue no longer knows are skipped."""
    data = json.loads(raw) if isinstance(raw, str) else raw
    return [Field(d["key"], bool(d["required"]), float(d["low"]), float(d["high"]), d.get("kind"),
                  None if d.get("threshold") is None else float(d["threshold"]), bool(d.get("alert")))
            for d in data if d.get("key") in CATALOGUE]


def _number(text, what: str, errors: list[str]) -> float | None:
    text = str(text if text is not None else "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except (ValueError, OverflowError):
        errors.append(gettext("%(what)s应为数字。", what=what))
        return None
    if not math.isfinite(value):
        errors.append(gettext("%(what)s应为数字。", what=what))
        return None
    return value


def parse_rows(rows: list[dict]) -> list[dict]:
    """The admin's rows (key, required, low, high, kind, threshold, alert, delete), checked: the stored set, or
    ReadingSetError with every reason in Chinese. A relative threshold is written in percent (20 → 0.2)."""
    errors, kept, seen = [], [], set()
    for n, row in enumerate(rows, start=1):
        key = str(row.get("key") or "").strip()
        if row.get("delete") or not key:
            continue
        if key not in CATALOGUE:
            errors.append(gettext("第 %(n)s 行：没有这个读数项。", n=n))
            continue
        label, _unit, hard_low, hard_high = CATALOGUE[key]
        if key in seen:
            errors.append(gettext("第 %(n)s 行：%(label)s 重复了。", n=n, label=label))
            continue
        seen.add(key)
        low = _number(row.get("low"), gettext("第 %(n)s 行的下限", n=n), errors)
        high = _number(row.get("high"), gettext("第 %(n)s 行的上限", n=n), errors)
        low = hard_low if low is None else low
        high = hard_high if high is None else high
        if not hard_low <= low < high <= hard_high:
            errors.append(gettext("第 %(n)s 行：%(label)s的范围应在 %(low)s–%(high)s 之内，下限小于上限。", n=n, label=label,
                                  low=f"{hard_low:g}", high=f"{hard_high:g}"))
        kind = str(row.get("kind") or "").strip() or None
        threshold = _number(row.get("threshold"), gettext("第 %(n)s 行的阈值", n=n), errors)
        if kind not in (None, *THRESHOLD_KINDS):
            errors.append(gettext("第 %(n)s 行：阈值方式不对。", n=n))
            kind = None
        if kind and (threshold is None or threshold <= 0):
            errors.append(gettext("第 %(n)s 行：请填写大于 0 的阈值。", n=n))
        elif kind == "relative" and threshold > 1000:
            errors.append(gettext("第 %(n)s 行：相对阈值最多 1000%%。", n=n))
        elif kind == "absolute" and threshold > hard_high - hard_low:
            errors.append(gettext("第 %(n)s 行：阈值超过了这个读数的全部范围。", n=n))
        if kind == "relative" and threshold is not None:
            threshold /= 100
        kept.append(Field(key, bool(row.get("required")), low, high, kind, threshold if kind else None,
                          bool(row.get("alert")) and bool(kind)).as_data())
    if not kept and not errors:
        errors.append(gettext("至少要有一个读数项。"))
    if errors:
        raise ReadingSetError(errors)
    return kept


def ensure_default_sets() -> int:
    """Create version 1 of every default set that has none yet; return how many were made."""
    made = 0
    for kind, fields in DEFAULT_SETS.items():
        if not ReadingSet.select().where((ReadingSet.well_kind == kind) & ReadingSet.work_area.is_null()).exists():
            ReadingSet.create(well_kind=kind, version=1, fields=json.dumps(fields), is_current=True)
            made += 1
    return made


def default_fields(kind: str) -> list[Field]:
    """The built-in set of a kind of well (what a database without sets of its own, or a kind unknown, uses)."""
    return fields_of(DEFAULT_SETS.get(kind) or DEFAULT_SETS["oil"])


def current_sets(work_area_id: int) -> dict[str, tuple[ReadingSet | None, list[Field]]]:
    """{well kind: (its current row or None, its fields)} in the work area, for every kind of well (one query)."""
    rows = ReadingSet.currents(work_area_id)
    return {kind: (rows.get(kind), fields_of(rows[kind].fields) if kind in rows else default_fields(kind))
            for kind in Well.KINDS}


def sets_of(work_area_id: int) -> dict[str, list[Field]]:
    """{well kind: its current fields} in the work area (one query)."""
    return {kind: fields for kind, (_row, fields) in current_sets(work_area_id).items()}


def set_for(kind: str, work_area_id: int, wanted=None, cache: dict | None = None) -> tuple[ReadingSet | None, list[Field]]:
    """The set a reading of this kind of well is judged by: version `wanted` (the id a record or a patrol names — a
    form kept offline may be older than the current one) if it is one of this work area's sets for this kind, else
    the current one, else the built-in default. `cache`, a dict kept for one sync batch, spares the queries for the
    batch's other records."""
    key = (kind, work_area_id, wanted if isinstance(wanted, int) else None)
    if cache is not None and key in cache:
        return cache[key]
    row = None
    if isinstance(wanted, int) and not isinstance(wanted, bool) and 0 < wanted <= MAX_ID:
        row = ReadingSet.in_area(work_area_id).where((ReadingSet.id == wanted) & (ReadingSet.well_kind == kind)).first()
    if row is None:
        row = ReadingSet.currents(work_area_id).get(kind)
    found = (row, fields_of(row.fields) if row else default_fields(kind))
    if cache is not None:
        cache[key] = found
    return found


def save_set(kind: str, fields: list[dict], user) -> ReadingSet:
    """The work area's next version of a kind's set, current from now on (earlier ones are kept)."""
    return ReadingSet.new_version(kind, user.work_area_id, fields=json.dumps(fields), created_by=user)


def shown_fields(patrol, fields: list[Field]) -> list[Field]:
    """The fields a page shows for a patrol: its set's, then any other reading it carries (recorded under an older
    set), without a threshold."""
    keys = {f.key for f in fields}
    extra = [Field(k, False, *CATALOGUE[k][2:4], None, None) for k in CATALOGUE
             if k not in keys and getattr(patrol, k, None) is not None]
    return [*fields, *extra]


def rules(fields: list[Field]) -> dict[str, tuple[str, float]]:
    """{key: (kind, threshold)} of the fields that have one: what a reading is set against its baseline with."""
    return {f.key: f.rule for f in fields if f.rule}


def alert_rules(fields: list[Field]) -> dict[str, tuple[str, float]]:
    """The rules of the readings that raise a key well's fluctuation alert."""
    return {f.key: f.rule for f in fields if f.rule and f.alert}
