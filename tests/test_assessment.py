"""《3K+行为》 scoring on hand-built records (points worked out here), rule versions by month, caps, deductions, the
四比 board and its ties, the year's figures (page = .xlsx), access and hostile input, and constant query counts."""
import io
import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playhouse.test_utils import count_queries

from models import (
    Activity,
    Attendance,
    Commitment,
    Deduction,
    FluctuationAlert,
    Hazard,
    Patrol,
    ScoreRules,
    Station,
    Suggestion,
    User,
    Well,
    WellContract,
    db,
    utcnow,
)
from tests.conftest import login
from webapp.assessment import (
    YEAR_FIGURES,
    Clock,
    board,
    competition_ranks,
    ensure_default_rules,
    parse_period,
    party_members,
    score_members,
    year_report,
)
from webapp.periods import today_in
from webapp.shifts import parse_shifts

TZ = "Asia/Shanghai"
CLOCK = Clock(TZ, parse_shifts("08:00-20:00 20:00-08:00"), datetime(2026, 1, 1))
Q1 = [(2025, 1), (2025, 2), (2025, 3)]
V2 = [  # in force from 2025-01
    {"source": "patrol_coverage", "label": "承包井巡检", "points": 0.2, "cap": 20},
    {"source": "hazards_reported", "label": "发现隐患", "points": 2, "cap": 6},
    {"source": "hazards_rectified", "label": "整改销项", "points": 3, "cap": None},
    {"source": "alerts_in_time", "label": "波动处置", "points": 2, "cap": None},
    {"source": "commitments_excellent", "label": "承诺优秀", "points": 10, "cap": None},
    {"source": "commitments_good", "label": "承诺合格", "points": 6, "cap": None},
    {"source": "training_hours", "label": "培训学时", "points": 0.5, "cap": 10},
    {"source": "study_sessions", "label": "学习党课", "points": 2, "cap": None},
    {"source": "meetings", "label": "组织生活", "points": 2, "cap": None},
    {"source": "volunteer_days", "label": "义务献工", "points": 2, "cap": None},
    {"source": "suggestions_adopted", "label": "建议采纳", "points": 5, "cap": None},
]
# From 2025-02: hazards found are worth more and uncapped, meetings 3, adopted suggestions no longer scored.
V3 = [dict(r, points=5, cap=None) if r["source"] == "hazards_reported" else dict(r, points=3) if r["source"] == "meetings"
      else r for r in V2 if r["source"] != "suggestions_adopted"]


def utc(y, m, d, hour=10, minute=0) -> datetime:
    """A local (Asia/Shanghai) time as naive UTC, as the database keeps it."""
    return datetime(y, m, d, hour, minute, tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc).replace(tzinfo=None)


def user(employee_no) -> User:
    return User.select(User, Station).join(Station).where(User.employee_no == employee_no).get()


def rules(version, valid_from, rows):
    return ScoreRules.create(version=version, valid_from=valid_from, rules=json.dumps(rows, ensure_ascii=False))


def activity(kind, when, station, *attendees, status="present", cancelled=False, **credit):
    row = Activity.create(station=station, kind=kind, topic=f"{kind} {when:%m-%d}", starts_at=when,
                          ends_at=when + timedelta(hours=2), organiser=user("HN1002"),
                          cancelled_at=when if cancelled else None, **credit)
    for member in attendees:
        Attendance.create(activity=row, user=member, status=status, method="marked")
    return row


def hazard(reporter, when, *, rectified_by=None, status="reported", closed_at=None, description="井口盘根漏油"):
    return Hazard.create(uuid=uuid.uuid4(), station=reporter.station_id, reporter=reporter, description=description,
                         reported_at=when, status=status, rectified_by=rectified_by, closed_at=closed_at)


def commitment(member, rating, rated_at, target="全年无违章"):
    return Commitment.create(member=member, station=member.station_id, period="2025", category="safety",
                             content="安全生产", target=target, status="approved", rating=rating, rated_at=rated_at)


def suggestion(author, status, when, decided_at=None, title="加热炉节能改造"):
    return Suggestion.create(uuid=uuid.uuid4(), author=author, station=author.station_id, title=title, body="……",
                             device_time=when, received_at=when, status=status, decided_at=decided_at)


def patrols(well, author, times, review_status="approved"):
    Patrol.insert_many([{"uuid": uuid.uuid4(), "well": well.id, "station": well.station_id, "author": author.id,
                         "method": "scan", "device_time": t, "clock_time": t, "review_status": review_status}
                        for t in times]).execute()


def every_shift(first: date, last: date, skip=()):
    """A patrol time in each shift (10:00 and 22:00 local) of the days, except the (day, hour) pairs in skip."""
    day = first
    while day <= last:
        for hour in (10, 22):
            if (day, hour) not in skip:
                yield utc(day.year, day.month, day.day, hour)
        day += timedelta(days=1)


@pytest.fixture
def q1(app):
    """Three members' records of 2025 Q1 (A = HN1003 and B = HN1004 of 一号站, E = HN2003 of 二号站), with rules
    v2 from January and v3 from February."""
    with db.connection_context():
        return _q1()


