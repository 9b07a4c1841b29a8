"""The 扫码 camera after a code that leads nowhere: it says why and looks again (it used to stay still until the page
was opened again). A phone whose camera first sees another unit's QR code, then the well's label."""
import re
from io import BytesIO

from PIL import Image
from playwright.sync_api import expect

from models import Well, db
from tests.e2e.conftest import CAMERA_WELL, DEMO_PASSWORD, launch_with_camera, log_in
from webapp.labels import qr_image, well_label_png

WIDTH, HEIGHT, FPS = 480, 360, 10


def frame(png: bytes) -> bytes:
    """One Y4M frame (4:2:0, grey) of the image centred on white."""
    image = Image.open(BytesIO(png)).convert("L")
    image.thumbnail((320, 320), Image.NEAREST)
    canvas = Image.new("L", (WIDTH, HEIGHT), 255)
    canvas.paste(image, ((WIDTH - image.width) // 2, (HEIGHT - image.height) // 2))
    chroma = bytes([128]) * (WIDTH // 2) * (HEIGHT // 2)
    return b"FRAME\n" + canvas.tobytes() + chroma + chroma


def png_of(image) -> bytes:
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_foreign_code_is_refused_and_the_camera_looks_again(playwright, live_server, tmp_path):
    with db.connection_context():
        well = Well.get(Well.code == CAMERA_WELL)
    foreign = frame(png_of(qr_image("https://example.com/asset/4711", 300)))
    label = frame(well_label_png(well, live_server))
    video = tmp_path / "foreign-then-label.y4m"
    with open(video, "wb") as f:  # two seconds of the foreign code, then two of the label (Chromium loops it)
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        f.writelines([foreign] * (2 * FPS) + [label] * (2 * FPS))
    browser = launch_with_camera(playwright, video)
    try:
        context = browser.new_context(**playwright.devices["Pixel 7"], base_url=live_server, locale="zh-CN",
                                      permissions=["camera"])
        page = log_in(context.new_page(), "HN1003", DEMO_PASSWORD)
        page.goto("/scan")
        # Chromium on Linux has no BarcodeDetector: the vendored jsQR (without its Kanji table) reads both codes
        assert page.evaluate("!('BarcodeDetector' in window)")
        expect(page.locator("[data-scan-status]")).to_contain_text("这不是井站通的井口标签")
        expect(page).to_have_url(re.compile(rf"/w/{well.qr_token}"), timeout=15_000)
        expect(page.get_by_role("heading", level=1)).to_contain_text(CAMERA_WELL)
    finally:
        browser.close()


def test_a_phone_whose_decoder_worker_fails_reads_the_label_on_the_page(playwright, live_server, tmp_path):
    """qr-worker.js does not load (an old cache, a broken download): jsQR reads on the page instead."""
    with db.connection_context():
        well = Well.get(Well.code == CAMERA_WELL)
    video = tmp_path / "label.y4m"
    with open(video, "wb") as f:
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        f.writelines([frame(well_label_png(well, live_server))] * FPS)
    browser = launch_with_camera(playwright, video)
    try:
        context = browser.new_context(**playwright.devices["Pixel 7"], base_url=live_server, locale="zh-CN",
                                      permissions=["camera"], service_workers="block")
        context.route("**/static/js/qr-worker.js", lambda route: route.abort())
        page = log_in(context.new_page(), "HN1003", DEMO_PASSWORD)
        page.goto("/scan")
        expect(page).to_have_url(re.compile(rf"/w/{well.qr_token}"), timeout=15_000)
        expect(page.get_by_role("heading", level=1)).to_contain_text(CAMERA_WELL)
        assert page.evaluate("typeof window.jsQR") == "function"  # loaded on the page: the worker never answered
    finally:
        browser.close()
