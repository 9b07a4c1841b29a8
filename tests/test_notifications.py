"""The bell: what each role is told, computed from the records; and the optional Web Push channel."""
import base64
import json
import os
from datetime import date, timedelta

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from models import Commitment, FluctuationAlert, Hazard, Patrol, PushSubscription, User, Well, db, utcnow
from tests.conftest import login
from tests.test_hazards import record, send
from tests.test_sync import batch, patrol_record, post
from webapp import push
from webapp.notifications import feed


def count(client):
    return client.get("/notifications/count").json["unread"]


def station1_well():
    with db.connection_context():
        user = User.get(User.employee_no == "HN1003")
        return Well.select().where(Well.station == user.station_id).order_by(Well.code).first()


@pytest.fixture
def worker(app):
    client = app.test_client()
    login(client, "HN1003")
    return client


def test_the_leader_hears_of_a_flagged_check_in_until_it_is_reviewed(app, leader, worker):
    well = station1_well()
    leader.post("/notifications/seen")  # what the demo already holds (commitments approved at seeding) is read
    [result] = post(worker, batch(patrol_record(well, method="manual"))).json["results"]
    assert count(leader) == 1
    page = leader.get("/notifications/").get_data(as_text=True)
    assert f"到场存疑：{well.code}" in page and "手工输入井号" in page and f"/review/patrols/{result['id']}" in page
    assert page.count("<strong>新</strong>") == 1 and count(leader) == 1  # a GET changes nothing...
    assert leader.post("/notifications/seen", headers={"HX-Request": "true"}).status_code == 204  # ...the shown page posts
    assert count(leader) == 0
    assert "<strong>新</strong>" not in leader.get("/notifications/").get_data(as_text=True)
    leader.post(f"/review/patrols/{result['id']}", data={"decision": "approve"})
    assert f"到场存疑：{well.code}" not in leader.get("/notifications/").get_data(as_text=True)


def test_alerts_and_overdue_hazards_reach_the_leader_and_the_contracted_member(app, leader, worker):
    well = station1_well()
    [patrol] = post(worker, batch(patrol_record(well))).json["results"]
    with db.connection_context():
        Well.update(contractor=User.get(User.employee_no == "HN1003").id).where(Well.id == well.id).execute()
        alert = FluctuationAlert.create(well=well.id, patrol=patrol["id"], metric="current_up_a", value=90, baseline=40)
    [hazard] = send(worker, record("hazard", {"well_id": well.id, "description": "井口渗漏", "severity": "general"}))
    with db.connection_context():
        Hazard.update(deadline=date.today() - timedelta(days=2)).where(Hazard.id == hazard["id"]).execute()
    leader_page = leader.get("/notifications/").get_data(as_text=True)
    assert f"重点井波动：{well.code}" in leader_page and "上行电流升至 90" in leader_page
    assert "隐患超期未整改" in leader_page and "井口渗漏" in leader_page
    member_page = worker.get("/notifications/").get_data(as_text=True)
    assert f"重点井波动：{well.code}" in member_page and "隐患超期" not in member_page  # overdue is the leader's
    with db.connection_context():
        FluctuationAlert.update(acknowledged_at=utcnow(), action_note="调参").where(FluctuationAlert.id == alert.id).execute()
    assert "重点井波动" not in worker.get("/notifications/").get_data(as_text=True)


def test_a_worker_hears_of_a_returned_record_until_it_is_corrected(app, leader, worker):
    well = station1_well()
    [result] = post(worker, batch(patrol_record(well))).json["results"]
    worker.post("/notifications/seen")
    leader.post(f"/review/patrols/{result['id']}", data={"decision": "return", "comment": "油压读数不对，请复核"})
    assert count(worker) == 1
    assert "油压读数不对" in worker.get("/notifications/").get_data(as_text=True)
    with db.connection_context():
        uid = str(Patrol.get_by_id(result["id"]).uuid)
    post(worker, batch(patrol_record(well, corrects_uuid=uid)))
    assert "巡检被退回" not in worker.get("/notifications/").get_data(as_text=True)


