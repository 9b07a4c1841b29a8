"""Records exported from a phone and imported by a leader: signed by their author, counted once, importer noted."""
import io
import json

import pytest

from models import Patrol, SyncReceipt, User, db
from tests.conftest import get_user, get_well, login
from tests.test_openapi import check
from tests.test_sync import batch, patrol_record, post
from webapp.sync import record_signature


def signed(record, employee_no="HN1003", key=None):
    with db.connection_context():
        author = User.get(User.employee_no == employee_no)
        key = key or author.issue_signing_key()
    return dict(record, user_id=author.id, sig=record_signature(key, record, author.id))


def export_file(*records):
    return {"format": "jingzhan-outbox", "version": 1, "exported_at": "2026-11-26T10:00:00+08:00",
            "device_id": "phone-1", "records": list(records)}


def upload(client, body, name="records.json"):
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return client.post("/imports/", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


@pytest.fixture
def leader(client):
    login(client, "HN1001")
    return client


def test_import_creates_records_attributed_to_their_author(leader):
    record = signed(patrol_record(get_well("海1-02")))
    response = upload(leader, export_file(record))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "新增 1 条" in page
    with db.connection_context():
        patrol = Patrol.get()
        assert patrol.author.employee_no == "HN1003"
        receipt = SyncReceipt.get(SyncReceipt.uuid == record["uuid"])
        assert receipt.imported_by.employee_no == "HN1001" and receipt.device_id == "phone-1"


def test_importing_twice_or_after_sync_creates_no_duplicates(app, leader):
    first = signed(patrol_record(get_well("海1-02")))
    second = signed(patrol_record(get_well("海1-03")))
    worker = app.test_client()
    login(worker, "HN1003")
    post(worker, batch({k: v for k, v in second.items() if k not in ("sig", "user_id")}))  # synced on its own later
    upload(leader, export_file(first, second))
    page = upload(leader, export_file(first, second)).get_data(as_text=True)
    assert "新增 0 条，已存在 2 条" in page
    with db.connection_context():
        assert Patrol.select().count() == 2


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda r: r["data"].update(note="改过的备注"), "签名无效"),
        (lambda r: r.update(sig="0" * 64), "签名无效"),
        (lambda r: r.pop("sig"), "签名无效"),
        (lambda r: r.update(user_id=None), "没有注明作者"),
        (lambda r: r.update(user_id=999999), "不是本作业区的员工"),
    ],
)
def test_forged_or_altered_records_are_refused(leader, tamper, reason):
    record = signed(patrol_record(get_well("海1-02")))
    record["data"] = dict(record["data"])
    tamper(record)
    page = upload(leader, export_file(record)).get_data(as_text=True)
    assert reason in page
    with db.connection_context():
        assert Patrol.select().count() == 0


def test_record_signed_for_another_author_is_refused(leader):
    record = signed(patrol_record(get_well("海1-02")))
    with db.connection_context():
        record["user_id"] = User.get(User.employee_no == "HN1004").id  # claims a colleague wrote it
    assert "签名无效" in upload(leader, export_file(record)).get_data(as_text=True)


def test_leader_imports_only_own_station_staff(leader):
    record = signed(patrol_record(get_well("海2-02")), employee_no="HN2003")
    assert "不是本站员工" in upload(leader, export_file(record)).get_data(as_text=True)


def test_admin_imports_any_station_of_the_work_area(client):
    login(client, "HN0001")
    record = signed(patrol_record(get_well("海2-02")), employee_no="HN2003")
    assert "新增 1 条" in upload(client, export_file(record)).get_data(as_text=True)


def test_record_refused_by_the_rules_is_reported(leader):
    record = signed(patrol_record(get_well("海2-02")))  # HN1003 cannot check in a 二号站 well
    assert "不属于您所在的站" in upload(leader, export_file(record)).get_data(as_text=True)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"\xff\xfe not utf-8", "不是有效的 JSON"),
        (b"{", "不是有效的 JSON"),
        ({"records": []}, "不是井站通导出的记录文件"),
        ({"format": "jingzhan-outbox", "records": "x"}, "没有记录列表"),
        ({"format": "jingzhan-outbox", "records": [{}] * 2001}, "最多导入 2000 条"),
        ({"format": "jingzhan-outbox", "records": [1, "x", None]}, "新增 0 条，已存在 0 条，未导入 3 条"),
    ],
)
def test_bad_files_get_a_clear_message(leader, body, message):
    response = upload(leader, body)
    assert message in response.get_data(as_text=True)


