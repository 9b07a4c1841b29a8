"""Plausibility while typing (issue 16.1): on the phone, a reading far from the well's recent median is questioned in
Chinese under its field, the patrol is saved only once the worker confirms it, and the record says so."""
import uuid
from datetime import timedelta

from playwright.sync_api import expect

from models import Patrol, User, Well, utcnow
from tests.e2e.test_patrol_flow import fill_patrol, patrols, save, sync_status


def test_a_reading_far_from_the_median_is_questioned_and_saved_once_confirmed(page, live_server, live_db, sign_in,
                                                                             camera_well):
    well = Well.get(Well.code == camera_well["code"])
    author = User.get(User.employee_no == "HN1003")
    now = utcnow()
    for hours, stroke in ((30, 4.2), (20, 4.1), (10, 4.3)):
        at = now - timedelta(hours=hours)
        Patrol.create(uuid=uuid.uuid4(), well=well, station=well.station_id, author=author, method="scan",
                      device_time=at, clock_time=at, received_at=at, stroke_m=stroke)
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    fill_patrol(page)  # 冲程 3 m against a median of 4.2 m: -29 %, past its 10 %
    question = page.locator('[data-deviation="stroke_m"]')
    expect(question).to_be_visible()
    expect(question).to_contain_text("与近 7 天中位数 4.2 m 相差 -29%，确认无误？")
    expect(page.locator('[data-deviation="current_up_a"]')).to_be_hidden()  # no history of its own: never asked
    save(page)
    expect(page.locator("[data-form-error]")).to_contain_text("有 1 个读数与近期相差较大")
    assert len(patrols()) == 3  # nothing saved yet

    page.get_by_label("冲程", exact=False).first.fill("3.1")  # a new value asks again
    expect(question).to_contain_text("相差 -26%")
    question.get_by_label("确认无误").check()
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    expect(sync_status(page)).to_have_text("已全部同步")
    new = patrols()[-1]
    assert new.stroke_m == 3.1 and new.confirmed == "stroke_m" and new.reading_set_id is not None
    expect(question).to_be_hidden()  # the form is ready for the next well
