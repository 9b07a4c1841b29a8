"""The hazard pages: the station's list (htmx filters), a hazard's timeline and the leader's and colleagues' steps."""
import pytest

from models import Hazard, Station, db
from tests.conftest import get_user, login
from tests.test_hazards import deadline, photo, report, step


def hazard_id(uid):
    with db.connection_context():
        return Hazard.get(Hazard.uuid == uid).id


def test_list_full_page_and_fragment(people):
    report(people["worker"])
    leader = people["leader"]
    page = leader.get("/hazards/").get_data(as_text=True)
    assert "盘根盒漏油" in page and "<html" in page and "待分派" in page
    fragment = leader.get("/hazards/?show=closed", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "没有符合条件的隐患" in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_overdue_is_marked(people):
    uid = report(people["worker"])
    step(people["leader"], uid, "assign", assignee_id=get_user("HN1004").id, deadline=deadline(1))
    with db.connection_context():
        Hazard.update(deadline="2020-01-01").where(Hazard.uuid == uid).execute()
    page = people["leader"].get("/hazards/?show=overdue").get_data(as_text=True)
    assert "已超期" in page and "盘根盒漏油" in page
    assert "已超期" in people["leader"].get(f"/hazards/{hazard_id(uid)}").get_data(as_text=True)


def test_leader_assigns_on_the_page(people):
    uid = report(people["worker"])
    hid = hazard_id(uid)
    leader = people["leader"]
    assert "分派整改" in leader.get(f"/hazards/{hid}").get_data(as_text=True)
    response = leader.post(f"/hazards/{hid}/steps", data={"action": "assign", "assignee_id": get_user("HN1004").id,
                                                           "deadline": deadline()}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "整改中" in response.get_data(as_text=True)
    bad = leader.post(f"/hazards/{hid}/steps", data={"action": "assign", "assignee_id": "", "deadline": ""})
    assert bad.status_code == 422 and "请选择本站的整改责任人" in bad.get_data(as_text=True)


@pytest.mark.parametrize("assignee", ["²", "٣", "１２", "3" * 40, "-1", "\x00"])
def test_an_assignee_that_is_no_id_is_as_if_none_was_picked(people, assignee):
    """"²".isdigit() is true and int() refuses it (a 500 once); "٣" was read as 3."""
    hid = hazard_id(report(people["worker"]))
    bad = people["leader"].post(f"/hazards/{hid}/steps", data={"action": "assign", "assignee_id": assignee,
                                                               "deadline": deadline()})
    assert bad.status_code == 422 and "请选择本站的整改责任人" in bad.get_data(as_text=True)
    with db.connection_context():
        assert Hazard.get_by_id(hid).status == "reported"


def test_worker_sees_no_leader_forms_and_cannot_post_them(people):
    uid = report(people["worker"])
    hid = hazard_id(uid)
    page = people["worker"].get(f"/hazards/{hid}").get_data(as_text=True)
    assert "分派整改" not in page and "确认销项" not in page
    response = people["worker"].post(f"/hazards/{hid}/steps", data={"action": "assign", "assignee_id": get_user("HN1004").id, "deadline": deadline()})
    assert response.status_code == 422 and "只有本站站长可以分派隐患" in response.get_data(as_text=True)


def test_rectifier_is_not_offered_verification(people):
    uid = report(people["worker"])
    step(people["leader"], uid, "assign", assignee_id=get_user("HN1004").id, deadline=deadline())
    step(people["assignee"], uid, "rectify", note="紧固", photos=[photo(people["assignee"])], method="manual")
    hid = hazard_id(uid)
    assert "验收通过" not in people["assignee"].get(f"/hazards/{hid}").get_data(as_text=True)
    forced = people["assignee"].post(f"/hazards/{hid}/steps", data={"action": "verify"})
    assert forced.status_code == 422 and "整改人不能验收自己的整改" in forced.get_data(as_text=True)
    page = people["colleague"].get(f"/hazards/{hid}").get_data(as_text=True)
    assert "验收通过" in page and "/photos/" in page  # the after photo is shown


def test_unknown_action_is_400(people):
    hid = hazard_id(report(people["worker"]))
    assert people["leader"].post(f"/hazards/{hid}/steps", data={"action": "explode"}).status_code == 400


@pytest.mark.parametrize("employee_no, status", [("HN1003", 200), ("HN1001", 200), ("HN2001", 404), ("HN0001", 200)])
def test_hazard_page_access(app, people, employee_no, status):
    hid = hazard_id(report(people["worker"]))
    client = app.test_client()
    login(client, employee_no)
    assert client.get(f"/hazards/{hid}").status_code == status


def test_other_station_list_and_unknown_hazard(people):
    with db.connection_context():
        second = Station.get(Station.name == "海南二号站")
    assert people["leader"].get(f"/hazards/?station={second.id}").status_code == 404  # like an unknown station
    assert people["leader"].get("/hazards/999999").status_code == 404
    assert people["leader"].get("/hazards/?show=<script>").status_code == 200


def test_hostile_description_is_escaped(people):
    uid = report(people["worker"], description="<script>alert(1)</script>")
    page = people["leader"].get(f"/hazards/{hazard_id(uid)}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_report_and_check_pages_render(people):
    assert "上报隐患" in people["worker"].get("/hazards/new").get_data(as_text=True)
    assert "data-check-wizard" in people["worker"].get("/checks/new?equipment=1").get_data(as_text=True)


def test_well_page_shows_open_hazards_and_my_rectify_form(people):
    from tests.conftest import get_well

    uid = report(people["worker"])
    well = get_well("海1-02")
    assert "未销项隐患（1）" in people["worker"].get(f"/w/{well.qr_token}").get_data(as_text=True)
    step(people["leader"], uid, "assign", assignee_id=get_user("HN1004").id, deadline=deadline())
    assert "data-rectify-form" in people["assignee"].get(f"/w/{well.qr_token}").get_data(as_text=True)
    assert "data-rectify-form" not in people["worker"].get(f"/w/{well.qr_token}").get_data(as_text=True)


def test_records_tab_lists_my_checks_and_hazards(people):
    from tests.test_checks import check_record, result

    assert result(people["worker"], check_record())["status"] == "created"
    uid = report(people["worker"])
    page = people["worker"].get("/records").get_data(as_text=True)
    assert "海1-02 抽油机" in page and "全部正常" in page and "盘根盒漏油" in page
    step(people["leader"], uid, "assign", assignee_id=get_user("HN1004").id, deadline=deadline())
    assert "待我整改" in people["assignee"].get("/records").get_data(as_text=True)
