"""The station's well list with htmx search and filters, the well page by id and by QR token, manual 井号 entry."""
import pytest
from playhouse.test_utils import assert_query_count

from models import Station, User, Well, WorkArea, db
from tests.conftest import get_well, login


def codes(html):
    return [part.split("</strong>")[0] for part in html.split('<strong class="well-code">')[1:]]


def station_wells(name, **where):
    with db.connection_context():
        query = Well.select().join(Station).where(Station.name == name)
        for field, value in where.items():
            query = query.where(getattr(Well, field) == value)
        return sorted(w.code for w in query)


def test_worker_lists_own_station(login_as):
    page = login_as("HN1003").get("/wells/").get_data(as_text=True)
    assert codes(page) == station_wells("海南一号站")
    assert "<select" not in page  # one station: no station picker


def test_full_page_and_htmx_fragment(login_as):
    client = login_as("HN1003")
    full = client.get("/wells/?q=1-0")
    fragment = client.get("/wells/?q=1-0", headers={"HX-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<p class="muted result-count">')
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in full.headers["Vary"]
    assert codes(body) == [c for c in station_wells("海南一号站") if "1-0" in c]


def test_history_restore_gets_the_full_page(login_as):
    client = login_as("HN1003")
    response = client.get("/wells/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "kind, where",
    [("key", {"is_key_well": True}), ("oil", {"kind": "oil"}), ("injection", {"kind": "injection"}), ("", {}), ("bogus", {})],
)
def test_kind_filter(login_as, kind, where):
    page = login_as("HN1003").get("/wells/", query_string={"kind": kind}, headers={"HX-Request": "true"})
    assert codes(page.get_data(as_text=True)) == station_wells("海南一号站", **where)


@pytest.mark.parametrize("q", ["<script>alert(1)</script>", "%", "_", "' OR '1'='1", "海" * 500])
def test_hostile_search_finds_nothing_and_is_escaped(login_as, q):
    response = login_as("HN1003").get("/wells/", query_string={"q": q})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert codes(body) == []


def test_control_characters_are_dropped_from_search(login_as):
    # PostgreSQL rejects NUL in a string; SQLite would cut the pattern at it.
    page = login_as("HN1003").get("/wells/", query_string={"q": "\x001-0\x07"}).get_data(as_text=True)
    assert codes(page) == [c for c in station_wells("海南一号站") if "1-0" in c]


def test_admin_picks_any_station_of_the_work_area(login_as):
    client = login_as("HN0001")
    with db.connection_context():
        station = Station.get(Station.name == "海南三号站")
    page = client.get("/wells/", query_string={"station": station.id}).get_data(as_text=True)
    assert codes(page) == station_wells("海南三号站")
    assert "<select" in page


def test_non_admin_cannot_list_another_station(login_as):
    with db.connection_context():
        station = Station.get(Station.name == "海南二号站")
    response = login_as("HN1001").get("/wells/", query_string={"station": station.id})
    assert response.status_code == 404  # like a station that does not exist
    assert "找不到" in response.get_data(as_text=True)


def test_unknown_station_is_404(login_as):
    assert login_as("HN0001").get("/wells/?station=999999").status_code == 404


def test_well_list_query_count(login_as):
    client = login_as("HN1003")
    with assert_query_count(5):  # user with station and work area, roles, stations in scope, wells with contractors, station equipment
        client.get("/wells/")


def test_well_page_by_id_and_by_token(login_as):
    client = login_as("HN1003")
    well = get_well("海1-06")
    by_id = client.get(f"/wells/{well.id}").get_data(as_text=True)
    by_token = client.get(f"/w/{well.qr_token}").get_data(as_text=True)
    for page in (by_id, by_token):
        assert "海1-06" in page and "海南一号站" in page and "抽油机" in page
    assert "已识别井口标签" in by_token and "已识别井口标签" not in by_id
    # The list links by id: the label token stays on the label.
    assert well.qr_token not in client.get("/wells/").get_data(as_text=True)


def test_other_stations_wells_are_only_for_their_contracted_member_and_admins(app, login_as):
    well = get_well("海3-02")
    worker = login_as("HN1003")
    # By id (typed into the address bar) it answers like an unknown id; the scanned label explains whose it is.
    assert worker.get(f"/wells/{well.id}").status_code == 404
    refused = worker.get(f"/w/{well.qr_token}")
    assert refused.status_code == 403 and "海3-02 属于海南三号站，不是您所在的站" in refused.get_data(as_text=True)
    admin = app.test_client()
    login(admin, "HN0001")
    assert admin.get(f"/wells/{well.id}").status_code == 200
    with db.connection_context():
        Well.update(contractor=User.get(User.employee_no == "HN1003")).where(Well.id == well.id).execute()
    assert worker.get(f"/wells/{well.id}").status_code == 200


@pytest.mark.parametrize("token", ["nope", "x" * 65, "x" * 5000, "%3Cscript%3E", "' OR 1=1"])
def test_bad_token_is_a_chinese_404(login_as, token):
    response = login_as("HN1003").get(f"/w/{token}")
    assert response.status_code == 404
    assert "找不到您要的页面或记录" in response.get_data(as_text=True)


def test_old_token_stops_working_when_regenerated(login_as):
    client = login_as("HN1001")
    well = get_well("海1-03")
    old = well.qr_token
    with db.connection_context():
        new = well.regenerate_token()
    assert client.get(f"/w/{old}").status_code == 404
    assert client.get(f"/w/{new}").status_code == 200


def test_well_of_another_work_area_is_forbidden(login_as):
    with db.connection_context():
        area = WorkArea.create(name="别的作业区", party_org_name="别的党总支")
        station = Station.create(work_area=area, name="别的站", branch_name="别的站党支部")
        well = Well.create(station=station, code="别1-01")
    client = login_as("HN1003")
    response = client.get(f"/w/{well.qr_token}")
    assert response.status_code == 403
    assert "此井不属于您所在的作业区" in response.get_data(as_text=True)
    assert client.get(f"/wells/{well.id}").status_code == 404
    assert login_as("HN0001").get(f"/wells/?station={station.id}").status_code == 404


def test_label_url_when_logged_out_leads_back_after_login(client):
    well = get_well("海1-05")
    response = client.get(f"/w/{well.qr_token}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    response = client.post(location, data={"employee_no": "HN1003", "password": "demo-pass-2026"})
    assert response.headers["Location"] == f"/w/{well.qr_token}"


class TestManualEntry:
    def test_known_code_opens_the_well(self, login_as):
        well = get_well("海1-11")
        response = login_as("HN1003").post("/scan", data={"code": " 海1-11 "})
        assert response.headers["Location"] == f"/w/{well.qr_token}?via=manual"

    def test_another_stations_code_says_whose_well_it_is(self, login_as):
        response = login_as("HN1003").post("/scan", data={"code": "海2-11"})
        assert response.status_code == 422 and "海2-11 属于海南二号站，不是您所在的站" in response.get_data(as_text=True)

    @pytest.mark.parametrize(
        "code, message",
        [("", "请输入井号"), ("海9-99", "没有井号为「海9-99」的井"), ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"), ("井" * 1000, "没有井号为")],
    )
    def test_bad_codes(self, login_as, code, message):
        response = login_as("HN1003").post("/scan", data={"code": code})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)

    def test_page(self, login_as):
        page = login_as("HN1003").get("/scan").get_data(as_text=True)
        assert "手工输入井号" in page


def test_scanner_is_open_to_anyone_but_well_entry_is_not(client):
    page = client.get("/scan").get_data(as_text=True)
    assert "data-scan-video" in page and "data-manual-form" not in page and "三亮卡" in page
    response = client.post("/scan", data={"code": "海1-02"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
