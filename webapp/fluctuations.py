"""重点井波动: compare each synced reading of a key well with the well's recent baseline and raise alerts."""
import statistics
from datetime import timedelta

from models import FluctuationAlert, Patrol

BASELINE_DAYS = 7
MIN_SAMPLES = 3


def is_fluctuation(value: float, history: list[float], kind: str, threshold: float) -> tuple[bool, float | None]:
    """(alert?, baseline): the median of history is robust to one odd reading; too little history never alerts."""
    if len(history) < MIN_SAMPLES:
        return False, None
    base = statistics.median(history)
    if kind == "absolute":
        return abs(value - base) >= threshold, base
    if base == 0:
        return value != 0 and abs(value) >= threshold, base
    return abs(value - base) / abs(base) >= threshold, base


def detect(patrol: Patrol, well, thresholds: dict) -> list[FluctuationAlert]:
    """Alerts for the readings of this patrol that moved beyond their thresholds (key wells only).

    While an alert of a well's reading is open, a further one for the same reading is not raised.
    """
    if not well.is_key_well:
        return []
    metrics = [m for m in thresholds if getattr(patrol, m) is not None]
    if not metrics:
        return []
    since = patrol.device_time - timedelta(days=BASELINE_DAYS)
    # Only the readings compared, as plain tuples: building whole Patrol objects was most of a sync batch's time.
    columns = [getattr(Patrol, m) for m in metrics]
    rows = (Patrol.select(*columns).where((Patrol.well == well.id) & (Patrol.id != patrol.id)
                                          & (Patrol.device_time >= since) & (Patrol.device_time < patrol.device_time))
            .tuples())
    history = [dict(zip(metrics, row, strict=True)) for row in rows]
    open_metrics = {a.metric for a in FluctuationAlert.select(FluctuationAlert.metric)
                    .where((FluctuationAlert.well == well.id) & FluctuationAlert.acknowledged_at.is_null())}
    alerts = []
    for metric in metrics:
        if metric in open_metrics:
            continue
        kind, threshold = thresholds[metric]
        values = [row[metric] for row in history if row[metric] is not None]
        alert, base = is_fluctuation(getattr(patrol, metric), values, kind, threshold)
        if alert:
            alerts.append(FluctuationAlert.create(well=well.id, patrol=patrol.id, metric=metric,
                                                  value=getattr(patrol, metric), baseline=base))
    return alerts
