"""Scan to well page shown, offline, with Chromium's fake camera showing a well label (median of N scans).

Measures from opening the 扫码 tab (camera start included) to the well page's heading being visible,
with the network off and the page served by the service worker. Run: .venv/bin/python bench/scan_offline.py [N]
"""
import statistics
import sys
import threading
import time

from common import PASSWORD, demo_app
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from models import Well, db
from tests.e2e.conftest import CHROMIUM_ARGS, write_y4m
from webapp.labels import well_label_png


class QuietHandler(WSGIRequestHandler):
    def log(self, *args):
        pass


def main(scans=10):
    app, folder = demo_app()
    with db.connection_context():
        well = Well.get(Well.code == "海1-02")
        count = Well.select().where(Well.station == well.station).count()
    write_y4m(well_label_png(well, "http://127.0.0.1"), folder / "label.y4m")
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={folder / 'label.y4m'}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + camera)
        context = browser.new_context(**p.devices["Pixel 7"], base_url=base, locale="zh-CN")
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("工号").fill("HN1003")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"{base}/")
        deadline = time.monotonic() + 30
        while page.evaluate("""async () => {
            const name = (await caches.keys()).find((n) => n.startsWith("jingzhan-pages-"));
            if (!name) return 0;
            return (await (await caches.open(name)).keys()).filter((r) => r.url.includes("/w/")).length;
        }""") < count:
            assert time.monotonic() < deadline, "offline copy not ready"
            page.wait_for_timeout(100)
        context.set_offline(True)
        times = []
        for _ in range(scans):
            began = time.perf_counter()
            page.goto("/scan")
            expect(page.get_by_role("heading", level=1)).to_contain_text("海1-02", timeout=10000)
            times.append(time.perf_counter() - began)
        browser.close()
    server.shutdown()
    print(f"scan to well page, offline, {scans} scans: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
