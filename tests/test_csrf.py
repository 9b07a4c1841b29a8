"""CSRF: every unsafe request outside the JSON API carries the session's token (form field or X-CSRF-Token header),
the token lives as long as the session (never by time) and is new at each login; no GET changes state; the sync API
keeps its Origin / Sec-Fetch-Site defence (DESIGN.md) and needs no token.
"""
import json
import re
from pathlib import Path

import pytest

from models import MODELS, User, db
from tests.conftest import DEMO_PASSWORD, get_user, get_well, login
from tests.test_hazards import photo
from tests.test_sync import batch, patrol_record, post
from webapp.csrf import (
    COOKIE_NAME,
    EXPIRED_MESSAGE,
    FIELD_NAME,
    HEADER_NAME,
    SESSION_KEY,
    CsrfFormExtension,
)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
TEMPLATES = Path(__file__).resolve().parent.parent / "webapp" / "templates"
# Login-session bookkeeping (last seen, attempts, auth events) is not state a forged request could change on purpose.
BOOKKEEPING = re.compile(r"session|login_attempt|auth_event")
# Written once, lazily, on first view; never changed by a GET afterwards (see docs/decisions.md, issue 8).
LAZY_SECRETS = {("user", "card_token"), ("user", "signing_key")}
# Enough for most actions to go through when the token is right: the token is the only thing missing.
FORM = {"decision": "approve", "comment": "x", "note": "已处理", "action": "assign", "rating": "good", "phone": "1",
        "employee_no": "HN1003", "password": DEMO_PASSWORD, "title": "示范岗", "member": "1", "points": "1",
        "reason": "x", "content": "x", "target": "x", "category": "safety", "preset": "08:00-20:00 20:00-08:00"}
PEOPLE = {"admin": "HN0001", "worker": "HN1003", "anonymous": None}


def everything() -> dict:
    """Every row of every table but the login bookkeeping, by table, as sorted text."""
    with db.connection_context():
        return {model._meta.table_name: sorted(json.dumps(row, default=str, sort_keys=True) for row in model.select().dicts())
                for model in MODELS if not BOOKKEEPING.search(model._meta.table_name)}


def client_for(app, who):
    client = app.test_client()
    if PEOPLE[who]:
        assert login(client, PEOPLE[who]).status_code == 302
    return client


