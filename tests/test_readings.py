"""Reading sets per kind of well (issue 16.1–16.2): one rule for what a reading is set against — the phone's question
while it is typed, the record's confirmed deviations, the review page, the one-tap approval and the key-well alerts —
with the sets as versioned data the work-area admin edits."""
import json
from datetime import timedelta
from pathlib import Path

import pytest

from models import FluctuationAlert, Patrol, ReadingSet, Well, db
from tests.conftest import DEMO_AREA, get_well, login
from tests.test_sync import OIL_READINGS, batch, now_iso, patrol_record, post
from webapp.fluctuations import deviation
from webapp.readings import CATALOGUE, DEFAULT_SETS, ReadingSetError, fields_of, parse_rows

CASES = json.loads((Path(__file__).parent / "deviation_cases.json").read_text())
INJECTION = {"injection_m3_per_day": 48, "pump_pressure_mpa": 16.2, "oil_pressure_mpa": 12.5}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['value']}-{c['base']}-{c['kind']}-{c['threshold']}")
def test_the_server_judges_the_shared_cases_as_the_phone_does(case):
    """tests/js/deviation.test.mjs runs the same cases through webapp/static/js/deviation.js."""
    found = deviation(case["value"], [case["base"]] * 3, case["kind"], case["threshold"])
    assert found.beyond is case["beyond"]


def test_too_little_history_is_never_a_deviation():
    assert deviation(12.5, [33.5, 34.0], "relative", 0.2).base is None
    assert deviation(12.5, [33.5, 34.0], "relative", 0.2).beyond is False


def test_every_default_set_reads_back_and_names_only_catalogue_readings():
    for kind in Well.KINDS:
        fields = fields_of(DEFAULT_SETS[kind])
        assert fields and all(f.key in CATALOGUE for f in fields)
        assert all(CATALOGUE[f.key][2] <= f.low < f.high <= CATALOGUE[f.key][3] for f in fields)


@pytest.mark.parametrize("rows, words", [
    ([{"key": "nonsense"}], "没有这个读数项"),
    ([{"key": "stroke_m"}, {"key": "stroke_m"}], "重复了"),
    ([{"key": "stroke_m", "low": "5", "high": "2"}], "下限小于上限"),
    ([{"key": "stroke_m", "low": "-1"}], "范围应在 0–10 之内"),
    ([{"key": "stroke_m", "high": "1e400"}], "上限应为数字"),
    ([{"key": "stroke_m", "kind": "relative", "threshold": ""}], "请填写大于 0 的阈值"),
    ([{"key": "stroke_m", "kind": "relative", "threshold": "0"}], "请填写大于 0 的阈值"),
    ([{"key": "stroke_m", "kind": "relative", "threshold": "1000.01"}], "最多 1000%"),
    ([{"key": "stroke_m", "kind": "absolute", "threshold": "10.5"}], "超过了这个读数的全部范围"),
    ([{"key": "stroke_m", "kind": "sideways", "threshold": "1"}], "阈值方式不对"),
    ([{"key": "stroke_m", "delete": "1"}], "至少要有一个读数项"),
])
def test_a_set_the_admin_cannot_use_is_refused_with_its_reason(rows, words):
    with pytest.raises(ReadingSetError) as refused:
        parse_rows(rows)
    assert any(words in e for e in refused.value.errors), refused.value.errors


def test_thresholds_at_their_bounds_are_kept():
    kept = parse_rows([{"key": "stroke_m", "kind": "relative", "threshold": "1000", "required": "1"},
                       {"key": "wellhead_temp_c", "kind": "absolute", "threshold": "160"},
                       {"key": "water_cut_pct", "kind": "", "threshold": "7", "alert": "1"}])
    assert [(f["key"], f["kind"], f["threshold"], f["alert"]) for f in kept] == [
        ("stroke_m", "relative", 10.0, False), ("wellhead_temp_c", "absolute", 160.0, False),
        ("water_cut_pct", None, None, False)]  # no threshold: never questioned, never an alert


@pytest.fixture
def admin(client):
    login(client, "HN0001")
    return client


def _form(rows):
    data = {"rows": str(len(rows))}
    for n, row in enumerate(rows):
        data.update({f"fields-{n}-{k}": v for k, v in row.items()})
    return data


def test_the_admin_saves_a_new_version_and_the_well_page_follows(admin, login_as):
    injection = [{"key": "injection_m3_per_day", "required": "1", "kind": "relative", "threshold": "15", "alert": "1"},
                 {"key": "pump_pressure_mpa", "required": "1", "kind": "absolute", "threshold": "1.5"},
                 {"key": "casing_pressure_mpa", "kind": ""}]
    answer = admin.post("/admin/readings/injection", data=_form(injection))
    assert answer.status_code == 302
    page = admin.get("/admin/readings/injection").get_data(as_text=True)
    assert "当前第 2 版" in page
    with db.connection_context():
        mine = ReadingSet.current("injection", DEMO_AREA)
        assert mine.version == 2 and mine.work_area_id == DEMO_AREA
        assert [f.key for f in fields_of(mine.fields)] == ["injection_m3_per_day", "pump_pressure_mpa", "casing_pressure_mpa"]
    well_page = admin.get(f"/wells/{get_well('海1-07').id}").get_data(as_text=True)
    assert 'name="injection_m3_per_day"' in well_page and 'name="oil_pressure_mpa"' not in well_page
    assert f'data-reading-set="{mine.id}"' in well_page


