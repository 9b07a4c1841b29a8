"""Commitments across roles: draft, submit, approve or return, progress from the phone (sync), rating, the card."""
import uuid

import pytest

from models import Commitment, Pairing, User, Well, WellContract, db
from tests.conftest import get_user, get_well, login
from tests.test_sync import batch, now_iso, post
from webapp.periods import today_in


def year():
    return str(today_in("Asia/Shanghai").year)


NEW = {"period": "", "category": "safety", "content": "巡检不漏井，发现隐患当班上报", "target": "全年无漏检",
       "target_quantity": "", "unit": ""}


def draft(client, submit=True, **changes):
    data = {**NEW, "period": year(), **changes}
    if submit:
        data["submit"] = "1"
    return client.post("/commitments/", data=data)


def latest(member_no):
    with db.connection_context():
        return Commitment.select().where(Commitment.member == get_user(member_no).id).order_by(Commitment.id.desc()).first()


def end_of_period(commitment):
    """Move the commitment into last year, whose rating window is open whatever the day the test runs."""
    with db.connection_context():
        Commitment.update(period=str(int(year()) - 1)).where(Commitment.id == commitment.id).execute()


def as_user(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    return client


def progress(client, commitment_id, **data):
    record = {"uuid": str(uuid.uuid4()), "type": "commitment_progress", "created_at": now_iso(),
              "data": {"commitment_id": commitment_id, "text": "参加安全培训", **data}}
    return post(client, batch(record)).json["results"][0]


def test_lifecycle_across_roles(app):
    member, secretary = as_user(app, "HN1004"), as_user(app, "HN1002")
    assert draft(member, target_quantity="40", unit="学时", category="study").status_code == 302
    commitment = latest("HN1004")
    assert commitment.status == "submitted"
    assert commitment.content in secretary.get("/commitments/review").get_data(as_text=True)
    # Progress is refused before approval.
    assert progress(member, commitment.id)["error"]["code"] == "not_approved"
    secretary.post(f"/commitments/{commitment.id}/review", data={"decision": "return"})
    assert latest("HN1004").status == "submitted"  # a return needs a comment
    secretary.post(f"/commitments/{commitment.id}/review", data={"decision": "return", "comment": "目标再具体些"})
    assert latest("HN1004").status == "returned"
    assert "目标再具体些" in member.get("/commitments/").get_data(as_text=True)
    member.post(f"/commitments/{commitment.id}/submit")
    secretary.post(f"/commitments/{commitment.id}/review", data={"decision": "approve"})
    assert latest("HN1004").status == "approved"
    assert progress(member, commitment.id, quantity=8)["status"] == "created"
    assert progress(member, commitment.id, quantity=4.5)["status"] == "created"
    card = member.get("/cards/me").get_data(as_text=True)
    assert "全年无漏检" in card and "已完成 12.5 / 40 学时" in card and "践诺记录 2 条" in card
    public = app.test_client().get(f"/c/{get_user('HN1004').card_token}").get_data(as_text=True)
    assert "已完成 12.5 / 40 学时" in public
    # 评诺 opens in the period's last month: the year ends (the commitment's period is made last year's here).
    page = secretary.get("/commitments/review").get_data(as_text=True)
    assert today_in("Asia/Shanghai").month == 12 or "起可评诺" in page
    end_of_period(commitment)
    secretary.post(f"/commitments/{commitment.id}/rate", data={"rating": "excellent"})
    assert latest("HN1004").rating == "excellent"
    assert "评诺：优秀" in member.get("/cards/me").get_data(as_text=True)


def test_draft_is_not_public(app):
    member = as_user(app, "HN1004")
    draft(member, submit=False, target="只是草稿")
    assert latest("HN1004").status == "draft"
    assert "只是草稿" not in app.test_client().get(f"/c/{get_user('HN1004').card_token}").get_data(as_text=True)


def test_non_member_cannot_commit(app):
    with db.connection_context():
        worker = User.select().where((User.station == get_user("HN1003").station_id) & ~User.is_party_member).first()
    client = as_user(app, worker.employee_no)
    response = draft(client)
    assert response.status_code == 422 and "只有党员可以作出承诺" in response.get_data(as_text=True)


def test_secretary_cannot_approve_own_or_other_branch(app):
    secretary = as_user(app, "HN1002")
    draft(secretary)
    own = latest("HN1002")
    secretary.post(f"/commitments/{own.id}/review", data={"decision": "approve"})
    assert latest("HN1002").status == "submitted"
    other_member = as_user(app, "HN2004")
    draft(other_member)
    theirs = latest("HN2004")
    assert secretary.post(f"/commitments/{theirs.id}/review", data={"decision": "approve"}).status_code == 404
    assert latest("HN2004").status == "submitted"
    worker = as_user(app, "HN1003")
    assert worker.post(f"/commitments/{own.id}/review", data={"decision": "approve"}).status_code == 403


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"content": ""}, "请写明承诺内容"),
        ({"content": "长" * 501}, "不能超过 500 字"),
        ({"target": ""}, "请写明可衡量的目标"),
        ({"period": "1999"}, "请选择承诺期"),
        ({"category": "fame"}, "请选择承诺类别"),
        ({"target_quantity": "many"}, "目标数量应为数字"),
        ({"target_quantity": "-1"}, "目标数量应大于 0"),
    ],
)
def test_bad_commitments_are_explained(app, changes, message):
    member = as_user(app, "HN1004")
    response = draft(member, **changes)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_script_in_commitment_renders_as_text(app):
    member, secretary = as_user(app, "HN1004"), as_user(app, "HN1002")
    draft(member, content="<script>alert(1)</script>", target="<img src=x onerror=alert(1)>")
    page = secretary.get("/commitments/review").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "<img src=x" not in page


