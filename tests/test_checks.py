"""Equipment checks by 望闻听摸测 through the sync pipeline: templates as versioned data, items checked, photos first."""
import io
import json

import pytest

from models import CheckTemplate, Equipment, EquipmentCheck, User, Well, db
from tests.conftest import DEMO_AREA, get_well, login
from tests.test_photos import jpeg
from tests.test_sync import batch, now_iso, post
from webapp.checks import DEFAULT_TEMPLATES, save_template


def equipment_of(code, kind="pumping_unit"):
    with db.connection_context():
        well = Well.get(Well.code == code)
        return Equipment.get((Equipment.well == well) & (Equipment.kind == kind)), well


def template_for(kind):
    with db.connection_context():
        return CheckTemplate.current(kind, DEMO_AREA)


def all_ok(kind, **changes):
    items = {}
    for item in DEFAULT_TEMPLATES[kind]:
        answer = {"ok": True}
        if item["sense"] == "ce":
            answer["value"] = (item["normal_min"] + item["normal_max"]) / 2
        items[item["code"]] = answer
    items.update(changes)
    return items


def check_record(code="海1-02", kind="pumping_unit", method="scan", items=None, uid=None, **extra):
    import uuid

    equipment, well = equipment_of(code, kind)
    data = {"equipment_id": equipment.id, "method": method, "qr_token": well.qr_token if method == "scan" else None,
            "template_id": template_for(kind).id, "items": items or all_ok(kind)}
    if well is not None and well.latitude is not None:  # at the well, as the phone's GPS says
        data["position"] = {"latitude": float(well.latitude), "longitude": float(well.longitude), "accuracy": 10}
    data.update(extra)
    return {"uuid": uid or str(uuid.uuid4()), "type": "equipment_check", "created_at": now_iso(), "data": data}


@pytest.fixture
def worker(client):
    login(client, "HN1003")
    return client


def result(client, record):
    return post(client, batch(record)).json["results"][0]


def test_default_templates_cover_every_kind_and_all_five_senses(app, dbconn):
    for kind in DEFAULT_TEMPLATES:
        template = CheckTemplate.current(kind, DEMO_AREA)
        assert template.version == 1
        senses = {i["sense"] for i in json.loads(template.items)}
        assert senses == {"wang", "wen", "ting", "mo", "ce"}, kind


def test_normal_check_is_stored_with_its_template_version(worker):
    record = check_record()
    answer = result(worker, record)
    assert answer["status"] == "created"
    with db.connection_context():
        check = EquipmentCheck.get_by_id(answer["id"])
        assert check.template.version == 1 and not check.is_abnormal and check.author.employee_no == "HN1003"
        assert check.well.code == "海1-02" and check.method == "scan"
    assert result(worker, record)["status"] == "duplicate"
    well_page = worker.get(f"/w/{get_well('海1-02').qr_token}").get_data(as_text=True)
    assert "上次检查" in well_page and "尚未检查" in well_page  # the pumping unit checked, the others not yet


def test_value_outside_the_normal_range_makes_the_item_abnormal(worker):
    items = all_ok("pumping_unit", current_up={"ok": True, "value": 120, "note": "电流偏高"})
    answer = result(worker, check_record(items=items))
    with db.connection_context():
        check = EquipmentCheck.get_by_id(answer["id"])
    assert check.is_abnormal and json.loads(check.results)["current_up"] == {"ok": False, "value": 120.0, "note": "电流偏高"}


@pytest.mark.parametrize(
    "change, code",
    [
        ({"leak": None}, "missing_item"),
        ({"leak": {"ok": "yes"}}, "missing_item"),
        ({"leak": {"ok": False}}, "missing_note"),
        ({"current_up": {"ok": True}}, "missing_value"),
        ({"current_up": {"ok": True, "value": 9999}}, "out_of_range"),
        ({"bogus": {"ok": True}}, "unknown_item"),
        ({"leak": {"ok": False, "photos": ["not-a-uuid"]}}, "invalid_value"),
        ({"leak": {"ok": False, "photos": ["7f1d3c1e-8b0a-4c55-9a7e-2f1b0c9d8e7a"]}}, "photo_missing"),
        ({"leak": {"ok": False, "note": "长" * 300}}, "too_long"),
    ],
)
def test_bad_items_are_rejected_with_a_reason(worker, change, code):
    items = all_ok("pumping_unit")
    for key, value in change.items():
        if value is None:
            items.pop(key)
        else:
            items[key] = value
    answer = result(worker, check_record(items=items))
    assert answer["status"] == "rejected" and answer["error"]["code"] == code
    with db.connection_context():
        assert EquipmentCheck.select().count() == 0