def test_a_bad_set_is_shown_again_with_its_reasons_and_nothing_is_saved(admin):
    answer = admin.post("/admin/readings/oil", data=_form([{"key": "stroke_m", "low": "9", "high": "3"}]))
    assert answer.status_code == 422 and "下限小于上限" in answer.get_data(as_text=True)
    with db.connection_context():
        assert ReadingSet.select().where(ReadingSet.work_area == DEMO_AREA).count() == 0


@pytest.mark.parametrize("who", ["HN1001", "HN1003"])
def test_only_the_admin_edits_reading_sets(client, who):
    login(client, who)
    assert client.get("/admin/readings/oil").status_code == 403
    assert client.post("/admin/readings/oil", data=_form([{"key": "stroke_m"}])).status_code == 403


def test_an_unknown_kind_of_well_is_not_found(admin):
    assert admin.get("/admin/readings/gas").status_code == 404


def test_a_record_is_judged_by_the_set_its_form_was_made_from(app, admin):
    """The admin adds a required reading while a worker's phone holds the old form offline: the record it makes
    names the old version and is accepted; one that names no version is judged by the current set."""
    worker = app.test_client()
    login(worker, "HN1003")
    with db.connection_context():
        old = ReadingSet.current("oil", DEMO_AREA)
    rows = [{"key": k, "required": "1", "kind": "relative", "threshold": "30"} for k in OIL_READINGS] + [
        {"key": "voltage_v", "required": "1", "kind": ""}]
    assert admin.post("/admin/readings/oil", data=_form(rows)).status_code == 302
    well = get_well("海1-02")
    kept = patrol_record(well, reading_set_id=old.id)
    refused = patrol_record(well)
    results = post(worker, batch(kept, refused)).json["results"]
    assert results[0]["status"] == "created"
    assert results[1]["status"] == "rejected" and "请填写电压" in results[1]["error"]["message"]
    with db.connection_context():
        assert Patrol.get_by_id(results[0]["id"]).reading_set_id == old.id


@pytest.mark.parametrize("wanted", [10**30, -1, True, "1", "injection"])
def test_a_set_id_that_is_not_one_of_the_wells_sets_means_the_current_set(worker_client, wanted):
    """Another kind's set, a number beyond the database, a string: never an error, never another set's rules."""
    if wanted == "injection":
        with db.connection_context():
            wanted = ReadingSet.current("injection", DEMO_AREA).id
    record = patrol_record(get_well("海1-02"), reading_set_id=wanted)
    [result] = post(worker_client, batch(record)).json["results"]
    assert result["status"] == "created", result
    with db.connection_context():
        assert Patrol.get_by_id(result["id"]).reading_set.well_kind == "oil"


def test_another_work_areas_set_is_never_the_one_a_record_is_judged_by(worker_client):
    """A record naming the id of another work area's set (its admin made one requiring nothing) is judged by its own
    work area's current set: a missing required reading is still refused."""
    from models import WorkArea
    from webapp.plants import create_work_area

    with db.connection_context():
        home = WorkArea.get_by_id(DEMO_AREA)
        other = create_work_area(home.plant_id, {"name": "海北作业区", "admin_employee_no": "HB0001", "admin_name": "赵管理"})
        lax = ReadingSet.new_version("oil", other.area.id, fields=json.dumps(parse_rows([{"key": "stroke_m"}])))
    record = patrol_record(get_well("海1-02"), readings={"stroke_m": 3}, reading_set_id=lax.id)
    [result] = post(worker_client, batch(record)).json["results"]
    assert result["status"] == "rejected" and result["error"]["code"] == "missing_reading"


@pytest.fixture
def worker_client(client):
    login(client, "HN1003")
    return client


def test_the_record_keeps_only_confirmations_of_its_own_readings(worker_client):
    record = patrol_record(get_well("海1-02"), confirmed=["stroke_m", "liquid_t_per_day", "nonsense", "stroke_m"])
    [result] = post(worker_client, batch(record)).json["results"]
    with db.connection_context():
        assert Patrol.get_by_id(result["id"]).confirmed == "stroke_m"
    for bad in ("stroke_m", [1], {"stroke_m": True}, ["x"] * 100):
        [answer] = post(worker_client, batch(patrol_record(get_well("海1-02"), confirmed=bad))).json["results"]
        assert answer["status"] == "rejected" and answer["error"]["field"] == "confirmed", bad


def ordinary_wells(count):
    """Oil wells of the worker's station that are not key wells (the demo draws its key wells at random)."""
    with db.connection_context():
        station = get_well("海1-02").station_id
        return list(Well.select().where((Well.station == station) & ~Well.is_key_well & (Well.kind == "oil"))
                    .order_by(Well.code).limit(count))


