"""Each role's home page, the 记录 and 我的 tabs."""
import pytest
from playhouse.test_utils import assert_query_count

from models import Station, Well, db

PANELS = {"HN0001": "admin-panel", "HN1001": "leader-panel", "HN1002": "secretary-panel"}


@pytest.mark.parametrize("employee_no", ["HN0001", "HN1001", "HN1002", "HN1003"])
def test_each_role_sees_its_own_panels(login_as, employee_no):
    page = login_as(employee_no).get("/").get_data(as_text=True)
    for owner, panel in PANELS.items():
        assert (f'id="{panel}"' in page) == (owner == employee_no), panel
    for tab in ("首页", "扫码", "记录", "我的"):
        assert f"<span>{tab}</span>" in page


def test_admin_sees_work_area_totals(login_as):
    page = login_as("HN0001").get("/").get_data(as_text=True)
    totals = page.split("<tfoot>")[1].split("</tfoot>")[0]
    with db.connection_context():
        wells = Well.select().count()
    assert f"<td>{wells}</td>" in totals
    assert "<td>135</td><td>48</td><td>7</td>" in totals.replace("</td><td>", "</td><td>")


def test_leader_sees_station_counts_and_key_wells(login_as):
    page = login_as("HN1001").get("/").get_data(as_text=True)
    with db.connection_context():
        station = Station.get(Station.name == "海南一号站")
        key = [w.code for w in Well.select().where((Well.station == station) & Well.is_key_well)]
    for code in key:
        assert code in page


def test_secretary_sees_branch_members_only(login_as):
    page = login_as("HN1002").get("/").get_data(as_text=True)
    assert "海南一号站党支部" in page and "党员 9 名" in page


def test_worker_sees_contracted_wells(login_as):
    page = login_as("HN1003").get("/").get_data(as_text=True)
    assert 'id="my-wells"' in page


def test_home_query_count_does_not_grow_with_data(login_as, app):
    client = login_as("HN0001")
    # user with station and work area, roles, overview (3), my wells
    with assert_query_count(6):
        assert client.get("/").status_code == 200


def test_me_page_and_records(login_as):
    client = login_as("HN1003")
    page = client.get("/me").get_data(as_text=True)
    assert "HN1003" in page and "党员" in page and "海南一号站党支部" in page and "退出登录" in page
    assert "还没有已同步的巡检记录" in client.get("/records").get_data(as_text=True)
