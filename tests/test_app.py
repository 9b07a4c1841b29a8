"""Page-wide behaviour: security headers, Chinese error pages, the UI shell and vendored assets."""
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "webapp" / "static"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_flags(client):
    from tests.conftest import login

    cookie = next(c for c in login(client, "HN1003").headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("path, status, text", [("/no-such-page", 404, "找不到您要的页面"), ("/wells/abc", 404, "找不到")])
def test_error_pages_are_chinese(client, path, status, text):
    response = client.get(path)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert text in body and "Not Found" not in body


def test_server_error_page_is_chinese_and_hides_the_trace(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "服务器出错了" in body and "secret internals" not in body and "Traceback" not in body


def test_htmx_is_vendored_pinned_and_configured_for_a_strict_csp(client):
    page = client.get("/login").get_data(as_text=True)
    src = re.search(r'src="(/static/vendor/htmx-(2\.0\.\d+)\.min\.js)"', page)
    assert src, "htmx 2.0.x is loaded from our own static files"
    with client.get(src.group(1)) as asset:
        assert asset.status_code == 200
    assert (STATIC / "vendor" / f"htmx-{src.group(2)}.LICENSE").exists()
    assert '"allowEval": false' in page and '"includeIndicatorStyles": false' in page
    assert "cdn" not in page.lower() and "//unpkg" not in page


def test_no_inline_scripts_or_styles_in_templates():
    templates = Path(__file__).resolve().parents[1] / "webapp" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert " style=" not in text and "<style" not in text, path
        assert not re.search(r"<[^>]+\son[a-z]+=", text), path


def test_viewport_and_language(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page


def test_tab_bar_marks_the_current_tab(login_as):
    page = login_as("HN1003").get("/me").get_data(as_text=True)
    nav = page.split('<nav class="tabbar"')[1]
    current = re.findall(r'<a href="([^"]+)" aria-current="page"', nav)
    assert current == ["/me"]


@pytest.mark.parametrize("path", ["/wells/{}", "/hazards/{}", "/review/patrols/{}", "/cards/{}", "/commitments/{}"])
def test_ids_beyond_64_bits_are_not_found(client, path):
    from tests.conftest import login

    login(client, "HN0001")
    assert client.get(path.format("9" * 30)).status_code == 404


@pytest.mark.parametrize("path", ["/review/?station={}", "/reports/monthly?station={}", "/activities/?station={}",
                                  "/handover/?station={}", "/wells/?station={}"])
def test_station_ids_beyond_64_bits_or_not_digits_are_not_found(client, path):
    from tests.conftest import login

    login(client, "HN0001")
    assert client.get(path.format("9" * 30)).status_code == 404
    assert client.get(path.format("１２")).status_code in (404, 200)  # full-width digits: never a server error