def _q1():
    a, b, e, secretary = user("HN1003"), user("HN1004"), user("HN2003"), user("HN1002")
    rules(2, date(2025, 1, 1), V2)
    rules(3, date(2025, 2, 1), V3)
    station = a.station_id
    # Coverage: one well, 1 patrol due per 12-hour shift; A holds it 1–16 Jan, B from 17 Jan.
    well = Well.create(station=station, code="海1-考01", patrol_interval_hours=12)
    WellContract.create(well=well, member=a, start_date=date(2025, 1, 1), end_date=date(2025, 1, 17))
    WellContract.create(well=well, member=b, start_date=date(2025, 1, 17))
    patrols(well, a, every_shift(date(2025, 1, 1), date(2025, 2, 28), skip={(date(2025, 1, 5), 10), (date(2025, 1, 20), 22)}))
    patrols(well, a, [utc(2025, 1, 6, 11)])  # a second patrol of a shift already done does not hide a missed one
    patrols(well, b, [utc(2025, 1, 20, 23)], review_status="returned")  # returned: not done
    # KPI: four hazards found in January (capped at 6), two in February; one rectified and closed in January, one in
    # February, one rectified but not yet closed.
    for day in (3, 8, 13, 18):
        hazard(a, utc(2025, 1, day))
    for day in (4, 9):
        hazard(a, utc(2025, 2, day))
    hazard(b, utc(2025, 1, 2), rectified_by=a, status="closed", closed_at=utc(2025, 1, 10))
    hazard(b, utc(2025, 1, 25), rectified_by=a, status="closed", closed_at=utc(2025, 2, 3))
    hazard(b, utc(2025, 1, 26), rectified_by=a, status="verified")
    first = Patrol.select().where(Patrol.well == well).first()
    FluctuationAlert.create(well=well, patrol=first, metric="liquid_t_per_day", value=30, baseline=20,
                            created_at=utc(2025, 1, 7, 9), acknowledged_by=a, acknowledged_at=utc(2025, 1, 7, 14),
                            action_note="调参后恢复")
    FluctuationAlert.create(well=well, patrol=first, metric="water_cut_pct", value=90, baseline=80,
                            created_at=utc(2025, 1, 8, 9), acknowledged_by=a, acknowledged_at=utc(2025, 1, 9, 15))
    # KO: excellent in January, good in March (counted in the month rated), poor never.
    commitment(a, "excellent", utc(2025, 1, 31, 16))
    commitment(a, "good", utc(2025, 3, 2))
    commitment(a, "poor", utc(2025, 3, 3))
    # KSA and 行为表现 from attendance.
    activity("training", utc(2025, 1, 10), station, a, hours=3)
    activity("training", utc(2025, 1, 11), station, a, b, hours=4, status="excused")
    activity("training", utc(2025, 1, 12), station, a, hours=8, cancelled=True)
    activity("study", utc(2025, 1, 14), station, a)
    activity("party_lecture", utc(2025, 1, 15), station, a)
    activity("member_meeting", utc(2025, 1, 16), station, a)
    activity("theme_day", utc(2025, 1, 17), station, a)
    activity("volunteer", utc(2025, 1, 18), station, a, days=1.5)
    activity("group_meeting", utc(2025, 2, 16), station, a)
    suggestion(a, "adopted", utc(2025, 1, 5), utc(2025, 1, 20))
    suggestion(a, "adopted", utc(2025, 1, 6), utc(2025, 2, 20))  # adopted in February, when v3 no longer scores it
    suggestion(a, "declined", utc(2025, 1, 7), utc(2025, 1, 21))
    # Deductions: 2 points stand; 3 points were recorded and undone.
    Deduction.create(member=a, station=station, month="2025-01", points=2, reason="班前会迟到", recorded_by=secretary)
    wrong = Deduction.create(member=a, station=station, month="2025-01", points=3, reason="记错人", recorded_by=secretary)
    Deduction.create(member=a, station=station, month="2025-01", points=-3, reason=f"撤销第 {wrong.id} 号扣分：记错人",
                     recorded_by=secretary)
    return {"a": a, "b": b, "e": e, "well": well, "station": station}


def line(month_score, source):
    return next(line for line in month_score.lines if line.rule.source == source)


