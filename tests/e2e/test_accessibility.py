"""Accessibility: every page each role uses passes axe-core with no serious or critical violation, on a phone and on
a desktop, and so do forms after a failed submit (their errors shown).

The pages come from the URL map: every GET page without path arguments, and every page with arguments filled with
an object of 海南一号站 from the demo work area and 14 days of its generated history (so lists, charts, tags and
timelines are not empty). A role is shown the pages that answer it 200 with a whole HTML document (a fragment for
htmx is checked inside the page that loads it). axe-core 4 (tests/vendor/axe-core, never served by the app) is
evaluated in the page through the DevTools protocol, which the pages' CSP (script-src 'self') does not apply to.
AXE_REPORT=file appends every violation of any impact to that file, to review the moderate and minor ones.
"""
import hashlib
import os
import re
import uuid as uuid_module
from pathlib import Path

import pytest
from playwright.sync_api import expect

from models import (Activity, Commitment, Equipment, EquipmentCheck, Hazard, Patrol, PioneerProject, Station, Suggestion, User,
                    Well, utcnow)
from tests.e2e.conftest import _expected_console_error, log_in, refuse_camera, wait_until

AXE_SOURCE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
AXE_RUN = "axe.run(document, {resultTypes: ['violations']})"
BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 900}
# The demo logins of issue 10: worker (party member), station leader, branch secretary, work-area admin, plant admin.
ROLES = ("HN1003", "HN1001", "HN1002", "HN0001", "HN0003")
# GET endpoints that never answer with an HTML page (images, PDFs, workbooks, the service worker, JSON).
NOT_PAGES = {
    "static", "pwa.service_worker", "pwa.manifest", "pwa.icon", "photos.show", "photos.thumb", "labels.well_png",
    "labels.station_pdf", "cards.badge", "cards.qr", "cards.public_photo", "cards.branch_badges", "activities.qr_png",
    "onboarding.template", "onboarding.passwords", "reports.daily_export", "reports.monthly_export",
    "assessment.year_export", "pwa.script_messages",
}
# Pages whose content a script draws after load: what shows that it is done.
DRAWN_BY_SCRIPT = {"checks.new": ".steps, [data-check-wizard] .form-error"}
# Pages with path arguments that are reached by submitting a form (SUBMITTED_FORMS), not opened by their URL.
BY_FORM = {"onboarding.result"}


