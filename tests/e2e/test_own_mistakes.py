"""The worker fixes his own mistakes (issue 16.5): offline, a record not sent yet is withdrawn, or withdrawn and made
again from a form filled with what it held; the leader sees both — the withdrawal and the edit — and nothing is
counted twice."""
from playwright.sync_api import expect

from models import Discard, Patrol, db
from tests.e2e.test_patrol_flow import (fill_patrol, patrols, save, scan, station_well_count, sync_status,
                                        wait_offline_ready)


def test_offline_a_record_not_sent_is_edited_or_withdrawn_and_the_leader_sees_both(page, context, live_server,
                                                                                   sign_in, camera_well):
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    context.set_offline(True)
    scan(page, camera_well)
    fill_patrol(page, 油压="8", 井口温度="41")  # a slip: 8 MPa for 0.8
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")
    fill_patrol(page, 井口温度="42")  # a second round saved by mistake
    save(page)
    expect(sync_status(page)).to_have_text("待同步 2 条")

    page.goto("/records")
    items = page.locator("[data-outbox-items] .record")
    expect(items).to_have_count(2)
    newest_uuid, oldest_uuid = items.nth(0).get_attribute("data-uuid"), items.nth(1).get_attribute("data-uuid")
    newest = page.locator(f'[data-outbox-items] .record[data-uuid="{newest_uuid}"]')
    oldest = page.locator(f'[data-outbox-items] .record[data-uuid="{oldest_uuid}"]')
    newest.get_by_role("button", name="撤回…").tap()
    expect(newest).to_contain_text("撤回后这条记录不再发送，也不计入")
    newest.get_by_role("button", name="确认撤回").tap()
    expect(newest).to_have_attribute("data-state", "discarding")  # it travels inside its withdrawal, kept till then

    oldest.get_by_role("button", name="修改…").tap()
    oldest.get_by_role("button", name="撤回并修改").tap()
    expect(page.locator("[data-editing]")).to_be_visible()  # the well page, offline, filled with the record
    expect(page.get_by_label("油压", exact=False).first).to_have_value("8")
    expect(page.get_by_label("井口温度", exact=False).first).to_have_value("41")
    page.get_by_label("油压", exact=False).first.fill("0.8")
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")
    expect(page.locator("[data-editing]")).to_be_hidden()
    assert patrols() == []

    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    [patrol] = patrols()
    assert patrol.oil_pressure_mpa == 0.8 and patrol.wellhead_temp_c == 41 and "edited" in patrol.flag_list
    with db.connection_context():
        withdrawn = list(Discard.select().order_by(Discard.id))
        assert [d.error_code for d in withdrawn] == ["withdrawn", "withdrawn"]
        assert Patrol.select().count() == 1
    page.goto("/records")
    expect(page.locator("[data-outbox-items] .record")).to_have_count(0)
