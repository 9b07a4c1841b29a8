"""Injection and markup: hostile text typed everywhere a user can type is stored as typed and shown as text.

Each test seeds one kind of user text through the real routes and API — script tags, an htmx attribute that would
log the viewer out on load, a Jinja expression and SQL fragments — then renders every page that shows it, as the
people who see it, and parses the page: the text must be there as text, and no element, attribute or evaluated
expression may come out of it. Reflected input (query strings, the 井号 search) is checked the same way.
"""
import json
import uuid as uuid_module
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from models import (
    Activity,
    Commitment,
    Deduction,
    EquipmentCheck,
    Handover,
    Hazard,
    Milestone,
    ModelPost,
    Patrol,
    PioneerProject,
    Suggestion,
    db,
    utcnow,
)
from tests.conftest import get_user, get_well, login
from tests.test_checks import all_ok, check_record
from tests.test_sync import batch, now_iso, patrol_record, post

# 117 characters: fits every note, description, topic and target (the shortest of them takes 120).
LONG = ('<script>alert(1)</script><div hx-get="/logout" hx-trigger="load">{{7*7}}</div>'
        "<img src=x onerror=alert(1)>' OR 1=1;--")
# For titles and names (60–80 characters at most).
SHORT = "<i hx-get=/logout hx-trigger=load>{{7*7}}';--<script>"
# For the 井号 box (30 characters).
TINY = "<i hx-get=/logout>{{7*7}}';--"
HTMX = {"HX-Request": "true"}


