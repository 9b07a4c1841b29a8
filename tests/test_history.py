"""The well history page: the timeline of every kind of record, paged by cursor in a fixed number of queries,
and the server-drawn SVG charts of each reading; scope, parameters and hostile input."""
import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from playhouse.test_utils import count_queries

from models import Patrol, Station, User, Well, WorkArea, db, utcnow
from tests.conftest import get_user, get_well, login
from tests.test_checks import check_record
from tests.test_sync import batch, now_iso, patrol_record, post
from webapp import charts, history

WELL = "海1-02"


def url(well, **params):
    return f"/wells/{well.id}/history" + (f"?{urlencode(params)}" if params else "")


def sync(client, *records):
    results = post(client, batch(*records)).json["results"]
    assert [r["status"] for r in results] == ["created"] * len(records), results
    return [r["id"] for r in results]


def ago(hours):
    return now_iso(timedelta(hours=-hours))


def patrol(well, hours, **data):
    return patrol_record(well, created_at=ago(hours), **data)


def check(hours):
    record = check_record(WELL)
    record["created_at"] = ago(hours)
    return record


def hazard(well, hours, description="盘根盒漏油"):
    data = {"well_id": well.id, "description": description, "severity": "major"}
    return {"uuid": str(uuid.uuid4()), "type": "hazard", "created_at": ago(hours), "data": data}


def assign(hazard_uuid, assignee):
    data = {"hazard_uuid": hazard_uuid, "action": "assign", "assignee_id": assignee.id,
            "deadline": (datetime.now() + timedelta(days=3)).date().isoformat()}
    return {"uuid": str(uuid.uuid4()), "type": "hazard_step", "created_at": now_iso(), "data": data}


@pytest.fixture
def worker(app):
    client = app.test_client()
    login(client, "HN1003")
    return client


def kinds_and_ids(entries):
    return [(e.kind, e.record.id) for e in entries]


def walk(well, size):
    """Every page of the well's timeline, following the cursors."""
    pages, cursor = [], None
    while True:
        page = history.timeline(well, cursor, size)
        pages.append(page.entries)
        if page.next is None:
            return pages
        assert len(page.entries) == size
        cursor = page.next


def test_timeline_has_every_kind_newest_first(worker, leader):
    well = get_well(WELL)
    [first] = sync(worker, patrol(well, 5, operations={"bie": {"minutes": 10, "start_mpa": 0.8, "end_mpa": 3.5}, "xun": {}}))
    [checked] = sync(worker, check(4))
    report = hazard(well, 3)
    sync(worker, report)
    [abnormal] = sync(worker, patrol(well, 2, abnormal=True, note="光杆发烫"))
    sync(leader, assign(report["uuid"], get_user("HN1004")))
    with db.connection_context():
        entries = history.timeline(Well.get_by_id(well.id)).entries
    assert [(e.kind, getattr(e.record, "action", None)) for e in entries] == [
        ("hazard", "assign"), ("patrol", None), ("hazard", "report"), ("check", None), ("patrol", None)]
    assert [entries[1].record.id, entries[3].record.id, entries[4].record.id] == [abnormal, checked, first]
    assert entries[4].details == ["憋压：憋压时间 10 min，起压 0.8 MPa，止压 3.5 MPa"]  # 巡 is the patrol itself
    assert "上行电流 42.5 A" in entries[4].summary

    page = leader.get(url(well)).get_data(as_text=True)
    assert "历史与曲线" in page and "光杆发烫" in page and "⚠ 异常" in page and "分派给" in page
    assert page.index("隐患分派") < page.index("光杆发烫") < page.index("隐患上报") < page.index("设备检查")
    assert f'href="/review/patrols/{first}"' in page and f'href="/review/checks/{checked}"' in page
    assert "/hazards/" in page and "没有更早的记录了" in page
    assert 'style="' not in page  # the CSP allows no inline styles
    worker_page = worker.get(url(well)).get_data(as_text=True)
    assert "光杆发烫" in worker_page and "/review/patrols/" not in worker_page


def test_paging_has_no_duplicates_or_omissions_even_across_ties(worker):
    well = get_well(WELL)
    tied = ago(1)
    records = [patrol(well, h) for h in (9, 8, 7, 6)]
    records += [patrol_record(well, created_at=tied) for _ in range(3)]  # three patrols of the same second
    records += [dict(check(0), created_at=tied), dict(check(3), created_at=tied), check(5), hazard(well, 1), hazard(well, 2)]
    records[-2]["created_at"] = tied
    sync(worker, *records)
    with db.connection_context():
        well = Well.get_by_id(well.id)
        everything = kinds_and_ids(history.timeline(well, size=100).entries)
        assert len(everything) == 12  # 7 patrols, 3 checks, the report steps of 2 hazards
        for size in (1, 2, 3, 4, 5, 11, 12, 13):
            pages = walk(well, size)
            assert [pair for page in pages for pair in kinds_and_ids(page)] == everything, size
        times = [e.time for e in history.timeline(well, size=100).entries]
        assert times == sorted(times, reverse=True)