def demo_objects(app, days: int = 14) -> dict:
    """Path arguments per endpoint: objects of 海南一号站 (the demo logins' station), after 14 days of history."""
    from webapp.activities import step_code, time_step
    from webapp.generator import generate_history
    from webapp.sync import sync_batch

    generate_history(days)
    station = Station.get(Station.name == "海南一号站")
    worker = User.get(User.employee_no == "HN1003")
    if not Hazard.select().where(Hazard.station == station).exists():  # the generated history may have none here
        now = utcnow().isoformat(timespec="seconds") + "Z"
        record = {"uuid": str(uuid_module.uuid4()), "type": "hazard", "created_at": now,
                  "data": {"well_id": Well.get(Well.station == station).id, "description": "盘根漏油", "severity": "major"}}
        sync_batch(worker, {"device_id": "a11y", "sent_at": now, "records": [record]}, settings=app.config)
    # A key well and a piece of its equipment: its pages show the most (alerts, curves, the 望闻听摸测 wizard).
    equipment = (Equipment.select(Equipment, Well).join(Well).where((Well.station == station) & Well.is_key_well)
                 .order_by(Well.code).first())
    well = equipment.well
    # A record still to review, flagged or abnormal if there is one: the review pages then show all they can.
    patrol = (Patrol.select().where(Patrol.station == station)
              .order_by(Patrol.review_status != "pending", Patrol.is_abnormal.desc(), Patrol.flags.desc()).first())
    check = (EquipmentCheck.select().where(EquipmentCheck.station == station)
             .order_by(EquipmentCheck.review_status != "pending", EquipmentCheck.is_abnormal.desc()).first())
    hazard = Hazard.select().where(Hazard.station == station).order_by(Hazard.id.desc()).first()
    activity = Activity.select().where(Activity.station == station).order_by(Activity.starts_at.desc()).first()
    suggestion = Suggestion.select().where(Suggestion.station == station).order_by(Suggestion.id).first()
    project = PioneerProject.select().where(PioneerProject.station == station).first()
    commitment = Commitment.select().where(Commitment.member == worker).first()
    step = time_step(utcnow())
    return {
        "checks.new": {"equipment": equipment.id},  # query arguments: the 望闻听摸测 wizard
        "wells.show": {"well_id": well.id}, "history.show": {"well_id": well.id}, "wells.scanned": {"qr_token": well.qr_token},
        # An NFC tag's page, with the banner of a tap (AN12196's SUN example: nothing is verified on the page).
        "wells.tapped": {"well_id": well.id, "e": "EF963FF7828658A599F3041510671E88", "c": "94EED9EE65337086"},
        "review.patrol": {"patrol_id": patrol.id}, "review.check": {"check_id": check.id},
        "hazards.show": {"hazard_id": hazard.id},
        "cards.show": {"user_id": worker.id}, "cards.public": {"token": worker.issue_card_token()},
        "activities.show": {"activity_id": activity.id}, "activities.update": {"activity_id": activity.id},
        "activities.qr": {"activity_id": activity.id},
        "activities.checkin": {"activity_id": activity.id, "step": step, "code": step_code(activity, step)},
        "suggestions.show": {"suggestion_id": suggestion.id},
        "projects.show": {"project_id": project.id}, "projects.update": {"project_id": project.id},
        "commitments.show": {"commitment_id": commitment.id}, "assessment.member": {"user_id": worker.id},
        "plant.area": {"area_id": station.work_area_id},
        "admin.edit_template": {"kind": "pumping_unit"}, "admin.edit_procedure": {"topic": "equipment:pumping_unit"},
        "admin.edit_readings": {"well_kind": "injection"}, "assessment.year_figure": {"figure": "hazards_found"},
        "procedures.show": {"topic": "equipment:pumping_unit"},
    }