def _history(worker, well, readings_by_hour):
    """Patrols of the well at the given hours before now, each synced when made."""
    for hours, readings in readings_by_hour:
        record = patrol_record(well, readings=readings, created_at=now_iso(timedelta(hours=hours)))
        [result] = post(worker, batch(record, sent_at=record["created_at"])).json["results"]
        assert result["status"] == "created", result


def test_a_deviation_on_an_ordinary_well_keeps_its_patrol_out_of_bulk_approval(app, leader):
    """Not a key well, so no alert — but 冲程 3 against a median of 4.2 is past its 10 % threshold: the one-tap
    approval leaves it to the leader, confirmed by the worker or not, and says why."""
    worker = app.test_client()
    login(worker, "HN1003")
    [well] = ordinary_wells(1)
    base = dict(OIL_READINGS, stroke_m=4.2)
    _history(worker, well, [(-30, base), (-20, dict(base, stroke_m=4.1)), (-10, dict(base, stroke_m=4.3))])
    confirmed = patrol_record(well, readings=dict(base, stroke_m=3.0), confirmed=["stroke_m"])
    steady = patrol_record(well, readings=dict(base, stroke_m=4.15))  # the round measured again, as it should read
    results = post(worker, batch(confirmed, steady)).json["results"]
    with db.connection_context():
        assert not FluctuationAlert.select().where(FluctuationAlert.patrol == results[0]["id"]).exists()
        at = Patrol.get_by_id(results[0]["id"]).clock_time
        assert Patrol.get_by_id(results[1]["id"]).flags == ""
    from webapp.shifts import parse_shifts, shift_at

    day, shift = shift_at(at, parse_shifts("08:00-20:00 20:00-08:00"), "Asia/Shanghai")
    which = {"date": day.isoformat(), "shift": shift.index}
    page = leader.post("/review/bulk-approve", data=which).get_data(as_text=True)
    assert "有读数偏离近 7 天中位数超过阈值（含员工已确认的）：1" in page, page
    leader.post("/review/bulk-approve", data={**which, "confirm": "1"})
    with db.connection_context():
        assert Patrol.get_by_id(results[0]["id"]).review_status == "pending"
        assert Patrol.get_by_id(results[1]["id"]).review_status == "approved"
    review = leader.get(f"/review/patrols/{results[0]['id']}").get_data(as_text=True)
    assert "⚠ -29%" in review and "员工已确认" in review and "±10%" in review


def test_the_well_page_carries_each_readings_baseline_and_threshold(app, login_as):
    worker = app.test_client()
    login(worker, "HN1003")
    well, other = ordinary_wells(2)
    _history(worker, well, [(-30, dict(OIL_READINGS, stroke_m=4.2)), (-20, dict(OIL_READINGS, stroke_m=4.0)),
                            (-10, dict(OIL_READINGS, stroke_m=4.4))])
    page = worker.get(f"/wells/{well.id}").get_data(as_text=True)
    assert 'data-base="4.2" data-kind="relative" data-threshold="0.1"' in page
    assert 'data-deviation="stroke_m"' in page
    empty = worker.get(f"/wells/{other.id}").get_data(as_text=True)
    assert "data-base=" not in empty  # no history: nothing to question against


def test_key_well_alerts_follow_the_sets_alert_marks(app, admin):
    """The admin turns 产液量's alert off for 采油井: the same drop is still a deviation, no longer an alert."""
    rows = [{"key": k, "required": "1", "kind": "relative", "threshold": "20",
             "alert": "" if k == "liquid_t_per_day" else "1"} for k in OIL_READINGS] + [
        {"key": "liquid_t_per_day", "kind": "relative", "threshold": "20"}]
    assert admin.post("/admin/readings/oil", data=_form(rows)).status_code == 302
    worker = app.test_client()
    login(worker, "HN1003")
    with db.connection_context():
        key = Well.select().where(Well.is_key_well & (Well.kind == "oil")).order_by(Well.code).first()
    _history(worker, key, [(h, dict(OIL_READINGS, liquid_t_per_day=33.5)) for h in (-30, -20, -10)])
    [result] = post(worker, batch(patrol_record(key, readings=dict(OIL_READINGS, liquid_t_per_day=12.5)))).json["results"]
    with db.connection_context():
        assert not FluctuationAlert.select().where(FluctuationAlert.patrol == result["id"]).exists()


def test_an_injection_wells_daily_report_has_its_columns(app, leader):
    worker = app.test_client()
    login(worker, "HN1003")
    [result] = post(worker, batch(patrol_record(get_well("海1-07"), readings=INJECTION))).json["results"]
    assert result["status"] == "created"
    page = leader.get("/reports/daily").get_data(as_text=True)
    assert "日注水量" in page and "泵压" in page
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(leader.get("/reports/daily.xlsx").data)).worksheets[0]
    header = [c.value for row in sheet.iter_rows(max_row=3) for c in row if c.value]
    assert "日注水量 (m³/d)" in header and "泵压 (MPa)" in header
    row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "海1-07")
    assert 48 in row and 16.2 in row