def test_a_month_is_scored_from_its_records(q1, dbconn):
    a, b = q1["a"], q1["b"]
    scores = score_members([a, b], [(2025, 1)], CLOCK)
    jan = scores[a.id].months[0]
    assert jan.rules.version == 2
    coverage = round(100 * 31 / 32, 1)  # 16 days × 2 shifts due, one missed (the extra patrol does not make it up)
    assert line(jan, "patrol_coverage").units == coverage
    assert line(jan, "patrol_coverage").points == round(coverage * 0.2, 2)
    found = line(jan, "hazards_reported")
    assert (found.units, found.raw, found.points, found.capped) == (4, 8, 6, True)
    assert line(jan, "hazards_rectified").points == 3  # the one closed in January; February's and the open one not
    assert line(jan, "alerts_in_time").units == 1  # 5 hours: in time; 30 hours: not
    assert line(jan, "commitments_excellent").points == 10 and line(jan, "commitments_good").points == 0
    assert line(jan, "training_hours").units == 3  # excused and cancelled trainings do not count
    assert line(jan, "study_sessions").points == 4  # study + 党课
    assert line(jan, "meetings").points == 4  # 党员大会 + 主题党日
    assert line(jan, "volunteer_days").points == 3
    assert line(jan, "suggestions_adopted").points == 5
    kpi = round(coverage * 0.2, 2) + 6 + 3 + 2
    assert jan.points("kpi") == round(kpi, 2)
    assert jan.points("ko") == 10
    assert jan.points("ksa") == 1.5 + 4
    assert jan.deducted == 2
    assert jan.points("behaviour") == 4 + 3 + 5 - 2
    assert jan.total == round(kpi + 10 + 5.5 + 10, 2)
    # B took the well over on the 17th: 15 days × 2 shifts, one missed (the returned patrol does not count).
    assert line(scores[b.id].months[0], "patrol_coverage").units == round(100 * 29 / 30, 1)


def test_a_quarter_sums_months_each_by_its_own_rules(q1, dbconn):
    a, b = q1["a"], q1["b"]
    score = score_members([a, b], Q1, CLOCK)[a.id]
    jan, feb, mar = score.months
    assert [m.rules.version for m in score.months] == [2, 3, 3]
    # February by v3: two hazards found at 5 each, uncapped; one group meeting at 3; the adopted suggestion is not a rule.
    assert line(feb, "hazards_reported").points == 10
    assert line(feb, "meetings").points == 3
    assert not any(l.rule.source == "suggestions_adopted" for l in feb.lines)
    assert feb.total == 3 + 10 + 3  # the hazard closed in February, hazards found, the meeting
    assert mar.total == 6  # the commitment rated 合格 in March
    assert score.total == round(jan.total + 16 + 6, 2)
    assert score.points("ko") == 16
    # Scored by v2 throughout, February would give 4 (capped hazards) + 2 (meeting) + 5 (the suggestion adopted then)
    # instead of 10 + 3: each month counts by the rules in force then.
    ScoreRules.delete().where(ScoreRules.version == 3).execute()
    assert score_members([a], Q1, CLOCK)[a.id].total == round(score.total - 13 + 11, 2)
    # B: January from the 17th, all of February (56 due, 56 done, capped at 20), March none due.
    b_months = score_members([b], Q1, CLOCK)[b.id].months
    assert [line(m, "patrol_coverage").points for m in b_months] == [round(round(100 * 29 / 30, 1) * 0.2, 2), 20, 0]


def test_the_shift_tallies_score_the_quarter_as_the_patrols_do(q1, dbconn):
    """The demo work area's patrols are counted per shift by the database's triggers (webapp/tallies.py): scored from
    those tallies, every line of every month is what counting the patrols gives — and under other shifts or another
    zone's offset the tallies are not read."""
    from dataclasses import replace

    from webapp import tallies

    a, b = q1["a"], q1["b"]
    area = a.work_area_id
    assert tallies.matches(area, CLOCK.shifts, 8 * 3600)
    assert not tallies.matches(area, parse_shifts("08:00-16:00 16:00-00:00 00:00-08:00"), 8 * 3600)
    assert not tallies.matches(area, CLOCK.shifts, 9 * 3600)
    counted = score_members([a, b], Q1, CLOCK)
    tallied = score_members([a, b], Q1, replace(CLOCK, work_area_id=area))
    for member in (a, b):
        for month_counted, month_tallied in zip(counted[member.id].months, tallied[member.id].months, strict=True):
            assert [(l.rule.source, l.units, l.points) for l in month_counted.lines] == [
                (l.rule.source, l.units, l.points) for l in month_tallied.lines]
    assert line(tallied[a.id].months[0], "patrol_coverage").units == round(100 * 31 / 32, 1)


def test_the_breakdown_lists_the_source_records(q1, app):
    a = q1["a"]
    with db.connection_context():
        jan = score_members([a], [(2025, 1)], CLOCK)[a.id].months[0]
        closed = Hazard.get((Hazard.rectified_by == a.id) & (Hazard.closed_at < utc(2025, 2, 1)))
        training = Activity.get((Activity.kind == "training") & (Activity.hours == 3))
        adopted = Suggestion.get(Suggestion.decided_at == utc(2025, 1, 20))
    records = {source: [(r.kind, r.id) for r in line(jan, source).records] for source in ("hazards_rectified", "patrol_coverage")}
    assert records == {"hazards_rectified": [("hazard", closed.id)], "patrol_coverage": [("well_history", q1["well"].id)]}
    assert "应巡 32 次，已巡 31 次" in line(jan, "patrol_coverage").records[0].text
    assert [r.units for r in line(jan, "training_hours").records] == [3]

    client = app.test_client()
    login(client, "HN1003")
    page = client.get("/assessment/me?month=2025-01").get_data(as_text=True)
    assert f'href="/hazards/{closed.id}"' in page
    assert f'href="/wells/{q1["well"].id}/history"' in page
    assert f'href="/activities/{training.id}"' in page
    assert f'href="/suggestions/{adopted.id}"' in page
    assert "班前会迟到" in page and "撤销第" in page
    assert "按考核规则第 2 版" in page


