"""Bytes of a five-step equipment check on the wire (without photo), and a 12-megapixel camera photo after
the phone's compression (photo.js, in Chromium). Run: .venv/bin/python bench/check_size.py
"""
import base64
import gzip
import io
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

from common import PASSWORD, demo_app
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.e2e.conftest import CHROMIUM_ARGS
from webapp.checks import DEFAULT_TEMPLATES


class QuietHandler(WSGIRequestHandler):
    def log(self, *args):
        pass


def check_record():
    items = {}
    for item in DEFAULT_TEMPLATES["pumping_unit"]:
        answer = {"ok": True}
        if item["sense"] == "ce":
            answer["value"] = 42.5
        items[item["code"]] = answer
    items["leak"] = {"ok": False, "note": "盘根盒渗油，已紧固，需更换盘根", "photos": [str(uuid.uuid4())]}
    return {"uuid": str(uuid.uuid4()), "type": "equipment_check",
            "created_at": datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds"),
            "data": {"equipment_id": 1234, "method": "scan", "qr_token": "sU2iuyD1M7S_NMOQkMafTA", "template_id": 1,
                     "items": items}}


def camera_scene(width=4000, height=3000):
    """A 12-megapixel outdoor-like picture: sky gradient, textured ground, a machine, sensor noise."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height * 0.6, width, height], fill=(96, 84, 60))
    draw.polygon([(1200, 1900), (2600, 900), (2800, 1000), (1500, 2000)], fill=(40, 40, 48))
    draw.rectangle([1300, 1900, 2000, 2400], fill=(150, 30, 30))
    noise = Image.effect_noise((width, height), 18).convert("RGB")
    image = Image.blend(image, noise, 0.12).filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def main():
    record = json.dumps(check_record(), ensure_ascii=False).encode()
    print(f"equipment check on the wire (10 items, one abnormal with note and photo id): "
          f"{len(record)} bytes JSON ({len(gzip.compress(record))} bytes gzipped)")

    app, _ = demo_app()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    original = camera_scene()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base)
        page.goto("/login")
        page.get_by_label("工号").fill("HN1003")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"{base}/")
        result = page.evaluate(
            """async (b64) => {
                const { compressPhoto } = await import("/static/js/photo.js");
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const started = performance.now();
                const blob = await compressPhoto(new Blob([bytes], { type: "image/jpeg" }));
                const ms = performance.now() - started;
                const bitmap = await createImageBitmap(blob);
                return { size: blob.size, width: bitmap.width, height: bitmap.height, ms };
            }""",
            base64.b64encode(original).decode(),
        )
        browser.close()
    server.shutdown()
    print(f"12-megapixel photo ({len(original) / 1024:.0f} KB from the camera): {result['size'] / 1024:.0f} KB "
          f"at {result['width']}×{result['height']} after compression on the phone ({result['ms']:.0f} ms)")


if __name__ == "__main__":
    main()
