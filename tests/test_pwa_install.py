"""The app is installable: a complete manifest, icons drawn by the server, and the links every page carries."""
import io

import pytest
from PIL import Image

from tests.conftest import login


def test_the_manifest_has_what_an_install_needs(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/manifest+json"
    manifest = response.get_json()
    assert (manifest["name"], manifest["short_name"], manifest["lang"]) == ("井站通", "井站通", "zh-CN")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["theme_color"] == "#a3141c" and "无信号" in manifest["description"]
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        picture = client.get(icon["src"])
        assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
        width, height = (int(n) for n in icon["sizes"].split("x"))
        assert Image.open(io.BytesIO(picture.data)).size == (width, height)


def test_a_maskable_icon_fills_its_square_and_keeps_the_drawing_in_the_safe_zone(client):
    image = Image.open(io.BytesIO(client.get("/icons/maskable-512.png").data)).convert("RGB")
    assert image.getpixel((0, 0)) == image.getpixel((511, 511)) == (163, 20, 28)  # no transparent corners
    # Everything white (the drawing) lies inside the central circle of 80 % the launcher may crop to.
    for x in range(0, 512, 4):
        for y in range(0, 512, 4):
            if image.getpixel((x, y)) == (255, 255, 255):
                assert (x - 256) ** 2 + (y - 256) ** 2 <= (0.4 * 512) ** 2, (x, y)


@pytest.mark.parametrize("name", ["../app.py", "icon-192.PNG", "nope.png"])
def test_unknown_icons_are_404(client, name):
    assert client.get(f"/icons/{name}").status_code == 404


def test_every_page_links_the_manifest_and_icons(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page and 'rel="apple-touch-icon"' in page
    login(client, "HN1003")
    me = client.get("/me").get_data(as_text=True)
    assert 'data-install hidden' in me and "添加到主屏幕" in me and "js/install.js" in me
