"""交接班 on phones: the outgoing operator must give a reason for every well not patrolled, hands over, and the
incoming operator confirms on their own phone."""
from playwright.sync_api import expect

from models import Handover, db
from tests.e2e.conftest import PHONE, log_in


def test_hand_over_and_take_over(page, browser, playwright, live_server, sign_in):
    sign_in("HN1003")
    page.get_by_role("link", name="交接班").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("交接班")
    reasons = page.locator("input[name^=reason-]")
    count = reasons.count()
    assert count > 0
    for index in range(count - 1):
        reasons.nth(index).fill("抽油机停机检修")
    page.get_by_label("交班说明").fill("海1-01 皮带需更换")
    page.get_by_role("button", name="交班", exact=True).click()
    # The browser itself refuses the form while a reason is missing (required); nothing is saved.
    with db.connection_context():
        assert Handover.select().count() == 0
    reasons.nth(count - 1).fill("雨天路滑未到")
    page.get_by_role("button", name="交班", exact=True).click()
    expect(page.get_by_text("已交班，等待接班人确认。")).to_be_visible()
    expect(page.locator("#handover-status")).to_contain_text("待接班确认")

    context = browser.new_context(base_url=live_server, locale="zh-CN", **playwright.devices[PHONE])
    incoming = log_in(context.new_page(), "HN1005")
    incoming.goto("/handover/")
    expect(incoming.locator("#handover-wells")).to_contain_text("雨天路滑未到")
    incoming.get_by_label("接班说明（可选）").fill("已了解")
    incoming.get_by_role("button", name="接班确认").click()
    expect(incoming.get_by_text("已接班确认。")).to_be_visible()
    expect(incoming.locator("#handover-status")).to_contain_text("已接班")
    context.close()
    with db.connection_context():
        handover = Handover.get()
        assert handover.outgoing.employee_no == "HN1003" and handover.incoming.employee_no == "HN1005"
        assert handover.note == "海1-01 皮带需更换" and handover.incoming_note == "已了解"
