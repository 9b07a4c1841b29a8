"""Hostile input on everything the shift tallies and 扫码's in-place well page touched (issue 18): the shifts page,
the 3K+ pages that read the tallies, the well page by label, and patrols at the ends of time — lone surrogates,
400-digit numbers, years 1 and 9999, NUL bytes, non-ASCII digits (as an id, as an hour) and another station's ids:
answered without a 500, and nothing written by a refusal."""
import uuid
from datetime import datetime
from urllib.parse import quote

import pytest

from models import MonthTally, Patrol, ShiftTally, TallyBasis, TallySlot, User, Well, WorkArea, db
from tests.conftest import login
from tests.test_coverage import tally_rows
from tests.test_hostile_evidence import encoded, query
from webapp import tallies
from webapp.shifts import parse_shifts

HOSTILE = ["\ud83d", "\x00", "9" * 400, "0001", "9999", "0001-01", "9999-12", "0001Q1", "9999Q4", "٣", "２０２６", "-1",
           "0001-01-01", "9999-12-31"]


def state():
    with db.connection_context():
        return (WorkArea.get().shifts, list(TallyBasis.select().tuples()), list(TallySlot.select().tuples()),
                ShiftTally.select().count(), MonthTally.select().count())


@pytest.mark.parametrize("field", ["custom", "preset"])
@pytest.mark.parametrize("value", [*HOSTILE, "0٨:00-20:00 20:00-0٨:00", "08:00-20:00 20:00-08:00" * 10,
                                   "08:00-20:00 20:00-08:\ud83d", "24:00-08:00 08:00-24:00"])
def test_hostile_shifts_are_refused_and_nothing_is_counted_again(client, field, value):
    login(client, "HN0001")
    before = state()
    response = client.post("/admin/shifts", **encoded({field: value}))
    assert response.status_code == 422, value
    assert "HH:MM" in response.get_data(as_text=True) or "24" in response.get_data(as_text=True)
    assert state() == before


PAGES = ["/assessment/board{}", "/assessment/me{}", "/assessment/me/summary{}", "/assessment/year{}"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("field", ["period", "month", "station", "year"])
def test_hostile_periods_on_the_pages_that_read_the_tallies_never_answer_500(client, page, field, value):
    login(client, "HN1002")  # the secretary: the board, the year, her own points
    before = state()
    response = client.get(page.format(query({field: value})))
    assert response.status_code in (200, 204, 404, 422), (page, field, value, response.status_code)
    assert state() == before


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_member_ids_and_label_tokens_never_answer_500(client, value):
    login(client, "HN1003")
    before = state()
    for path in ("/assessment/members/", "/w/", "/n/", "/wells/"):
        response = client.get(path + quote(value, errors="surrogatepass"))
        # /n/0001 and /wells/0001 are well 1 of this worker's station (no tag's proof): only ASCII digits are an id
        opens = path in ("/n/", "/wells/") and value.isascii() and value.isdigit() and int(value) == 1
        assert response.status_code in ((200,) if opens else (400, 404)), (path, value, response.status_code)
    assert state() == before


def test_another_stations_member_and_well_are_not_opened(client):
    """A worker of 一号站 asks for a member of 二号站's points and for a 二号站 well's label page."""
    login(client, "HN1003")
    with db.connection_context():
        other = User.get(User.employee_no == "HN2003")
        well = Well.select().where(Well.station == other.station_id).first()
    before = state()
    assert client.get(f"/assessment/members/{other.id}?period=2026").status_code == 404
    assert client.get(f"/w/{well.qr_token}").status_code in (403, 404)
    assert state() == before


@pytest.mark.parametrize("moment", [datetime(1, 1, 1), datetime(1, 1, 1, 7, 59, 59), datetime(9999, 12, 31, 12),
                                    datetime(9999, 12, 31, 23, 59, 59)])
def test_a_patrol_at_the_ends_of_time_is_counted_without_an_error(dbconn, moment):
    """The triggers' arithmetic on years 1 and 9999 (no row may fail to insert, return or come back because of its
    time), and what they keep is what counting the work area afresh gives."""
    worker = User.get(User.employee_no == "HN1003")
    well = Well.select().where(Well.station == worker.station_id).first()
    with db.atomic() as transaction:
        patrol = Patrol.create(uuid=uuid.uuid4(), well=well.id, station=worker.station_id, author=worker.id,
                               method="scan", device_time=moment, clock_time=moment)
        Patrol.update(review_status="returned").where(Patrol.id == patrol.id).execute()
        Patrol.update(review_status="approved").where(Patrol.id == patrol.id).execute()
        kept = tally_rows([well])
        assert kept[0] and kept[1]
        tallies.adopt(worker.work_area_id, parse_shifts(WorkArea.get().shifts), "Asia/Shanghai")
        assert tally_rows([well]) == kept
        transaction.rollback()