def test_wrong_template_or_equipment(worker):
    record = check_record()
    record["data"]["template_id"] = template_for("motor").id
    assert result(worker, record)["error"]["code"] == "unknown_template"
    record = check_record()
    record["data"]["equipment_id"] = 999999
    assert result(worker, record)["error"]["code"] == "unknown_equipment"
    other, _ = equipment_of("海2-02")
    record = check_record()
    record["data"]["equipment_id"] = other.id
    assert result(worker, record)["error"]["code"] == "not_in_station"


def test_photo_uploaded_first_is_accepted(worker):
    import uuid

    uid = str(uuid.uuid4())
    worker.post("/api/v1/photos", data={"uuid": uid, "file": (io.BytesIO(jpeg(800, 600)), "a.jpg")},
                content_type="multipart/form-data")
    items = all_ok("pumping_unit", leak={"ok": False, "note": "盘根盒渗油", "photos": [uid]})
    assert result(worker, check_record(items=items))["status"] == "created"


def test_someone_elses_photo_cannot_be_claimed(app, worker):
    import uuid

    uid = str(uuid.uuid4())
    leader = app.test_client()
    login(leader, "HN1001")
    leader.post("/api/v1/photos", data={"uuid": uid, "file": (io.BytesIO(jpeg(80, 60)), "a.jpg")},
                content_type="multipart/form-data")
    items = all_ok("pumping_unit", leak={"ok": False, "photos": [uid]})
    assert result(worker, check_record(items=items))["error"]["code"] == "photo_missing"


def test_station_equipment_check_without_a_well(worker):
    with db.connection_context():
        heater = Equipment.get((Equipment.kind == "heater") & Equipment.well.is_null() & (Equipment.station == get_well("海1-02").station_id))
    import uuid

    record = {"uuid": str(uuid.uuid4()), "type": "equipment_check", "created_at": now_iso(),
              "data": {"equipment_id": heater.id, "method": "manual", "template_id": template_for("heater").id,
                       "items": all_ok("heater")}}
    answer = result(worker, record)
    assert answer["status"] == "created"
    with db.connection_context():
        assert EquipmentCheck.get_by_id(answer["id"]).flags == "manual"


def test_new_template_version_leaves_old_checks_on_theirs(app, worker):
    result(worker, check_record())
    with db.connection_context():
        items = DEFAULT_TEMPLATES["pumping_unit"] + [{"code": "brake", "sense": "wang", "label": "刹车完好", "hint": ""}]
        new = save_template("pumping_unit", items, User.get(User.employee_no == "HN0001"))
        assert new.version == 2 and CheckTemplate.current("pumping_unit", DEMO_AREA).id == new.id
        assert EquipmentCheck.get().template.version == 1
    body = worker.get("/api/v1/check-templates").json
    pumping = next(t for t in body["templates"] if t["kind"] == "pumping_unit")
    assert pumping["version"] == 2 and pumping["items"][-1]["code"] == "brake"
    assert len(body["templates"]) == len(DEFAULT_TEMPLATES)


def test_two_admins_saving_at_once_both_get_a_version(app, monkeypatch):
    """The second of two simultaneous saves numbers its version like the first (max + 1, read before the first
    committed): the unique index refuses it and it is numbered again, never a 500."""
    with db.connection_context():
        admin = User.get(User.employee_no == "HN0001")
        first = save_template("pumping_unit", DEFAULT_TEMPLATES["pumping_unit"], admin)
        stale = iter([first.version])  # what the second save read: the number the first one took
        original = CheckTemplate._next_version.__func__
        monkeypatch.setattr(CheckTemplate, "_next_version",
                            classmethod(lambda cls, key, area: next(stale, None) or original(cls, key, area)))
        second = save_template("pumping_unit", DEFAULT_TEMPLATES["pumping_unit"], admin)
        assert second.version == first.version + 1
        own = CheckTemplate.select().where((CheckTemplate.work_area == DEMO_AREA) & (CheckTemplate.kind == "pumping_unit"))
        assert [(t.version, t.is_current) for t in own.order_by(CheckTemplate.version)] == [(2, False), (3, True)]
