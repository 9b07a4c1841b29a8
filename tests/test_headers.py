"""Security headers on every route: walk the URL map, GET each route with real ids (as the admin and as nobody),
and check the Content-Security-Policy, nosniff, Referrer-Policy, framing, HSTS behind HTTPS, and the htmx
configuration that lets the strict policy hold."""
import json
import re
from html.parser import HTMLParser

import pytest

from tests.conftest import login


def directives(csp: str) -> dict[str, list[str]]:
    """The policy as {directive: [sources]}."""
    parsed = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            assert words[0].lower() not in parsed, f"directive {words[0]} given twice"
            parsed[words[0].lower()] = words[1:]
    return parsed


def check_headers(response, where):
    headers = response.headers
    csp = directives(headers.get("Content-Security-Policy", ""))
    assert csp.get("default-src") == ["'self'"], where
    assert csp.get("script-src") == ["'self'"], (where, csp.get("script-src"))  # no inline, no eval, no CDN
    assert csp.get("object-src") == ["'none'"], where
    assert csp.get("base-uri") == ["'none'"], where
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("form-action") == ["'self'"], where
    for sources in csp.values():
        assert not {"'unsafe-eval'", "'unsafe-inline'", "'unsafe-hashes'", "*", "http:", "https:"} & set(sources), where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    return headers


class PageScan(HTMLParser):
    """What a strict CSP would block or what htmx would evaluate: inline scripts, handlers, styles, hx-on."""

    def __init__(self):
        super().__init__()
        self.problems, self.htmx_config, self._in_script = [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if not attrs.get("src"):
                self._in_script = True
            elif not attrs["src"].startswith("/static/"):
                self.problems.append(f"script from {attrs['src']}")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "meta" and attrs.get("name") == "htmx-config":
            self.htmx_config = json.loads(attrs["content"])
        for name, value in attrs.items():
            if name.startswith("on") or name == "style" or name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and value and value.strip().lower().startswith(
                    ("javascript:", "data:text")):
                self.problems.append(f"<{tag} {name}={value[:30]}>")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline <script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def check_page(response, where):
    if response.mimetype != "text/html":
        return
    scan = PageScan()
    scan.feed(response.get_data(as_text=True))
    assert not scan.problems, (where, scan.problems)
    if scan.htmx_config is not None or "htmx" in response.get_data(as_text=True):
        config = scan.htmx_config
        assert config is not None, (where, "htmx is loaded without its configuration")
        assert config.get("allowEval") is False and config.get("includeIndicatorStyles") is False, where
        assert config.get("selfRequestsOnly", True) is True, where  # htmx 2 default: requests to this origin only


def get_urls(app, objects):
    """Every route that answers GET, with station 2's ids filled in."""
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" in rule.methods:
            yield rule, adapter.build(rule.endpoint, {a: objects[a] for a in rule.arguments})


def test_every_route_sends_the_security_headers(app, station2):
    admin = app.test_client()
    login(admin, "HN0001")
    anonymous = app.test_client()
    statuses = set()
    for rule, url in get_urls(app, station2):
        for who, client in (("admin", admin), ("anonymous", anonymous)):
            response = client.get(url)
            where = (who, rule.rule, response.status_code)
            statuses.add(response.status_code)
            headers = check_headers(response, where)
            assert "Strict-Transport-Security" not in headers, where  # plain HTTP: the header would be ignored
            check_page(response, where)
            response.close()
    assert {200, 302, 404} <= statuses, statuses  # pages, redirects to the login and error pages were all seen


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/no-such-page", 404),
    ("POST", "/wells/1", 405),
    ("GET", "/api/v1/me", 401),
    ("POST", "/api/v1/sync", 401),
])
def test_error_answers_send_them_too(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    check_headers(response, path)


def test_a_server_error_sends_them_too(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    check_headers(response, "/boom")


def test_hsts_over_https(app, client):
    response = client.get("/login", base_url="https://localhost")
    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 365 * 24 * 3600 and "includeSubDomains" in hsts
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_hsts_behind_a_tls_proxy(app, client):
    """JINGZHAN_SECURE_COOKIES=1 says the app is served over HTTPS by a proxy (the request itself looks plain)."""
    app.config["SESSION_COOKIE_SECURE"] = True
    for path in ("/login", "/static/css/app.css", "/api/v1/health", "/no-such-page"):
        response = client.get(path)
        assert "max-age=31536000" in response.headers.get("Strict-Transport-Security", ""), path
        response.close()


def test_the_policy_would_block_an_injected_inline_script(client):
    """The CSP is the second wall behind escaping: an inline <script> or on*= handler would not run."""
    csp = directives(client.get("/login").headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"] and "'unsafe-inline'" not in csp.get("style-src", [])
