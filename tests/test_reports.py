"""Station reports: the daily single-well report, production against plan, the monthly summary and their exports."""
import csv
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace

import openpyxl
import pytest
import time_machine
from playhouse.test_utils import assert_query_count

from models import ProductionPlan, Station, User, db
from tests.conftest import get_well, login
from tests.test_sync import OIL_READINGS, batch, patrol_record, post
from webapp.exports import Column, Sheet, neutralise, to_csv, to_xlsx
from webapp.reports import Production, WellProduction, against, daily_report, daily_sheets, oil_of
from webapp.shifts import parse_shifts

TZ = timezone(timedelta(hours=8))
TODAY = datetime.now(TZ).date()
YESTERDAY = TODAY - timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> str:
    """A Beijing local time as the phone sends it."""
    return datetime.combine(day, time(hour, minute), TZ).isoformat()


def readings(**values):
    return dict(OIL_READINGS, **values)


def station_id(name="海南一号站"):
    with db.connection_context():
        return Station.get(Station.name == name).id


@pytest.fixture
def yesterday(app):
    """Patrols of yesterday's day shift (08:00–20:00) at 海1-01…03, and one at 海1-04 three days ago (carried forward)."""
    worker = app.test_client()
    login(worker, "HN1003")
    records = [
        patrol_record(get_well("海1-01"), created_at=at(YESTERDAY, 9), readings=readings(liquid_t_per_day=10, water_cut_pct=80),
                      operations={"bie": {"minutes": 10, "start_mpa": 0.8, "end_mpa": 3.5}, "xun": {}}),
        patrol_record(get_well("海1-01"), created_at=at(YESTERDAY, 15), readings=readings(liquid_t_per_day=12, water_cut_pct=80)),
        patrol_record(get_well("海1-02"), created_at=at(YESTERDAY, 10), readings=readings(liquid_t_per_day=6.5, water_cut_pct=90),
                      abnormal=True, note="=HYPERLINK(\"http://evil\",\"点我\")"),
        patrol_record(get_well("海1-03"), created_at=at(YESTERDAY, 11), method="manual", position=None, note="@SUM(A1) 盘根渗漏"),
        patrol_record(get_well("海1-04"), created_at=at(YESTERDAY - timedelta(days=2), 10),
                      readings=readings(liquid_t_per_day=4, water_cut_pct=50)),
    ]
    # Each synced a minute after it was made, oldest first, as the phone would have (a record sent days later is
    # rightly flagged late, and the report would count it as flagged).
    results = []
    for record in sorted(records, key=lambda r: r["created_at"]):
        made = datetime.fromisoformat(record["created_at"])
        with time_machine.travel(made + timedelta(minutes=1), tick=True):
            results += post(worker, batch(record, sent_at=(made + timedelta(minutes=1)).isoformat())).json["results"]
    assert [r["status"] for r in results] == ["created"] * len(records), results
    return worker


def dashboard_numbers(client, day, shift):
    board = client.get(f"/review/?date={day}&shift={shift}", headers={"HX-Request": "true"}).get_data(as_text=True)
    coverage = int(re.search(r"巡检覆盖率</dt><dd>(\d+)%", board).group(1))
    done = int(re.search(r"已巡井</dt><dd>(\d+)<", board).group(1))
    missed = int(re.search(r"超时 / 漏巡井</dt><dd>\d+ / (\d+)<", board).group(1))
    return coverage, done, missed


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(response.data))


def table(ws) -> dict:
    """A worksheet as {first cell: row} below the title and header rows."""
    return {row[0]: row for row in ws.iter_rows(min_row=3, values_only=True)}


