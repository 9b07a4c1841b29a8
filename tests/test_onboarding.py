"""Onboarding from spreadsheets: templates, validation of the whole import, all-or-nothing apply, re-import."""
import io
import re
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from models import Equipment, Station, User, UserRole, Well, db
from tests.conftest import login
from webapp import onboarding

HEADERS = {kind: [f.header for f in fields] for kind, fields in onboarding.SPECS.items()}


def good_rows():
    return {
        "stations": [["海南五号站", "海南五号站党支部", "生产站", 5]],
        "wells": [
            ["海5-01", "海南五号站", "采油井", "是", 40.95, 121.95, 4],
            ["海5-02", "海南五号站", "注水井", "否", None, None, None],
        ],
        "equipment": [
            ["海5-01 抽油机", "海南五号站", "海5-01", "抽油机", "CYJ10-3-53HB", date(2015, 6, 1)],
            ["5站 1号加热炉", "海南五号站", None, "加热炉", "HJ-400/2.5", "2018-03-01"],
        ],
        "staff": [
            ["HN5001", "钱站长", "男", "海南五号站", "站长", "是", date(2005, 7, 1), "员工、站长"],
            ["HN5002", "孙小红", "女", "海南五号站", "=1+2", "否", None, "员工"],
            ["HN5003", "周书记", "男", "海南五号站", "党支部书记", "是", "2001/7/1", "员工、支部书记"],
        ],
    }


def xlsx(kind, rows, headers=None, title=True) -> bytes:
    """A workbook as a user would make it: an optional title row, the header, the rows."""
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([f"{onboarding.KIND_LABELS[kind]}表"])
    sheet.append(headers or HEADERS[kind])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def files(rows=None, **raw):
    """Form data with one .xlsx per kind in rows, plus raw (kind: (bytes, filename))."""
    data = {kind: (io.BytesIO(xlsx(kind, r)), f"{kind}.xlsx") for kind, r in (rows or {}).items()}
    data.update({kind: (io.BytesIO(content), name) for kind, (content, name) in raw.items()})
    return data


def counts():
    with db.connection_context():
        return {m.__name__: m.select().count() for m in (Station, Well, Equipment, User, UserRole)}


@pytest.fixture
def admin(client):
    assert login(client, "HN0001").status_code == 302
    return client


def preview(admin, data):
    return admin.post("/admin/onboarding/preview", data=data, content_type="multipart/form-data")