class Page(HTMLParser):
    """The elements of a page and everything it shows as text (text nodes and attribute values, decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        self.text.extend(value for _, value in attrs if value)

    def handle_data(self, data):
        self.text.append(data)


def shown_as_text(client, url, payload, *, prefix=None, headers=None, status=200):
    """GET url and check that payload (its first `prefix` characters) is shown as text and made no markup."""
    response = client.get(url, headers=headers or {})
    assert response.status_code == status, (url, response.status_code)
    html = response.get_data(as_text=True)
    page = Page()
    page.feed(html)
    text = "\n".join(page.text)
    expected = payload[:prefix] if prefix else payload
    assert expected in text, (url, "the text is not shown", expected)
    for tag, attrs in page.elements:
        for name, value in attrs:
            assert not name.startswith("on"), (url, tag, name)  # onerror=… from the payload
            assert not (name.startswith(("hx-", "data-hx-")) and "/logout" in (value or "")), (url, tag, name)
        if tag == "script":
            assert dict(attrs).get("src", "").startswith("/static/"), (url, "a script without our src")
        assert not (tag == "img" and dict(attrs).get("src") == "x"), url
        assert not (tag == "i" and any(name.startswith("hx-") for name, _ in attrs)), url
    assert "{{7*7}}" not in expected or "{{7*7}}" in text, (url, "the template expression was evaluated")
    # Raw markup from the payload would appear unescaped in the source; escaped it never does.
    for raw in ("<script>alert(1)", '<div hx-get="/logout"', "<img src=x", "<i hx-get"):
        assert raw not in html, (url, raw)
    return html


def as_user(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    return client


def sync(client, *records):
    response = post(client, batch(*records))
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.json["results"]
    assert all(r["status"] == "created" for r in results), results
    return results


def record(kind, data):
    return {"uuid": str(uuid_module.uuid4()), "type": kind, "created_at": now_iso(), "data": data}


def test_patrol_notes_and_review_comments(app):
    worker, leader = as_user(app, "HN1003"), as_user(app, "HN1001")
    well = get_well("海1-02")
    [result] = sync(worker, patrol_record(well, abnormal=True, note=LONG))
    with db.connection_context():
        assert Patrol.get_by_id(result["id"]).note == LONG  # stored as typed: the SQL fragment is only text
    for url in (f"/review/patrols/{result['id']}", f"/wells/{well.id}/history", "/handover/"):
        shown_as_text(leader, url, LONG)
    shown_as_text(worker, "/records", LONG)
    # The leader returns it with a hostile comment; the worker sees the comment in 记录.
    response = leader.post(f"/review/patrols/{result['id']}", data={"decision": "return", "comment": LONG})
    assert response.status_code in (200, 302, 303), response.status_code
    shown_as_text(worker, "/records", LONG)
    shown_as_text(leader, f"/review/patrols/{result['id']}", LONG)


def test_check_notes(app):
    worker, leader = as_user(app, "HN1003"), as_user(app, "HN1001")
    items = all_ok("pumping_unit")
    first = next(code for code, answer in items.items() if "value" not in answer)
    items[first] = {"ok": False, "note": LONG}
    [result] = sync(worker, check_record("海1-02", items=items))
    with db.connection_context():
        assert json.loads(EquipmentCheck.get_by_id(result["id"]).results)[first]["note"] == LONG
    shown_as_text(leader, f"/review/checks/{result['id']}", LONG)
    shown_as_text(leader, f"/wells/{get_well('海1-02').id}/history", LONG)


def test_hazard_descriptions_and_step_notes(app):
    worker, leader = as_user(app, "HN1003"), as_user(app, "HN1001")
    well = get_well("海1-02")
    [result] = sync(worker, record("hazard", {"well_id": well.id, "description": LONG, "severity": "general"}))
    with db.connection_context():
        assert Hazard.get_by_id(result["id"]).description == LONG
    for client in (worker, leader):
        for url in ("/hazards/", f"/hazards/{result['id']}", f"/wells/{well.id}", f"/wells/{well.id}/history"):
            shown_as_text(client, url, LONG)
    shown_as_text(leader, "/hazards/", LONG, headers=HTMX)  # the fragment htmx swaps in, too
    deadline = (utcnow() + timedelta(days=3)).date().isoformat()
    response = leader.post(f"/hazards/{result['id']}/steps", data={
        "action": "assign", "assignee_id": str(get_user("HN1004").id), "deadline": deadline, "note": LONG[::-1]})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    shown_as_text(leader, f"/hazards/{result['id']}", LONG[::-1])


def test_commitments_progress_and_review_comments(app):
    member, secretary = as_user(app, "HN1004"), as_user(app, "HN1002")
    year = str(utcnow().year)
    response = member.post("/commitments/", data={"period": year, "category": "safety", "content": LONG,
                                                   "target": LONG, "target_quantity": "", "unit": "", "submit": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with db.connection_context():
        commitment = Commitment.select().where(Commitment.member == get_user("HN1004").id).order_by(
            Commitment.id.desc()).first()
    assert commitment.content == LONG and commitment.target == LONG
    shown_as_text(member, "/commitments/", LONG)
    shown_as_text(secretary, "/commitments/review", LONG)
    shown_as_text(secretary, f"/commitments/{commitment.id}", LONG)
    # Returned with a hostile comment, then submitted again and approved: the card shows it to everyone.
    assert secretary.post(f"/commitments/{commitment.id}/review", data={"decision": "return", "comment": LONG[:100]}
                          ).status_code == 302
    shown_as_text(member, f"/commitments/{commitment.id}", LONG[:100])
    assert member.post(f"/commitments/{commitment.id}/submit").status_code == 302
    assert secretary.post(f"/commitments/{commitment.id}/review", data={"decision": "approve"}).status_code == 302
    sync(member, record("commitment_progress", {"commitment_id": commitment.id, "text": LONG}))
    shown_as_text(member, f"/commitments/{commitment.id}", LONG)
    shown_as_text(member, "/cards/me", LONG)
    shown_as_text(as_user(app, "HN2003"), f"/cards/{commitment.member_id}", LONG)  # a colleague of another station
    token = get_user("HN1004").issue_card_token() if not get_user("HN1004").card_token else get_user("HN1004").card_token
    shown_as_text(app.test_client(), f"/c/{token}", LONG)  # the public card, no login


def test_suggestions_and_decision_notes(app):
    author, secretary = as_user(app, "HN1003"), as_user(app, "HN1002")
    [result] = sync(author, record("suggestion", {"title": LONG[:80], "body": LONG}))
    with db.connection_context():
        row = Suggestion.get_by_id(result["id"])
    assert (row.title, row.body) == (LONG[:80], LONG)
    for client, url in ((author, "/suggestions/"), (author, f"/suggestions/{row.id}"),
                        (secretary, "/suggestions/branch"), (secretary, f"/suggestions/{row.id}")):
        shown_as_text(client, url, LONG[:80])
    shown_as_text(author, f"/suggestions/{row.id}", LONG)
    response = secretary.post(f"/suggestions/{row.id}/decision", data={"decision": "declined", "note": LONG})
    assert response.status_code in (200, 302)
    shown_as_text(author, f"/suggestions/{row.id}", LONG)
    shown_as_text(secretary, "/suggestions/branch", LONG)


def test_activity_topics_places_and_notes(app):
    secretary, member = as_user(app, "HN1002"), as_user(app, "HN1003")
    start = utcnow() + timedelta(days=1)
    local = lambda at: (at + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    with db.connection_context():
        invitees = [str(u.id) for u in get_user("HN1002").station.staff if u.is_party_member]
    response = secretary.post("/activities/new", data={
        "kind": "theme_day", "topic": LONG, "place": SHORT, "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=2)), "note": LONG, "hours": "", "days": "", "invitees": invitees})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    with db.connection_context():
        activity = Activity.select().order_by(Activity.id.desc()).first()
    assert (activity.topic, activity.place) == (LONG, SHORT)
    shown_as_text(secretary, "/activities/", LONG)
    shown_as_text(secretary, f"/activities/{activity.id}", LONG)
    shown_as_text(secretary, f"/activities/{activity.id}", SHORT)
    shown_as_text(member, f"/activities/{activity.id}", LONG)
    shown_as_text(member, "/activities/mine", LONG)


def test_handover_notes_and_reasons(app):
    worker, colleague = as_user(app, "HN1003"), as_user(app, "HN1004")
    import re

    page = worker.get("/handover/").get_data(as_text=True)
    form = {f"reason-{well_id}": LONG for well_id in re.findall(r'name="reason-(\d+)"', page)}
    form["note"] = LONG
    response = worker.post("/handover/", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    with db.connection_context():
        handover = Handover.get()
    assert handover.note == LONG
    shown_as_text(worker, "/handover/", LONG)
    assert colleague.post(f"/handover/{handover.id}/confirm", data={"note": LONG[::-1]}).status_code == 302
    shown_as_text(colleague, "/handover/", LONG[::-1])


def test_deduction_reasons(app):
    secretary, member = as_user(app, "HN1002"), as_user(app, "HN1003")
    month = utcnow().strftime("%Y-%m")
    response = secretary.post("/assessment/deductions", data={
        "member": get_user("HN1003").id, "month": month, "points": "1", "reason": LONG})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    with db.connection_context():
        assert Deduction.get().reason == LONG
    shown_as_text(secretary, f"/assessment/deductions?month={month}", LONG)
    shown_as_text(secretary, f"/assessment/members/{get_user('HN1003').id}?month={month}", LONG)
    shown_as_text(member, f"/assessment/me?month={month}", LONG)


def test_project_milestone_and_post_names(app):
    secretary, member = as_user(app, "HN1002"), as_user(app, "HN1003")
    today = utcnow().date()
    response = secretary.post("/projects/new", data={
        "title": SHORT, "goal": LONG, "leader_id": str(get_user("HN1004").id), "well_id": "",
        "starts_on": (today - timedelta(days=1)).isoformat(), "due_on": (today + timedelta(days=60)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    with db.connection_context():
        project = PioneerProject.get()
    assert (project.title, project.goal) == (SHORT, LONG)
    response = secretary.post(f"/projects/{project.id}/milestones", data={
        "title": SHORT[::-1], "owner_id": str(get_user("HN1003").id), "due_on": (today + timedelta(days=10)).isoformat()})
    assert response.status_code == 302
    with db.connection_context():
        milestone = Milestone.get()
    assert member.post(f"/projects/milestones/{milestone.id}/done", data={"note": LONG[::-1][:100]}).status_code in (200, 302)
    for client in (secretary, member):
        shown_as_text(client, "/projects/", SHORT)
        shown_as_text(client, f"/projects/{project.id}", LONG)
        shown_as_text(client, f"/projects/{project.id}", SHORT[::-1])
        shown_as_text(client, f"/projects/{project.id}", LONG[::-1][:100])
    response = secretary.post("/posts/", data={"member_id": str(get_user("HN1003").id), "title": SHORT})
    assert response.status_code == 302
    with db.connection_context():
        assert ModelPost.get().title == SHORT
    shown_as_text(secretary, "/posts/", SHORT)
    shown_as_text(member, "/cards/me", SHORT)
    shown_as_text(as_user(app, "HN2003"), f"/cards/{get_user('HN1003').id}", SHORT)


def test_well_codes_typed_in_the_search(app):
    worker = as_user(app, "HN1003")
    response = worker.post("/scan", data={"code": TINY})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    page = Page()
    page.feed(html)
    assert TINY in "\n".join(page.text) and "<i hx-get" not in html


def test_tables_survive_the_sql_fragments(app):
    worker = as_user(app, "HN1003")
    sync(worker, patrol_record(get_well("海1-02"), abnormal=True, note="x'); DROP TABLE patrol; --"))
    sync(worker, record("suggestion", {"title": "'; DELETE FROM suggestion; --", "body": "\" OR \"1\"=\"1"}))
    worker.post("/scan", data={"code": "' OR 1=1 --"})
    with db.connection_context():
        assert Patrol.select().where(Patrol.note == "x'); DROP TABLE patrol; --").count() == 1
        assert Suggestion.select().where(Suggestion.title == "'; DELETE FROM suggestion; --").count() == 1


QUERY_ARGS = ("station", "q", "show", "status", "month", "year", "day", "shift", "before", "key", "range", "period",
              "via", "corrects", "check", "equipment", "next", "filter", "kind")


@pytest.mark.parametrize("employee_no", ["HN1001", "HN0001"])
def test_query_strings_are_never_reflected_as_markup(app, employee_no):
    """Every page, asked with hostile text in every query argument the app reads: never a 500, never markup."""
    client = as_user(app, employee_no)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in ("static", "pwa.service_worker"):
            continue
        response = client.get(rule.rule, query_string={name: LONG for name in QUERY_ARGS})
        assert response.status_code < 500, (rule.rule, response.status_code)
        html = response.get_data(as_text=True)
        for raw in ("<script>alert(1)", '<div hx-get="/logout"', "<img src=x"):
            assert raw not in html, (rule.rule, raw)
        response.close()
