"""What judging a new field record looks back at in the database: the phone's chain, the author's previous place, a
well's replaced labels, a well's earlier readings and open alerts — one question, one query.

A sync batch's set-based path (webapp/sync_sets.py) answers the same questions from what it read for the whole
batch at once, plus the batch's own records before this one: the rules that ask (webapp/evidence.py,
webapp/patrols.py, webapp/fluctuations.py) are written once and cannot tell the two apart."""
from datetime import datetime, timedelta

from models import ChainLink, Evidence, FluctuationAlert, Patrol, ReplacedLabel, Station, Well

from .access import MAX_ID

BASELINE_DAYS = 7  # a reading is set against its well's readings of the week before it


class Recorded:
    """The questions, answered from the database."""

    def well(self, well_id: int):
        """The well with its station, None when there is none (an id beyond the database's integer is not looked
        up: the driver would fail on it)."""
        if abs(well_id) > MAX_ID:
            return None
        return Well.select(Well, Station).join(Station).where(Well.id == well_id).first()

    def chain_links(self, author_id: int, device: str, seq: int) -> list[tuple[str, datetime]]:
        """(link, bounded time) of the author's records at this place of a phone's chain, first stored first."""
        return list(ChainLink.select(ChainLink.link, ChainLink.bounded_time)
                    .where((ChainLink.author == author_id) & (ChainLink.device_id == device) & (ChainLink.seq == seq))
                    .order_by(ChainLink.id).tuples())

    def previous_place(self, author_id: int, at: datetime, well_id: int):
        """(time, latitude, longitude) of the author's latest record at another well, at or before `at`; None when
        there is none (the latest stored first among records of the same time)."""
        return (Evidence.select(Evidence.bounded_time, Well.latitude, Well.longitude)
                .join(Well, on=Evidence.well == Well.id)
                .where((Evidence.author == author_id) & (Evidence.bounded_time <= at) & (Evidence.well != well_id))
                .order_by(Evidence.bounded_time.desc(), Evidence.id.desc()).limit(1).tuples().first())

    def label_replaced_at(self, token: str, well_id: int) -> datetime | None:
        """When this well's label with this token was replaced; None when it never was the well's label."""
        return (ReplacedLabel.select(ReplacedLabel.replaced_at)
                .where((ReplacedLabel.token == token) & (ReplacedLabel.well == well_id)).scalar())

    def earlier_readings(self, well_id: int, at: datetime, fields: list[str], count: int) -> list[tuple]:
        """The fields of the well's `count` latest patrols at or before `at` (the latest stored first among patrols
        of the same time)."""
        return list(Patrol.select(*[getattr(Patrol, f) for f in fields])
                    .where((Patrol.well == well_id) & (Patrol.device_time <= at))
                    .order_by(Patrol.device_time.desc(), Patrol.id.desc()).limit(count).tuples())

    def history(self, well_id: int, fields: list[str], before: datetime, exclude_id: int | None = None) -> dict:
        """Each field's readings at the well over the BASELINE_DAYS before `before` (a patrol left out by id)."""
        if not fields:
            return {}
        query = (Patrol.select(*[getattr(Patrol, f) for f in fields])
                 .where((Patrol.well == well_id) & (Patrol.device_time >= before - timedelta(days=BASELINE_DAYS))
                        & (Patrol.device_time < before)))
        if exclude_id is not None:
            query = query.where(Patrol.id != exclude_id)
        found = {f: [] for f in fields}
        # Only the readings compared, as plain tuples: building whole Patrol objects was most of a batch's time.
        for row in query.tuples():
            for field, value in zip(fields, row, strict=True):
                if value is not None:
                    found[field].append(value)
        return found

    def open_alert_metrics(self, well_id: int) -> set[str]:
        """The readings of the well with an alert no one has acted on yet."""
        return set(FluctuationAlert.select(FluctuationAlert.metric)
                   .where((FluctuationAlert.well == well_id) & FluctuationAlert.acknowledged_at.is_null()).scalars())


RECORDED = Recorded()