def unsafe_routes(app, ids):
    """(endpoint, method, url) of every rule taking an unsafe method outside /api/v1/, logout last."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(set(UNSAFE) & rule.methods):
            missing = rule.arguments - ids.keys()
            assert not missing, f"{rule.rule}: no object for {missing}; add one to the station2 fixture"
            url = adapter.build(rule.endpoint, {a: ids[a] for a in rule.arguments}, method=method)
            if not url.startswith("/api/v1/"):
                found.append((rule.endpoint, method, url))
    return sorted(found, key=lambda r: (r[0] == "auth.logout", r))


def refused(response) -> bool:
    return response.status_code == 400 and response.headers.get("X-CSRF-Expired") == "1" \
        and str(EXPIRED_MESSAGE) in response.get_data(as_text=True)


def token_of(client) -> str:
    with client.session_transaction() as session:
        return session[SESSION_KEY]


def field_token(page: str) -> str:
    return re.search(rf'<input type="hidden" name="{FIELD_NAME}" value="([^"]+)">', page).group(1)


@pytest.mark.parametrize("who", PEOPLE)
def test_every_unsafe_route_refuses_a_missing_or_wrong_token(app, station2, who):
    client = client_for(app, who)
    if not PEOPLE[who]:
        client.get("/login")
    assert token_of(client)  # the session has a token: only the requests below lack it
    routes = unsafe_routes(app, station2)
    assert {"auth.login", "auth.logout", "review.decide", "labels.regenerate", "hazards.step", "cards.photo",
            "imports.create", "activities.checkin"} <= {endpoint for endpoint, _, _ in routes}
    before = everything()
    for _endpoint, method, url in routes:
        for attempt in ({}, {"data": {**FORM, FIELD_NAME: "wrong"}}, {"headers": {HEADER_NAME: "wrong"}},
                        {"headers": {HEADER_NAME: ""}, "data": {**FORM, FIELD_NAME: ""}},
                        {"headers": {"HX-Request": "true", HEADER_NAME: "wrong" * 9}}):
            response = client.open(url, method=method, csrf=False, **({"data": FORM} | attempt))
            # Never a 2xx or 3xx; an earlier check (login, scope) may answer first, with a refusal of its own.
            assert response.status_code in (400, 401, 403, 404), (who, method, url, attempt, response.status_code)
            if response.status_code == 400:
                assert refused(response), (who, method, url, attempt)
            response.close()
    assert everything() == before


def test_with_the_right_token_every_route_gives_its_normal_answer(app, station2):
    admin = client_for(app, "admin")
    for _endpoint, method, url in unsafe_routes(app, station2):
        response = admin.open(url, method=method, data=FORM)
        assert not refused(response) and response.headers.get("X-CSRF-Expired") is None, (method, url)
        response.close()


def test_the_form_field_carries_the_token_without_javascript(client):
    page = client.get("/login").get_data(as_text=True)
    token = field_token(page)
    assert token == token_of(client) == client.get_cookie(COOKIE_NAME).value
    data = {"employee_no": "HN1003", "password": DEMO_PASSWORD}
    refused_answer = client.post("/login", data=data, csrf=False)
    assert refused(refused_answer) and "<html" in refused_answer.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in
    assert client.post("/login", data={**data, FIELD_NAME: token}, csrf=False).status_code == 302
    assert client.get("/").status_code == 200


def test_post_forms_carry_the_token_and_get_forms_do_not(app, login_as):
    client = login_as("HN0001")
    token = token_of(client)
    well = get_well("海1-07")
    page = client.get("/labels/").get_data(as_text=True)
    assert f'action="/labels/wells/{well.id}/regenerate"' in page
    for form in re.findall(r"<form\b[^>]*>\s*<input[^>]*>", page):
        assert 'method="post"' in form and f'name="{FIELD_NAME}" value="{token}"' in form
    filters = client.get("/hazards/").get_data(as_text=True)
    get_form = re.search(r'<form class="filters" method="get"[^>]*>\s*(<[^>]*>)', filters).group(1)
    assert FIELD_NAME not in get_form
    assert f'<meta name="csrf-token" content="{token}">' in filters


def test_every_post_form_in_every_template_gets_the_field(app):
    extension = CsrfFormExtension(app.jinja_env)
    forms = 0
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        done = extension.preprocess(source, path.name)
        for tag in re.finditer(r"<form\b[^>]*?>(\{\{ csrf_field\(\) \}\})?", done, re.DOTALL):
            forms += 1
            posts = re.search(r'method="post"', tag.group(0), re.IGNORECASE)
            assert bool(posts) == bool(tag.group(1)), (path, tag.group(0)[:120])
    assert forms > 60


@pytest.mark.parametrize("tag, expected", [
    ('<form method="post" action="/x">', True),
    ("<FORM action='/x' METHOD='POST'>", True),
    ('<form\n  class="card"\n  action="{{ url_for(\'x\', a=b > 1) }}"\n  method=post\n  novalidate>', True),
    ('<form {% if x > 1 %}class="a"{% endif %} method="post">', True),
    ('<form method="get" action="/x">', False),
    ('<form data-method="post-it" action="/x">', False),
    ('<form data-patrol-form novalidate>', False),
    ('<formset method="post">', False),
])
def test_the_field_is_put_after_each_post_form_tag(app, tag, expected):
    done = CsrfFormExtension(app.jinja_env).preprocess(f"<p>a</p>{tag}<input name=q></form>", "page.html")
    assert done == f"<p>a</p>{tag}" + ("{{ csrf_field() }}" if expected else "") + "<input name=q></form>"
    assert CsrfFormExtension(app.jinja_env).preprocess(tag, "mail.txt") == tag


def test_htmx_requests_send_the_token_in_a_header(app, login_as):
    client = login_as("HN1001")
    well = get_well("海1-07")
    headers = {"HX-Request": "true", "HX-Boosted": "true"}
    response = client.post(f"/labels/wells/{well.id}/regenerate", headers=headers, csrf=False)
    assert refused(response) and "<html" not in response.get_data(as_text=True)  # a notice app.js shows
    assert 'id="expired-toast"' in response.get_data(as_text=True) and "data-reload" in response.get_data(as_text=True)
    assert get_well("海1-07").qr_token == well.qr_token
    response = client.post(f"/labels/wells/{well.id}/regenerate", headers={**headers, HEADER_NAME: token_of(client)},
                           csrf=False)
    assert response.status_code == 302 and get_well("海1-07").qr_token != well.qr_token


def test_the_token_does_not_expire_and_is_new_at_each_login(app, client):
    client.get("/login")
    anonymous = token_of(client)
    login(client, "HN1003")
    first = token_of(client)
    assert first != anonymous and client.get_cookie(COOKIE_NAME).value == first
    page = client.get("/me").get_data(as_text=True)
    for _ in range(3):
        client.get("/")
        client.get("/api/v1/me")
    assert token_of(client) == first == field_token(page)  # no time, no request count ends it: the session does
    # The page kept offline from the first login still posts after a new login, because app.js copies the cookie.
    client.post("/logout")
    assert client.get_cookie(COOKIE_NAME).value == token_of(client) not in (first, anonymous)
    login(client, "HN1003")
    second = client.get_cookie(COOKIE_NAME).value
    assert second == token_of(client) != first
    assert refused(client.post("/cards/me/settings", data={"phone": "1", FIELD_NAME: first}, csrf=False))
    assert get_user("HN1003").card_public == ""
    response = client.post("/cards/me/settings", data={"phone": "1", FIELD_NAME: first}, headers={HEADER_NAME: second},
                           csrf=False)
    assert response.status_code == 302 and get_user("HN1003").card_public == "phone"


def test_a_token_planted_before_login_is_not_kept(app, client):
    with client.session_transaction() as session:
        session[SESSION_KEY] = "planted-by-someone-else"
    login(client, "HN1003")
    assert token_of(client) != "planted-by-someone-else"
    assert refused(client.post("/cards/me/settings", data={"phone": "1"}, headers={HEADER_NAME: "planted-by-someone-else"},
                               csrf=False))


def test_the_cookie_is_readable_by_the_page_and_lax(app, client):
    cookie = next(c for c in login(client, "HN1003").headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE_NAME}="))
    assert "HttpOnly" not in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    # Behind HTTPS: Secure and "__Host-" (ASVS 5.0 3.3.1, 3.3.3), still readable by app.js.
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = app.test_client()
    response = secure.post("/login", data={"employee_no": "HN1003", "password": DEMO_PASSWORD}, base_url="https://localhost")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"__Host-{COOKIE_NAME}="))
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie and "HttpOnly" not in cookie
    assert not any(c.startswith(f"{COOKIE_NAME}=") for c in response.headers.getlist("Set-Cookie"))


def test_static_files_and_anonymous_pages_without_forms_make_no_token(app, client):
    response = client.get("/static/css/app.css")
    assert response.headers.get("Set-Cookie") is None
    response.close()
    response = client.get("/offline")
    assert COOKIE_NAME not in " ".join(response.headers.getlist("Set-Cookie"))


def test_cross_site_posts_are_still_refused_with_a_token(app, login_as):
    client = login_as("HN1001")
    well = get_well("海1-07")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post(f"/labels/wells/{well.id}/regenerate", headers=headers)
        assert response.status_code == 403 and "拒绝跨站请求" in response.get_data(as_text=True)
    assert get_well("海1-07").qr_token == well.qr_token


def test_the_sync_api_needs_no_token_from_the_same_origin_and_refuses_other_sites(app, client):
    login(client, "HN1003")
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    with client.session_transaction() as session:
        session.pop(SESSION_KEY, None)  # the outbox never sends one
    response = post(client, batch(patrol_record(get_well("海1-02"))), headers=same)
    assert response.status_code == 200 and response.json["results"][0]["status"] == "created"
    assert photo(client)  # /api/v1/photos, multipart, no token
    before = everything()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}):
        response = post(client, batch(patrol_record(get_well("海1-02"))), headers=headers)
        assert response.status_code == 403 and response.is_json, headers
        response = client.post("/api/v1/photos", data={"uuid": "0d4f7c1e-8e0f-4f55-9d55-0d2c1f3e9a11"},
                               content_type="multipart/form-data", headers=headers)
        assert response.status_code == 403 and response.is_json, headers
    assert everything() == before


def _get_urls(app, ids):
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield adapter.build(rule.endpoint, {"station": ids["station_id"], **{a: ids[a] for a in rule.arguments}})


def _without_lazy_secrets(rows: dict) -> dict:
    """The rows with the lazily made secrets blanked (only a NULL may become a value)."""
    cleaned = {}
    for table, texts in rows.items():
        cleaned[table] = []
        for text in texts:
            row = json.loads(text)
            for lazy_table, column in LAZY_SECRETS:
                if table == lazy_table:
                    row[column] = None
            cleaned[table].append(json.dumps(row, sort_keys=True))
        cleaned[table].sort()
    return cleaned


@pytest.mark.dated  # every page, the shift under way and its stored handover among them: at any hour
@pytest.mark.parametrize("who", PEOPLE)
def test_no_get_changes_state(app, station2, who):
    client = client_for(app, who)
    with db.connection_context():
        # A party member whose card was never opened: showing it makes the card token (the one allowed write).
        User.update(card_token=None).where(User.id == station2["user_id"]).execute()
        lazy_before = {u.id: (u.card_token, u.signing_key) for u in User.select()}
    before = everything()
    urls = list(_get_urls(app, station2))
    assert len(urls) > 60
    for url in urls:
        client.get(url).close()
    after = everything()
    assert _without_lazy_secrets(after) == _without_lazy_secrets(before)
    with db.connection_context():
        for user in User.select():
            for old, new in zip(lazy_before[user.id], (user.card_token, user.signing_key), strict=True):
                assert old is None or old == new, user.employee_no  # made once, never replaced by a GET
