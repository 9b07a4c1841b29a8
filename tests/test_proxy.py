"""Behind a reverse proxy (JINGZHAN_PROXY_HOPS): the client's address and scheme come from X-Forwarded-For/-Proto,
and only from as many proxies as configured; without the setting a phone cannot claim another address."""
import pytest

from models import AuthEvent, LoginAttempt, UserSession, db
from tests.conftest import DEMO_PASSWORD, get_user, make_app
from webapp.config import Config

NGINX = "127.0.0.1"  # the proxy, as the app sees the connection
PHONE = "198.51.100.23"
OTHER_PHONE = "198.51.100.24"


@pytest.fixture
def proxied(app, tmp_path, monkeypatch):
    """Another app on the same database, configured from the environment as deploy/env.example sets it up."""

    def build(hops, secure_cookies=False):
        monkeypatch.setenv("JINGZHAN_PROXY_HOPS", str(hops))
        monkeypatch.setenv("JINGZHAN_SECURE_COOKIES", "1" if secure_cookies else "0")
        monkeypatch.setenv("JINGZHAN_LOGIN_ADDRESS_MAX_FAILURES", "3")
        return make_app(app.config["DATABASE_URL"], tmp_path)

    return build


def post_login(client, employee_no, password, *, forwarded_for=None, proto=None):
    headers = {}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    if proto:
        headers["X-Forwarded-Proto"] = proto
        headers["Origin"] = f"{proto}://localhost"
    return client.post("/login", data={"employee_no": employee_no, "password": password}, headers=headers,
                       environ_base={"REMOTE_ADDR": NGINX})


def attempt_addresses():
    with db.connection_context():
        return [row.address for row in LoginAttempt.select().order_by(LoginAttempt.id)]


def test_the_setting_is_off_unless_set(monkeypatch):
    monkeypatch.delenv("JINGZHAN_PROXY_HOPS", raising=False)
    assert Config(with_secret=False).PROXY_HOPS == 0
    monkeypatch.setenv("JINGZHAN_PROXY_HOPS", "2")
    assert Config(with_secret=False).PROXY_HOPS == 2


def test_behind_one_proxy_the_throttle_counts_the_phones_own_address(proxied):
    client = proxied(hops=1).test_client()
    # nginx appends the address it saw to whatever the phone sent: only that last entry is believed.
    assert post_login(client, "NOBODY1", "wrong-password", forwarded_for=PHONE).status_code == 422
    assert post_login(client, "NOBODY2", "wrong-password", forwarded_for=f"10.0.0.1, {PHONE}").status_code == 422
    assert post_login(client, "NOBODY3", "wrong-password", forwarded_for=f"{OTHER_PHONE}, {PHONE}").status_code == 422
    assert attempt_addresses() == [PHONE] * 3
    with db.connection_context():
        assert {e.address for e in AuthEvent.select().where(AuthEvent.event == "login_failed")} == {PHONE}

    # The limit (3 here) holds for that phone, whatever it puts in front; another phone behind the same proxy
    # logs in, and its session records its own address.
    refused = post_login(client, "HN1003", DEMO_PASSWORD, forwarded_for=f"{OTHER_PHONE}, {PHONE}")
    assert refused.status_code == 429 and "尝试次数过多" in refused.get_data(as_text=True)
    assert post_login(client, "HN1003", DEMO_PASSWORD, forwarded_for=OTHER_PHONE).status_code == 302
    with db.connection_context():
        session = UserSession.get(UserSession.user == get_user("HN1003").id)
    assert session.address == OTHER_PHONE


def test_without_the_setting_forwarded_headers_are_ignored(proxied):
    """A phone talking to the app directly: every X-Forwarded-For it invents is ignored, so it is throttled."""
    client = proxied(hops=0).test_client()
    for number in range(3):
        post_login(client, f"NOBODY{number}", "wrong-password", forwarded_for=f"203.0.113.{number}")
    assert attempt_addresses() == [NGINX] * 3
    assert post_login(client, "HN1003", DEMO_PASSWORD, forwarded_for="203.0.113.99").status_code == 429
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_forwarded_https_is_https_to_the_app(proxied):
    """X-Forwarded-Proto: https from the proxy makes the request secure: HSTS as for HTTPS; with
    JINGZHAN_SECURE_COOKIES=1 (deploy/env.example) the login cookies are Secure, the login one __Host- named."""
    client = proxied(hops=1).test_client()
    assert "max-age=31536000" in client.get("/login", headers={"X-Forwarded-Proto": "https"}).headers[
        "Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/login", headers={"X-Forwarded-Proto": "http"}).headers

    client = proxied(hops=1, secure_cookies=True).test_client()
    response = post_login(client, "HN1003", DEMO_PASSWORD, forwarded_for=PHONE, proto="https")
    assert response.status_code == 302
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    cookies = {line.split("=", 1)[0]: line for line in response.headers.getlist("Set-Cookie")}
    login_cookie = cookies["__Host-jingzhan_login"]
    assert "; Secure" in login_cookie and "; HttpOnly" in login_cookie and "; Path=/" in login_cookie
    assert "Domain=" not in login_cookie
    assert all("; Secure" in line for line in cookies.values()), cookies
    # The same-origin check for writes sees the browser's https origin as this site's.
    assert client.post("/logout", headers={"X-Forwarded-Proto": "https", "Origin": "https://localhost"},
                       environ_base={"REMOTE_ADDR": NGINX}).status_code == 302
