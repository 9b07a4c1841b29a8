"""井口 NFC 标签: enrolling a tag to a well (what to program is shown once), revoking it, who may; hostile input."""
import pytest

from models import NfcTag, WorkArea, db
from tests.conftest import get_well, login
from webapp.nfc import derive_tag_keys, sdm_offsets, verify_sun
from tests.ntag424_sim import SimulatedTag


@pytest.fixture
def admin(client):
    login(client, "HN0001")
    return client


def tags():
    with db.connection_context():
        return list(NfcTag.select().order_by(NfcTag.id))


def test_an_admin_enrols_a_tag_and_sees_what_to_program_once(admin):
    well = get_well("海1-02")
    response = admin.post("/tags/", data={"uid": "04:de:5f:1e:ac:c0:40", "well_id": str(well.id)})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    [tag] = tags()
    assert (tag.uid, tag.well_id, tag.revoked_at) == ("04DE5F1EACC040", well.id, None)
    with db.connection_context():
        master = WorkArea.get_by_id(well.station.work_area_id).issue_nfc_master_key()
    keys = derive_tag_keys(master, bytes.fromhex(tag.uid))
    for key in (keys.app_master, keys.meta_read, keys.file_read):
        assert key.hex().upper() in page
    assert master.hex().upper() not in page and master.hex() not in page  # the master key never leaves the server
    url = f"http://localhost/n/{well.id}?e={'0' * 32}&c={'0' * 16}"
    assert url.replace("&", "&amp;") in page and str(sdm_offsets(url)["PICCDataOffset"]) in page
    # A tag programmed with exactly what the page showed is verified by the server.
    programmed = SimulatedTag(bytes.fromhex(tag.uid), keys.meta_read, keys.file_read, url, offsets=sdm_offsets(url))
    tapped = programmed.tap()
    query = dict(part.split("=") for part in tapped.split("?", 1)[1].split("&"))
    assert verify_sun(master, query["e"], query["c"]).counter == 1
    # The list shows the tag, never its keys again.
    listing = admin.get("/tags/").get_data(as_text=True)
    assert "04DE5F1EACC040" in listing and keys.file_read.hex().upper() not in listing


@pytest.mark.parametrize("uid", ["", "04DE5F1EACC0", "04DE5F1EACC04000", "ZZDE5F1EACC040", "04DE5F1EACC040\x00",
                                 "<script>alert(1)</script>", "０４DE5F1EACC040", "x" * 10000])
def test_a_bad_uid_is_refused_with_the_reason_and_the_input_kept(admin, uid):
    well = get_well("海1-02")
    response = admin.post("/tags/", data={"uid": uid, "well_id": str(well.id)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "14 位十六进制数字" in page and "<script>alert(1)</script>" not in page
    assert tags() == []


@pytest.mark.parametrize("well_id", ["", "abc", "²", "99999999999999999999999", "-1"])
def test_a_well_must_be_chosen_from_the_work_area(admin, well_id):
    response = admin.post("/tags/", data={"uid": "04DE5F1EACC040", "well_id": well_id})
    assert response.status_code == 422 and "请选择本作业区的一口井" in response.get_data(as_text=True)
    assert tags() == []


def test_a_tag_still_in_use_must_be_revoked_before_it_is_enrolled_again(admin):
    first, second = get_well("海1-02"), get_well("海1-03")
    assert admin.post("/tags/", data={"uid": "04DE5F1EACC040", "well_id": str(first.id)}).status_code == 201
    again = admin.post("/tags/", data={"uid": "04DE5F1EACC040", "well_id": str(second.id)})
    assert again.status_code == 422 and "海1-02" in again.get_data(as_text=True)
    [tag] = tags()
    assert admin.post(f"/tags/{tag.id}/revoke").status_code == 302
    assert tags()[0].revoked_at is not None
    assert admin.post(f"/tags/{tag.id}/revoke").status_code == 302  # twice changes nothing
    assert admin.post("/tags/", data={"uid": "04DE5F1EACC040", "well_id": str(second.id)}).status_code == 201
    assert [t.well_id for t in tags()] == [first.id, second.id]


@pytest.mark.parametrize("employee_no", ["HN1001", "HN1002", "HN1003", "HN0003"])
def test_only_the_work_areas_admin_enrols_and_revokes(app, employee_no):
    admin = app.test_client()
    login(admin, "HN0001")
    well = get_well("海1-02")
    admin.post("/tags/", data={"uid": "04DE5F1EACC040", "well_id": str(well.id)})
    [tag] = tags()
    other = app.test_client()
    login(other, employee_no)
    assert other.get("/tags/").status_code == 403
    assert other.post("/tags/", data={"uid": "04AABBCCDDEEFF", "well_id": str(well.id)}).status_code == 403
    assert other.post(f"/tags/{tag.id}/revoke").status_code == 403
    assert len(tags()) == 1 and tags()[0].revoked_at is None


def test_unknown_tag_ids_are_404_and_no_login_is_sent_to_login(admin, client):
    assert admin.post("/tags/99999999/revoke").status_code == 404
    fresh = client.application.test_client()
    assert fresh.get("/tags/").status_code in (302, 401)