def test_next_page_by_htmx_and_plain_link(worker):
    well = get_well(WELL)
    sync(worker, *[patrol(well, hours) for hours in range(1, history.PAGE_SIZE + 6)])
    first = worker.get(url(well)).get_data(as_text=True)
    assert first.count('class="history-entry') == history.PAGE_SIZE
    more = re.search(r'hx-get="([^"]+)"', first)[1].replace("&amp;", "&")
    assert 'hx-target="closest li"' in first and 'hx-swap="outerHTML"' in first and f'href="{more}' in first.replace("&amp;", "&")
    fragment = worker.get(more, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in body and "<svg" not in body and body.count('class="history-entry') == 5
    assert "没有更早的记录了" in body and "hx-get" not in body
    plain = worker.get(more).get_data(as_text=True)  # without JavaScript: the full page from that point
    assert "<html" in plain and plain.count('class="history-entry') == 5 and "回到最新" in plain


def test_query_count_per_page_does_not_grow_with_data(app, worker, leader):
    well = get_well(WELL)
    ops = {"peng": {"times": 2}, "liang": {"hours": 2, "liquid_t": 12}}
    report = hazard(well, 30)
    sync(worker, patrol(well, 40, operations=ops), patrol(well, 39), check(38), report)

    def counted(path, **headers):
        with count_queries() as counter:
            assert leader.get(path, headers=headers).status_code == 200
        return counter.count

    small = (counted(url(well)), counted(url(well, before=now_iso()), **{"HX-Request": "true"}))
    sync(worker, *[patrol(well, hours, operations=ops) for hours in range(1, 36)], *[check(h + 0.5) for h in range(8)],
         *[hazard(well, h + 0.2) for h in range(6)])
    sync(leader, assign(report["uuid"], get_user("HN1004")))
    grown = (counted(url(well)), counted(url(well, before=now_iso()), **{"HX-Request": "true"}))
    # user, roles, the well, then patrols+authors, checks+equipment+authors, hazard steps+hazards+people,
    # the operations of the page's patrols, and (the full page only) all readings for the charts in one query.
    assert small == grown == (8, 7)


def test_chart_shows_each_reading_with_data_and_its_range(worker):
    well = get_well(WELL)
    for hours, current in ((30, 40.0), (20, 44.0), (10, 90.0), (2, 41.5)):
        readings = {"current_up_a": current, "current_down_a": 30, "stroke_m": 3, "strokes_per_min": 4,
                    "oil_pressure_mpa": 0.8, "casing_pressure_mpa": 1.2, "back_pressure_mpa": 0.6, "wellhead_temp_c": 38}
        sync(worker, patrol(well, hours, readings=readings, abnormal=current > 80, note="电流高" if current > 80 else ""))
    page = worker.get(url(well)).get_data(as_text=True)
    assert page.count("<svg class=\"chart\"") == 8  # 产液量 and 含水 have no data: no chart
    assert "产液量" not in page.split('id="timeline"')[0]
    svg = page[page.index('id="chart-current_up_a-title"') - 200:]
    svg = svg[:svg.index("</svg>")]
    assert 'role="img"' in svg and 'viewBox="0 0 320 170"' in svg and 'width="100%"' in svg
    assert "上行电流 近30天 最低 40 最高 90 最新 41.5 A，共 4 次读数，近 7 天中位数 42.75，1 个点有异常巡检。" in svg
    assert ">40</text>" in svg and ">90</text>" in svg
    assert svg.count('class="chart-abnormal"') == 1 and 'class="chart-median"' in svg


def test_svg_escapes_text():
    now = datetime(2026, 11, 26, 8)
    point = history.Point(now - timedelta(days=1), 3.0, 3.0, 3.0, True)
    series = history.Series("x<y", '<script>alert("x")</script>', "&amp", [point], [3.0], False, None)
    svg = str(charts.line_chart(series, now - timedelta(days=7), now, "Asia/Shanghai"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;amp" in svg and 'id="chart-x&lt;y-title"' in svg
    assert "最低 3 最高 3 最新 3" in svg  # one value: a flat range around it, nothing divided by zero


def test_many_readings_are_drawn_per_day(app, dbconn):
    well = Well.get(Well.code == WELL)
    author = User.get(User.employee_no == "HN1003")
    now = utcnow()
    rows = [{"uuid": uuid.uuid4(), "well": well.id, "station": well.station_id, "author": author.id, "method": "scan",
             "device_time": now - timedelta(hours=4 * i), "clock_time": now - timedelta(hours=4 * i),
             "liquid_t_per_day": 10.0 + i % 3, "is_abnormal": i == 7} for i in range(200)]
    Patrol.insert_many(rows).execute()
    [series] = history.series(well, 30, now, "Asia/Shanghai")
    assert series.name == "liquid_t_per_day" and series.daily and len(series.values) == 30 * 6 + 1
    assert 30 <= len(series.points) <= 32 and sum(p.abnormal for p in series.points) == 1
    assert all(p.low <= p.value <= p.high for p in series.points) and (series.low, series.high) == (10.0, 12.0)
    svg = str(charts.line_chart(series, now - timedelta(days=30), now, "Asia/Shanghai"))
    assert 'class="chart-band"' in svg and "按日平均" in svg
    assert len(history.series(well, 7, now, "Asia/Shanghai")[0].points) == 7 * 6 + 1  # few enough: every reading


@pytest.mark.parametrize("value, days", [("7", 7), ("30", 30), ("90", 90), ("abc", 30), ("0", 30), ("-7", 30),
                                         ("365", 30), ("9" * 40, 30), ("7.0", 30), ("", 30)])
def test_range_parameter(worker, value, days):
    well = get_well(WELL)
    sync(worker, patrol(well, 1))
    response = worker.get(url(well, range=value))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'range={days}" aria-current="true"' in page and f"近{days}天" in page


@pytest.mark.parametrize("query", [
    "before=garbage", "before=99999-01-01", "before=9999-12-31T23:59:59-12:00", "before=0001-01-01T00:00:00%2B08:00",
    "before=" + "9" * 5000, "before=%00", "before=2026-11-26&key=patrol-" + "9" * 30, "before=2026-11-26&key=patrol-999999999999999999",
    "before=2026-11-26&key=nuke-1", "key=check-1", "before=1&before=2", "before=2026-11-26T08:00:00Z&key=hazard--1",
])
def test_hostile_parameters_give_a_clean_page(worker, query):
    well = get_well(WELL)
    sync(worker, patrol(well, 1))
    for headers in ({}, {"HX-Request": "true"}):
        response = worker.get(url(well) + "?" + query, headers=headers)
        assert response.status_code == 200, query


def test_cursor_parsing():
    assert history.parse_cursor("garbage") is None and history.parse_cursor(None) is None
    assert history.parse_cursor("2026-11-26T08:00:00+08:00") == history.Cursor(datetime(2026, 11, 26))
    assert history.parse_cursor("2026-11-26T00:00:00", "check-12") == history.Cursor(datetime(2026, 11, 26), "check", 12)
    assert history.parse_cursor("2026-11-26T00:00:00", "check-x") == history.Cursor(datetime(2026, 11, 26))
    cursor = history.Cursor(datetime(2026, 11, 26, 0, 0, 0, 5), "patrol", 3)
    assert history.parse_cursor(**cursor.params()) == cursor


def test_empty_history(worker):
    page = worker.get(url(get_well("海1-05"))).get_data(as_text=True)
    assert "近 30 天没有读数" in page and "这口井还没有巡检、检查或隐患记录" in page


@pytest.mark.parametrize("employee_no, status", [("HN1003", 200), ("HN1001", 200), ("HN0001", 200), ("HN2003", 404), ("HN2001", 404)])
def test_scope_is_the_well_pages(app, employee_no, status):
    client = app.test_client()
    login(client, employee_no)
    well = get_well(WELL)
    assert client.get(url(well)).status_code == client.get(f"/wells/{well.id}").status_code == status
    if status == 200:
        assert url(well) in client.get(f"/wells/{well.id}").get_data(as_text=True)


def test_contracted_member_of_another_station_may_read_the_history(app):
    with db.connection_context():
        member = User.get(User.employee_no == "HN2003")
        Well.update(contractor=member).where(Well.code == WELL).execute()
    client = app.test_client()
    login(client, "HN2003")
    assert client.get(url(get_well(WELL))).status_code == 200


def test_unknown_well_other_work_area_and_anonymous(app, client):
    with db.connection_context():
        area = WorkArea.create(name="别的作业区", party_org_name="别的党总支")
        station = Station.create(work_area=area, name="别的站", branch_name="别的站党支部")
        other = Well.create(station=station, code="别1-01")
    anonymous = client.get(url(other))
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "HN0001")
    status = client.get(url(other)).status_code
    assert status in (403, 404) and status == client.get(f"/wells/{other.id}").status_code  # as the well page says
    assert client.get("/wells/999999/history").status_code == 404
    assert client.get(f"/wells/{'9' * 30}/history").status_code == 404
