#!/usr/bin/env python3
"""Screenshots for the user guide (docs/guide.zh.md, docs/guide.en.md), taken from the demo data (`make screenshots`).

What it does, start to end (nothing is left running):
1. builds a fresh demo database in a temporary folder, as `jingzhan seed-demo --history-days 14` does (seed_demo, then
   two weeks of history with the fixed seed 1, ending at the start of the current hour), and makes the 海南一号站
   branch's coming activity start in a few minutes, so its rotating check-in QR code is on show;
2. serves it on 127.0.0.1 (a free port, threaded werkzeug in a thread, as tests/e2e does);
3. with Debian's Chromium (CHROMIUM_PATH overrides /usr/bin/chromium; a fake camera shows the label of 海1-02)
   takes the shots of SHOTS below, in that order, each logged in as its role on a phone (412×915) or a desktop
   (1280×800), device scale factor 1;
4. writes each as a small palette PNG (Pillow: quantized, optimized) into --out (default docs/guide/img); a full run
   into the default folder also removes the PNGs there that are no longer in SHOTS.

    python scripts/screenshots.py [--out DIR] [--only name,name] [--timeout SECONDS] [--list]

Besides Chromium and a Chinese font (scripts/ensure-browser-deps.sh), Debian's fonts-noto-color-emoji (🔔 📷 in the
pages) and chromium-l10n (Chinese date fields and file buttons) make the shots look as on a phone; without them the
script still runs and says what is missing.

The shots run in the order of the table; a few rely on an earlier one's record (the leader assigns the hazard the
worker reported) and fall back to the demo's own records when run alone with --only. The exit status is 1 when a
shot fails (an HTTP error, an uncaught script error, a timeout), 2 on bad arguments, 3 when the global time bound
is exceeded. The guides must use every name of SHOTS and nothing else (tests/e2e/test_screenshots.py checks it).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_OUT = ROOT / "docs" / "guide" / "img"
# The language of the shots: zh for docs/guide.zh.md (docs/guide/img), en for docs/guide.en.md (docs/guide/img/en).
LANGUAGE = "zh"
LOCALES = {"zh": "zh-CN", "en": "en-GB"}
CATALOGUE = ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
_english: dict[str, str] = {}
PHONE = {"width": 412, "height": 915}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
CAMERA_WELL = "海1-02"  # the well whose label the fake camera shows (as in tests/e2e)
SEED = 1
PRINTED_BASE_URL = "https://jz.example.cn"
HISTORY_DAYS = 14
PALETTE_COLOURS = 96  # enough for anti-aliased Chinese text; keeps a page well under 100 KB
STEP_TIMEOUT_MS = 20_000

WORKER, LEADER, SECRETARY, ADMIN, PLANT_ADMIN = "HN1003", "HN1001", "HN1002", "HN0001", "HN0003"


# ---------------------------------------------------------------------------------------------------------------
# The shots. Each `take(page, stage)` opens its page and gets it ready; as a generator it yields when the page is
# ready to be shot and then finishes what it started (e.g. saves the form it filled).
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shot:
    name: str
    who: str  # employee no
    device: str  # "phone" or "desktop"
    take: Callable
    what: str

    @property
    def size(self) -> tuple[int, int]:
        viewport = SIZES[self.device]
        return viewport["width"], viewport["height"]


def _expect():
    from playwright.sync_api import expect

    return expect


def goto(page, path: str):
    """Open a page of the app; an HTTP error fails the shot."""
    response = page.goto(path, wait_until="load")
    if response is not None and response.status >= 400:
        raise RuntimeError(f"{path} answered HTTP {response.status}")
    return response


def settle(page):
    """Let htmx loads and fonts finish; no focus ring on the last field filled."""
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.evaluate("document.fonts.ready.then(() => document.activeElement && document.activeElement.blur())")


def bottom_of(page, selector: str, margin: int = 16):
    """Scroll so that the element ends just above the bottom of the window."""
    page.evaluate(
        "([sel, margin]) => { const el = document.querySelector(sel);"
        " window.scrollTo(0, el.getBoundingClientRect().bottom + window.scrollY - window.innerHeight + margin); }",
        [selector, margin],
    )


def top_of(page, selector: str, margin: int = 64):
    """Scroll so that the element starts just under the sticky top bar."""
    page.locator(selector).first.scroll_into_view_if_needed()
    page.evaluate(
        "([sel, margin]) => { const el = document.querySelector(sel);"
        " window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - margin); }",
        [selector, margin],
    )


def T(text: str) -> str:
    """An interface text as the page shows it in the language of the shots (the catalogue's English for en)."""
    if LANGUAGE == "zh":
        return text
    if not _english:
        from babel.messages.pofile import read_po

        with CATALOGUE.open("rb") as handle:
            _english.update({m.id: m.string for m in read_po(handle) if isinstance(m.id, str) and m.string})
    return _english[text]


def output_folder(language: str) -> Path:
    return DEFAULT_OUT if language == "zh" else DEFAULT_OUT / language


# The worker, on a phone ---------------------------------------------------------------------------------------

def worker_home(page, s):
    goto(page, "/")


def worker_scan(page, s):
    """The 扫码 tab with the fake camera on the label. The station's well directory is held back until the shot is
    taken (the scanner looks the code up in it), then the scanner must open the well page."""
    held = []
    page.route("**/api/v1/wells", lambda route: held.append(route))
    try:
        goto(page, "/scan")
        _expect()(page.locator("[data-scan-status]")).to_have_text(T("请把井口二维码放进取景框"))
        page.wait_for_function("() => document.querySelector('[data-scan-video]').readyState >= 2")
        page.wait_for_timeout(500)  # a decoded frame or two
        yield
    finally:
        page.unroute("**/api/v1/wells")
        for route in held:
            with contextlib.suppress(Exception):
                route.continue_()
    page.wait_for_url(f"**/w/{s['token']}")


def worker_well(page, s):
    goto(page, f"/w/{s['token']}")


def worker_patrol_filled(page, s):
    goto(page, f"/w/{s['token']}")
    page.get_by_role("button", name=T("沿用上次读数")).click()
    top_of(page, "#patrol")


def worker_patrol_saved(page, s):
    goto(page, f"/w/{s['token']}")
    page.get_by_role("button", name=T("沿用上次读数")).click()
    page.get_by_role("button", name=T("保存打卡")).click()
    _expect()(page.locator("[data-saved]")).to_contain_text(T("已同步到服务器"))
    _expect()(page.locator("#sync-status")).to_have_text(T("已全部同步"))
    top_of(page, "[data-saved]", margin=420)


def _open_check(page, s):
    goto(page, f"/checks/new?equipment={s['pumping_unit']}&well={s['token']}")
    _expect()(page.locator(".check-item").first).to_be_visible()


def worker_check(page, s):
    _open_check(page, s)
    page.locator(".check-item").first.get_by_role("button", name=T("正常"), exact=True).click()


def worker_check_abnormal(page, s):
    """Walk the five steps: all 正常 and numbers in the normal range, one item abnormal with a note."""
    _open_check(page, s)
    marked = False
    for _ in range(5):
        for item in page.locator(".check-item").all():
            value = item.locator("input[type=number]")
            if value.count():
                low = float(re.search(r"-?\d+(?:\.\d+)?", item.locator("[id^=range-]").inner_text()).group(0))
                value.fill(str(low + 1))
            elif not marked and "漏" in item.locator("legend").inner_text():
                item.get_by_role("button", name=T("⚠ 异常")).click()
                item.get_by_label(T("异常情况")).fill("盘根盒渗油，井口有油迹")
                marked = True
            else:
                item.get_by_role("button", name=T("正常"), exact=True).click()
        button = page.get_by_role("button", name=re.compile(f"^({re.escape(T('下一步'))}|{re.escape(T('保存检查'))})$"))
        last = button.inner_text() == T("保存检查")
        button.click()
        if last:
            break
    _expect()(page.locator("[data-check-saved]")).to_be_visible()
    _expect()(page.locator("[data-saved]")).to_contain_text(T("已同步到服务器"))


def worker_hazard(page, s):
    goto(page, "/hazards/new")
    page.get_by_label(T("位置")).select_option(label=CAMERA_WELL)
    page.get_by_label(T("隐患描述")).fill("井场东侧护栏立柱锈断，护栏倾斜")
    page.get_by_text(T("较大"), exact=True).click()
    yield
    page.get_by_role("button", name=T("保存上报")).click()  # the leader assigns it in leader-hazard-assign
    _expect()(page.locator("[data-saved]")).to_be_visible()
    _expect()(page.locator("#sync-status")).to_have_text(T("已全部同步"))


def worker_records(page, s):
    goto(page, "/records")


def worker_me(page, s):
    goto(page, "/me")
    _expect()(page.locator("#my-score")).not_to_have_attribute("hx-get", re.compile("."))  # the score card loaded


def worker_card(page, s):
    goto(page, "/cards/me")


def worker_offline(page, s):
    """No signal at the well: the banner, a patrol saved on the phone, 待同步 1 条 in the top bar."""
    goto(page, f"/w/{s['token']}")
    page.context.set_offline(True)
    try:
        page.get_by_role("button", name=T("沿用上次读数")).click()
        page.get_by_role("button", name=T("保存打卡")).click()
        _expect()(page.locator("[data-saved]")).to_contain_text(T("已保存在手机上，待同步"))
        _expect()(page.locator(".offline-banner")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        yield
    finally:
        page.context.set_offline(False)
    _expect()(page.locator("#sync-status")).to_have_text(T("已全部同步"))  # back online: sent once


def worker_outbox(page, s):
    """记录 with a patrol still on the phone (saved offline; its sync held back while the page loads)."""
    goto(page, f"/w/{s['token']}")
    context = page.context
    context.set_offline(True)
    held = False
    try:
        page.get_by_role("button", name=T("沿用上次读数")).click()
        page.get_by_role("button", name=T("保存打卡")).click()
        _expect()(page.locator("[data-saved]")).to_contain_text(T("已保存在手机上，待同步"))
        context.route("**/api/v1/sync", lambda route: route.abort("internetdisconnected"))
        held = True
        context.set_offline(False)  # only to load the page: the record cannot leave yet
        goto(page, "/records")
        context.set_offline(True)
        _expect()(page.locator("[data-outbox-list]")).to_be_visible()
        _expect()(page.locator(".offline-banner")).to_be_visible()
        yield
    finally:
        if held:
            context.unroute("**/api/v1/sync")
        context.set_offline(False)
    _expect()(page.locator("#sync-status")).to_have_text(T("已全部同步"))


# The station leader, on a desktop and a phone -----------------------------------------------------------------

def leader_dashboard(page, s):
    goto(page, "/review/")


def leader_patrol_review(page, s):
    """A pending patrol of the shift, one with a flag or 异常 if there is one; the decision buttons in view."""
    goto(page, "/review/")
    pending = page.locator("#pending li", has=page.locator("a[href*='/review/patrols/']"))
    marked = pending.filter(has=page.locator(".tag"))
    chosen = marked if marked.count() else pending
    if not chosen.count():
        chosen = page.locator("li", has=page.locator("a[href*='/review/patrols/']"))
    goto(page, chosen.first.locator("a").get_attribute("href"))
    bottom_of(page, "#patrol-review form")


def leader_hazards(page, s):
    goto(page, "/hazards/")


def leader_hazard_assign(page, s):
    """The hazard the worker reported (待分派), else the station's first open one: assignee and deadline filled in."""
    goto(page, "/hazards/")
    items = page.locator(".hazard-list li", has_text=T("待分派"))
    if not items.count():
        items = page.locator(".hazard-list li")
    goto(page, items.first.locator("a").get_attribute("href"))
    select = page.get_by_label(T("整改责任人"))
    option = select.locator("option", has_text=s["worker_name"])
    if option.count():
        select.select_option(value=option.first.get_attribute("value"))
    else:
        select.select_option(index=1)
    page.get_by_label(T("整改期限")).fill((s["today"] + timedelta(days=3)).isoformat())
    page.get_by_label(T("要求（选填）")).fill("先设警示带，三天内更换立柱并拍照")
    top_of(page, "h1")


def leader_history(page, s):
    goto(page, f"/wells/{s['history_well']}/history")


def leader_daily_report(page, s):
    goto(page, "/reports/daily")


def leader_handover(page, s):
    goto(page, "/handover/")


# The branch secretary, on a desktop ---------------------------------------------------------------------------

def secretary_home(page, s):
    goto(page, "/")
    top_of(page, "#secretary-panel")


def secretary_activities(page, s):
    goto(page, "/activities/")


def secretary_checkin_qr(page, s):
    goto(page, f"/activities/{s['live_activity']}/qr")
    _expect()(page.locator("img.qr-image")).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.qr-image').complete")


def secretary_suggestions(page, s):
    goto(page, "/suggestions/branch?status=submitted")


def secretary_board(page, s):
    goto(page, "/assessment/board")


def secretary_year(page, s):
    goto(page, "/assessment/year")


# The admins, on a desktop -------------------------------------------------------------------------------------

def admin_home(page, s):
    goto(page, "/")


def admin_overview(page, s):
    goto(page, "/review/overview")


def admin_onboarding(page, s):
    goto(page, "/admin/onboarding/")


def admin_labels(page, s):
    goto(page, "/labels/")


def admin_shifts(page, s):
    goto(page, "/admin/shifts")


def plant_overview(page, s):
    goto(page, "/plant/")


SHOTS = [
    Shot("worker-home", WORKER, "phone", worker_home, "员工首页：扫码巡检、上报隐患等常用操作"),
    Shot("worker-scan", WORKER, "phone", worker_scan, "扫码：摄像头对准井口标签，识别后打开井页面"),
    Shot("worker-well", WORKER, "phone", worker_well, "扫码打开的井页面与巡检打卡表单"),
    Shot("worker-patrol-filled", WORKER, "phone", worker_patrol_filled, "点“沿用上次读数”后的读数"),
    Shot("worker-patrol-saved", WORKER, "phone", worker_patrol_saved, "保存打卡后：已同步到服务器"),
    Shot("worker-check", WORKER, "phone", worker_check, "设备检查第 1 步：望"),
    Shot("worker-check-abnormal", WORKER, "phone", worker_check_abnormal, "检查保存后：发现异常，可一键上报隐患"),
    Shot("worker-hazard", WORKER, "phone", worker_hazard, "上报隐患表单"),
    Shot("worker-records", WORKER, "phone", worker_records, "记录：我的巡检、检查与隐患"),
    Shot("worker-me", WORKER, "phone", worker_me, "我的：积分与三亮卡入口"),
    Shot("worker-card", WORKER, "phone", worker_card, "我的三亮卡"),
    Shot("worker-offline", WORKER, "phone", worker_offline, "没有网络时保存打卡：横幅、待同步"),
    Shot("worker-outbox", WORKER, "phone", worker_outbox, "记录：手机上未同步的记录与导出"),
    Shot("leader-dashboard", LEADER, "desktop", leader_dashboard, "站长看板（电脑）"),
    Shot("leader-dashboard-phone", LEADER, "phone", leader_dashboard, "站长看板（手机）"),
    Shot("leader-patrol-review", LEADER, "desktop", leader_patrol_review, "审核一条巡检：读数对比近 7 天中位数"),
    Shot("leader-hazards", LEADER, "desktop", leader_hazards, "隐患排查整改列表"),
    Shot("leader-hazard-assign", LEADER, "desktop", leader_hazard_assign, "分派整改：责任人与期限"),
    Shot("leader-history", LEADER, "desktop", leader_history, "单井历史与曲线"),
    Shot("leader-daily-report", LEADER, "desktop", leader_daily_report, "单井日报与产量"),
    Shot("leader-handover", LEADER, "desktop", leader_handover, "交接班"),
    Shot("leader-handover-phone", LEADER, "phone", leader_handover, "交接班（手机）"),
    Shot("secretary-home", SECRETARY, "desktop", secretary_home, "首页的党支部一栏"),
    Shot("secretary-activities", SECRETARY, "desktop", secretary_activities, "支部活动"),
    Shot("secretary-checkin-qr", SECRETARY, "desktop", secretary_checkin_qr, "签到二维码（每 30 秒更换）"),
    Shot("secretary-suggestions", SECRETARY, "desktop", secretary_suggestions, "合理化建议：支部处理"),
    Shot("secretary-board", SECRETARY, "desktop", secretary_board, "《3K+行为》四比排行"),
    Shot("secretary-year", SECRETARY, "desktop", secretary_year, "年度党建工作量"),
    Shot("admin-home", ADMIN, "desktop", admin_home, "管理员首页：作业区管理一栏"),
    Shot("admin-overview", ADMIN, "desktop", admin_overview, "作业区概览：各站巡检与隐患"),
    Shot("admin-onboarding", ADMIN, "desktop", admin_onboarding, "从表格导入作业区"),
    Shot("admin-labels", ADMIN, "desktop", admin_labels, "井口二维码标签"),
    Shot("admin-shifts", ADMIN, "desktop", admin_shifts, "班次设置"),
    Shot("plant-overview", PLANT_ADMIN, "desktop", plant_overview, "采油厂：各作业区概览"),
]
NAMES = [shot.name for shot in SHOTS]


# ---------------------------------------------------------------------------------------------------------------
# The demo database, the server and the browser.
# ---------------------------------------------------------------------------------------------------------------

def build_demo(folder: Path):
    """A Flask app on a fresh demo database in folder; returns (app, stage), stage holding what the shots need."""
    from models import Activity, Equipment, FluctuationAlert, User, Well, db, utcnow
    from webapp import create_app, migrations
    from webapp.demo import seed_demo
    from webapp.generator import generate, generate_party_history
    from webapp.labels import well_label_png
    from webapp.periods import today_in

    app = create_app({
        "DATABASE_URL": f"sqlite:///{folder / 'guide.db'}",
        "SECRET_KEY": "screenshots-only",
        "INSTANCE_PATH": folder,
        "PHOTO_DIR": folder / "photos",
        "BASE_URL": PRINTED_BASE_URL,  # printed codes and the labels page: the same text on every run
    })
    with db.connection_context():
        migrations.upgrade()
        seed_demo(app.config["DEMO_PASSWORD"])
        # As `seed-demo --history-days 14` (generator.generate_history), but ending on the hour: runs within the same
        # hour draw the same records.
        end = utcnow().replace(minute=0, second=0, microsecond=0)
        generate(HISTORY_DAYS, seed=SEED, end=end, honour_intervals=True)
        generate_party_history(HISTORY_DAYS, seed=SEED, end=end)

        well = Well.get(Well.code == CAMERA_WELL)
        pumping_unit = Equipment.get((Equipment.well == well) & (Equipment.kind == "pumping_unit"))
        station = well.station
        key_wells = list(Well.select().where((Well.station == station) & Well.is_key_well).order_by(Well.code))
        alerted = {a.well_id for a in FluctuationAlert.select().where(FluctuationAlert.well.in_([w.id for w in key_wells]))}
        history_well = next((w for w in key_wells if w.id in alerted), key_wells[0] if key_wells else well)
        # The branch's coming activity starts in a few minutes (check-in opens 30 minutes before the start).
        now = utcnow().replace(microsecond=0)
        upcoming = (Activity.select().where((Activity.station == station) & (Activity.starts_at > now)
                                            & Activity.cancelled_at.is_null())
                    .order_by(Activity.starts_at).first())
        if upcoming is None:
            raise RuntimeError("the demo has no coming activity in 海南一号站党支部")
        length = upcoming.ends_at - upcoming.starts_at
        upcoming.starts_at = now + timedelta(minutes=10)
        upcoming.ends_at = upcoming.starts_at + length
        upcoming.save()
        stage = {
            "token": well.qr_token, "well_id": well.id, "latitude": float(well.latitude),
            "longitude": float(well.longitude), "pumping_unit": pumping_unit.id, "history_well": history_well.id,
            "live_activity": upcoming.id, "today": today_in(app.config["TIMEZONE"]),
            "worker_name": User.get(User.employee_no == WORKER).name,
            "label_png": well_label_png(well, PRINTED_BASE_URL),  # what the fake camera shows
        }
    return app, stage


def serve(app):
    """The app served as the browser tests serve it (tests/e2e/conftest.py), logging only the server's errors."""
    from werkzeug.serving import WSGIRequestHandler

    from tests.e2e.conftest import serve as serve_app

    class Quiet(WSGIRequestHandler):
        def log(self, type, message, *args):
            if type == "error":
                logging.getLogger("screenshots.server").warning(message, *args)

    return serve_app(app, request_handler=Quiet)


def small_png(png: bytes) -> bytes:
    """A palette PNG of the screenshot: few colours, optimized (typically 20–70 KB for a page)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    quantized = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


class Browsers:
    """One logged-in browser context per (employee, device), made when first needed."""

    def __init__(self, browser, playwright, base: str, stage: dict, password: str):
        self.browser, self.playwright, self.base, self.stage, self.password = browser, playwright, base, stage, password
        self.contexts: dict[tuple[str, str], object] = {}

    def page(self, who: str, device: str):
        key = (who, device)
        if key not in self.contexts:
            options = {
                "base_url": self.base, "locale": LOCALES[LANGUAGE], "timezone_id": "Asia/Shanghai", "device_scale_factor": 1,
                # A page that controls its own network is simpler to hold still: no service worker (the offline
                # banner and the outbox work without it).
                "service_workers": "block", "reduced_motion": "reduce",
            }
            if device == "phone":
                pixel = dict(self.playwright.devices["Pixel 7"])
                options.update({
                    "user_agent": pixel["user_agent"], "is_mobile": True, "has_touch": True, "viewport": PHONE,
                    "screen": PHONE, "permissions": ["geolocation", "camera"],
                    "geolocation": {"latitude": self.stage["latitude"], "longitude": self.stage["longitude"], "accuracy": 10},
                })
            else:
                options["viewport"] = DESKTOP
            context = self.browser.new_context(**options)
            context.set_default_timeout(STEP_TIMEOUT_MS)
            page = context.new_page()
            goto(page, "/login")
            page.get_by_label(T("工号")).fill(who)
            page.get_by_label(T("密码")).fill(self.password)
            page.get_by_role("button", name=T("登录"), exact=True).click()
            page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
            self.contexts[key] = context
        return self.contexts[key].pages[0]

    def close(self):
        for context in self.contexts.values():
            with contextlib.suppress(Exception):
                context.close()


def take(shot: Shot, page, stage: dict, out: Path) -> Path:
    errors = []

    def on_error(error):
        errors.append(error)

    page.on("pageerror", on_error)
    try:
        steps = shot.take(page, stage)
        ready = iter(steps) if steps is not None else None
        if ready is not None:
            next(ready)
        settle(page)
        png = page.screenshot(type="png", animations="disabled", caret="hide")
        if ready is not None:
            for _ in ready:
                pass
    finally:
        page.remove_listener("pageerror", on_error)
    if errors:
        raise RuntimeError(f"uncaught script error: {errors[0]}")
    path = out / f"{shot.name}.png"
    path.write_bytes(small_png(png))
    return path


def warn_missing_packages():
    import shutil
    import subprocess

    missing = []
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout if shutil.which("fc-list") else ""
    if "emoji" not in fonts.lower():
        missing.append("fonts-noto-color-emoji (emoji show as boxes)")
    if not any(Path(d, "zh-CN.pak").exists() for d in ("/usr/lib/chromium/locales", "/usr/lib/chromium-browser/locales")):
        missing.append("chromium-l10n (date fields and file buttons in English)")
    for package in missing:
        print(f"note: Debian package {package} is not installed", file=sys.stderr)


def run(names: list[str], out: Path, deadline: float) -> int:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, write_y4m

    _expect().set_options(timeout=STEP_TIMEOUT_MS)
    warn_missing_packages()
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jingzhan-guide-") as tmp:
        folder = Path(tmp)
        app, stage = build_demo(folder)
        print(f"demo database ready ({time.monotonic() - began:.1f} s)", flush=True)
        write_y4m(stage["label_png"], folder / "label.y4m")
        camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={folder / 'label.y4m'}"]
        with serve(app) as base, sync_playwright() as playwright:
            # Chinese browser UI too (date fields, "选择文件"): Chromium takes it from LANGUAGE, given Debian's
            # chromium-l10n; without that package those few controls stay in English.
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                args=[*CHROMIUM_ARGS, *camera, "--lang=zh-CN"], timeout=60_000,
                env={**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN:zh"})
            browsers = Browsers(browser, playwright, base, stage, app.config["DEMO_PASSWORD"])
            try:
                for shot in SHOTS:
                    if shot.name not in names:
                        continue
                    if time.monotonic() > deadline:
                        failures.append((shot.name, "time bound reached before this shot"))
                        continue
                    started = time.monotonic()
                    try:
                        path = take(shot, browsers.page(shot.who, shot.device), stage, out)
                        print(f"{shot.name:26} {path.stat().st_size / 1024:6.1f} KB  {time.monotonic() - started:4.1f} s",
                              flush=True)
                    except Exception as error:  # noqa: BLE001  (every failure is reported, the rest still run)
                        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                        failures.append((shot.name, message))
                        print(f"{shot.name:26} FAILED: {message}", file=sys.stderr, flush=True)
            finally:
                browsers.close()
                browser.close()
    print(f"{len(names) - len(failures)} of {len(names)} shots in {time.monotonic() - began:.0f} s → {out}", flush=True)
    for name, message in failures:
        print(f"failed: {name}: {message}", file=sys.stderr)
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Take the user guide's screenshots from a fresh demo database.")
    parser.add_argument("--language", choices=sorted(LOCALES), default="zh",
                        help="the pages' language: zh (default) for guide.zh.md, en for guide.en.md")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the PNGs (default {DEFAULT_OUT.relative_to(ROOT)}, and its en/ for English)")
    parser.add_argument("--only", default="", help="comma-separated shot names (default: all); see --list")
    parser.add_argument("--timeout", type=float, default=300, help="global time bound in seconds (default 300)")
    parser.add_argument("--list", action="store_true", help="print the shots and exit")
    args = parser.parse_args(argv)
    global LANGUAGE
    LANGUAGE = args.language
    default_out = output_folder(args.language)
    args.out = args.out or default_out
    if args.list:
        for shot in SHOTS:
            print(f"{shot.name:26} {shot.who} {shot.device:7} {shot.what}")
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()] or NAMES
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        parser.error(f"unknown shot(s): {', '.join(unknown)} (see --list)")
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")

    def give_up():
        print(f"screenshots: time bound of {args.timeout:.0f} s exceeded, stopping", file=sys.stderr, flush=True)
        os._exit(3)

    watchdog = threading.Timer(args.timeout + 60, give_up)  # the hard stop, in case a step hangs past its own timeout
    watchdog.daemon = True
    watchdog.start()
    try:
        status = run(names, args.out, time.monotonic() + args.timeout)
    finally:
        watchdog.cancel()
    if status == 0 and names == NAMES and args.out.resolve() == default_out:
        for old in sorted(default_out.glob("*.png")):  # a shot renamed or dropped from the table
            if old.stem not in NAMES:
                print(f"removed {old.relative_to(ROOT)} (no longer in SHOTS)")
                old.unlink()
    return status


if __name__ == "__main__":
    sys.exit(main())