def test_assigned_hazards_and_reviewed_commitments_reach_their_person(app, leader, worker):
    well = station1_well()
    [hazard] = send(worker, record("hazard", {"well_id": well.id, "description": "护栏松动", "severity": "general"}))
    with db.connection_context():
        me = User.get(User.employee_no == "HN1003")
    with db.connection_context():
        hazard_uuid = str(Hazard.get_by_id(hazard["id"]).uuid)
    [step] = send(leader, record("hazard_step", {"hazard_uuid": hazard_uuid, "action": "assign",
                                                 "assignee_id": me.id, "deadline": (date.today() + timedelta(days=3)).isoformat()}))
    assert step["status"] == "created", step
    with db.connection_context():
        commitment = Commitment.create(member=me, station=me.station_id, period=str(date.today().year), category="safety",
                                       content="全年不漏巡", target="0 漏巡", status="approved", reviewed_at=utcnow())
    page = worker.get("/notifications/").get_data(as_text=True)
    assert "隐患分派给您整改" in page and "护栏松动" in page
    assert "“全年不漏巡”已通过" in page and f"/commitments/{commitment.id}" in page


def test_nobody_hears_of_another_stations_or_persons_records(app, worker):
    well = station1_well()
    post(worker, batch(patrol_record(well, method="manual")))
    other_leader = app.test_client()
    login(other_leader, "HN2001")
    colleague = app.test_client()
    login(colleague, "HN1004")
    for client in (other_leader, colleague):
        assert "到场存疑" not in client.get("/notifications/").get_data(as_text=True)
        client.post("/notifications/seen")
    post(worker, batch(patrol_record(well, method="manual")))
    assert count(other_leader) == 0 and count(colleague) == 0
    assert app.test_client().get("/notifications/count").status_code in (302, 401)


# Web Push