def test_defaults_apply_before_any_version_and_ensure_is_idempotent(dbconn):
    assert ScoreRules.select().count() == 1  # a new database gets version 1
    assert ensure_default_rules() is False
    ScoreRules.delete().execute()
    a = user("HN1003")
    month = score_members([a], [(2025, 1)], CLOCK)[a.id].months[0]
    assert month.rules.version is None and month.total == 0
    assert ensure_default_rules() is True and ScoreRules.get().valid_from == date(2000, 1, 1)


def test_board_ranks_with_ties(dbconn):
    a, b, e = user("HN1003"), user("HN1004"), user("HN2003")
    for member, count in ((a, 1), (b, 1), (e, 2)):
        for n in range(count):
            suggestion(member, "adopted", utc(2025, 1, 3), utc(2025, 1, 10 + n))
    members = party_members(a.work_area_id)
    rows = board(score_members(members, [(2025, 1)], CLOCK))
    by_id = {row.member.id: row for row in rows}
    assert [row.member.id for row in rows[:3]] == [e.id, a.id, b.id]  # equal totals in 工号 order
    assert (by_id[e.id].rank, by_id[a.id].rank, by_id[b.id].rank) == (1, 2, 2)
    assert {row.rank for row in rows[3:]} == {4}
    assert (by_id[a.id].branch_rank, by_id[b.id].branch_rank, by_id[e.id].branch_rank) == (1, 1, 1)
    others_1 = {row.branch_rank for row in rows if row.member.station_id == a.station_id and row.member.id not in (a.id, b.id)}
    assert others_1 == {3}
    assert competition_ranks([10, 8, 8, 5, 5, 1]) == [1, 2, 2, 4, 4, 6]


