"""三亮 cards on phones: the member's card, a stranger scanning its QR with the fake camera, reissue; commitments."""
import re

from playwright.sync_api import expect

from models import Commitment, CommitmentProgress, User, db
from tests.e2e.conftest import launch_with_camera, write_y4m
from tests.e2e.test_patrol_flow import sync_status


def card_qr_png(url):
    from io import BytesIO

    from webapp.labels import qr_image

    out = BytesIO()
    qr_image(url, 440).save(out, "PNG")
    return out.getvalue()


def test_stranger_scans_the_card_and_the_reissued_one_is_void(page, playwright, live_server, sign_in, tmp_path):
    sign_in("HN1003")
    page.goto("/me")
    page.get_by_role("link", name="我的三亮卡").tap()
    card = page.get_by_role("article", name="三亮卡")
    expect(card).to_contain_text("亮承诺")
    expect(card).to_contain_text("亮联系点和联系人")
    expect(card.get_by_role("img", name=re.compile("三亮卡二维码"))).to_be_visible()
    with db.connection_context():
        member = User.get(User.employee_no == "HN1003")
    write_y4m(card_qr_png(f"{live_server}/c/{member.card_token}"), tmp_path / "card.y4m")

    # A passer-by's phone: another browser whose camera sees the card, not logged in.
    stranger_browser = launch_with_camera(playwright, tmp_path / "card.y4m")
    try:
        stranger = stranger_browser.new_context(**playwright.devices["Pixel 7"], base_url=live_server, locale="zh-CN",
                                                permissions=["camera"]).new_page()
        stranger.goto("/scan")
        expect(stranger).to_have_url(re.compile(rf"/c/{member.card_token}$"))
        public = stranger.get_by_role("article", name="三亮卡")
        expect(public).to_contain_text(member.name)
        expect(public).to_contain_text("中共党员")
        expect(public).not_to_contain_text(member.phone)
        expect(public).not_to_contain_text("年入党")

        page.goto("/cards/me")
        page.get_by_role("button", name=re.compile("重新生成二维码")).tap()
        expect(page.locator(".flash")).to_contain_text("旧二维码已失效")
        stranger.goto("/scan")
        expect(stranger.get_by_role("heading", level=1)).to_have_text("此三亮卡已失效")
    finally:
        stranger_browser.close()


def test_commitment_lifecycle_with_offline_progress(page, context, desk, live_server, sign_in):
    sign_in("HN1004")
    page.goto("/commitments/")
    page.get_by_label("类别").select_option(label="学习提升")
    page.get_by_label("承诺内容").fill("学习采油工艺，带动班组")
    page.get_by_label("可衡量的目标").fill("完成 48 学时学习")
    page.get_by_label("目标数量（选填）").fill("48")
    page.get_by_label("单位").fill("学时")
    page.get_by_role("button", name="提交支部审核").tap()
    expect(page.locator(".flash")).to_contain_text("已提交支部审核")

    secretary = desk("HN1002")
    secretary.goto("/commitments/review")
    secretary.get_by_role("button", name="同意公开承诺").click()
    expect(secretary.locator(".flash")).to_contain_text("已公开承诺")

    page.goto("/commitments/")
    page.get_by_role("link", name="学习采油工艺，带动班组").tap()
    expect(page.get_by_role("heading", name="记录践诺")).to_be_visible()
    context.set_offline(True)
    page.reload()  # the page comes from the phone's copy
    page.get_by_label("做了什么").fill("参加作业区采油工艺培训")
    page.get_by_label(re.compile("完成数量")).fill("8")
    page.get_by_role("button", name="保存践诺记录").tap()
    expect(page.locator("[data-saved]")).to_contain_text("已保存")
    expect(sync_status(page)).to_have_text("待同步 1 条")
    mine = Commitment.content == "学习采油工艺，带动班组"
    with db.connection_context():
        assert CommitmentProgress.select().join(Commitment).where(mine).count() == 0  # still only on the phone
    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步")
    with db.connection_context():
        assert [p.quantity for p in CommitmentProgress.select().join(Commitment).where(mine)] == [8]
    page.goto("/cards/me")
    expect(page.get_by_role("article", name="三亮卡")).to_contain_text("已完成 8 / 48 学时")

    secretary.goto("/commitments/review")
    with db.connection_context():
        name = User.get(User.employee_no == "HN1004").name
    row = secretary.get_by_role("row").filter(has_text=name).filter(has_text="8/48 学时")
    row.get_by_role("combobox").select_option(label="优秀")
    row.get_by_role("button", name="评定").click()
    expect(secretary.locator(".flash")).to_contain_text("已评定：优秀")
