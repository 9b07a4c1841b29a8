"""End-to-end harness: a live server on a fresh demo database per test, and a phone-sized Chromium.

Every test under tests/e2e gets the `e2e` marker (`pytest -m "not e2e"` skips them). The browser is
Debian's Chromium (TESTING.md): CHROMIUM_PATH overrides /usr/bin/chromium.
"""
import contextlib
import json
import logging
import os
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import WSGIRequestHandler, make_server

from models import db
from tests.conftest import DEMO_PASSWORD, make_app

E2E_DIR = Path(__file__).resolve().parent
# A loaded 2-core CI machine can be slow to start a service worker or decode a frame: wait longer than 5 s.
expect.set_options(timeout=15_000)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
]
PHONE = "Pixel 7"
server_log = logging.getLogger("tests.e2e.server")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # tryfirst: the marker must be on the items before `-m` deselects by it.
    for item in items:
        if E2E_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)


class _RequestHandler(WSGIRequestHandler):
    """Sends werkzeug's request lines to a logger (shown with a failing test) instead of stderr."""

    def log(self, type, message, *args):
        server_log.log(logging.WARNING if type == "error" else logging.INFO, message, *args)


_served_apps = {}


@contextlib.contextmanager
def serve(app, request_handler=_RequestHandler):
    """Serve a WSGI app on 127.0.0.1 (a free port) in a thread; yields the base URL; stops and joins the thread.
    The one way the browser tests, the client benchmarks and the screenshot script serve the app."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=request_handler)
    # A short poll interval keeps shutdown() quick; new connections wake the loop anyway.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_server(templates, tmp_path):
    """Base URL of the app served from a fresh copy of the demo SQLite database, on a free port."""
    url, drop = templates["sqlite"](tmp_path, True)
    app = make_app(url, tmp_path)
    _served_apps["current"] = app
    try:
        with serve(app) as base:
            yield base
    finally:
        if not db.is_closed():
            db.close()
        drop()


@pytest.fixture
def live_app(live_server):
    """The Flask app behind live_server (to change its settings as a new deployment would)."""
    return _served_apps["current"]


@pytest.fixture
def live_db(live_server):
    """A connection, in the test's thread, to the live server's database (peewee connections are per thread)."""
    with db.connection_context():
        yield db


@pytest.fixture(scope="session")
def base_url():
    """None: browser_context_args takes the live server's URL instead.

    Also hides pytest-playwright 0.10's fallback `base_url`, a session fixture defined as an
    instance method, which pytest 9 deprecates with a warning (an error under our filterwarnings).
    """
    return None


CAMERA_WELL = "海1-02"


def wait_until(page, script, timeout_s=20, arg=None):
    """Poll an async page check until it is truthy (wait_for_function neither awaits promises nor runs under our CSP)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for: {script[:80]}"
        page.wait_for_timeout(100)


def sent_records(context):
    """The records the phone sent to /api/v1/sync, as they left it, by uuid in the order first sent (filled in as the
    test goes; a record tried again is listed once)."""
    sent = {}

    def on_request(request):
        if request.method == "POST" and request.url.endswith("/api/v1/sync"):
            for record in json.loads(request.post_data)["records"]:
                sent.setdefault(record["uuid"], record)

    context.on("request", on_request)
    return sent


def refuse_camera(page):
    """The phone refuses live video (no permission): the scan tab must still work by photo and 井号."""
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )


def write_y4m(png_bytes: bytes, path: Path, width: int = 640, height: int = 480) -> None:
    """One frame of a Y4M video showing the image centred on white: Chromium loops it as the camera."""
    from io import BytesIO

    from PIL import Image

    label = Image.open(BytesIO(png_bytes)).convert("L")
    label.thumbnail((420, 420), Image.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(label, ((width - label.width) // 2, (height - label.height) // 2))
    chroma = bytes([128]) * (width // 2) * (height // 2)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        f.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def fake_camera_args(video) -> list[str]:
    """Chromium's flags for a camera that plays `video` (a Y4M file, looped) and is allowed without asking."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]


def launch_with_camera(playwright, video):
    """Another phone: Debian's Chromium (CHROMIUM_PATH overrides) with its own fake camera playing `video`."""
    return playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                                      args=CHROMIUM_ARGS + fake_camera_args(video))


@pytest.fixture(scope="session")
def camera_well(templates, tmp_path_factory):
    """The demo well whose label the fake camera shows (tokens are the same in every copy of the demo)."""
    from models import Well
    from webapp.labels import well_label_png

    folder = tmp_path_factory.mktemp("camera")
    url, _ = templates["sqlite"](folder, True)
    make_app(url, folder)
    with db.connection_context():
        well = Well.get(Well.code == CAMERA_WELL)
    write_y4m(well_label_png(well, "http://127.0.0.1"), folder / "label.y4m")
    return {"code": well.code, "token": well.qr_token, "y4m": folder / "label.y4m",
            "latitude": float(well.latitude), "longitude": float(well.longitude)}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, camera_well):
    """pytest-playwright's launch options (--headed, --slowmo, ...) plus Debian's Chromium, its flags,
    and a fake camera that shows the label of CAMERA_WELL."""
    camera = fake_camera_args(camera_well["y4m"])
    args = list(dict.fromkeys([*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS, *camera]))
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": args,
    }


@pytest.fixture
def browser_context_args(browser_context_args, playwright, live_server, camera_well):
    """A Pixel 7 (unless --device names another) in Chinese and Beijing time, pointed at the live server,
    standing at the camera well with GPS allowed."""
    return {
        **playwright.devices[PHONE],
        **browser_context_args,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "base_url": live_server,
        "permissions": ["geolocation", "camera"],
        "geolocation": {"latitude": camera_well["latitude"], "longitude": camera_well["longitude"], "accuracy": 10},
    }


@pytest.fixture
def sign_in(page, live_server):
    """Log in through the form: sign_in("HN1003"). open_form=False fills the login page already shown.

    With succeed=True (the default) it waits until the browser has left the login page.
    """

    def _sign_in(employee_no, password=DEMO_PASSWORD, *, open_form=True, succeed=True):
        if open_form:
            page.goto("/login")
        page.get_by_label("工号").fill(employee_no)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录", exact=True).click()
        if succeed:
            expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))
            expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
        return page

    return _sign_in


def log_in(page, employee_no, password=DEMO_PASSWORD):
    """Log a fresh page of another browser context in through the form; returns the page."""
    page.goto("/login")
    page.get_by_label("工号").fill(employee_no)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))
    return page


@pytest.fixture
def desk(browser, live_server):
    """Open a desktop browser logged in as someone else: desk("HN1001") → page (closed after the test)."""
    contexts = []

    def _desk(employee_no, password=DEMO_PASSWORD):
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return log_in(context.new_page(), employee_no, password)

    yield _desk
    for context in contexts:
        context.close()


# Console errors a test may cause on purpose: a form answered 422 with its errors, and the
# phone's background calls while offline or logged out (the outbox keeps its records and retries).
# me: the CSRF cookie; notifications/count: the bell's badge, polled (a failed poll is caught, the browser logs it).
BACKGROUND_CALLS = ("/api/v1/sync", "/api/v1/signing-key", "/api/v1/photos", "/api/v1/me", "/notifications/count")
# The browser fetches the tab's icon by itself, past the service worker, whenever it likes: offline, that fails.
BROWSER_FETCHES = ("/icons/favicon-32.png", "/icons/apple-touch-icon.png")


def _expected_console_error(text, url):
    if "status of 422 " in text:
        return True
    offline = "ERR_INTERNET_DISCONNECTED" in text or "ERR_FAILED" in text or "status of 401" in text
    return url.endswith(BACKGROUND_CALLS + BROWSER_FETCHES) and offline


@pytest.fixture(autouse=True)
def _browser_errors(request):
    """Fail a test whose page threw an uncaught script error or logged a console error (e.g. a CSP block)."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    errors = []

    def on_console(message):
        url = message.location.get("url", "")
        if message.type == "error" and not _expected_console_error(message.text, url):
            errors.append(f"console error: {message.text} ({url})")

    page.on("pageerror", lambda exc: errors.append(f"uncaught script error: {exc}"))
    page.on("console", on_console)
    yield
    assert not errors, "the page reported errors:\n" + "\n".join(errors)