def test_progress_rules(app):
    member = as_user(app, "HN1004")
    draft(member)
    commitment = latest("HN1004")
    as_user(app, "HN1002").post(f"/commitments/{commitment.id}/review", data={"decision": "approve"})
    assert progress(member, commitment.id, text="")["error"]["code"] == "missing_text"
    assert progress(member, commitment.id, quantity=-3)["error"]["code"] == "out_of_range"
    assert progress(member, commitment.id, text="x" * 600)["error"]["code"] == "too_long"
    other = as_user(app, "HN1005")
    assert progress(other, commitment.id)["error"]["code"] == "unknown_commitment"
    assert progress(member, 999999)["error"]["code"] == "unknown_commitment"


def test_commitment_page_access(app):
    member = as_user(app, "HN1004")
    draft(member)
    commitment = latest("HN1004")
    for employee_no, status in (("HN1004", 200), ("HN1002", 200), ("HN1003", 403), ("HN2002", 404), ("HN0001", 200)):
        assert as_user(app, employee_no).get(f"/commitments/{commitment.id}").status_code == status, employee_no


def test_secretary_assigns_wells_and_pairings_with_history(app):
    secretary = as_user(app, "HN1002")
    well = get_well("海1-20")
    member = get_user("HN1006")
    page = secretary.get("/party/contacts").get_data(as_text=True)
    assert "承包井" in page and "海1-20" in page
    secretary.post("/party/contracts", data={"well_id": well.id, "member_id": member.id})
    secretary.post("/party/contracts", data={"well_id": well.id, "member_id": get_user("HN1007").id})
    with db.connection_context():
        assert Well.get_by_id(well.id).contractor.employee_no == "HN1007"
        history = list(WellContract.select().where(WellContract.well == well).order_by(WellContract.id))
        assert [h.member.employee_no for h in history][-2:] == ["HN1006", "HN1007"]
        assert history[-2].end_date is not None and history[-1].end_date is None
    partner = get_user("HN1020")
    secretary.post("/party/pairings", data={"member_id": member.id, "partner_id": partner.id, "kind": "colleague", "active": "1"})
    assert partner.name in as_user(app, "HN1006").get("/cards/me").get_data(as_text=True)
    secretary.post("/party/pairings", data={"member_id": member.id, "partner_id": partner.id, "kind": "colleague", "active": "0"})
    with db.connection_context():
        ended = Pairing.get((Pairing.member == member.id) & (Pairing.partner == partner.id))
        assert ended.end_date is not None


def test_pairing_rules(app):
    secretary = as_user(app, "HN1002")
    non_member = None
    with db.connection_context():
        non_member = User.select().where((User.station == get_user("HN1003").station_id) & ~User.is_party_member).first()
    response = secretary.post("/party/contracts", data={"well_id": get_well("海1-20").id, "member_id": non_member.id},
                              follow_redirects=True)
    assert "承包井须由本站党员承包" in response.get_data(as_text=True)
    assert secretary.post("/party/contracts", data={"well_id": get_well("海2-20").id, "member_id": ""}).status_code == 404
    me = get_user("HN1002")
    response = secretary.post("/party/pairings", data={"member_id": me.id, "partner_id": me.id, "kind": "colleague", "active": "1"},
                              follow_redirects=True)
    assert "不能与自己结对" in response.get_data(as_text=True)
    assert as_user(app, "HN1003").get("/party/contacts").status_code == 403


def test_the_secretarys_own_commitment_is_reviewed_at_the_work_area_level(app):
    secretary = as_user(app, "HN1002")
    draft(secretary)
    own = latest("HN1002")
    admin = as_user(app, "HN0001")
    page = admin.get(f"/commitments/{own.id}").get_data(as_text=True)
    assert "同意公开承诺" in page
    admin.post(f"/commitments/{own.id}/review", data={"decision": "approve"})
    assert latest("HN1002").status == "approved"
    end_of_period(own)
    admin.post(f"/commitments/{own.id}/rate", data={"rating": "good"})
    assert latest("HN1002").rating == "good"
    assert "同意公开承诺" not in secretary.get(f"/commitments/{own.id}").get_data(as_text=True)


@pytest.mark.parametrize("period", ["next_year", "this_year_unless_december"])
def test_a_commitment_is_never_rated_before_its_period_ends(app, period):
    """A 2027 commitment rated “excellent” in December 2026 gave +10 KO and first place in 四比: 评诺 opens only in
    the period's last month, never for the future."""
    today = today_in("Asia/Shanghai")
    if period == "this_year_unless_december" and today.month == 12:
        pytest.skip("this year's rating window is open in December")
    member, secretary = as_user(app, "HN1004"), as_user(app, "HN1002")
    draft(member, period=str(today.year + 1) if period == "next_year" else year())
    commitment = latest("HN1004")
    secretary.post(f"/commitments/{commitment.id}/review", data={"decision": "approve"})
    response = secretary.post(f"/commitments/{commitment.id}/rate", data={"rating": "excellent"}, follow_redirects=True)
    assert "起才能评诺" in response.get_data(as_text=True)
    assert latest("HN1004").rating is None
    assert "起可评诺" in secretary.get("/commitments/review").get_data(as_text=True)


def test_the_rating_window_of_each_kind_of_period():
    from datetime import date

    from webapp.party import rating_opens

    assert rating_opens("2026") == date(2026, 12, 1)
    assert [rating_opens(f"2027Q{q}") for q in (1, 2, 3, 4)] == [date(2027, m, 1) for m in (3, 6, 9, 12)]
