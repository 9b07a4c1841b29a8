"""The history generator of the benchmarks (bench/generate.py): what it adds is valid data the pages can show."""
import json
import re
from datetime import timedelta

import pytest
from peewee import fn
from playhouse.test_utils import count_queries

from webapp.generator import PARTY_COUNTS, generate_history, generate_party_history
from webapp.periods import month_of
from models import (
    Activity,
    ActivityInvitee,
    Attendance,
    CheckTemplate,
    Commitment,
    CommitmentProgress,
    Deduction,
    EquipmentCheck,
    Hazard,
    HazardStep,
    Milestone,
    ModelPost,
    Patrol,
    PioneerProject,
    Station,
    Suggestion,
    User,
    UserRole,
    Well,
    WellOperation,
    WorkArea,
    db,
    utcnow,
)
from webapp.readings import default_fields
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
        # What the server would accept from a phone: the well kind's reading set, nothing else.
        fields = {f.key: f for f in default_fields(well.kind)}
        for field in READINGS:
            value = getattr(patrol, field)
            if value is None:
                assert field not in fields or not fields[field].required, (field, well.kind)
            else:
                assert field in fields and fields[field].low <= value <= fields[field].high, (field, value, well.kind)
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


def _party_rows() -> list:
    """What the party history made, without ids, for comparing two runs."""
    return [
        [(a.station_id, a.kind, a.topic, a.place, a.starts_at, a.ends_at, a.hours, a.days, a.organiser_id, a.created_at)
         for a in Activity.select().order_by(Activity.starts_at, Activity.station)],
        sorted((i.activity.topic, i.activity.starts_at, i.user_id) for i in ActivityInvitee.select(ActivityInvitee, Activity).join(Activity)),
        sorted((a.activity.starts_at, a.activity.station_id, a.user_id, a.status, a.method, a.reason, str(a.uuid), a.device_time,
                a.received_at) for a in Attendance.select(Attendance, Activity).join(Activity)),
        [(s.author_id, s.title, s.device_time, s.status, s.decided_by_id, s.decided_at, s.decision_note)
         for s in Suggestion.select().order_by(Suggestion.device_time, Suggestion.author)],
        [(p.station_id, p.title, p.leader_id, p.well_id, p.starts_on, p.due_on,
          [(m.title, m.owner_id, m.due_on, m.done_at, m.done_note) for m in p.milestones.order_by(Milestone.sort_order)])
         for p in PioneerProject.select().order_by(PioneerProject.station)],
        sorted((p.member_id, p.title, p.start_date) for p in ModelPost.select()),
        sorted((c.member_id, c.period, c.target, c.rating, c.rated_at) for c in Commitment.select().where(Commitment.rating.is_null(False))),
        sorted((d.member_id, d.month, d.points, d.reason) for d in Deduction.select()),
    ]


def _delete_party_rows() -> None:
    rated = Commitment.select(Commitment.id).where(Commitment.rating.is_null(False))
    CommitmentProgress.delete().where(CommitmentProgress.commitment.in_(rated)).execute()
    Commitment.delete().where(Commitment.rating.is_null(False)).execute()
    for model in (Attendance, ActivityInvitee, Activity, Suggestion, Milestone, PioneerProject, ModelPost, Deduction):
        model.delete().execute()


def _board_row(page: str, name: str) -> dict:
    """A member's 四比 points on the branch's board: {dimension: points}."""
    cells = re.search(re.escape(name) + r"</a>.*?</th>" + r"\s*<td>([-\d.]+)</td>" * 4, page, re.S)
    assert cells, name
    return dict(zip(("kpi", "behaviour", "ko", "ksa"), map(float, cells.groups()), strict=True))


