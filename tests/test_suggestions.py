"""合理化建议: the sync contract of the `suggestion` record, the branch's decisions and who may make them, 我的建议."""
import uuid
from datetime import timedelta

import pytest
from playhouse.test_utils import count_queries

from models import Suggestion, db
from webapp.periods import open_since, today_in
from tests.conftest import get_user, login
from tests.test_sync import batch, now_iso, post

HTMX = {"HX-Request": "true"}


def record(uid=None, created_at=None, **data):
    body = {"title": "加热炉加装超温报警", "body": "现状：炉温靠人看。\n建议：加装超温报警。", **data}
    return {"uuid": uid or str(uuid.uuid4()), "type": "suggestion", "created_at": created_at or now_iso(), "data": body}


def send(client, *records):
    response = post(client, batch(*records))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def as_user(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    return client


def suggestion(uid) -> Suggestion:
    with db.connection_context():
        return Suggestion.get(Suggestion.uuid == uid)


def count() -> int:
    with db.connection_context():
        return Suggestion.select().count()


@pytest.fixture
def written(app):
    """A suggestion of the worker HN1003 (海南一号站), synced; returns its row."""
    rec = record()
    [result] = send(as_user(app, "HN1003"), rec)
    assert result["status"] == "created"
    return suggestion(rec["uuid"])


def decide(client, suggestion_id, decision, note="", **headers):
    return client.post(f"/suggestions/{suggestion_id}/decision", data={"decision": decision, "note": note}, headers=headers)


# The sync contract

def test_created_once_then_duplicate(app):
    worker = as_user(app, "HN1003")
    rec = record()
    [first] = send(worker, rec)
    assert first["status"] == "created"
    for _ in range(2):
        assert send(worker, rec) == [{"uuid": rec["uuid"], "status": "duplicate", "id": first["id"]}]
    row = suggestion(rec["uuid"])
    assert (row.id, row.status, row.title) == (first["id"], "submitted", "加热炉加装超温报警")
    assert row.body.splitlines() == ["现状：炉温靠人看。", "建议：加装超温报警。"]
    assert count() == 1


def test_the_record_and_the_answer_follow_the_openapi_spec(app):
    from tests.test_openapi import check, check_request

    good = record()
    check_request(batch(good))
    response = post(as_user(app, "HN1003"), batch(good, record(title="")))
    check("/sync", "post", response)
    assert [r["status"] for r in response.json["results"]] == ["created", "rejected"]


def test_same_uuid_with_other_content_is_a_conflict(app):
    worker = as_user(app, "HN1003")
    rec = record()
    send(worker, rec)
    [again] = send(worker, record(uid=rec["uuid"], title="另一条建议"))
    assert again["status"] == "rejected" and again["error"]["code"] == "conflict"
    assert suggestion(rec["uuid"]).title == "加热炉加装超温报警"


def test_author_and_branch_come_from_the_session_only(app):
    secretary = get_user("HN2002")
    rec = record(author_id=secretary.id, author=secretary.id, station_id=secretary.station_id, status="adopted")
    send(as_user(app, "HN1003"), rec)
    row = suggestion(rec["uuid"])
    worker = get_user("HN1003")
    assert (row.author_id, row.station_id, row.status, row.decided_by_id) == (worker.id, worker.station_id, "submitted", None)


def test_no_session_is_401_and_nothing_is_kept(client):
    assert post(client, batch(record())).status_code == 401
    assert count() == 0


@pytest.mark.parametrize("data, code, field", [
    ({"title": ""}, "missing_title", "title"),
    ({"title": "   \n\t "}, "missing_title", "title"),
    ({"title": "\x00\x07\u202e"}, "missing_title", "title"),
    ({"title": None}, "missing_title", "title"),
    ({"title": 42}, "invalid_value", "title"),
    ({"title": ["建议"]}, "invalid_value", "title"),
    ({"title": "长" * 81}, "too_long", "title"),
    ({"body": ""}, "missing_body", "body"),
    ({"body": "\x00 \x1b"}, "missing_body", "body"),
    ({"body": {"text": "x"}}, "invalid_value", "body"),
    ({"body": "很" * 2001}, "too_long", "body"),
    ({"body": "很" * 100_000}, "too_long", "body"),
])
def test_refused_with_a_chinese_reason(app, data, code, field):
    [result] = send(as_user(app, "HN1003"), record(**data))
    assert result["status"] == "rejected"
    assert result["error"]["code"] == code and result["error"]["field"] == field
    assert not result["error"]["message"].isascii()
    assert count() == 0


def test_longest_allowed_title_and_body_are_kept_whole(app):
    rec = record(title="长" * 80, body="很" * 2000)
    assert send(as_user(app, "HN1003"), rec)[0]["status"] == "created"
    row = suggestion(rec["uuid"])
    assert len(row.title) == 80 and len(row.body) == 2000


def test_hostile_text_is_cleaned_then_shown_as_text(app):
    rec = record(title="<script>alert(1)</script>\u202e\x00\n标题", body="第一行\n<img src=x onerror=alert(2)>\x00\x1b[31m")
    send(as_user(app, "HN1003"), rec)
    row = suggestion(rec["uuid"])
    assert row.title == "<script>alert(1)</script>标题"  # one line, no control or direction characters
    assert row.body == "第一行\n<img src=x onerror=alert(2)>[31m"
    for client, path in ((as_user(app, "HN1002"), "/suggestions/branch"), (as_user(app, "HN1003"), "/suggestions/"),
                         (as_user(app, "HN1003"), f"/suggestions/{row.id}")):
        page = client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in page, path
        assert "<script>alert" not in page and "<img src=x" not in page, path


def test_the_outbox_page_works_offline(client):
    """The form is a page the service worker keeps, and its script is precached."""
    login(client, "HN1003")
    page = client.get("/suggestions/new").get_data(as_text=True)
    assert "data-suggestion-form" in page and "js/suggestion-form.js" in page
    worker = client.get("/sw.js").get_data(as_text=True)
    assert '"/suggestions/new"' in worker and '"/static/js/suggestion-form.js"' in worker


# Decisions

def test_secretary_adopts_and_the_author_sees_it(app, written):
    secretary = as_user(app, "HN1002")
    listing = secretary.get("/suggestions/branch").get_data(as_text=True)
    assert written.title in listing and "处理这条建议" in listing
    response = decide(secretary, written.id, "adopted", "下月安排实施", **HTMX)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and f'id="suggestion-{written.id}"' in fragment and "已采纳" in fragment
    row = suggestion(written.uuid)
    assert (row.status, row.decided_by_id, row.decision_note) == ("adopted", get_user("HN1002").id, "下月安排实施")
    assert row.decided_at is not None
    mine = as_user(app, "HN1003").get("/suggestions/").get_data(as_text=True)
    assert "已采纳" in mine and "下月安排实施" in mine and "改变处理结果" not in mine
    assert "我的建议" in as_user(app, "HN1003").get("/me").get_data(as_text=True)


def test_declining_needs_a_reason(app, written):
    secretary = as_user(app, "HN1002")
    response = decide(secretary, written.id, "declined", "  \x00 ", **HTMX)
    assert response.status_code == 422 and "不采纳时请写明理由" in response.get_data(as_text=True)
    assert suggestion(written.uuid).status == "submitted"
    assert decide(secretary, written.id, "maybe", "x").status_code == 422
    assert suggestion(written.uuid).status == "submitted"
    response = decide(secretary, written.id, "declined", "已有同类改造计划")
    assert response.status_code == 302 and "/suggestions/branch" in response.headers["Location"]
    row = suggestion(written.uuid)
    assert (row.status, row.decision_note) == ("declined", "已有同类改造计划")


def test_a_changed_decision_records_who_and_when_a_note_edit_does_not(app, written):
    decide(as_user(app, "HN1002"), written.id, "declined", "暂不具备条件")
    first = suggestion(written.uuid)
    # Back to the first moment of the settlement window (last month's first day): still open to change whatever
    # the day the test runs, and far enough back that a new decision time is told from it.
    earlier = open_since(today_in(app.config["TIMEZONE"]), app.config["TIMEZONE"]) + timedelta(minutes=1)
    with db.connection_context():
        Suggestion.update(decided_at=earlier).where(Suggestion.id == written.id).execute()
    decide(as_user(app, "HN0001"), written.id, "adopted", "党总支复议后采纳")
    changed = suggestion(written.uuid)
    assert changed.status == "adopted" and changed.decided_by_id == get_user("HN0001").id
    assert changed.decided_at >= first.decided_at > earlier
    decide(as_user(app, "HN1002"), written.id, "adopted", "党总支复议后采纳；已列入计划")
    edited = suggestion(written.uuid)
    assert edited.decision_note.endswith("已列入计划")
    assert (edited.decided_by_id, edited.decided_at) == (changed.decided_by_id, changed.decided_at)


@pytest.mark.parametrize("employee_no, expected", [
    ("HN2002", 404),  # the secretary of another branch: like an unknown id
    ("HN1004", 403),  # a colleague of the author, not the secretary
    ("HN1001", 403),  # the station's leader is not the branch
    ("HN1003", 403),  # the author decides nothing about their own
])
def test_only_the_branch_or_the_work_area_decides(app, written, employee_no, expected):
    client = as_user(app, employee_no)
    assert decide(client, written.id, "adopted", "x").status_code == expected
    assert decide(client, written.id, "declined", "x", **HTMX).status_code == expected
    assert suggestion(written.uuid).status == "submitted"
    if employee_no != "HN1003":
        assert client.get(f"/suggestions/{written.id}").status_code == (404 if employee_no == "HN2002" else 403)


def test_admin_decides_any_branch(app, written):
    admin = as_user(app, "HN0001")
    station = get_user("HN1003").station_id
    assert written.title in admin.get(f"/suggestions/branch?station={station}").get_data(as_text=True)
    assert decide(admin, written.id, "adopted").status_code == 302
    assert suggestion(written.uuid).status == "adopted"


def test_a_secretarys_own_suggestion_goes_to_the_work_area(app):
    rec = record()
    secretary = as_user(app, "HN1002")
    send(secretary, rec)
    row = suggestion(rec["uuid"])
    page = secretary.get("/suggestions/branch").get_data(as_text=True)
    assert row.title in page and "处理这条建议" not in page
    assert decide(secretary, row.id, "adopted").status_code == 403
    assert decide(as_user(app, "HN0001"), row.id, "adopted").status_code == 302


@pytest.mark.parametrize("employee_no, path, expected", [
    ("HN1003", "/suggestions/branch", 403),
    ("HN1001", "/suggestions/branch", 403),
    ("HN2002", "/suggestions/branch?station={station}", 404),
    ("HN1002", "/suggestions/branch?station={station}", 200),
    ("HN1002", "/suggestions/999999", 404),
    ("HN1002", "/suggestions/99999999999999999999999/decision", 404),
])
def test_branch_list_scope(app, employee_no, path, expected):
    client = as_user(app, employee_no)
    path = path.format(station=get_user("HN1002").station_id)
    method = client.post if path.endswith("/decision") else client.get
    assert method(path).status_code == expected


def test_branch_lists_only_its_own_suggestions(app, written):
    other = record(title="二号站的建议")
    send(as_user(app, "HN2003"), other)
    page = as_user(app, "HN1002").get("/suggestions/branch").get_data(as_text=True)
    assert written.title in page and "二号站的建议" not in page
    assert "二号站的建议" in as_user(app, "HN2002").get("/suggestions/branch").get_data(as_text=True)


def test_filters_by_status_and_month(app):
    worker, secretary = as_user(app, "HN1003"), as_user(app, "HN1002")
    old, new = record(title="上个月的建议", created_at=now_iso(timedelta(days=-45))), record(title="本月的建议")
    send(worker, old, new)
    decide(secretary, suggestion(old["uuid"]).id, "adopted")
    this_month = now_iso()[:7]

    def titles(**params):
        response = secretary.get("/suggestions/branch", query_string=params, headers=HTMX)
        assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
        assert "HX-Request" in response.headers["Vary"]
        text = response.get_data(as_text=True)
        return {t for t in ("上个月的建议", "本月的建议") if t in text}

    assert titles() == {"上个月的建议", "本月的建议"}
    assert titles(status="adopted") == {"上个月的建议"}
    assert titles(status="submitted") == {"本月的建议"}
    assert titles(month=this_month) == {"本月的建议"}
    assert titles(month=this_month, status="adopted") == set()
    assert titles(status="nonsense") == {"上个月的建议", "本月的建议"}
    page = secretary.get("/suggestions/branch?status=adopted").get_data(as_text=True)
    assert "<html" in page and 'value="adopted" checked' in page
    bad = secretary.get("/suggestions/branch?month=2026-13", headers=HTMX)
    assert bad.status_code == 422 and "月份应在 01 到 12 之间" in bad.get_data(as_text=True)


def test_branch_list_costs_the_same_queries_for_one_or_many(app, written):
    secretary, worker = as_user(app, "HN1002"), as_user(app, "HN1003")

    def counted():
        with count_queries() as counter:
            assert secretary.get("/suggestions/branch").status_code == 200
        return counter.count

    decide(secretary, written.id, "adopted")
    one = counted()
    results = send(worker, *[record(title=f"建议{n}") for n in range(8)])
    for result in results[:3]:
        decide(secretary, result["id"], "declined", "理由")
    assert counted() == one