def test_daily_xlsx_totals_equal_the_dashboard_and_the_page(leader, yesterday):
    book = workbook(leader.get(f"/reports/daily.xlsx?date={YESTERDAY}"))
    assert book.sheetnames == ["单井日报", "班次", "产量与配产"]
    shifts_sheet = book["班次"]
    assert shifts_sheet["A1"].value.startswith(f"海南一号站 {YESTERDAY} 各班巡检 · 生成于")
    assert [c.value for c in shifts_sheet[2]] == ["班次", "时段", "井数", "应巡次数", "已巡次数", "已巡井", "待巡井", "超时井", "漏巡井", "覆盖率 (%)"]
    assert shifts_sheet.freeze_panes == "B3"
    rows = table(shifts_sheet)
    day_shift = rows["白班"]
    coverage, done, missed = dashboard_numbers(leader, YESTERDAY, 0)
    assert round(day_shift[9]) == coverage and day_shift[5] == done and day_shift[8] == missed
    assert day_shift[4] == 4  # yesterday's four patrols (the fifth was three days ago)
    assert day_shift[5] + day_shift[8] == day_shift[2]  # the shift is over: every well is done or missed

    page = leader.get(f"/reports/daily?date={YESTERDAY}").get_data(as_text=True)
    whole_day = rows["全天"]
    assert f"巡检覆盖率</dt><dd>{whole_day[9]:.1f}%" in page
    assert f"已巡 / 漏巡（井次）</dt><dd>{whole_day[5]} / {whole_day[8]}<" in page

    wells = table(book["单井日报"])
    headers = [c.value for c in book["单井日报"][2]]
    col = {name: headers.index(name) for name in ("巡检次数", "产液量 (t/d)", "含水 (%)", "日产油 (t/d)", "产量来源", "十字作业", "异常", "备注")}
    first = wells["海1-01"]
    assert (first[col["产液量 (t/d)"]], first[col["含水 (%)"]], first[col["日产油 (t/d)"]]) == (11, 80, 2.2)
    assert first[col["巡检次数"]] == 2 and first[col["产量来源"]] == "实测" and first[col["十字作业"]] == "憋压"
    assert wells["海1-02"][col["异常"]] == 1
    assert wells["海1-04"][col["产量来源"]].startswith("估（") and wells["海1-04"][col["产液量 (t/d)"]] == 4
    assert wells["海1-05"][col["产量来源"]] == "无数据" and wells["海1-05"][col["产液量 (t/d)"]] is None
    totals = next(row for key, row in wells.items() if str(key).startswith("合计"))
    assert totals[col["巡检次数"]] == 4
    assert totals[col["产液量 (t/d)"]] == 21.5 and totals[col["日产油 (t/d)"]] == 4.85  # 11 + 6.5 + 4 (估); 2.2 + 0.65 + 2.0
    assert "日产液 / 日产油 (t)</dt><dd>21.50 / 4.85<" in page
    cell = book["单井日报"].cell(row=3, column=col["巡检次数"] + 1)
    assert cell.number_format == "0"


def test_csv_parses_and_matches_the_xlsx(leader, yesterday):
    for path in (f"/reports/daily.{{}}?date={YESTERDAY}", f"/reports/monthly.{{}}?month={YESTERDAY:%Y-%m}"):
        book = workbook(leader.get(path.format("xlsx")))
        response = leader.get(path.format("csv"))
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.data.startswith("\ufeff".encode())
        assert "attachment" in response.headers["Content-Disposition"] and "UTF-8''" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "private, no-store"
        sections = response.data.decode("utf-8-sig").split("\r\n\r\n")
        assert len(sections) == len(book.sheetnames)
        for ws, section in zip(book.worksheets, sections, strict=True):
            lines = list(csv.reader(io.StringIO(section)))
            cells = list(ws.iter_rows(values_only=True))
            assert lines[0][0] == cells[0][0] and lines[1] == list(cells[1])
            assert len(lines) == len(cells)
            for text_row, xlsx_row in zip(lines[2:], cells[2:], strict=True):
                for text, value in zip(text_row, xlsx_row, strict=True):
                    if value is None:
                        assert text == ""
                    elif isinstance(value, datetime):
                        assert text == value.date().isoformat()
                    elif isinstance(value, (int, float)):
                        assert float(text) == pytest.approx(value, abs=1e-9), (text, value)
                    else:
                        assert text == value