def receiver():
    """A browser's side of a subscription: its key pair and auth secret, to decrypt what the server sends."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return key, auth, {"endpoint": "https://push.example.net/send/abc123", "keys": {"p256dh": b64(public), "auth": b64(auth)}}


@pytest.fixture
def push_app(app):
    public, private = push.vapid_keys()
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@example.com")
    return app


def subscribe(client, body):
    return client.post("/api/v1/push/subscription", data=json.dumps(body), content_type="application/json")


def test_without_keys_there_is_no_push(app, worker):
    assert subscribe(worker, receiver()[2]).status_code == 404
    assert 'id="push"' not in worker.get("/notifications/").get_data(as_text=True)


@pytest.mark.parametrize("body, message", [
    ({"endpoint": "http://push.example.net/x", "keys": {"p256dh": "a", "auth": "b"}}, "https"),
    ({"endpoint": "javascript:alert(1)", "keys": {"p256dh": "a", "auth": "b"}}, "https"),
    ({"endpoint": "https://push.example.net/" + "x" * 1000, "keys": {"p256dh": "a", "auth": "b"}}, "订阅地址无效"),
    ({"endpoint": "https://push.example.net/x"}, "订阅密钥无效"),
    ({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "<script>", "auth": "b"}}, "订阅密钥无效"),
    (["not", "an", "object"], "格式不对"),
    ("", "格式不对"),
])
def test_bad_subscriptions_are_refused_in_chinese(push_app, worker, body, message):
    response = subscribe(worker, body)
    assert response.status_code == 422 and message in response.json["error"]["message"]
    with db.connection_context():
        assert PushSubscription.select().count() == 0


def test_a_subscription_is_kept_moved_to_the_new_user_and_removed(push_app, worker):
    body = receiver()[2]
    assert subscribe(worker, body).status_code == 201
    assert subscribe(worker, body).status_code == 201  # the same browser again: still one
    other = push_app.test_client()
    login(other, "HN1004")
    subscribe(other, body)
    with db.connection_context():
        assert [s.user.employee_no for s in PushSubscription.select()] == ["HN1004"]
    other.delete("/api/v1/push/subscription", data=json.dumps({"endpoint": body["endpoint"]}), content_type="application/json")
    with db.connection_context():
        assert PushSubscription.select().count() == 0
    assert 'data-push-key="' in worker.get("/notifications/").get_data(as_text=True)


class Recorder:
    """A requests session that keeps what would have gone to the push service and answers `status`."""

    def __init__(self, status=201):
        self.sent, self.status = [], status

    def post(self, url, data=None, headers=None, timeout=None, **kwargs):
        self.sent.append({"url": url, "data": data, "headers": headers})
        return type("Response", (), {"status_code": self.status, "reason": "Gone" if self.status == 410 else "Created",
                                     "text": "", "content": b"", "headers": {}})()


def test_new_items_are_pushed_once_encrypted_for_the_subscribing_phone(push_app, leader, worker):
    key, auth, body = receiver()
    assert subscribe(leader, body).status_code == 201
    well = station1_well()
    post(worker, batch(patrol_record(well, method="manual")))
    session = Recorder()
    with db.connection_context():
        counts = push.send_due(push_app, now=utcnow() + timedelta(seconds=1), session=session)
    assert counts["sent"] == 1 and len(session.sent) == 1
    request = session.sent[0]
    assert request["url"] == body["endpoint"] and request["headers"]["content-encoding"] == "aes128gcm"
    assert request["headers"]["authorization"].startswith("vapid t=") and push_app.config["VAPID_PUBLIC_KEY"] in request["headers"]["authorization"]
    payload = json.loads(http_ece.decrypt(request["data"], private_key=key, auth_secret=auth, version="aes128gcm"))
    assert payload["title"] == f"到场存疑：{well.code}" and payload["url"].startswith("/review/patrols/")
    # The next run has nothing new to send.
    with db.connection_context():
        assert push.send_due(push_app, now=utcnow() + timedelta(seconds=2), session=session)["sent"] == 0


def test_a_subscription_the_browser_dropped_is_forgotten(push_app, leader, worker):
    subscribe(leader, receiver()[2])
    post(worker, batch(patrol_record(station1_well(), method="manual")))
    with db.connection_context():
        counts = push.send_due(push_app, now=utcnow() + timedelta(seconds=1), session=Recorder(status=410))
        assert counts["gone"] == 1 and PushSubscription.select().count() == 0


def test_feed_is_bounded_in_queries(app, leader, worker):
    """The bell is polled every minute from every open page: a fixed number of queries, whatever the data."""
    from playhouse.test_utils import count_queries

    import uuid as uuid_module

    from models import HazardStep
    from tests.conftest import get_user

    def queries():
        with app.test_request_context("/"), db.connection_context():
            user = get_user("HN1001")
            with count_queries() as counter:
                feed(user, "Asia/Shanghai")
            return counter.count

    well = station1_well()

    def assign_hazards(count):
        """Hazards assigned to the leader: their hand-over times come in one query, however many."""
        with db.connection_context():
            me = get_user("HN1001")
            for n in range(count):
                hazard = Hazard.create(uuid=uuid_module.uuid4(), station=me.station_id, well=well.id, reporter=me.id,
                                       description=f"隐患 {n}", status="assigned", assignee=me.id,
                                       deadline=date.today() + timedelta(days=3), reported_at=utcnow())
                HazardStep.create(uuid=uuid_module.uuid4(), hazard=hazard, action="assign", actor=me.id, at=utcnow())

    assign_hazards(1)
    small = queries()
    assign_hazards(4)
    for _ in range(5):
        post(worker, batch(patrol_record(well, method="manual")))
    assert queries() == small <= 10