def test_party_history(app, login_as):
    with db.connection_context():
        assert generate_party_history(0) == dict.fromkeys(PARTY_COUNTS, 0) and not Activity.select().exists()
        end = utcnow().replace(microsecond=0)
        counts = generate_party_history(5, seed=3, end=end)
        rows = _party_rows()
        _delete_party_rows()
        assert generate_party_history(5, seed=3, end=end) == counts
        assert _party_rows() == rows  # the same seed and end give the same rows

        stations = list(Station.select().order_by(Station.sort_order))
        secretaries = {u.station_id: u for u in User.select().join(UserRole).where(UserRole.role == "secretary")}
        staff = {u.id: u for u in User.select()}
        members = {s.id: {u.id for u in staff.values() if u.station_id == s.id and u.is_party_member} for s in stations}
        activities = {a.id: a for a in Activity.select()}
        invited = {(i.activity_id, i.user_id) for i in ActivityInvitee.select()}
        attendance = list(Attendance.select())
        suggestions = list(Suggestion.select())
        projects = list(PioneerProject.select())
        milestones = list(Milestone.select())
        posts = list(ModelPost.select())
        rated = list(Commitment.select().where(Commitment.rating.is_null(False)))
        deductions = list(Deduction.select())

    assert counts["activities"] == len(activities) and counts["attendance"] == len(attendance)
    assert counts["suggestions"] == len(suggestions) and counts["milestones"] == len(milestones)
    # Per branch: the five kinds held on past days and one still to come, organised by the secretary for the members.
    for station in stations:
        own = [a for a in activities.values() if a.station_id == station.id]
        past = [a for a in own if a.ends_at <= end]
        assert len(own) == 6 and len(past) == 5
        kinds = {a.kind for a in past}
        assert {"theme_day", "study", "training", "volunteer"} < kinds and kinds & set(Activity.THREE_MEETINGS_ONE_LESSON)
        assert {a.organiser_id for a in own} == {secretaries[station.id].id}
        for activity in own:
            assert {u for a, u in invited if a == activity.id} == members[station.id]
            assert (activity.hours is not None) == (activity.kind == "training")
            assert (activity.days is not None) == (activity.kind == "volunteer")
            assert end - timedelta(days=5) < activity.starts_at < activity.ends_at < end + timedelta(days=7)
    # Attendance: only of invitees, only once an activity is over; most present by scan, a few excused with a reason.
    for row in attendance:
        activity = activities[row.activity_id]
        assert (row.activity_id, row.user_id) in invited and activity.ends_at <= end
        if row.status == "excused":
            assert row.reason and row.method == "marked" and row.received_at < activity.starts_at
        else:
            assert row.status == "present" and not row.reason
        if row.method == "scan":
            assert row.uuid and activity.starts_at - timedelta(minutes=30) <= row.device_time <= activity.ends_at
            assert row.device_time <= row.received_at <= end
    assert {row.activity_id for row in attendance} == {a.id for a in activities.values() if a.ends_at <= end}
    statuses = [row.status for row in attendance]
    assert 0 < statuses.count("excused") < statuses.count("present") / 5
    assert sum(row.method == "scan" for row in attendance) > 0.8 * statuses.count("present")
    for deduction in deductions:
        assert deduction.member_id != secretaries[deduction.station_id].id and deduction.points > 0 and deduction.reason
    # Suggestions by the branch's staff, decided (with a note) by its secretary or still pending.
    assert {s.station_id for s in suggestions} == {s.id for s in stations}
    assert {s.status for s in suggestions} <= set(Suggestion.STATUSES) and "adopted" in {s.status for s in suggestions}
    for suggestion in suggestions:
        assert staff[suggestion.author_id].station_id == suggestion.station_id
        assert suggestion.device_time <= suggestion.received_at <= end
        if suggestion.status == "submitted":
            assert suggestion.decided_by_id is None and suggestion.decided_at is None
        else:
            assert suggestion.decided_by_id == secretaries[suggestion.station_id].id != suggestion.author_id
            assert suggestion.device_time < suggestion.decided_at <= end and suggestion.decision_note
    # A pioneer project per branch, led by one of its party members, with 3–4 milestones within its dates, some reached.
    assert sorted(p.station_id for p in projects) == [s.id for s in stations]
    for project in projects:
        assert project.leader_id in members[project.station_id] and project.status == "active"
        own = sorted((m for m in milestones if m.project_id == project.id), key=lambda m: m.sort_order)
        assert 3 <= len(own) <= 4 and all(project.starts_on <= m.due_on <= project.due_on for m in own)
        done = [m for m in own if m.done_at]
        assert done == own[:len(done)] and 1 <= len(done) < len(own) and all(m.done_note and m.done_at < end for m in done)
    assert len(posts) == 2 * len(stations)
    assert all(p.member_id in members[staff[p.member_id].station_id] for p in posts)
    assert all(c.rating in ("excellent", "good") and c.status == "approved" and c.rated_at <= end for c in rated)

    # The secretary of 一号站 sees the branch's activities, and points from them and from 评诺 on the 四比 board.
    client = login_as("HN1002")
    station = stations[1].id
    page = client.get("/activities/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "即将进行（1）" in text and "已结束（5）" in text
    assert all(a.topic in text for a in activities.values() if a.station_id == station)
    tz = app.config["TIMEZONE"]
    study = next(a for a in activities.values() if a.station_id == station and a.kind == "study")
    present = next(staff[row.user_id] for row in attendance if row.activity_id == study.id and row.status == "present")
    board = client.get(f"/assessment/board?period={month_of(study.starts_at, tz)}")
    assert board.status_code == 200
    assert _board_row(board.get_data(as_text=True), present.name)["ksa"] >= 2  # 政治理论学习: 2 points a session
    commitment = next(c for c in rated if c.station_id == station)
    board = client.get(f"/assessment/board?period={month_of(commitment.rated_at, tz)}")
    assert board.status_code == 200
    assert _board_row(board.get_data(as_text=True), staff[commitment.member_id].name)["ko"] >= 6  # 合格 6, 优秀 10


@pytest.mark.parametrize("days", [0, 1])
def test_seed_demo_history_and_party_work(empty_app, days):
    result = empty_app.test_cli_runner().invoke(args=["seed-demo", "--history-days", str(days)])
    assert result.exit_code == 0, result.output
    assert ("党建：支部活动 30 次" in result.output) == (days > 0)
    with db.connection_context():
        made = [model.select().exists() for model in (Patrol, Activity, Suggestion, PioneerProject, ModelPost, Deduction)]
        assert made[:5] == [days > 0] * 5 and not (made[5] and not days)


def test_more_work_areas_with_a_year_of_party_work(app, login_as):
    """add_work_areas makes work areas like the demo's under its plant; generate and generate_party_history fill
    several at once (every quarter's commitments rated), and each work area's pages show only its own records."""
    from webapp.generator import add_work_areas, generate, generate_party_history

    with db.connection_context():
        demo = WorkArea.get()
        ids = [demo.id, *add_work_areas(2, seed=5, wells_per_station=6)]
        areas = {a.id: a for a in WorkArea.select()}
        assert len(ids) == 3 and {areas[i].plant_id for i in ids} == {demo.plant_id}
        new = ids[1]
        stations = list(Station.select().where(Station.work_area == new).order_by(Station.sort_order))
        assert [s.kind for s in stations] == ["office"] + ["station"] * 4
        staff = list(User.select().where(User.work_area == new))
        assert len(staff) == 135 and sum(u.is_party_member for u in staff) == 48
        roles = {(r.user_id, r.role) for r in UserRole.select().join(User).where(User.work_area == new)}
        assert not any(role == "plant_admin" for _user, role in roles)
        wells = list(Well.select().join(Station).where(Station.work_area == new))
        assert len(wells) == 4 * 6 and all(w.contractor_id for w in wells if w.is_key_well)
        end = utcnow().replace(microsecond=0)
        counts = generate(3, seed=2, end=end, areas=ids)
        party = generate_party_history(200, seed=2, end=end, areas=ids, all_quarters=True)
        by_area = dict(Patrol.select(Station.work_area, fn.COUNT(Patrol.id)).join(Station).group_by(Station.work_area).tuples())
        rated = list(Commitment.select().where(Commitment.rating.is_null(False)))
        members = {u.id: u for u in User.select().where(User.is_party_member)}
        leader_no = User.get((User.station == stations[1]) & (User.post == "站长")).employee_no

    assert counts["patrols"] == sum(by_area.values()) and set(by_area) == set(ids)
    assert party["activities"] == 3 * 5 * (7 * 5 + 1) and party["commitments_rated"] == len(rated) > 0
    assert party["attendance"] > 0 and party["commitment_progress"] > 0
    assert all(c.station_id == members[c.member_id].station_id and c.rated_at <= end for c in rated)
    assert len({c.period for c in rated}) >= 2  # more than the quarter just ended
    leader = login_as(leader_no)
    page = leader.get("/review/")
    assert page.status_code == 200 and stations[1].name in page.get_data(as_text=True)
    assert "海南一号站" not in page.get_data(as_text=True)