def test_shifts_that_have_not_started_do_not_count(app, yesterday, dbconn):
    station = Station.get(Station.name == "海南一号站")
    noon = datetime.combine(YESTERDAY, time(12), TZ).astimezone(timezone.utc).replace(tzinfo=None)
    report = daily_report(station, YESTERDAY, parse_shifts("08:00-20:00 20:00-08:00"), "Asia/Shanghai", now=noon)
    day_shift, night_shift = report.shifts
    assert night_shift.tally is None and report.tally.rows == day_shift.tally.rows
    assert {r.status for r in day_shift.tally.rows} <= {"done", "due", "overdue"}  # running: nothing is missed yet
    first = next(line for line in report.wells if line.well.code == "海1-01")
    assert first.shifts[1] is None and first.operations == {"bie": 1} and first.operations_text == "憋压"
    sheet = daily_sheets(report, "Asia/Shanghai")[0]
    cells = dict(zip((c.header for c in sheet.columns), sheet.rows[0], strict=True))  # 海1-01
    assert cells["夜班状态"] == "未开始" and cells["夜班应巡"] is None


def test_production_against_plan_arithmetic():
    assert oil_of(10, 80) == 2.0 and oil_of(5.5, 50) == 2.75 and oil_of(None, 50) is None and oil_of(3, None) is None
    def well(code):
        return SimpleNamespace(code=code)

    carried = datetime(2026, 11, 24, 18, 0)
    production = Production(
        [
            WellProduction(well("A"), 10.0, 80.0),
            WellProduction(well("B"), 5.5, 50.0, carried_at=carried),
            WellProduction(well("C"), None, None),
            WellProduction(well("D"), 4.0, None),
        ],
        plan_liquid=20.0, plan_oil=4.0,
    )
    assert production.liquid == 19.5 and production.oil == 4.75
    assert production.liquid_against == (-0.5, 97.5)
    assert production.oil_against == (0.75, 118.8)
    assert [production.count(s) for s in ("measured", "estimated", "none")] == [2, 1, 1]
    assert [w.well.code for w in production.without_oil] == ["D"]
    assert production.wells[1].source_text("Asia/Shanghai") == "估（11-25 02:00）"
    assert against(5.0, 0.0) == (5.0, None) and against(None, 3.0) == (None, None) and against(3.0, None) == (None, None)
    assert Production([WellProduction(well("C"), None, None)]).liquid is None  # no figures is "—", never 0


def test_plan_is_shown_against_the_day(leader, yesterday):
    sid = station_id()
    response = leader.post("/reports/plan", data={"station": sid, "date": YESTERDAY.isoformat(), "month": f"{YESTERDAY:%Y-%m}",
                                                   "liquid_t_per_day": "20", "oil_t_per_day": "5"})
    assert response.status_code == 302 and f"date={YESTERDAY}" in response.headers["Location"]
    page = leader.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存 海南一号站" in page
    assert "<td>1.50</td><td>-0.15</td>" in page  # 21.50 − 20 and 4.85 − 5
    assert "<td>107.5%</td><td>97.0%</td>" in page
    book = workbook(leader.get(f"/reports/daily.xlsx?date={YESTERDAY}"))
    plan = table(book["产量与配产"])
    assert plan[f"{YESTERDAY:%Y-%m} 配产"][1:] == (20, 5) and plan["完成率 (%)"][1:] == (107.5, 97.0)
    again = leader.post("/reports/plan", data={"station": sid, "date": YESTERDAY.isoformat(), "month": f"{YESTERDAY:%Y-%m}",
                                                "liquid_t_per_day": "30.5", "oil_t_per_day": "6"}, headers={"HX-Request": "true"})
    fragment = again.get_data(as_text=True)
    assert again.status_code == 200 and "<html" not in fragment and 'id="production"' in fragment and "已保存" in fragment
    with db.connection_context():
        plans = list(ProductionPlan.select())
        assert [(p.liquid_t_per_day, p.oil_t_per_day, p.set_by.employee_no) for p in plans] == [(30.5, 6, "HN1001")]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("liquid_t_per_day", "100000", "计划日产液应不小于 0 且小于 100000"),
        ("liquid_t_per_day", "1e309", "计划日产液应不小于 0 且小于 100000"),
        ("oil_t_per_day", "-1", "计划日产油应不小于 0 且小于 100000"),
        ("oil_t_per_day", "", "请填写计划日产油"),
        ("liquid_t_per_day", "很多", "计划日产液应为数字"),
        ("liquid_t_per_day", "nan", "计划日产液应为数字"),
        ("oil_t_per_day", "50", "计划日产油不能大于计划日产液"),
        ("month", "2026-13", "月份应在 01 到 12 之间"),
        ("month", "", "月份格式不对"),
        ("month", f"{TODAY.year + 2}-01", "最多可提前 12 个月"),
    ],
)
def test_bad_plan_is_refused_with_the_input_kept(leader, field, value, message):
    form = {"station": station_id(), "date": TODAY.isoformat(), "month": f"{TODAY:%Y-%m}", "liquid_t_per_day": "40.5", "oil_t_per_day": "8"}
    form[field] = value
    for headers in ({}, {"HX-Request": "true"}):
        response = leader.post("/reports/plan", data=form, headers=headers)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page, page[-3000:]
        assert f'id="plan-{field}"' in page and 'aria-invalid="true"' in page
        for name in ("month", "liquid_t_per_day", "oil_t_per_day"):  # everything typed comes back
            assert re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1) == form[name]
    with db.connection_context():
        assert ProductionPlan.select().count() == 0


