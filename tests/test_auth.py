"""Login with 工号 and password: wrong input, lockout, disabled accounts, sessions, safe redirects."""
import pytest

from models import AuthEvent, User, db
from tests.conftest import DEMO_PASSWORD, get_user, login

BAD = "工号或密码不正确"


def test_login_page_is_chinese(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "工号" in page and "密码" in page


def test_login_and_home(client):
    response = login(client, "HN1003")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "您好" in client.get("/").get_data(as_text=True)


def test_employee_no_is_case_and_space_insensitive(client):
    assert login(client, "  hn1003 ").status_code == 302


@pytest.mark.parametrize(
    "employee_no, password, message",
    [
        ("HN1003", "wrong-password", BAD),
        ("NOBODY", DEMO_PASSWORD, BAD),
        ("", DEMO_PASSWORD, "请输入工号和密码"),
        ("HN1003", "", "请输入工号和密码"),
        ("HN1003", "x" * 10_000, BAD),
        ("' OR 1=1 --", "' OR 1=1 --", BAD),
        ("H" * 5000, DEMO_PASSWORD, BAD),
        ("\x00\x07", DEMO_PASSWORD, "请输入工号和密码"),
    ],
)
def test_bad_credentials_get_a_clear_message(client, employee_no, password, message):
    response = login(client, employee_no, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_and_wrong_password_read_the_same(client):
    unknown = login(client, "NOBODY", "whatever1").get_data(as_text=True)
    wrong = login(client, "HN1003", "whatever1").get_data(as_text=True)
    assert unknown.replace("NOBODY", "") == wrong.replace("HN1003", "")


def test_hostile_employee_no_is_shown_as_text(client):
    page = login(client, "<script>alert(1)</script>", "x").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;" in page


def test_disabled_user_is_told_after_the_right_password_only(client, runner):
    assert runner.invoke(args=["disable-user", "HN1003"]).exit_code == 0
    assert BAD in login(client, "HN1003", "wrong-password").get_data(as_text=True)
    response = login(client, "HN1003")
    assert response.status_code == 422
    assert "该账号已停用" in response.get_data(as_text=True)
    assert runner.invoke(args=["disable-user", "HN1003", "--enable"]).exit_code == 0
    assert login(client, "HN1003").status_code == 302


def test_disabling_ends_an_open_session(client, runner):
    login(client, "HN1003")
    assert client.get("/").status_code == 200
    runner.invoke(args=["disable-user", "HN1003"])
    assert client.get("/").status_code == 302


def test_lockout_after_repeated_failures_stops_that_device_only(app, client):
    """Five wrong passwords for HN1003 from one address make that address wait — even with the right password — but
    the worker on his own phone (another address) logs in: a stranger can no longer lock anyone out before a shift."""
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert BAD in login(client, "HN1003", "wrong-password").get_data(as_text=True)
    response = login(client, "HN1003")
    assert response.status_code == 422
    assert "这台设备上登录失败次数过多" in response.get_data(as_text=True)
    own_phone = app.test_client()
    assert own_phone.post("/login", data={"employee_no": "HN1003", "password": DEMO_PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 302
    with db.connection_context():
        assert AuthEvent.select().where(AuthEvent.event == "account_locked").count() >= 1


def test_a_locked_device_costs_a_password_check_like_any_refusal(app, client, monkeypatch):
    """A locked pair answered ten times faster than an unknown 工号 (no hash was checked): every refusal checks one."""
    import webapp.logins as logins

    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        login(client, "HN1003", "wrong-password")
    checked = []
    real = logins.User.check_password
    monkeypatch.setattr(logins.User, "check_password", lambda self, pw: checked.append(pw) or real(self, pw))
    monkeypatch.setattr(logins, "check_password_hash", lambda h, pw: checked.append(pw) or False)
    assert login(client, "HN1003", "any").status_code == 422  # locked
    assert login(client, "HN9999", "any").status_code == 422  # unknown
    assert checked == ["any", "any"]


def test_success_forgives_the_wrong_passwords_before_it(app, client):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        login(client, "HN1003", "wrong-password")
    assert login(client, "HN1003").status_code == 302
    client.post("/logout")
    for _ in range(limit - 1):
        login(client, "HN1003", "wrong-password")
    assert login(client, "HN1003").status_code == 302  # the count started again at the success


def test_password_is_stored_hashed(app):
    user = get_user("HN1003")
    assert DEMO_PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def login_cookie(app, response):
    """The Set-Cookie header of the login cookie in response."""
    name = app.config["AUTH_COOKIE_NAME"]
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}="))


def test_remember_me_sets_a_long_lived_cookie(app, client):
    response = login(client, "HN1003", remember="1")
    cookie = login_cookie(app, response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Expires=" in cookie and f"Max-Age={30 * 24 * 3600}" in cookie
    # Flask-Login's own remember cookie is gone: the login session itself is remembered, on the server.
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_without_remember_me_the_cookie_ends_with_the_browser(app, client):
    cookie = login_cookie(app, login(client, "HN1003"))
    assert "Expires=" not in cookie and "Max-Age=" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/wells/", "/wells/"),
        ("/wells/?kind=key", "/wells/?kind=key"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_goes_only_to_this_site(client, target, expected):
    response = client.post("/login", query_string={"next": target}, data={"employee_no": "HN1003", "password": DEMO_PASSWORD})
    assert response.headers["Location"] == expected


def test_pages_redirect_to_login_with_next(client):
    response = client.get("/wells/?kind=key")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "请先登录" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_htmx_request_without_session_is_sent_to_login(client):
    response = client.get("/wells/?q=1", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_logout_is_post_only_and_ends_the_session(client):
    login(client, "HN1003", remember="1")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_cross_site_login_post_is_refused(client):
    response = client.post(
        "/login",
        data={"employee_no": "HN1003", "password": DEMO_PASSWORD},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert "拒绝跨站请求" in response.get_data(as_text=True)


def test_cross_origin_without_fetch_metadata_is_refused(client):
    response = client.post("/logout", headers={"Origin": "http://evil.example"})
    assert response.status_code == 403


def test_same_origin_post_is_accepted(client):
    response = client.post(
        "/login",
        data={"employee_no": "HN1003", "password": DEMO_PASSWORD},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 302


class TestChangePassword:
    def post(self, client, current, new, confirm=None):
        return client.post(
            "/password",
            data={"current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm},
        )

    @pytest.mark.parametrize(
        "current, new, confirm, message",
        [
            ("wrong", "new-password-1", None, "当前密码不正确"),
            (DEMO_PASSWORD, "short", None, "新密码至少 8 位"),
            (DEMO_PASSWORD, "new-password-1", "new-password-2", "两次输入的新密码不一致"),
            (DEMO_PASSWORD, DEMO_PASSWORD, None, "不能与当前密码相同"),
            (DEMO_PASSWORD, "y" * 200, None, "不能超过 128 位"),
            (DEMO_PASSWORD, "password123", None, "这个新密码太常见"),
            (DEMO_PASSWORD, "Qwerty123", None, "这个新密码太常见"),
            (DEMO_PASSWORD, "woaini1314", None, "这个新密码太常见"),
            (DEMO_PASSWORD, "88888888", None, "这个新密码太常见"),
            (DEMO_PASSWORD, "hn1003hn1003", None, "不能是工号"),
            (DEMO_PASSWORD, "HN1003@2026", None, "不能是工号"),
            (DEMO_PASSWORD, "Liaohe2026!", None, "拼音"),
        ],
    )
    def test_errors(self, client, current, new, confirm, message):
        login(client, "HN1003")
        response = self.post(client, current, new, confirm)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        assert get_user("HN1003").check_password(DEMO_PASSWORD)

    def test_change_keeps_this_device_and_ends_others(self, app, client):
        other = app.test_client()
        login(other, "HN1003")
        login(client, "HN1003")
        response = self.post(client, DEMO_PASSWORD, "new-password-1")
        assert response.headers["Location"] == "/me"
        assert client.get("/").status_code == 200
        assert other.get("/").status_code == 302
        assert get_user("HN1003").check_password("new-password-1")
        client.post("/logout")
        assert login(client, "HN1003", "new-password-1").status_code == 302

    def test_requires_login(self, client):
        assert client.get("/password").status_code == 302


def test_cli_create_user_and_set_password(client, runner):
    result = runner.invoke(
        args=["create-user", "--employee-no", "hn9001", "--name", "新员工", "--station", "海南二号站",
              "--role", "worker", "--role", "leader", "--password", "first-pass-1"]
    )
    assert result.exit_code == 0, result.output
    user = get_user("HN9001")
    assert user.roles == {"worker", "leader"} and user.station.name == "海南二号站"
    assert login(client, "HN9001", "first-pass-1").status_code == 302

    assert runner.invoke(args=["set-password", "HN9001", "--password", "second-pass-2"]).exit_code == 0
    assert client.get("/").status_code == 302  # the old session ended with the password
    assert login(client, "HN9001", "second-pass-2").status_code == 302


@pytest.mark.parametrize(
    "args, message",
    [
        (["--employee-no", "HN1003", "--name", "x", "--station", "海南一号站", "--password", "long-enough-1"], "已存在"),
        (["--employee-no", "HN9002", "--name", "x", "--station", "不存在站", "--password", "long-enough-1"], "找不到站"),
        (["--employee-no", "HN9003", "--name", "x", "--station", "海南一号站", "--password", "short"], "至少 8 位"),
        (["--employee-no", "HN9004", "--name", "x", "--station", "海南一号站", "--password", "a123456789"], "太常见"),
        (["--employee-no", "HN9005", "--name", "x", "--station", "海南一号站", "--password", "hn9005123"], "不能是工号"),
    ],
)
def test_cli_create_user_errors(runner, args, message):
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code != 0 and message in result.output


@pytest.mark.parametrize("password, message", [("12345678", "太常见"), ("HN1003HN1003", "不能是工号"), ("short", "至少 8 位")])
def test_cli_set_password_keeps_the_policy(runner, password, message):
    result = runner.invoke(args=["set-password", "HN1003", "--password", password])
    assert result.exit_code != 0 and message in result.output
    assert get_user("HN1003").check_password(DEMO_PASSWORD)


def test_cli_set_password_unknown_user(runner):
    result = runner.invoke(args=["set-password", "NOBODY", "--password", "long-enough-1"])
    assert result.exit_code != 0 and "找不到工号" in result.output


def test_user_roles_reject_unknown(app, dbconn):
    user = User.get(User.employee_no == "HN1003")
    with pytest.raises(ValueError):
        user.grant("king")


def test_a_background_fetch_without_a_session_leaves_the_flash_alone(client):
    """The service worker's warm-up after a logout must not eat "您已退出登录" or add "请先登录。"."""
    response = client.get("/wells/", headers={"Sec-Fetch-Mode": "same-origin", "Sec-Fetch-Dest": "empty"})
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    navigation = client.get("/wells/", headers={"Sec-Fetch-Mode": "navigate"})
    assert navigation.status_code == 302 and "/login" in navigation.headers["Location"]


BACKGROUND = {"Sec-Fetch-Mode": "same-origin", "Sec-Fetch-Dest": "empty"}


def test_the_warm_up_racing_a_logout_leaves_its_message_for_the_login_page(client):
    """After logout the service worker may still fetch pages: none of them may swallow 您已退出登录."""
    login(client, "HN1003")
    client.post("/logout")
    for path in ("/", "/me", "/wells/", "/no-such-page"):
        assert client.get(path, headers=BACKGROUND).status_code in (401, 404)
    page = client.get("/login", headers={"Sec-Fetch-Mode": "navigate"}).get_data(as_text=True)
    assert "您已退出登录" in page and "请先登录" not in page


def test_a_page_kept_for_offline_carries_no_message_and_leaves_it_for_the_user(client):
    login(client, "HN1003")
    client.post("/logout")
    login(client, "HN1003")  # the login page's message is still waiting: the next page the user opens shows it
    kept = client.get("/me", headers=BACKGROUND).get_data(as_text=True)
    assert 'role="status">' not in kept.replace('id="sync-status"', "")
    shown = client.get("/me", headers={"Sec-Fetch-Mode": "navigate"}).get_data(as_text=True)
    assert "flash" in shown


class TestPasswordSomeoneElseChose:
    """A printed one-time password (onboarding) or a temporary one an admin set opens only /password."""

    NEW = "wellhead-walk-42"

    @pytest.fixture
    def temporary(self, runner):
        result = runner.invoke(args=["set-password", "HN1003", "--password", "given-by-admin-7", "--temporary"])
        assert result.exit_code == 0, result.output
        return "given-by-admin-7"

    def test_every_page_and_api_call_waits_for_the_users_own_password(self, client, temporary):
        assert login(client, "HN1003", temporary).status_code == 302
        response = client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
        assert response.status_code == 302 and response.headers["Location"] == "/password"
        page = client.get("/password").get_data(as_text=True)
        assert "您现在用的是别人告诉您的初始密码" in page
        for path in ("/api/v1/wells", "/api/v1/check-templates"):
            answer = client.get(path)
            assert answer.status_code == 403 and answer.json["error"]["code"] == "password_change_required"
        sync = client.post("/api/v1/sync", json={"records": []})
        assert sync.status_code == 403 and sync.json["error"]["code"] == "password_change_required"
        htmx = client.get("/wells/", headers={"HX-Request": "true"})
        assert htmx.status_code == 403 and htmx.headers["HX-Redirect"] == "/password"
        assert client.get("/api/v1/me").status_code == 200  # the app shell still knows who is logged in

    def test_choosing_ones_own_opens_the_app(self, client, temporary):
        login(client, "HN1003", temporary)
        response = client.post("/password", data={"current_password": temporary, "new_password": self.NEW,
                                                   "confirm_password": self.NEW})
        assert response.status_code == 302
        assert User.get(User.employee_no == "HN1003").must_change_password is False
        assert client.get("/", headers={"Sec-Fetch-Mode": "navigate"}).status_code == 200

    def test_a_wrong_new_password_keeps_the_gate_shut(self, client, temporary):
        login(client, "HN1003", temporary)
        response = client.post("/password", data={"current_password": temporary, "new_password": "123",
                                                   "confirm_password": "123"})
        assert response.status_code == 422
        assert client.get("/").headers["Location"] == "/password"

    def test_set_password_without_temporary_is_the_users_own(self, client, runner):
        runner.invoke(args=["set-password", "HN1003", "--password", "given-by-admin-7"])
        login(client, "HN1003", "given-by-admin-7")
        assert client.get("/", headers={"Sec-Fetch-Mode": "navigate"}).status_code == 200


def test_the_password_typed_again_cannot_be_guessed_with_a_borrowed_session(client, app):
    """Wrong current passwords on /password and /sessions count like wrong logins: the account locks (429)."""
    login(client, "HN1003")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for n in range(limit):
        path, field = ("/password", "current_password") if n % 2 else ("/sessions", "password")
        response = client.post(path, data={field: f"guess-{n}-wrong", "new_password": "x" * 12, "confirm_password": "x" * 12})
        assert response.status_code == 422, (n, response.status_code)
    locked = client.post("/password", data={"current_password": DEMO_PASSWORD, "new_password": "wellhead-walk-42",
                                            "confirm_password": "wellhead-walk-42"})
    assert locked.status_code == 429 and "密码错误次数过多" in locked.get_data(as_text=True) and locked.headers["Retry-After"]
    assert client.post("/sessions", data={"password": DEMO_PASSWORD}).status_code == 429
    with db.connection_context():
        assert User.get(User.employee_no == "HN1003").check_password(DEMO_PASSWORD)  # nothing was changed
        assert AuthEvent.select().where(AuthEvent.event == "password_recheck_failed").count() == limit
    # And the lock holds at the login page too, from that device: the guesser cannot start over there.
    assert login(app.test_client(), "HN1003").status_code == 422


def test_static_files_do_not_load_the_session(client):
    """The password gate runs before every request: for static files it must not cost a database query."""
    from playhouse.test_utils import count_queries

    login(client, "HN1003")
    with count_queries() as counter:
        response = client.get("/static/css/app.css")
        assert response.status_code == 200
        response.close()
    assert counter.count == 0
