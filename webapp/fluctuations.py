"""重点井波动: compare each synced reading of a key well with the well's recent baseline and raise alerts."""
import math
import statistics
from dataclasses import dataclass

from models import FluctuationAlert, Patrol

from .recorded import BASELINE_DAYS, RECORDED, Recorded  # noqa: F401 — BASELINE_DAYS: the pages read it here

MIN_SAMPLES = 3


# How a threshold is read: a fraction of the baseline, or a difference in the reading's own unit.
KINDS = ("relative", "absolute")

# A reading whose set gives it no threshold is shown against its baseline, and never questioned.
NO_THRESHOLD = ("relative", math.inf)


@dataclass(frozen=True)
class Deviation:
    """A reading against its baseline: the median (None with too little history), the change and whether it is
    beyond its threshold — one definition for the alerts and the review page."""

    value: float
    base: float | None
    kind: str
    threshold: float

    @property
    def change(self) -> float | None:
        """The change: a fraction of the baseline (relative), or in the reading's unit (absolute)."""
        if self.base is None:
            return None
        if self.kind == "absolute" or self.base == 0:
            return self.value - self.base
        return (self.value - self.base) / abs(self.base)

    @property
    def beyond(self) -> bool:
        if self.base is None:
            return False
        if self.kind == "absolute":
            return abs(self.value - self.base) >= self.threshold
        if self.base == 0:
            return self.value != 0 and abs(self.value) >= self.threshold
        return abs(self.value - self.base) / abs(self.base) >= self.threshold


def deviation(value: float, history: list[float], kind: str, threshold: float) -> Deviation:
    """The reading against the median of history; too little history gives no baseline (and never an alert)."""
    base = statistics.median(history) if len(history) >= MIN_SAMPLES else None
    return Deviation(value, base, kind, threshold)


def history(well_id: int, fields: list[str], before, exclude_id: int | None = None) -> dict[str, list[float]]:
    """Each field's readings at the well over the BASELINE_DAYS before `before` (one query; a patrol left out by id)."""
    return RECORDED.history(well_id, fields, before, exclude_id)


def history_of(patrol: Patrol, fields: list[str]) -> dict[str, list[float]]:
    """Each field's readings at the patrol's well over the BASELINE_DAYS before it (the patrol itself left out)."""
    return history(patrol.well_id, fields, patrol.device_time, patrol.id)


def baselines(well_id: int, fields: list[str], before) -> dict[str, float]:
    """The median of each field's readings at the well over the BASELINE_DAYS before `before`, for the fields with
    at least MIN_SAMPLES of them (one query): what the phone sets a new reading against while it is typed."""
    return {f: statistics.median(v) for f, v in history(well_id, fields, before).items() if len(v) >= MIN_SAMPLES}


def deviations(patrol: Patrol, fields, thresholds: dict) -> dict[str, Deviation]:
    """Each reading of the patrol against its well's baseline, with its set's thresholds ({key: (kind, threshold)};
    a reading without one is never beyond)."""
    present = [f for f in fields if getattr(patrol, f) is not None]
    earlier = history_of(patrol, present)
    return {f: deviation(getattr(patrol, f), earlier[f], *thresholds.get(f, NO_THRESHOLD)) for f in present}


def due(values: dict, device_time, well, thresholds: dict, known: Recorded = RECORDED,
        exclude_id: int | None = None) -> list[tuple[str, float, float]]:
    """(reading, value, baseline) of each reading of a patrol (`values`, made at `device_time`) that moved beyond
    its threshold and should raise an alert (key wells only): while an alert of a well's reading is open, a further
    one for the same reading is not raised."""
    if not well.is_key_well:
        return []
    metrics = [m for m in thresholds if values.get(m) is not None]
    if not metrics:
        return []
    earlier = known.history(well.id, metrics, device_time, exclude_id)
    open_metrics = known.open_alert_metrics(well.id)
    found = []
    for metric in metrics:
        if metric in open_metrics:
            continue
        judged = deviation(values[metric], earlier[metric], *thresholds[metric])
        if judged.beyond:
            found.append((metric, values[metric], judged.base))
    return found


def detect(patrol: Patrol, well, thresholds: dict, known: Recorded = RECORDED) -> list[FluctuationAlert]:
    """Alerts for the readings of this patrol that moved beyond their thresholds (key wells only)."""
    values = {m: getattr(patrol, m) for m in thresholds}
    return [FluctuationAlert.create(well=well.id, patrol=patrol.id, metric=metric, value=value, baseline=base)
            for metric, value, base in due(values, patrol.device_time, well, thresholds, known, patrol.id)]