@pytest.mark.parametrize(
    "query, message",
    [
        ("/reports/daily?date=garbage", "日期格式不对"),
        ("/reports/daily?date=2026-02-30", "日期格式不对"),
        (f"/reports/daily?date={TODAY + timedelta(days=1)}", "不能查看未来的日期"),
        ("/reports/daily?date=1999-12-31", "日期太早"),
        ("/reports/monthly?month=2026-13", "月份应在 01 到 12 之间"),
        ("/reports/monthly?month=garbage", "月份格式不对"),
        (f"/reports/monthly?month={TODAY.year + 1}-{TODAY.month:02d}", "不能查看未来的月份"),
        ("/reports/daily.xlsx?date=garbage", "日期格式不对"),
        ("/reports/monthly.csv?month=2026-00", "月份应在 01 到 12 之间"),
    ],
)
def test_bad_dates_and_months_get_a_chinese_message(leader, query, message):
    response = leader.get(query)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    fragment = leader.get(query, headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and message in fragment.get_data(as_text=True)


def test_formula_injection_is_neutralised(app, leader, yesterday):
    for text in ("=1+2", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(text) == "'" + text
    assert neutralise("海1-01") == "海1-01" and neutralise(-1.5) == -1.5 and neutralise(None) is None
    with db.connection_context():
        User.update(name="=cmd|' /C calc'!A0").where(User.employee_no == "HN1003").execute()
    book = workbook(leader.get(f"/reports/daily.xlsx?date={YESTERDAY}"))
    notes = {row[0]: row[-1] for row in book["单井日报"].iter_rows(min_row=3, values_only=True)}
    assert notes["海1-02"] == "'=HYPERLINK(\"http://evil\",\"点我\")" and notes["海1-03"] == "'@SUM(A1) 盘根渗漏"
    for row in book["单井日报"].iter_rows(min_row=3):
        assert all(cell.data_type != "f" for cell in row)
    monthly = workbook(leader.get(f"/reports/monthly.xlsx?month={YESTERDAY:%Y-%m}"))
    assert "'=cmd|' /C calc'!A0" in [row[1] for row in monthly["按人"].iter_rows(min_row=3, values_only=True)]
    text = leader.get(f"/reports/monthly.csv?month={YESTERDAY:%Y-%m}").data.decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and ",=cmd" not in text
    generated = to_csv([Sheet("x", "=title", [Column("a"), Column("n", "0.00")], [["-x", -1.5]])]).decode("utf-8-sig")
    assert generated.splitlines() == ["'=title", "a,n", "'-x,-1.50"]
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx([Sheet("x", "=title", [Column("a")], [["=1+2"]])])))
    assert book["x"]["A1"].value == "'=title" and book["x"]["A3"].value == "'=1+2"


