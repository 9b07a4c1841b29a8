"""A live server and a browser for the client-side benchmarks (check_size, scan_offline, client_pages).

The app is served as tests/e2e/conftest.py serves it (werkzeug, threaded, 127.0.0.1 on a free port, a thread that
is shut down and joined at the end), optionally behind `NginxGzip`, which compresses what deploy/nginx.conf.example
compresses, and counts what goes on the wire. Chromium is launched as TESTING.md says (CHROMIUM_ARGS of the e2e
harness, CHROMIUM_PATH overrides /usr/bin/chromium).
"""
import contextlib
import gzip
import http.cookiejar
import os
import re
import threading
import time
import urllib.parse
import urllib.request

from werkzeug.serving import WSGIRequestHandler

from tests.e2e.conftest import CHROMIUM_ARGS, write_y4m  # noqa: F401  (write_y4m re-exported for scan_offline)
from tests.e2e.conftest import serve as serve_app

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# deploy/nginx.conf.example: gzip (nginx's default level 1) for /static/ and /sw.js only; pages and JSON go uncompressed.
GZIP_PATHS = ("/static/", "/sw.js")
GZIP_TYPES = ("text/css", "text/javascript", "application/javascript", "application/json", "application/manifest+json",
              "image/svg+xml")
GZIP_LEVEL = 1


class _Quiet(WSGIRequestHandler):
    def log(self, *args):
        pass


class NginxGzip:
    """WSGI middleware standing in for the production proxy: compresses as nginx would, and logs every response
    (monotonic time, method, path, status, body bytes sent) in `self.log`."""

    def __init__(self, app, compress=True):
        self.app, self.compress, self.log, self._lock = app, compress, [], threading.Lock()

    def _record(self, environ, status, size):
        with self._lock:
            self.log.append((time.monotonic(), environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), status, size))

    def __call__(self, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None  # the app under us uses the iterable, as Flask does

        body = self.app(environ, capture)
        try:
            chunks = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        status, headers = captured["status"], list(captured["headers"])
        kind = next((v for k, v in headers if k.lower() == "content-type"), "").split(";")[0].strip()
        path = environ.get("PATH_INFO", "")
        if (self.compress and path.startswith(GZIP_PATHS) and kind in GZIP_TYPES and len(chunks) >= 20
                and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "") and environ["REQUEST_METHOD"] != "HEAD"
                and status.startswith("200")):
            chunks = gzip.compress(chunks, GZIP_LEVEL)
            # nginx keeps the validator but weakens it: the compressed bytes are not the file's
            headers = [(k, v if k.lower() != "etag" or v.startswith("W/") else f"W/{v}") for k, v in headers
                       if k.lower() not in ("content-length", "content-encoding")]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(chunks))), ("Vary", "Accept-Encoding")]
        self._record(environ, int(status.split()[0]), len(chunks))
        start_response(status, headers)
        return [chunks]

    def since(self, began: float) -> list:
        with self._lock:
            return [row for row in self.log if row[0] >= began]


def serve(app):
    """The e2e harness's server (tests/e2e/conftest.py), without request lines."""
    return serve_app(app, request_handler=_Quiet)


def http_login(base: str, employee_no: str, password: str) -> list[dict]:
    """Log in through the login form over HTTP (CSRF field included); returns the cookies, as Playwright takes them."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode({"employee_no": employee_no, "password": password, "csrf_token": token}).encode()
    with opener.open(f"{base}/login", data=form, timeout=30) as response:
        assert not response.url.rstrip("/").endswith("/login"), "login refused"
    cookies = [{"name": c.name, "value": c.value, "url": base} for c in jar]
    assert any("login" in c["name"] for c in cookies), [c["name"] for c in cookies]
    return cookies


def browser_login(page, base: str, employee_no: str, password: str) -> None:
    """Log a page in through the form, as a worker does."""
    page.goto(f"{base}/login")
    page.get_by_label("工号").fill(employee_no)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base}/")


def launch(playwright, extra_args=()):
    """Debian's Chromium with the flags of TESTING.md (headless)."""
    return playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=[*CHROMIUM_ARGS, *extra_args], timeout=60_000)


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise TimeoutError in the main thread after `seconds` (SIGALRM), so that the `finally`s close the browser and
    stop the server even when a page never answers; run_all.py's own limit is a little longer."""
    import signal

    def expire(signum, frame):
        raise TimeoutError(f"the benchmark ran out of its {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
