"""重点井波动: synthetic histories (a drop, a jump, noise that must not alert), alerts raised on sync, acknowledged with a note."""
from datetime import timedelta

import pytest

from models import FluctuationAlert, Well, db
from tests.conftest import get_well, login
from tests.test_sync import batch, now_iso, patrol_record, post
from webapp.fluctuations import deviation

STEADY = [20.1, 19.8, 20.4, 19.9, 20.2, 20.0, 19.7]


@pytest.mark.parametrize(
    "value, history, kind, threshold, alert",
    [
        (14.0, STEADY, "relative", 0.2, True),    # 产液量 drops 30 %
        (26.0, STEADY, "relative", 0.2, True),    # jumps 30 %
        (21.5, STEADY, "relative", 0.2, False),   # noise
        (18.5, STEADY, "relative", 0.2, False),
        (92.0, [85.0, 86.0, 85.5, 84.8], "absolute", 5.0, True),   # 含水 up 6.5 points
        (88.0, [85.0, 86.0, 85.5, 84.8], "absolute", 5.0, False),
        (14.0, [20.0, 20.0], "relative", 0.2, False),              # too little history
        (20.0, [20.0, 19.0, 60.0, 20.5, 21.0], "relative", 0.2, False),  # one odd reading does not move the median
    ],
)
def test_detection(value, history, kind, threshold, alert):
    assert deviation(value, history, kind, threshold).beyond is alert


def key_well():
    with db.connection_context():
        return Well.select().where(Well.is_key_well & (Well.station == get_well("海1-02").station_id)).order_by(Well.code).first()


def send(client, well, liquid, hours_ago):
    record = patrol_record(well, created_at=now_iso(timedelta(hours=-hours_ago)))
    record["data"]["readings"] = dict(record["data"]["readings"], liquid_t_per_day=liquid)
    return post(client, batch(record)).json["results"][0]


def test_alert_on_sync_shown_and_acknowledged(app):
    well = key_well()
    worker = app.test_client()
    login(worker, "HN1003")
    for hours, liquid in ((60, 20.0), (48, 20.4), (36, 19.8), (24, 20.1)):
        assert send(worker, well, liquid, hours)["status"] == "created"
    with db.connection_context():
        assert FluctuationAlert.select().count() == 0
    send(worker, well, 13.5, 1)
    send(worker, well, 13.0, 0)  # while the first alert is open, no second one for 产液量
    with db.connection_context():
        [alert] = list(FluctuationAlert.select())
        assert alert.metric == "liquid_t_per_day" and alert.value == 13.5 and alert.baseline == pytest.approx(20.05)
    leader = app.test_client()
    login(leader, "HN1001")
    assert "重点井波动（1）" in leader.get("/review/").get_data(as_text=True)
    page = leader.get(f"/wells/{well.id}").get_data(as_text=True)
    assert "产液量" in page and "采取的措施" in page
    refused = leader.post(f"/wells/alerts/{alert.id}/acknowledge", data={"note": ""}, follow_redirects=True)
    assert "请写明采取的措施" in refused.get_data(as_text=True)
    leader.post(f"/wells/alerts/{alert.id}/acknowledge", data={"note": "已安排量油复核，调小冲次"})
    with db.connection_context():
        done = FluctuationAlert.get_by_id(alert.id)
        assert done.action_note == "已安排量油复核，调小冲次" and done.acknowledged_by.employee_no == "HN1001"
    assert "重点井波动" not in leader.get(f"/wells/{well.id}").get_data(as_text=True)


def test_who_may_acknowledge(app):
    well = key_well()
    worker = app.test_client()
    login(worker, "HN1003")
    for hours, liquid in ((60, 20.0), (48, 20.4), (36, 19.8), (1, 30.0)):
        send(worker, well, liquid, hours)
    with db.connection_context():
        alert = FluctuationAlert.get()
        contractor = well.contractor.employee_no
    # Another station's leader: 404, as for an unknown alert; a colleague who may not act on it: 403.
    for employee_no, status in (("HN2001", 404), ("HN1002" if contractor != "HN1002" else "HN1005", 403)):
        client = app.test_client()
        login(client, employee_no)
        assert client.post(f"/wells/alerts/{alert.id}/acknowledge", data={"note": "x"}).status_code == status
    member = app.test_client()
    login(member, contractor)
    assert member.post(f"/wells/alerts/{alert.id}/acknowledge", data={"note": "已到井口查看"}).status_code == 302
    assert member.post("/wells/alerts/999999/acknowledge", data={"note": "x"}).status_code == 404


def test_ordinary_wells_do_not_alert(app):
    with db.connection_context():
        well = Well.select().where(~Well.is_key_well & (Well.kind == "oil") & (Well.station == get_well("海1-02").station_id)).first()
    worker = app.test_client()
    login(worker, "HN1003")
    for hours, liquid in ((60, 20.0), (48, 20.4), (36, 19.8), (1, 5.0)):
        send(worker, well, liquid, hours)
    with db.connection_context():
        assert FluctuationAlert.select().count() == 0
