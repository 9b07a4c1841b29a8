"""合理化建议 end to end: a worker writes a suggestion on the phone with the network off, it syncs once when the
network is back, the branch secretary adopts it at the office PC, and the worker sees 已采纳 in 我的建议."""
from playwright.sync_api import expect

from models import Suggestion, SyncReceipt, User, db
from tests.e2e.conftest import CAMERA_WELL
from tests.e2e.test_patrol_flow import station_well_count, sync_status, wait_offline_ready

TITLE = "加热炉加装超温报警"
BODY = "现状：2号加热炉炉温靠人看。\n建议：加装超温声光报警。"
NOTE = "下月由维修班实施"


def suggestions():
    with db.connection_context():
        return list(Suggestion.select().order_by(Suggestion.id))


def test_offline_suggestion_syncs_is_adopted_and_the_author_sees_it(page, context, live_server, sign_in, desk):
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(CAMERA_WELL))

    context.set_offline(True)
    page.goto("/")
    page.get_by_role("link", name="提合理化建议").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("提合理化建议")
    page.get_by_role("button", name="提交建议").tap()  # empty: explained next to the fields, nothing saved
    expect(page.locator("#s-title-error")).to_have_text("请写明建议标题。")
    page.get_by_label("建议标题").fill(TITLE)
    page.get_by_label("建议内容").fill(BODY)
    page.get_by_role("button", name="提交建议").tap()
    expect(page.locator("[data-saved]")).to_contain_text("联网后自动提交")
    expect(sync_status(page)).to_have_text("待同步 1 条")
    assert suggestions() == []

    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    expect(page.locator("[data-saved]")).to_contain_text("已提交支部")
    [row] = suggestions()
    with db.connection_context():
        assert (row.title, row.body, row.status) == (TITLE, BODY, "submitted")
        assert row.author.employee_no == "HN1003"
        assert SyncReceipt.select().where(SyncReceipt.type == "suggestion").count() == 1

    secretary = desk("HN1002")
    secretary.goto("/")
    secretary.get_by_role("link", name="合理化建议", exact=True).click()
    item = secretary.locator("article.suggestion", has_text=TITLE)
    expect(item).to_contain_text("待处理")
    item.get_by_role("button", name="不采纳").click()  # a decline needs a reason: refused, explained in place
    expect(item.get_by_role("alert")).to_contain_text("不采纳时请写明理由")
    item.get_by_label("处理意见（不采纳时必填）").fill(NOTE)
    item.get_by_role("button", name="采纳", exact=True).click()
    expect(item.locator(".tag")).to_have_text("已采纳")
    expect(item).to_contain_text(NOTE)
    [row] = suggestions()
    with db.connection_context():
        assert row.status == "adopted" and row.decided_by_id == User.get(User.employee_no == "HN1002").id

    page.goto("/me")
    page.get_by_role("link", name="我的建议").tap()
    mine = page.locator("article.suggestion", has_text=TITLE)
    expect(mine.locator(".tag")).to_have_text("已采纳")
    expect(mine).to_contain_text(NOTE)
