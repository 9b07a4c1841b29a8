"""The bell, for a leader and for a worker: a flagged check-in reaches the leader's badge and list, the leader
returns it with a comment, and the worker's bell says so and leads to 记录."""
import re

from playwright.sync_api import expect

from tests.e2e.test_patrol_flow import fill_patrol, save, sync_status


def bell_count(page):
    return page.locator("[data-bell-count]")


def test_leader_and_worker_hear_of_each_others_work(page, desk, sign_in, camera_well):
    leader = desk("HN1001")
    with leader.expect_response("**/notifications/seen"):  # the demo's own items are read first
        leader.goto("/notifications/")
    expect(leader.locator("[data-bell-count]")).to_be_hidden()

    # The worker checks in by typing the 井号 (flagged: no label scanned).
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}?via=manual")
    fill_patrol(page)
    save(page)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)

    leader.goto("/")
    expect(bell_count(leader)).to_have_text("1")
    expect(leader.locator("[data-bell]")).to_have_attribute("aria-label", "通知，1 条未读")
    leader.locator("[data-bell]").click()
    item = leader.get_by_role("link", name=re.compile(f"到场存疑：{camera_well['code']}"))
    expect(item).to_contain_text("手工输入井号")
    expect(bell_count(leader)).to_be_hidden()  # the shown list is read (posted by the page, not by the GET)
    item.click()
    expect(leader).to_have_url(re.compile(r"/review/patrols/\d+$"))
    leader.get_by_label("批注").fill("请到井口扫码重新打卡")
    leader.get_by_role("button", name="退回").click()

    # The worker's bell: on the next page (the badge is polled once a minute while a page stays open).
    page.goto("/me")
    expect(bell_count(page)).not_to_be_hidden()
    page.locator("[data-bell]").tap()
    returned = page.get_by_role("link", name=re.compile(f"巡检被退回：{camera_well['code']}"))
    expect(returned).to_contain_text("请到井口扫码重新打卡")
    returned.tap()
    expect(page).to_have_url(re.compile(r"/records$"))
