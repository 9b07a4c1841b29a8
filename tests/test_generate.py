"""The history generator of the benchmarks (bench/generate.py): what it adds is valid data the pages can show."""
import json
import re
from datetime import timedelta

from playhouse.test_utils import count_queries

from webapp.generator import generate_history
from models import CheckTemplate, EquipmentCheck, Hazard, HazardStep, Patrol, Station, Well, WellOperation, WorkArea, db, utcnow
from webapp.patrols import OPERATIONS, READINGS
from webapp.shifts import parse_shifts, shift_at, window


def _dashboard(client, day):
    with count_queries() as counter:
        response = client.get(f"/review/?date={day.isoformat()}&shift=0")
    assert response.status_code == 200
    return response.get_data(as_text=True), counter.count


def test_two_days_of_history(app, login_as):
    leader = login_as("HN1001")
    with db.connection_context():
        area = WorkArea.get()
        shifts = parse_shifts(area.shifts)
        today, _ = shift_at(utcnow(), shifts, area.timezone)
    yesterday = today - timedelta(days=1)
    _page, queries_before = _dashboard(leader, yesterday)

    with db.connection_context():
        counts = generate_history(2, seed=7)
        wells = {w.id: w for w in Well.select().join(Station).where(Station.kind == "station")}
        patrols = list(Patrol.select())
        checks = list(EquipmentCheck.select())
        templates = {t.id: json.loads(t.items) for t in CheckTemplate.select()}
        operations = list(WellOperation.select())
        hazards = {h.id: h for h in Hazard.select()}
        steps = list(HazardStep.select().order_by(HazardStep.at, HazardStep.id))

    assert counts["patrols"] == len(patrols) and counts["checks"] == len(checks) and counts["operations"] == len(operations)
    assert counts["hazards"] == len(hazards) and counts["hazard_steps"] == len(steps)
    # Yesterday's two shifts are over: every well was due (at its interval) and nearly all were patrolled.
    for shift in shifts:
        start, end = window(yesterday, shift, area.timezone)
        done = [p for p in patrols if start <= p.clock_time < end]
        due = sum(max(1, -(-int(shift.hours) // w.patrol_interval_hours)) for w in wells.values())
        assert 0.95 * due <= len(done) <= due
    for patrol in patrols:
        assert patrol.clock_time == patrol.device_time + timedelta(seconds=patrol.clock_offset_s)
        assert patrol.clock_time <= utcnow()
        well = wells[patrol.well_id]
        assert patrol.station_id == well.station_id
        for field, (_label, _unit, low, high, oil_required, injection_required) in READINGS.items():
            value = getattr(patrol, field)
            if value is None:
                assert not (oil_required if well.kind == "oil" else injection_required), (field, well.kind)
            else:
                assert low <= value <= high, (field, value)
        assert ("no_gps" in patrol.flag_list) == (patrol.latitude is None)
        assert ("manual" in patrol.flag_list) == (patrol.method == "manual")
        assert patrol.review_status in Patrol.REVIEW_STATUSES
    for operation in operations:
        assert operation.code in OPERATIONS and set(json.loads(operation.values)) <= set(OPERATIONS[operation.code][2])
    for check in checks:
        results = json.loads(check.results)
        assert set(results) == {item["code"] for item in templates[check.template_id]}
        assert check.is_abnormal == any(not r["ok"] for r in results.values())
        assert check.clock_time == check.device_time + timedelta(seconds=check.clock_offset_s)
    for hazard in hazards.values():
        own = [s for s in steps if s.hazard_id == hazard.id]
        assert own[0].action == "report" and own[0].at == hazard.reported_at
        assert (hazard.status == "closed") == (own[-1].action == "close")

    page, queries_after = _dashboard(leader, yesterday)
    assert "站长看板" in page
    assert int(re.search(r"<dt>巡检覆盖率</dt><dd>(\d+)%", page)[1]) >= 90
    assert queries_after == queries_before  # the dashboard's queries do not grow with the data