def test_missing_file(leader):
    response = leader.post("/imports/", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要导入的记录文件" in response.get_data(as_text=True)


def test_huge_file_is_413(leader):
    # A raw body: the test client would otherwise spool a form this big to a temporary file it never closes.
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n\r\n'
            + b"x" * (6 * 1024 * 1024) + b"\r\n--B--\r\n")
    response = leader.post("/imports/", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413 and "提交的内容太大" in response.get_data(as_text=True)


def test_hostile_text_in_results_is_escaped(leader):
    record = signed(patrol_record(get_well("海1-02")))
    record["type"] = "<img src=x onerror=alert(1)>"
    record["sig"] = record_signature(get_user("HN1003").signing_key, record, record["user_id"])
    page = upload(leader, export_file(record)).get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x" in page


@pytest.mark.parametrize("employee_no, status", [("HN1003", 403), ("HN1002", 403), ("HN1001", 200), ("HN0001", 200)])
def test_only_leaders_and_admins_import(client, employee_no, status):
    login(client, employee_no)
    assert client.get("/imports/").status_code == status


def test_signing_key_is_issued_at_login_and_stable(client):
    login(client, "HN1003")
    first = client.get("/api/v1/signing-key")
    check("/signing-key", "get", first)
    assert first.headers["Cache-Control"] == "no-store"
    assert first.json["key"] == client.get("/api/v1/signing-key").json["key"] == get_user("HN1003").signing_key


def test_canonical_json_matches_the_phone():
    from webapp.evidence import canonical_json

    # Keys sorted, no spaces, Chinese kept, ints and floats as JavaScript writes them.
    value = {"b": 1, "a": [3, 42.5, None, True], "备注": "正常\n"}
    assert canonical_json(value) == '{"a":[3,42.5,null,true],"b":1,"备注":"正常\\n"}'


def test_two_first_logins_at_once_share_one_signing_key(app):
    """Two phones asking for the key of a user who has none yet (both read NULL): the second gets the first one's
    key, so records signed on either phone import. Before, the second overwrote it and the first phone's files failed."""
    from models import User, db

    with db.connection_context():
        User.update(signing_key=None, card_token=None).where(User.employee_no == "HN1003").execute()
        phone_a, phone_b = User.get(User.employee_no == "HN1003"), User.get(User.employee_no == "HN1003")
        key_a, key_b = phone_a.issue_signing_key(), phone_b.issue_signing_key()
        assert key_a == key_b == User.get(User.employee_no == "HN1003").signing_key
        card_a, card_b = phone_a.issue_card_token(), phone_b.issue_card_token()
        assert card_a == card_b == User.get(User.employee_no == "HN1003").card_token
        assert phone_b.issue_card_token(reissue=True) != card_a  # reissuing still replaces it


def test_an_import_takes_its_authors_turns_not_the_importers(app, leader, monkeypatch):
    """On PostgreSQL a batch holds the advisory lock of each author whose records it carries (a phone and an
    imported file carrying the same records take turns): an imported file's authors, in one order — not the
    leader who imports it, whose lock no phone of the authors takes."""
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("PostgreSQL's advisory locks")
    from peewee import Database

    from webapp.sync import SYNC_LOCKS, SYNC_TURNS

    taken = []
    real = Database.execute_sql

    def spy(self, sql, params=None, *args, **kwargs):
        if "pg_advisory_xact_lock" in sql:
            taken.append(tuple(params))
        return real(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(Database, "execute_sql", spy)
    records = [signed(patrol_record(get_well("海1-02")), n) for n in ("HN1004", "HN1003", "HN1004")]
    assert upload(leader, export_file(*records)).status_code == 200
    with db.connection_context():
        authors = sorted(User.get(User.employee_no == n).id for n in ("HN1003", "HN1004"))
    assert taken == [SYNC_TURNS, *((SYNC_LOCKS, a) for a in authors)]


@pytest.mark.parametrize("user_id", [10**400, -(10**400), 2**31, -1, "٣", True, "\ud83d", "a\x00b", None])
def test_a_hostile_author_id_in_a_file_is_refused_not_a_500(leader, user_id):
    """The signed author of an exported record is looked up (and locked, on PostgreSQL): an id of 400 digits, beyond
    the database's integer, non-ASCII digits, a lone surrogate or a NUL is refused with a reason."""
    record = dict(signed(patrol_record(get_well("海1-02"))), user_id=user_id)
    body = json.dumps(export_file(record), ensure_ascii=True).encode()
    response = upload(leader, body)
    assert response.status_code == 200
    assert "作者" in response.get_data(as_text=True)
    with db.connection_context():
        assert not Patrol.select().exists()


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00"])
def test_a_file_record_made_in_year_1_or_9999_is_refused(leader, created_at):
    record = signed(patrol_record(get_well("海1-02"), created_at=created_at))
    response = upload(leader, export_file(record))
    assert response.status_code == 200
    with db.connection_context():
        assert not Patrol.select().exists()