def test_board_page_and_fragment(q1, app):
    client = app.test_client()
    login(client, "HN1005")  # a member of 一号站 sees everyone's totals and ranks
    page = client.get("/assessment/board?period=2025Q1&station=all")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in text and "2025年第1季度" in text
    for label in ("比业绩", "比作风", "比形象", "比成效"):
        assert label in text
    a = q1["a"]
    with db.connection_context():
        total = score_members([a], Q1, CLOCK)[a.id].total
    row = re.search(rf"<tr>\s*<td>1</td>\s*<th scope=\"row\">{a.name}.*?<strong>([\d.]+)</strong>", text, re.DOTALL)
    assert row and float(row.group(1)) == total
    assert f"/assessment/members/{a.id}" not in text  # others' breakdowns are for the secretary and admins
    fragment = client.get(f"/assessment/board?period=2025-02&station={a.station_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert "二号站" not in fragment.get_data(as_text=True).split("<tbody>")[1]
    secretary = app.test_client()
    login(secretary, "HN1002")
    assert f"/assessment/members/{a.id}?month=2025Q1" in secretary.get("/assessment/board?period=2025Q1").get_data(as_text=True)


@pytest.mark.parametrize("query", ["period=2025-13", "period=abc", "period=1999", "period=2099Q1", "period=2025Q5",
                                   "period=" + "9" * 400])
def test_board_refuses_bad_periods(app, query):
    client = app.test_client()
    login(client, "HN1003")
    response = client.get(f"/assessment/board?{query}")
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize("station", ["999999", "abc", "9" * 30, "²"])
def test_board_refuses_unknown_stations(app, station):
    client = app.test_client()
    login(client, "HN1003")
    assert client.get(f"/assessment/board?station={station}").status_code == 404


def test_period_parsing():
    today = date(2026, 11, 26)
    assert parse_period("2026Q4", today).months == ((2026, 10), (2026, 11))  # no months after today's
    assert parse_period("2025", today).keys[0] == "2025-01" and len(parse_period("2025", today).months) == 12
    assert parse_period("2026-3", today).text == "2026-03"


@pytest.mark.parametrize("viewer, target, status", [
    ("HN1003", "HN1003", 200),  # the member themself
    ("HN1003", "HN1004", 403),  # a colleague of the branch
    ("HN1001", "HN1004", 403),  # the station leader is not the branch secretary
    ("HN1002", "HN1004", 200),  # the branch secretary
    ("HN1002", "HN2003", 404),  # another branch's member: like an unknown id
    ("HN0001", "HN2003", 200),  # an admin
    ("HN1002", "HN1010", 404),  # not a party member
])
def test_who_sees_a_breakdown(app, viewer, target, status):
    with db.connection_context():
        target_id = user(target).id
    client = app.test_client()
    login(client, viewer)
    assert client.get(f"/assessment/members/{target_id}").status_code == status


def test_breakdown_refuses_bad_input(app):
    client = app.test_client()
    login(client, "HN1003")
    for month in ("2025-13", "x" * 300, "2099-01", "<script>"):
        response = client.get("/assessment/me", query_string={"month": month})
        assert response.status_code == 422 and "<script>" not in response.get_data(as_text=True)
    assert client.get(f"/assessment/members/{2**64}").status_code == 404
    assert client.get("/assessment/members/999999").status_code == 404
    client = app.test_client()
    login(client, "HN1010")  # not a party member
    assert client.get("/assessment/me").status_code == 404
    assert client.get("/assessment/me/summary").status_code == 204


def test_my_summary_in_me(app):
    client = app.test_client()
    login(client, "HN1003")
    me = client.get("/me").get_data(as_text=True)
    assert 'hx-get="/assessment/me/summary"' in me
    summary = client.get("/assessment/me/summary", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "本月《3K+行为》积分" in summary and "作业区第" in summary


def this_month() -> str:
    today = today_in(TZ)
    return f"{today.year}-{today.month:02d}"


def deduct(client, member_no, **data):
    with db.connection_context():
        member_id = user(member_no).id
    return client.post("/assessment/deductions", data={"member": member_id, "month": this_month(), "points": "3",
                                                       "reason": "未按规定参加组织生活", **data})


def deductions_of(member_no):
    with db.connection_context():
        return list(Deduction.select().where(Deduction.member == user(member_no).id).order_by(Deduction.id))


def test_secretary_records_and_undoes_a_deduction(app):
    secretary = app.test_client()
    login(secretary, "HN1002")
    response = deduct(secretary, "HN1003", reason="<script>alert(1)</script> 迟到")
    assert response.status_code == 302
    [row] = deductions_of("HN1003")
    assert (row.points, row.month, row.recorded_by_id) == (3, this_month(), user_id("HN1002"))
    page = secretary.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 迟到" in page and "<script>alert(1)" not in page

    member = app.test_client()
    login(member, "HN1003")
    assert "&lt;script&gt;" in member.get(f"/assessment/me?month={this_month()}").get_data(as_text=True)

    assert secretary.post("/assessment/deductions/undo", data={"deduction": row.id}).status_code == 422  # a reason
    assert secretary.post("/assessment/deductions/undo", data={"deduction": row.id, "reason": "记错了人"}).status_code == 302
    _, correction = deductions_of("HN1003")
    assert (correction.points, correction.month, correction.recorded_by_id) == (-3, row.month, user_id("HN1002"))
    assert correction.reason.startswith(f"撤销第 {row.id} 号扣分：记错了人")
    assert secretary.post("/assessment/deductions/undo", data={"deduction": row.id, "reason": "再撤"}).status_code == 422
    assert secretary.post("/assessment/deductions/undo", data={"deduction": correction.id, "reason": "x"}).status_code == 422
    assert len(deductions_of("HN1003")) == 2
    with db.connection_context():
        a = user("HN1003")
        today = today_in(TZ)
        assert score_members([a], [(today.year, today.month)], CLOCK)[a.id].months[0].deducted == 0


@pytest.mark.parametrize("data, message", [
    ({"points": "0"}, "扣分应大于 0"), ({"points": "-5"}, "扣分应大于 0"), ({"points": "21"}, "不超过 20"),
    ({"points": "1e309"}, "扣分应大于 0"), ({"points": "nan"}, "扣分应大于 0"), ({"points": "abc"}, "扣分应大于 0"),
    ({"points": "9" * 50}, "扣分应大于 0"), ({"reason": ""}, "请写明扣分原因"), ({"reason": " \x00\n "}, "请写明扣分原因"),
    ({"reason": "长" * 201}, "不能超过 200 字"), ({"month": "2020-01"}, "只能记录本月或上月"), ({"month": "garbage"}, "只能记录本月或上月"),
])
def test_deductions_refuse_bad_input(app, data, message):
    secretary = app.test_client()
    login(secretary, "HN1002")
    response = deduct(secretary, "HN1003", **data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert deductions_of("HN1003") == []


def user_id(employee_no) -> int:
    with db.connection_context():
        return user(employee_no).id


def test_who_records_deductions(app):
    secretary = app.test_client()
    login(secretary, "HN1002")
    assert deduct(secretary, "HN2003").status_code == 404  # another branch's member: like an unknown id
    assert deduct(secretary, "HN1002").status_code == 422  # not one's own
    assert secretary.post("/assessment/deductions", data={"member": "999999", "points": "1", "reason": "x"}).status_code == 404
    assert secretary.post("/assessment/deductions", data={"member": str(2**70), "points": "1", "reason": "x"}).status_code == 404
    assert deduct(secretary, "HN1010").status_code == 404  # not a party member
    assert secretary.get(f"/assessment/deductions?station={station_of('HN2003')}").status_code == 404
    leader = app.test_client()
    login(leader, "HN1001")
    assert deduct(leader, "HN1003").status_code == 403
    assert leader.get("/assessment/deductions").status_code == 403
    admin = app.test_client()
    login(admin, "HN0001")
    assert deduct(admin, "HN2003").status_code == 302
    assert admin.get(f"/assessment/deductions?station={station_of('HN2003')}").status_code == 200
    [row] = deductions_of("HN2003")
    other_secretary = app.test_client()
    login(other_secretary, "HN3002")
    assert other_secretary.post("/assessment/deductions/undo", data={"deduction": row.id, "reason": "x"}).status_code == 404
    assert secretary.post("/assessment/deductions/undo", data={"deduction": "abc", "reason": "x"}).status_code == 404
    assert len(deductions_of("HN2003")) == 1


def station_of(employee_no) -> int:
    with db.connection_context():
        return user(employee_no).station_id


def test_rules_editor_saves_a_new_version(app):
    admin = app.test_client()
    login(admin, "HN0001")
    page = admin.get("/assessment/rules")
    assert page.status_code == 200 and "承包井巡检完成率" in page.get_data(as_text=True)
    today = today_in(TZ)
    form = {"valid_from": f"{today.year}-{today.month:02d}", "hazards_reported-points": "4",
            "hazards_reported-cap": "", "hazards_reported-label": "<b>找隐患</b>", "meetings-points": "2.5",
            "meetings-cap": "10"}
    response = admin.post("/assessment/rules", data=form)
    assert response.status_code == 302
    with db.connection_context():
        latest = ScoreRules.select().order_by(ScoreRules.version.desc()).first()
        assert (latest.version, latest.valid_from) == (2, today.replace(day=1))
        assert json.loads(latest.rules) == [
            {"source": "hazards_reported", "label": "<b>找隐患</b>", "points": 4.0, "cap": None},
            {"source": "meetings", "label": "组织生活", "points": 2.5, "cap": 10.0}]
    assert "&lt;b&gt;找隐患&lt;/b&gt;" in admin.get("/assessment/rules").get_data(as_text=True)


@pytest.mark.parametrize("changes, message", [
    ({"valid_from": "2020-01"}, "不能早于本月"), ({"valid_from": "nonsense"}, "生效月份"),
    ({"meetings-points": "-1"}, "0 到 100"), ({"meetings-points": "1000"}, "0 到 100"),
    ({"meetings-points": "inf"}, "0 到 100"), ({"meetings-cap": "0"}, "月上限"), ({"meetings-label": "长" * 40}, "不能超过 30 字"),
    ({"meetings-points": ""}, "至少要有一条"),
])
def test_rules_editor_refuses_bad_input(app, changes, message):
    admin = app.test_client()
    login(admin, "HN0001")
    today = today_in(TZ)
    response = admin.post("/assessment/rules", data={"valid_from": f"{today.year}-{today.month:02d}",
                                                     "meetings-points": "2", **changes})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with db.connection_context():
        assert ScoreRules.select().count() == 1


@pytest.mark.parametrize("employee_no", ["HN1002", "HN1001", "HN1003"])
def test_only_admins_edit_rules(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    assert client.get("/assessment/rules").status_code == 403
    assert client.post("/assessment/rules", data={"valid_from": "2030-01", "meetings-points": "9"}).status_code == 403


@pytest.fixture
def year_2025(app):
    """一号站's party work in 2025, with the figures it should give."""
    with db.connection_context():
        return _year_2025()


def _year_2025():
    a, b, e = user("HN1003"), user("HN1004"), user("HN2003")
    s1, s2 = a.station_id, e.station_id
    for day in (3, 4):
        activity("study", utc(2025, 3, day), s1, a)
    activity("study", utc(2025, 3, 5), s1, cancelled=True)
    activity("study", utc(2024, 12, 31, 23), s1)  # local 2024: not this year
    activity("study", utc(2026, 1, 1, 1), s1)  # local 2026-01-01 01:00, still 2025-12-31 17:00 UTC: not this year
    for day in (6, 7):
        activity("theme_day", utc(2025, 4, day), s1, a)
    activity("member_meeting", utc(2025, 5, 1), s1, a)
    activity("committee", utc(2025, 5, 2), s1, a)
    activity("party_lecture", utc(2025, 5, 3), s1, a)
    activity("training", utc(2025, 6, 1), s1, a, b, hours=4)
    activity("training", utc(2025, 6, 2), s1, a, hours=2)
    activity("training", utc(2025, 6, 3), s2, a, e, hours=5)  # held by 二号站; A's hours count for 一号站's members
    activity("volunteer", utc(2025, 7, 1), s1, a, b, days=2)
    for n in range(3):
        suggestion(a if n else b, "adopted" if n == 0 else "submitted", utc(2025, 8, 1 + n), utc(2025, 8, 9))
    for day in range(1, 5):
        hazard(a, utc(2025, 9, day), status="closed" if day <= 2 else "assigned",
               closed_at=utc(2025, 9, 20) if day <= 2 else None)
    commitment(a, "excellent", utc(2025, 12, 1))
    commitment(b, "good", utc(2025, 12, 2))
    commitment(b, "poor", utc(2025, 12, 3))
    members = User.select().where((User.station == s1) & User.is_party_member & User.is_enabled).count()
    return {"members": members, "study": 2, "theme_day": 2, "member_meeting": 1, "committee": 1, "group_meeting": 0,
            "party_lecture": 1, "three_one": 3, "training": 2, "training_hours": 15.0,
            "training_hours_per_member": round(15 / members, 1), "volunteer": 1, "volunteer_days": 4.0,
            "volunteer_days_per_member": round(4 / members, 1), "suggestions": 3, "suggestions_adopted": 1,
            "hazards_found": 4, "hazards_closed": 2, "commitments_fulfilled": 2, "planned": 0}


def test_the_year_counts_activities_that_took_place_and_lists_planned_ones_apart(app, dbconn):
    """Scheduled for later is a plan, not a figure; begun with nobody recorded present has not taken place. (Minutes
    from now, not days: the test must not cross into another year whatever the day it runs.)"""
    a = user("HN1003")
    station = Station.get_by_id(a.station_id)
    now = utcnow()
    year = now.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(TZ)).year
    [before] = year_report([station], year, TZ).columns
    activity("theme_day", now - timedelta(minutes=2), a.station_id, a)  # held
    activity("theme_day", now - timedelta(minutes=1), a.station_id)  # nobody recorded present: not counted
    activity("theme_day", now + timedelta(minutes=3), a.station_id, a)  # planned
    activity("training", now + timedelta(minutes=3), a.station_id, a, hours=8)  # planned: no hours yet
    [after] = year_report([station], year, TZ).columns
    change = {key: after.values[key] - before.values[key] for key in ("theme_day", "planned", "training", "training_hours")}
    assert change == {"theme_day": 1, "planned": 2, "training": 0, "training_hours": 0}


def test_year_report_counts_the_records(year_2025, dbconn):
    station = Station.get(Station.name == "海南一号站")
    [column] = year_report([station], 2025, TZ).columns
    assert column.values == year_2025


def test_year_report_page_equals_its_xlsx(app, year_2025):
    secretary = app.test_client()
    login(secretary, "HN1002")
    page = secretary.get("/assessment/year?year=2025").get_data(as_text=True)
    shown = {key: float(value) for key, value in re.findall(
        r'id="figure-(\w+)"><th scope="row">(?:<a [^>]*>)?[^<]*(?:</a>)?</th><td>[^<]*</td>\s*<td>([\d.]+)</td>', page)}
    assert shown == {key: float(value) for key, value in year_2025.items()}
    response = secretary.get("/assessment/year.xlsx?year=2025")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["年度工作量"]
    rows = {row[0]: row[2] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert {f.key: rows[f.label] for f in YEAR_FIGURES} == year_2025
    assert secretary.get("/assessment/year.csv?year=2025").data.decode("utf-8-sig").count("\r\n") == len(YEAR_FIGURES) + 2


COUNTED = ("members", "study", "theme_day", "member_meeting", "committee", "group_meeting", "party_lecture", "three_one",
           "training", "volunteer", "suggestions", "suggestions_adopted", "hazards_found", "hazards_closed",
           "commitments_fulfilled", "planned")


def test_each_figure_of_the_year_opens_the_records_it_counts(app, year_2025):
    """A figure a secretary can check: its page lists exactly the records counted, each opening its own page."""
    secretary = app.test_client()
    login(secretary, "HN1002")
    page = secretary.get("/assessment/year?year=2025").get_data(as_text=True)
    for key in COUNTED:
        assert f"/assessment/year/{key}?year=2025" in page, key
        listed = secretary.get(f"/assessment/year/{key}?year=2025").get_data(as_text=True)
        assert listed.count('<li class="record">') == year_2025[key], key
    hazards = secretary.get("/assessment/year/hazards_found?year=2025").get_data(as_text=True)
    for link in re.findall(r'href="(/hazards/\d+)"', hazards):
        assert secretary.get(link).status_code == 200
    training = secretary.get("/assessment/year/training_hours?year=2025").get_data(as_text=True)
    assert training.count('<li class="record">') == 2 and "合计按党员在这些活动的签到计" in training


@pytest.mark.parametrize("employee_no, path, status", [
    ("HN1003", "/assessment/year/study?year=2025", 403), ("HN1002", "/assessment/year/nonsense?year=2025", 404),
    ("HN1002", "/assessment/year/study?year=2025&station={s2}", 404), ("HN1002", "/assessment/year/study?year=2099", 422),
    ("HN0001", "/assessment/year/study?year=2025&station={s2}", 200),
])
def test_who_opens_a_figures_records(app, employee_no, path, status):
    client = app.test_client()
    login(client, employee_no)
    assert client.get(path.format(s2=station_of("HN2003"))).status_code == status


def test_year_report_of_the_work_area(app, year_2025):
    admin = app.test_client()
    login(admin, "HN0001")
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/assessment/year.xlsx?year=2025&station=all").data))["年度工作量"]
    header = [c.value for c in sheet[2]]
    assert header[2:] == ["海南作业区机关党支部", "海南一号站党支部", "海南二号站党支部", "海南三号站党支部", "海南四号站党支部", "合计"]
    rows = {row[0]: row[2:] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["党员人数"][-1] == 48 and rows["教育培训"] == (0, 2, 1, 0, 0, 3)
    assert rows["党员培训学时合计"][-1] == 20.0 and rows["党员人均培训学时"][-1] == round(20 / 48, 1)
    assert admin.get("/assessment/year?year=2025").status_code == 200


@pytest.mark.parametrize("employee_no, query, status", [
    ("HN1003", "", 403), ("HN1001", "", 403),  # members and leaders: no
    ("HN1002", "&station=all", 200),  # a secretary asking for all gets their own branch
    ("HN1002", "&station={s2}", 404), ("HN0001", "&station={s2}", 200), ("HN1002", "&station=abc", 404),
    ("HN1002", "&station=999999", 404),
])
def test_who_sees_the_year_report(app, employee_no, query, status):
    client = app.test_client()
    login(client, employee_no)
    query = query.format(s2=station_of("HN2003"))
    assert client.get(f"/assessment/year?year=2025{query}").status_code == status
    assert client.get(f"/assessment/year.xlsx?year=2025{query}").status_code == status


@pytest.mark.parametrize("year", ["1999", "2099", "abc", "20255", "-1"])
def test_year_report_refuses_bad_years(app, year):
    client = app.test_client()
    login(client, "HN1002")
    assert client.get(f"/assessment/year?year={year}").status_code == 422
    assert client.get(f"/assessment/year.xlsx?year={year}").status_code == 422


def add_member_records(station_id, members, n):
    """n more of every kind of record for each member (and a contracted well each)."""
    for member in members:
        well = Well.create(station=station_id, code=f"海1-Q{member.id}", patrol_interval_hours=12)
        WellContract.create(well=well, member=member, start_date=date(2025, 1, 1))
        patrols(well, member, list(every_shift(date(2025, 1, 1), date(2025, 1, 1 + n))))
        for k in range(n):
            hazard(member, utc(2025, 1, 2 + k), rectified_by=member, status="closed", closed_at=utc(2025, 1, 3 + k))
            activity("study", utc(2025, 1, 2 + k), station_id, member)
            activity("training", utc(2025, 1, 2 + k, 14), station_id, member, hours=2)
            commitment(member, "good", utc(2025, 1, 2 + k))
            suggestion(member, "adopted", utc(2025, 1, 2 + k), utc(2025, 1, 3 + k))
            Deduction.create(member=member, station=station_id, month="2025-01", points=1, reason="x")
            FluctuationAlert.create(well=well, patrol=Patrol.select().where(Patrol.well == well).first(), metric="water_cut_pct",
                                    value=1, baseline=2, created_at=utc(2025, 1, 2 + k), acknowledged_by=member,
                                    acknowledged_at=utc(2025, 1, 2 + k, 12))


def test_scoring_a_branch_month_takes_the_same_queries_whatever_the_size(dbconn):
    station = Station.get(Station.name == "海南一号站")
    members = party_members(station.work_area_id, station.id)
    add_member_records(station.id, members[:2], 1)

    def queries(months=((2025, 1),)):
        with count_queries() as counter:
            score_members(members, list(months), CLOCK)
        return counter.count

    small = queries()
    add_member_records(station.id, members[2:], 6)
    # rules, coverage (contracts, patrols), hazards found, rectified, alerts, commitments, attendance, suggestions, deductions
    assert queries() == small == 10
    assert queries(Q1) == small  # a quarter costs what a month does
    total = score_members(members, [(2025, 1)], CLOCK)[members[-1].id].months[0]
    assert line(total, "hazards_rectified").units == 6 and total.deducted == 6


@pytest.mark.parametrize("employee_no, url", [
    ("HN1003", "/assessment/me?month=2025-01"), ("HN1003", "/assessment/board?period=2025"),
    ("HN1002", "/assessment/deductions"), ("HN1002", "/assessment/year?year=2025"),
])
def test_htmx_views_answer_the_page_or_the_fragment(app, employee_no, url):
    client = app.test_client()
    login(client, employee_no)
    page, fragment = client.get(url), client.get(url, headers={"HX-Request": "true"})
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert 'hx-target="#' in fragment.get_data(as_text=True)  # the fragment brings its own switch along


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3"])
def test_a_branch_named_like_a_formula_is_text_in_the_year_exports(app, name):
    """The year sheet's header cells are branch names: they are neutralised like every other cell (once they were not)."""
    with db.connection_context():
        Station.update(branch_name=name).where(Station.name == "海南二号站").execute()
    admin = app.test_client()
    login(admin, "HN0001")
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/assessment/year.xlsx?year=2025&station=all").data))["年度工作量"]
    header = [c.value for c in sheet[2]]
    assert "'" + name in header and name not in header
    assert all(c.data_type != "f" for c in sheet[2])
    text = admin.get("/assessment/year.csv?year=2025&station=all").data.decode("utf-8-sig")
    assert "'" + name in text and f",{name}," not in text