def run_import(admin, rows=None, data=None):
    """Preview then confirm (the rows as .xlsx, or the form data as given); the result page's HTML."""
    response = preview(admin, files(rows) if data is None else data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, re.findall(r"<td>[^<]*</td><td>[^<]*</td>", body)
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    response = admin.post("/admin/onboarding/apply", data={"token": token})
    assert response.status_code == 302
    result = admin.get(response.headers["Location"])
    assert result.status_code == 200
    assert result.headers["Cache-Control"] == "private, no-store"
    return result.get_data(as_text=True)


def summary(html):
    """{kind label: (created, updated, unchanged)} from the result table."""
    found = re.findall(r'<th scope="row">(\S+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', html)
    return {label: tuple(map(int, numbers)) for label, *numbers in found}


def test_clean_import_creates_everything_and_new_users_log_in(admin, app):
    before = counts()
    html = run_import(admin, good_rows())
    assert summary(html) == {"站点": (1, 0, 0), "油水井": (2, 0, 0), "设备": (2, 0, 0), "员工": (3, 0, 0)}
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {"Station": 1, "Well": 2, "Equipment": 2, "User": 3, "UserRole": 5}
    with db.connection_context():
        station = Station.get(Station.name == "海南五号站")
        assert (station.kind, station.branch_name, station.sort_order) == ("station", "海南五号站党支部", 5)
        well = Well.get(Well.code == "海5-01")
        assert (well.station_id, well.kind, well.is_key_well, well.patrol_interval_hours) == (station.id, "oil", True, 4)
        assert (float(well.latitude), float(well.longitude)) == (40.95, 121.95) and well.qr_token
        injection = Well.get(Well.code == "海5-02")
        assert (injection.kind, injection.latitude, injection.patrol_interval_hours) == ("injection", None, 8)
        pump = Equipment.get(Equipment.name == "海5-01 抽油机")
        assert (pump.well_id, pump.kind, pump.installed_on) == (well.id, "pumping_unit", date(2015, 6, 1))
        assert Equipment.get(Equipment.name == "5站 1号加热炉").well_id is None
        assert User.get(User.employee_no == "HN5001").roles == {"worker", "leader"}
        assert User.get(User.employee_no == "HN5003").roles == {"worker", "secretary"}
        assert User.get(User.employee_no == "HN5003").party_joined_on == date(2001, 7, 1)
        # A formula is kept as the text typed, never evaluated.
        assert User.get(User.employee_no == "HN5002").post == "=1+2"
    assert "labels/" in html  # straight on to printing the new wells' labels
    passwords = dict(re.findall(r"<td>(HN500\d)</td><td>[^<]*</td><td><code>([^<]+)</code>", html))
    assert set(passwords) == {"HN5001", "HN5002", "HN5003"}
    assert len(set(passwords.values())) == 3
    for employee_no, password in passwords.items():
        assert onboarding.password_problem(password, employee_no=employee_no) is None
        other = app.test_client()
        assert login(other, employee_no, password).status_code == 302
        assert login(app.test_client(), employee_no, "demo-pass-2026").status_code != 302
        # The printed password opens only the page to choose one's own.
        assert other.get("/").headers["Location"] == "/password"

    token = re.search(r"/admin/onboarding/result/([^/\"]+)/passwords.xlsx", html).group(1)
    sheet = load_workbook(io.BytesIO(admin.get(f"/admin/onboarding/result/{token}/passwords.xlsx").data)).active
    assert {row[0]: row[2] for row in sheet.iter_rows(min_row=3, values_only=True)} == passwords
    # Cleared: the passwords are gone from the server.
    assert admin.post(f"/admin/onboarding/result/{token}/clear").status_code == 302
    assert admin.get(f"/admin/onboarding/result/{token}").status_code == 404


def snapshot():
    with db.connection_context():
        return (
            [tuple(s.__data__.values()) for s in Station.select().order_by(Station.id)],
            [tuple(w.__data__.values()) for w in Well.select().order_by(Well.id)],
            [tuple(e.__data__.values()) for e in Equipment.select().order_by(Equipment.id)],
            [tuple(u.__data__.values()) for u in User.select().order_by(User.id)],
            sorted(UserRole.select(UserRole.user, UserRole.role).tuples()),
        )


def test_reimport_changes_nothing_and_a_changed_row_updates_only_that_row(admin):
    run_import(admin, good_rows())
    before = snapshot()
    html = run_import(admin, good_rows())
    assert summary(html) == {"站点": (0, 0, 1), "油水井": (0, 0, 2), "设备": (0, 0, 2), "员工": (0, 0, 3)}
    assert "<code>" not in html  # existing users get no new password
    assert snapshot() == before

    rows = good_rows()
    rows["wells"][1][6] = 12
    rows["staff"][1][7] = "员工、站长"
    html = run_import(admin, rows)
    assert summary(html) == {"站点": (0, 0, 1), "油水井": (0, 1, 1), "设备": (0, 0, 2), "员工": (0, 1, 2)}
    after = snapshot()
    with db.connection_context():
        changed_well = Well.get(Well.code == "海5-02")
        assert changed_well.patrol_interval_hours == 12
        assert User.get(User.employee_no == "HN5002").roles == {"worker", "leader"}
    assert [w for w in after[1] if w[0] != changed_well.id] == [w for w in before[1] if w[0] != changed_well.id]
    assert after[3] == before[3] and after[0] == before[0] and after[2] == before[2]


def test_existing_demo_rows_match_by_natural_key(admin):
    """A well of the demo area, its equipment and a demo user, re-imported unchanged, are left alone."""
    with db.connection_context():
        well = Well.get(Well.code == "海1-01")
        user = User.get(User.employee_no == "HN1003")
        pump = Equipment.get(Equipment.name == "海1-01 抽油机")
    rows = {
        "wells": [[well.code, "海南一号站", well.kind_label, "是" if well.is_key_well else "否", float(well.latitude),
                   float(well.longitude), well.patrol_interval_hours]],
        "equipment": [[pump.name, "海南一号站", "海1-01", "抽油机", pump.model, pump.installed_on]],
        "staff": [[user.employee_no, user.name, user.gender_label, "海南一号站", user.post, "是",
                   user.party_joined_on, "员工"]],
    }
    before = snapshot()
    html = run_import(admin, rows)
    assert summary(html) == {"站点": (0, 0, 0), "油水井": (0, 0, 1), "设备": (0, 0, 1), "员工": (0, 0, 1)}
    assert snapshot() == before


def _bad(kind, index, column, value):
    def change(rows):
        rows[kind][index][column] = value
    return change


BAD_CASES = [
    ("missing name", _bad("stations", 0, 0, None), "站点表第 3 行", "缺少“站名”"),
    ("bad station kind", _bad("stations", 0, 2, "分站"), "站点表第 3 行", "“类型”应为 生产站 / 机关"),
    ("unknown station", _bad("wells", 1, 1, "海南九号站"), "油水井表第 4 行", "未知的站“海南九号站”"),
    ("duplicate code", _bad("wells", 1, 0, "海5-01"), "油水井表第 4 行", "与第 3 行重复"),
    ("code of another station", _bad("wells", 1, 0, "海1-01"), "油水井表第 4 行", "已属于海南一号站"),
    ("latitude", _bad("wells", 0, 4, 91), "油水井表第 3 行", "“纬度”应在 -90 到 90 之间"),
    ("longitude", _bad("wells", 0, 5, "东经"), "油水井表第 3 行", "“经度”应在 -180 到 180 之间"),
    ("half a position", _bad("wells", 1, 4, 40.1), "油水井表第 4 行", "纬度和经度要么都填"),
    ("interval zero", _bad("wells", 0, 6, 0), "油水井表第 3 行", "“巡检周期(小时)”应为 1–168 的整数"),
    ("interval too long", _bad("wells", 0, 6, 169), "油水井表第 3 行", "1–168"),
    ("interval fraction", _bad("wells", 0, 6, 2.5), "油水井表第 3 行", "1–168"),
    ("key well word", _bad("wells", 0, 3, "Y"), "油水井表第 3 行", "“重点井”应为 是 / 否"),
    ("equipment kind", _bad("equipment", 0, 3, "发动机"), "设备表第 3 行", "“设备类型”应为"),
    ("equipment well elsewhere", _bad("equipment", 0, 2, "海1-01"), "设备表第 3 行", "不是海南五号站的井"),
    ("bad date", _bad("equipment", 1, 5, "2018-13-01"), "设备表第 4 行", "“投用日期”不是有效日期"),
    ("future date", _bad("equipment", 1, 5, "2999-01-01"), "设备表第 4 行", "不是有效日期"),
    ("unknown role", _bad("staff", 0, 7, "员工、厂长"), "员工表第 3 行", "未知角色“厂长”"),
    ("bad gender", _bad("staff", 0, 2, "M"), "员工表第 3 行", "“性别”应为 男 / 女"),
    ("party date without party", _bad("staff", 1, 6, "2010-01-01"), "员工表第 4 行", "不是党员却填了“入党时间”"),
    ("employee no taken", _bad("staff", 1, 0, "HN1003"), "员工表第 4 行", "工号“HN1003”已被另一人使用"),
    ("duplicate employee no", _bad("staff", 2, 0, "HN5001"), "员工表第 5 行", "与第 3 行重复"),
    ("odd employee no", _bad("staff", 2, 0, "HN 5003"), "员工表第 5 行", "“工号”只能由"),
    ("long name", _bad("staff", 0, 1, "张" * 41), "员工表第 3 行", "“姓名”超过 40 字"),
    ("huge text", _bad("staff", 0, 4, "x" * 5000), "员工表第 3 行", "内容过长"),
]


@pytest.mark.parametrize("change, where, reason", [case[1:] for case in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_a_bad_row_is_reported_and_nothing_is_written(admin, change, where, reason):
    rows = good_rows()
    change(rows)
    before = counts()
    response = preview(admin, files(rows))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "未导入任何数据" in body and 'name="token"' not in body
    assert re.search(rf"<td>{re.escape(where)}</td><td>[^<]*{re.escape(reason)}", body), body[body.find("位置"):][:1500]
    assert counts() == before


def test_every_bad_row_is_listed_at_once(admin):
    rows = good_rows()
    rows["wells"][1][4] = 100
    rows["wells"][1][5] = 100
    rows["staff"][2][7] = "老板"
    body = preview(admin, files(rows)).get_data(as_text=True)
    assert "发现 2 处问题" in body and "油水井表第 4 行" in body and "员工表第 5 行" in body


def test_not_xlsx_and_wrong_headers(admin):
    before = counts()
    response = preview(admin, files(stations=(b"\xef\xbb\xbf\xe7\xab\x99\xe5\x90\x8d,x\n", "stations.csv"),
                                    wells=(b"PK\x03\x04 not really a zip", "wells.xlsx")))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "不是 .xlsx 文件" in body
    wrong = xlsx("staff", [["HN5001", "钱", "男"]], headers=["工号", "名字", "性别"])
    body = preview(admin, files(staff=(wrong, "staff.xlsx"))).get_data(as_text=True)
    assert "表头不对" in body and "姓名" in body
    assert preview(admin, {}).status_code == 422
    assert counts() == before


def test_too_many_rows(admin, monkeypatch):
    monkeypatch.setattr(onboarding, "MAX_ROWS", 3)
    rows = [[f"海5-{n:02d}", "海南一号站", "采油井", "否", None, None, 8] for n in range(4)]
    body = preview(admin, files({"wells": rows})).get_data(as_text=True)
    assert "超过 3 行" in body


def test_confirm_rechecks_and_needs_the_session_token(admin, app):
    rows = good_rows()
    body = preview(admin, files(rows)).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    # Another admin session cannot confirm this preview.
    other = app.test_client()
    login(other, "HN0001")
    assert other.post("/admin/onboarding/apply", data={"token": token}).status_code == 422
    # The database changed since the preview (the 工号 is taken now): nothing is written.
    with db.connection_context():
        User.update(employee_no="HN5002").where(User.employee_no == "HN1005").execute()
    before = counts()
    response = admin.post("/admin/onboarding/apply", data={"token": token})
    assert response.status_code == 422
    assert "工号“HN5002”已被另一人使用" in response.get_data(as_text=True)
    assert counts() == before


def test_templates_download_and_import_as_they_are(admin):
    data = {}
    for kind in onboarding.KINDS:
        response = admin.get(f"/admin/onboarding/template/{kind}.xlsx")
        assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
        book = load_workbook(io.BytesIO(response.data))
        assert book.sheetnames == [onboarding.KIND_LABELS[kind], "说明"]
        assert [c.value for c in book.worksheets[0][2]] == HEADERS[kind]
        assert book.worksheets[0].column_dimensions["A"].width > 5
        data[kind] = (io.BytesIO(response.data), f"{kind}.xlsx")
    response = preview(admin, data)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert admin.get("/admin/onboarding/template/other.xlsx").status_code == 404


@pytest.mark.parametrize("employee_no", ["HN1001", "HN1003"])
def test_only_admins(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    for url in ("/admin/onboarding/", "/admin/onboarding/template/wells.xlsx"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/onboarding/preview", data=files(good_rows()), content_type="multipart/form-data").status_code == 403
    assert client.post("/admin/onboarding/apply", data={"token": "x" * 32}).status_code == 403


def test_anonymous_goes_to_login(client):
    response = client.get("/admin/onboarding/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_page_links_here(admin):
    assert "/admin/onboarding/" in admin.get("/admin/").get_data(as_text=True)


def test_every_kind_of_well_and_its_allocation_and_a_sheet_made_before_the_column(admin):
    """螺杆泵井 / 电泵井 / 注水井 with its 日配注 come in as such; a wells sheet from a template downloaded before the
    日配注 column existed is still read, and leaves the allocation as it was."""
    rows = good_rows()
    rows["wells"] = [["海5-01", "海南五号站", "螺杆泵井", "否", None, None, None, None],
                     ["海5-02", "海南五号站", "注水井", "否", None, None, None, 55.5],
                     ["海5-03", "海南五号站", "电泵井", "是", None, None, 4, None]]
    run_import(admin, rows)
    with db.connection_context():
        wells = {w.code: w for w in Well.select().where(Well.code.startswith("海5-"))}
    assert {c: w.kind for c, w in wells.items()} == {"海5-01": "pcp", "海5-02": "injection", "海5-03": "esp"}
    assert wells["海5-02"].allocation_m3_per_day == 55.5 and wells["海5-01"].allocation_m3_per_day is None
    old_headers = [h for h in HEADERS["wells"] if h != "日配注(m³)"]
    old_sheet = xlsx("wells", [r[:7] for r in rows["wells"]], headers=old_headers)
    html = run_import(admin, data=files(wells=(old_sheet, "wells.xlsx")))
    assert summary(html)["油水井"] == (0, 0, 3)
    with db.connection_context():
        assert Well.get(Well.code == "海5-02").allocation_m3_per_day == 55.5
    bad = rows["wells"][1][:7] + ["-3"]
    response = preview(admin, files({"wells": [bad]}))
    assert response.status_code == 422 and "日配注" in response.get_data(as_text=True)