def test_monthly_summary_adds_up(leader, yesterday):
    month = f"{YESTERDAY:%Y-%m}"
    book = workbook(leader.get(f"/reports/monthly.xlsx?month={month}"))
    assert book.sheetnames == ["按井", "按人", "按日"]
    wells, workers, days = (list(book[name].iter_rows(min_row=3, values_only=True)) for name in book.sheetnames)
    well_total, worker_total, day_total = wells[-1], workers[-1], days[-1]
    assert well_total[0].startswith("合计") and day_total[0] == "全月" and worker_total[0] == "合计"
    assert well_total[3:] == day_total[1:]  # required, done, missed shifts, coverage
    in_month = 4 + ((YESTERDAY - timedelta(days=2)).month == YESTERDAY.month)  # the early patrol may fall in the month before
    assert well_total[4] == worker_total[2] == in_month
    first = next(row for row in wells if row[0] == "海1-01")
    assert first[4] == 2
    assert workers[0][:5] == ("HN1003", workers[0][1], worker_total[2], 1, 1)  # one abnormal, one manual check-in
    page = leader.get(f"/reports/monthly?month={month}").get_data(as_text=True)
    assert f"巡检覆盖率</dt><dd>{day_total[4]:.1f}%" in page and f"漏巡班次</dt><dd>{day_total[3]}<" in page
    fragment = leader.get(f"/reports/monthly?month={month}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "按人" in fragment


def test_daily_page_and_fragment(leader, yesterday):
    page = leader.get(f"/reports/daily?date={YESTERDAY}").get_data(as_text=True)
    assert "单井日报 · 海南一号站" in page and 'class="table-scroll"' in page
    assert f"/reports/daily.xlsx?station={station_id()}&amp;date={YESTERDAY}" in page
    assert "/reports/daily.csv" in page and "设置月配产" in page and "尚未设置" in page
    assert "估（读数时间）：海1-04（" in page and "无数据（未计入合计）：海1-03、海1-05" in page
    fragment = leader.get(f"/reports/daily?date={YESTERDAY}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "Vary" in fragment.headers
    assert "<html" not in fragment.get_data(as_text=True) and "产量与配产" in fragment.get_data(as_text=True)
    assert leader.get("/reports/daily").status_code == 200  # today by default
    board = leader.get("/review/").get_data(as_text=True)
    assert "/reports/daily?" in board and "/reports/monthly?" in board


def test_query_counts_do_not_grow_with_data(leader, yesterday):
    sid = station_id()
    leader.get("/reports/daily")  # warm up anything loaded once per process
    # user, roles, station, stations in scope + wells, patrols, operations, checks, hazards, earlier readings, plan,
    # the work area's reading sets (the report's columns)
    with assert_query_count(12):
        assert leader.get(f"/reports/daily?station={sid}&date={YESTERDAY}").status_code == 200
    with assert_query_count(11):  # the same without the station list
        assert leader.get(f"/reports/daily.xlsx?station={sid}&date={YESTERDAY}").status_code == 200
    with assert_query_count(7):  # user, roles, station, stations in scope + wells, patrols, per worker
        assert leader.get(f"/reports/monthly?station={sid}&month={YESTERDAY:%Y-%m}").status_code == 200


REPORT_URLS = ["/reports/daily", "/reports/daily.xlsx", "/reports/daily.csv", "/reports/monthly", "/reports/monthly.xlsx",
               "/reports/monthly.csv"]


def test_access(app, client):
    station1, station2 = station_id(), station_id("海南二号站")
    plan = {"month": f"{TODAY:%Y-%m}", "liquid_t_per_day": "1", "oil_t_per_day": "1"}
    for url in REPORT_URLS:
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.post("/reports/plan", data=plan).status_code == 302
    worker = app.test_client()
    login(worker, "HN1003")
    leader = app.test_client()
    login(leader, "HN1001")
    admin = app.test_client()
    login(admin, "HN0001")
    for url in REPORT_URLS:
        assert worker.get(f"{url}?station={station1}").status_code == 403
        assert leader.get(f"{url}?station={station2}").status_code == 404  # another station: like an unknown one
        assert leader.get(f"{url}?station={station1}").status_code == 200
        assert admin.get(f"{url}?station={station2}").status_code == 200
        assert leader.get(f"{url}?station=999999").status_code == 404
    assert worker.post("/reports/plan", data={**plan, "station": station1}).status_code == 403
    assert leader.post("/reports/plan", data={**plan, "station": station2}).status_code == 404
    with db.connection_context():
        assert ProductionPlan.select().count() == 0
    assert leader.post("/reports/plan", data={**plan, "station": station1},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert "单井日报 · 海南一号站" in admin.get("/reports/daily").get_data(as_text=True)  # the office's admin: the first station
