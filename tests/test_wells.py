"""The station's well list with htmx search and filters, the well page by id, QR token and NFC tag, 井号 entry."""
import re

import pytest
from playhouse.test_utils import assert_query_count

from models import Station, User, Well, WorkArea, db
from tests.conftest import DEMO_PASSWORD, get_well, login


# A SUN read as a tag gives it (AN12196's example): 32 and 16 hex digits.
SUN = {"e": "EF963FF7828658A599F3041510671E88", "c": "94EED9EE65337086"}


def banners(html):
    """The visit banners the page shows (not those it keeps hidden for evidence.js): "scan", "nfc"."""
    tags = re.findall(r"<p [^>]*data-visit-banner=[^>]*>", html)
    return [re.search(r'data-visit-banner="(\w+)"', t).group(1) for t in tags if not re.search(r"\shidden[\s>]", t)]


def codes(html):
    return [part.split("</strong>")[0] for part in html.split('<strong class="well-code">')[1:]]


def station_wells(name, **where):
    with db.connection_context():
        query = Well.select().join(Station).where(Station.name == name)
        for field, value in where.items():
            column = getattr(Well, field)
            query = query.where(column.in_(value) if isinstance(value, tuple) else column == value)
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
    # 采油井: every producing well, beam pump, screw pump or ESP.
    [("key", {"is_key_well": True}), ("oil", {"kind": ("oil", "pcp", "esp")}), ("injection", {"kind": "injection"}), ("", {}),
     ("bogus", {})],
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
    assert banners(by_token) == ["scan"] and banners(by_id) == []
    assert "data-manual-notice" in by_id and "data-manual-notice" not in by_token
    # The list links by id, and the page by id (the one the phone keeps offline) has no token: it stays on the label.
    assert well.qr_token not in client.get("/wells/").get_data(as_text=True)
    assert well.qr_token not in by_id
    # Reached from the well page, the check carries the visit's proof from the phone, not a token in its address.
    assert 'href="/checks/new?equipment=' in by_token and f"well={well.qr_token}" not in by_token


class TestTagPage:
    """/n/<id>?e=…&c=…, what a wellhead NFC tag opens: the well page, nothing verified (that happens at sync)."""

    def test_opens_the_well_page_with_the_tag_banner(self, login_as):
        well = get_well("海1-06")
        page = login_as("HN1003").get(f"/n/{well.id}", query_string=SUN).get_data(as_text=True)
        assert "海1-06" in page and "抽油机" in page
        assert banners(page) == ["nfc"] and "已识别 NFC 标签：海1-06" in page and "data-manual-notice" not in page
        # Neither the message nor the label's token is in the page: evidence.js reads e and c from the address.
        assert SUN["e"] not in page and SUN["c"] not in page and well.qr_token not in page

    @pytest.mark.parametrize("query", [{}, {"e": SUN["e"]}, {"e": "zz" * 16, "c": SUN["c"]},
                                       {"e": SUN["e"][:-1], "c": SUN["c"]}, {"e": SUN["e"], "c": SUN["c"] + "0"}])
    def test_a_damaged_read_opens_the_page_as_a_visit_without_proof(self, login_as, query):
        page = login_as("HN1003").get(f"/n/{get_well('海1-06').id}", query_string=query)
        assert page.status_code == 200
        assert banners(page.get_data(as_text=True)) == [] and "data-manual-notice" in page.get_data(as_text=True)

    @pytest.mark.parametrize("query", [
        {"e": "A" * 10_000, "c": SUN["c"]}, {"e": SUN["e"], "c": "0" * 10_000}, {"e": "\x00" * 10_000},
        {"e": "A" * 65, "c": "B" * 65},
    ])
    def test_hostile_messages_are_404(self, login_as, query):
        response = login_as("HN1003").get(f"/n/{get_well('海1-06').id}", query_string=query)
        assert response.status_code == 404 and "找不到您要的页面或记录" in response.get_data(as_text=True)

    @pytest.mark.parametrize("query", [{"e": "\x00", "c": "\x00\x00"}, {"e": SUN["e"] + "\x00", "c": SUN["c"]},
                                       {"e": "<script>", "c": "' OR 1=1"}, {"e": "井" * 20, "c": "%00"}])
    def test_nuls_and_markup_are_no_proof_and_no_error(self, login_as, query):
        response = login_as("HN1003").get(f"/n/{get_well('海1-06').id}", query_string=query)
        assert response.status_code == 200 and banners(response.get_data(as_text=True)) == []
        assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[-1].split("</main>")[0]

    @pytest.mark.parametrize("well_id", ["0", "999999", "9" * 30, "-1", "1.5", "abc"])
    def test_unknown_ids_are_404(self, login_as, well_id):
        assert login_as("HN1003").get(f"/n/{well_id}", query_string=SUN).status_code == 404

    def test_another_station_answers_as_its_well_page_does(self, app, login_as):
        well = get_well("海3-02")
        worker = login_as("HN1003")
        by_tag = worker.get(f"/n/{well.id}", query_string=SUN)
        assert by_tag.status_code == 404 == worker.get(f"/wells/{well.id}").status_code
        with db.connection_context():
            Well.update(contractor=User.get(User.employee_no == "HN1003")).where(Well.id == well.id).execute()
        assert worker.get(f"/n/{well.id}", query_string=SUN).status_code == 200  # the 承包井 of a party member
        admin = app.test_client()
        login(admin, "HN0001")
        assert admin.get(f"/n/{well.id}", query_string=SUN).status_code == 200

    def test_a_well_of_another_work_area_is_404(self, login_as):
        with db.connection_context():
            area = WorkArea.create(name="别的作业区", party_org_name="别的党总支")
            station = Station.create(work_area=area, name="别的站", branch_name="别的站党支部")
            well = Well.create(station=station, code="别1-01")
        assert login_as("HN1003").get(f"/n/{well.id}", query_string=SUN).status_code == 404
        assert login_as("HN0001").get(f"/n/{well.id}", query_string=SUN).status_code == 404

    def test_logged_out_it_leads_back_to_the_tag_after_login(self, client):
        well = get_well("海1-05")
        response = client.get(f"/n/{well.id}", query_string=SUN)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
        response = client.post(response.headers["Location"], data={"employee_no": "HN1003", "password": DEMO_PASSWORD})
        assert response.headers["Location"] == f"/n/{well.id}?e={SUN['e']}&c={SUN['c']}"


@pytest.mark.parametrize("well_id", ["9" * 30, str(2**63)])
def test_an_id_beyond_the_database_is_404(login_as, well_id):
    assert login_as("HN1003").get(f"/wells/{well_id}").status_code == 404


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
        # By id: a typed 井号 never hands out the label's token, and stays marked as typed.
        assert response.headers["Location"] == f"/wells/{well.id}?via=manual"

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


@pytest.mark.parametrize("path", ["/c/{t}%00", "/c/%00{t}/photo.jpg", "/w/%00", "/w/{t}%00", "/c/%ED%A0%BD",
                                  "/onboarding/result/%00", "/w/" + "a" * 65, "/c/a b"])
def test_a_token_that_no_token_of_ours_looks_like_is_not_found(app, path):
    """A NUL in a token made PostgreSQL refuse the query (a 500); now the route does not match at all."""
    admin = app.test_client()
    login(admin, "HN0001")
    with db.connection_context():
        token = User.get(User.employee_no == "HN1003").issue_card_token()
    assert admin.get(path.format(t=token)).status_code == 404
