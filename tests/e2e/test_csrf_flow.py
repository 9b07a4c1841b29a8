"""CSRF tokens in the browser: a page opened before a new login still posts (app.js copies the current token from
the cookie into the form and into htmx's header), and a refused htmx post shows "页面已过期" instead of nothing."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from models import ProductionPlan, Station, User, db
from tests.e2e.conftest import log_in

EXPIRED = "页面已过期，请刷新后重试。"


def this_month() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def plan_liquid():
    """The planned daily liquid of 海南一号站 for this month, or None."""
    with db.connection_context():
        plan = (ProductionPlan.select().join(Station)
                .where((Station.name == "海南一号站") & (ProductionPlan.month == this_month())).first())
        return plan.liquid_t_per_day if plan else None


def relogin(context, employee_no):
    """Log out and in again in another tab of the same phone: a new session, a new token."""
    other = context.new_page()
    other.goto("/me")
    other.get_by_role("button", name="退出登录").click()
    expect(other).to_have_url(re.compile(r"/login"))
    log_in(other, employee_no)
    other.close()


def csrf_cookie(context):
    return next(c["value"] for c in context.cookies() if c["name"] == "jingzhan_csrf")


def test_pages_opened_before_a_new_login_still_post(page, context, sign_in):
    sign_in("HN1001")
    page.goto("/cards/me")
    settings = page.locator("form", has=page.get_by_role("button", name="保存显示设置"))
    old_token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert settings.locator('input[name="csrf_token"]').first.input_value() == old_token

    reports = context.new_page()
    reports.goto("/reports/daily")
    expect(reports.locator("#production")).to_be_visible()

    relogin(context, "HN1001")
    assert csrf_cookie(context) != old_token

    # A plain form on the page from before: its field still holds the old token; the current one goes out.
    page.get_by_label("手机号").check()
    settings.get_by_role("button", name="保存显示设置").click()
    expect(page.locator(".flash")).to_contain_text("已保存公开卡片的显示设置")
    with db.connection_context():
        assert "phone" in User.get(User.employee_no == "HN1001").card_public

    # An htmx form on the other page from before: the token goes in the X-CSRF-Token header.
    reports.bring_to_front()
    reports.get_by_label("月份").fill(this_month())
    reports.get_by_label("计划日产液（吨/日）").fill("120")
    reports.get_by_label("计划日产油（吨/日）").fill("30")
    with reports.expect_request(lambda r: r.method == "POST" and r.url.endswith("/reports/plan")) as sent:
        reports.get_by_role("button", name="保存配产").click()
    assert sent.value.headers.get("x-csrf-token") == csrf_cookie(context)
    expect(reports.locator("#production")).to_contain_text("已保存")
    assert plan_liquid() == 120


def test_a_refused_htmx_post_says_the_page_has_expired(context, sign_in, page):
    sign_in("HN1001")
    # Another tab: its refused post logs a 400 in the console, which the `page` fixture would count as an error.
    reports = context.new_page()
    reports.goto("/reports/daily")

    def forged(route):
        # What a page from another session would send (the server heals the cookie by itself, so forge it here).
        body = re.sub(r"csrf_token=[^&]*", "csrf_token=not-the-token", route.request.post_data or "")
        route.continue_(headers={**route.request.headers, "x-csrf-token": "not-the-token"}, post_data=body)

    reports.route("**/reports/plan", forged)
    reports.get_by_label("月份").fill(this_month())
    reports.get_by_label("计划日产液（吨/日）").fill("123.5")
    reports.get_by_label("计划日产油（吨/日）").fill("30")
    reports.get_by_role("button", name="保存配产").click()
    toast = reports.get_by_role("alert").filter(has_text=EXPIRED)
    expect(toast).to_be_visible()
    assert plan_liquid() != 123.5
    # 刷新 loads the page again, and its post goes through.
    reports.unroute("**/reports/plan")
    toast.get_by_role("button", name="刷新").click()
    expect(reports.get_by_role("alert").filter(has_text=EXPIRED)).to_have_count(0)
    reports.get_by_label("月份").fill(this_month())
    reports.get_by_label("计划日产液（吨/日）").fill("123.5")
    reports.get_by_label("计划日产油（吨/日）").fill("30")
    reports.get_by_role("button", name="保存配产").click()
    expect(reports.locator("#production")).to_contain_text("已保存")
    assert plan_liquid() == 123.5