def page_urls(app, objects) -> list[tuple[str, str | None]]:
    """Every page of the URL map (GET, not an image, file or API), with demo objects for its path arguments, and what
    to wait for before checking it (DRAWN_BY_SCRIPT)."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.rule.startswith("/api/"):
            continue
        if rule.endpoint in BY_FORM:
            continue
        assert not rule.arguments or rule.endpoint in objects, \
            f"{rule.rule}: name a demo object for it in demo_objects(), or how to reach it in SUBMITTED_FORMS"
        urls.append((adapter.build(rule.endpoint, objects.get(rule.endpoint, {})), DRAWN_BY_SCRIPT.get(rule.endpoint)))
    return urls


class Audit:
    """One browser page of one size: runs axe in it and keeps what axe finds and what the page reports as errors."""

    def __init__(self, context, size: str):
        self.context, self.size = context, size
        self.page = context.new_page()
        refuse_camera(self.page)  # else the scanner reads the fake camera's well label and leaves /scan by itself
        self.failures, self.errors = [], []
        self.allowed_failures = set()  # paths answering 401/403/404 on purpose (an error page, a request it causes)
        self.where = ""
        self.page.on("pageerror", lambda exc: self.errors.append(f"[{size}] uncaught script error: {exc}"))
        self.page.on("console", self._console)

    def _console(self, message):
        url = message.location.get("url", "")
        if (message.type == "error" and not _expected_console_error(message.text, url)
                and not url.endswith(tuple(self.allowed_failures))):
            self.errors.append(f"[{self.size}] console error on {self.where}: {message.text} ({url})")

    def open(self, url: str, drawn: str | None = None, act=None, shown: str | None = None) -> None:
        """Open the page, do `act` (e.g. submit a form wrongly) and wait until `shown` is visible."""
        self.where = url
        self.page.goto(url)
        if drawn:
            expect(self.page.locator(drawn).first).to_be_visible()
        if act:
            act(self.page)
            expect(self.page.locator(shown).first).to_be_visible()

    def start(self) -> None:
        """Start axe on the page as it is (once any htmx request it made is answered), without waiting for it."""
        if wait_until(self.page, "() => !document.querySelector('.htmx-request') && (window.axe ? 'axe' : 'none')") != "axe":
            self.page.evaluate(AXE_SOURCE)
        self.page.evaluate(f"() => {{ window.axeResult = {AXE_RUN}; }}")

    def finish(self, where: str) -> None:
        """Wait for axe; keep its serious and critical violations."""
        result = self.page.evaluate("() => window.axeResult")
        where = f"[{self.size}] {where}"
        for violation in result["violations"]:
            _tally(where, violation)
            if violation["impact"] in BLOCKING:
                for node in violation["nodes"]:
                    target = " ".join(map(str, node["target"]))
                    self.failures.append(f"{where}: {violation['id']} ({violation['impact']}) at {target} — {violation['help']}")


def check(audits, url: str, where: str, **how) -> None:
    """Open the page in every size and check it there: axe runs in the pages at the same time."""
    for audit in audits:
        audit.open(url, **how)
        audit.start()
    for audit in audits:
        audit.finish(where)


def new_content(page, url: str, checked: set) -> bool:
    """Whether the page is one of this user's (200, a whole document) with a <main> not checked yet (the same page
    of another role with the same content is not checked again)."""
    answer = page.request.get(url, max_redirects=0)
    body = answer.text() if answer.status == 200 else ""
    answer.dispose()
    main = re.search(r"<main[^>]*>(.*)</main>", body, re.S) if body.lstrip()[:15].lower() == "<!doctype html>" else None
    if main is None:
        return False  # refused (403/404), redirected, or a fragment or file
    key = hashlib.sha1(re.sub(r'(csrf_token|uuid)" value="[^"]*"', "", main.group(1)).encode()).hexdigest()
    if key in checked:
        return False
    checked.add(key)
    return True


_TALLY: dict = {}


def _tally(where: str, violation: dict) -> None:
    _TALLY.setdefault((violation["id"], violation["impact"]), []).append(
        f"{where} ×{len(violation['nodes'])}: " + "; ".join(" ".join(map(str, n["target"])) for n in violation["nodes"][:3]))


@pytest.fixture(scope="module", autouse=True)
def _axe_report():
    yield
    path = os.environ.get("AXE_REPORT")
    if path and _TALLY:
        with open(path, "a", encoding="utf-8") as f:
            for (rule, impact), places in sorted(_TALLY.items()):
                f.write(f"{rule} [{impact}] on {len(places)} page(s)\n" + "".join(f"    {p}\n" for p in places))
        _TALLY.clear()


# Forms submitted, per role: (page, what to do, what must then be on screen). Mostly submitted wrongly, so that their
# errors show: server-side (a 422 page or htmx fragment) and phone-side (outbox forms checked by their script) alike.
def _submit(label):
    return lambda page: page.get_by_role("button", name=label, exact=True).click()


def _fill_and_submit(field, value, label):
    """field: its label, or a CSS selector (starting with #)."""
    def act(page):
        (page.locator(field) if field.startswith("#") else page.get_by_label(field, exact=True)).fill(value)
        page.get_by_role("button", name=label, exact=True).click()
    return act


def _upload(rows: dict, confirm: bool):
    """Upload spreadsheets on the onboarding page; with confirm, import them (the result page)."""
    def act(page):
        from tests.test_onboarding import xlsx

        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        for kind, kind_rows in rows.items():
            page.locator(f"#file-{kind}").set_input_files(
                files=[{"name": f"{kind}.xlsx", "mimeType": mime, "buffer": xlsx(kind, kind_rows)}])
        page.get_by_role("button", name="检查并预览").click()
        if confirm:
            page.get_by_role("button", name="确认导入").click()
    return act


SUBMITTED_FORMS = {
    None: [("/login", _fill_and_submit("密码", "not-the-password", "登录"), "#login-error")],
    "HN1003": [
        ("/password", _fill_and_submit("当前密码", "wrong-password", "保存新密码"), "#current_password-error"),
        ("/scan", _fill_and_submit("井号", "海9-99", "打开井页面"), "#code-error"),
        ("wells.show", _fill_and_submit("#r-water_cut_pct", "999", "保存打卡"), "#r-water_cut_pct-error"),
        ("/hazards/new", _submit("保存上报"), "#h-description-error"),
        ("checks.new", _submit("下一步"), ".check-item .field-error"),
        ("/suggestions/new", _submit("提交建议"), "#s-title-error"),
    ],
    "HN1001": [("review.patrol", _submit("退回并批注"), "#patrol-review .form-error")],
    "HN1002": [("/activities/new", _submit("安排活动"), "#topic-error"), ("/projects/new", _submit("保存"), ".form-error")],
    "HN0001": [
        ("/admin/shifts", _fill_and_submit("#custom", "08:00-09:00", "保存"), ".form-error"),
        ("/admin/onboarding/", _upload({"wells": [["海9-01", "没有这个站", "采油井", "是", None, None, 4]]}, False),
         "#onboarding-problems"),
        ("/admin/onboarding/", _upload({"stations": [["海南五号站", "海南五号站党支部", "生产站", 5]],
                                        "staff": [["HN5001", "钱站长", "男", "海南五号站", "站长", "是", None, "员工、站长"]]},
                                       True), "#onboarding-result"),
    ],
    "HN0003": [("/plant/", lambda page: (page.get_by_label("作业区名称", exact=True).fill("海南作业区"),
                                         page.get_by_label("管理员工号").fill("HN0001"),
                                         page.get_by_label("管理员姓名").fill("张三"),
                                         page.get_by_role("button", name="新建作业区").click()), "[role=alert]")],
}


def submitted_forms(audits, who, objects, app) -> None:
    adapter = app.url_map.bind("localhost")
    for where, act, shown in SUBMITTED_FORMS[who]:
        url = where if where.startswith("/") else adapter.build(where, objects[where])
        check(audits, url, f"{who or 'anonymous'} {url} submitted → {shown}", drawn=DRAWN_BY_SCRIPT.get(where), act=act,
              shown=shown)


@pytest.fixture
def browser_context_args(browser_context_args):
    """The phone of the other e2e tests, without its service worker (its offline copy of the wells would load the
    server while the pages are checked; /offline is checked as a page)."""
    return {**browser_context_args, "service_workers": "block"}


def test_every_page_passes_axe(browser, browser_context_args, live_server, live_app, live_db):
    """Phone and desktop side by side: each page is opened in both, and axe runs in both at once."""
    objects = demo_objects(live_app)
    urls = page_urls(live_app, objects)
    phone = Audit(browser.new_context(**browser_context_args), "phone")
    desktop = Audit(browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai",
                                        viewport=DESKTOP, service_workers="block"), "desktop")
    audits = (phone, desktop)
    try:
        # Nobody logged in: the login page, the offline page, the scanner (it asks for the well directory: 401), a
        # public 三亮 card, a check-in code opened by a phone's own camera app, and the error page.
        for audit in audits:
            audit.allowed_failures |= {"/no-such-page", "/api/v1/wells"}
        for url in ("/login", "/offline", "/scan", page_url(live_app, "cards.public", objects), "/no-such-page",
                    page_url(live_app, "activities.checkin", objects)):
            check(audits, url, f"anonymous {url}")
        submitted_forms(audits, None, objects, live_app)
        for audit in audits:
            audit.allowed_failures -= {"/api/v1/wells"}
        checked = set()
        for employee_no in ROLES:
            for audit in audits:
                audit.context.clear_cookies()
                log_in(audit.page, employee_no)
            for url, drawn in urls:
                if new_content(phone.page, url, checked):
                    check(audits, url, f"{employee_no} {url}", drawn=drawn)
            submitted_forms(audits, employee_no, objects, live_app)
        # The error page of someone logged in: the plant admin on the leader's dashboard.
        for audit in audits:
            audit.allowed_failures.add("/review/")
        check(audits, "/review/", "HN0003 /review/ (403)")
    finally:
        for audit in audits:
            audit.context.close()
    failures = phone.failures + desktop.failures
    assert not failures, f"axe-core {_axe_version()} found serious or critical problems:\n" + "\n".join(failures)
    errors = phone.errors + desktop.errors
    assert not errors, "the pages reported errors:\n" + "\n".join(errors)


def page_url(app, endpoint, objects) -> str:
    """The URL of a page with path arguments, for the demo object named in objects."""
    return app.url_map.bind("localhost").build(endpoint, objects[endpoint])


def _axe_version() -> str:
    return re.search(r"axe v([\d.]+)", AXE_SOURCE[:200]).group(1)
