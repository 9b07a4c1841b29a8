"""The demo work area mirrors the case study's structure and counts, with fictional people, deterministically."""
from pathlib import Path

import pytest
from peewee import fn

from models import Equipment, Station, User, UserRole, Well, WorkArea, db
from webapp.demo import DEMO_LOGINS

# The case study lives beside the repository on developers' machines, not in a CI checkout;
# the real people it names are listed here so the check runs everywhere.
CASE_STUDY = Path(__file__).resolve().parents[2] / "shared" / "seed" / "case-study.zh.txt"
REAL_PEOPLE = {"孙淼", "王晓亮"}


def test_structure_and_counts(app, dbconn):
    area = WorkArea.get()
    assert (area.name, area.party_org_name) == ("海南作业区", "海南作业区党总支")
    branches = [s.branch_name for s in Station.select().order_by(Station.sort_order)]
    assert branches == ["海南作业区机关党支部", "海南一号站党支部", "海南二号站党支部", "海南三号站党支部", "海南四号站党支部"]
    assert User.select().count() == 135
    assert User.select().where(User.is_party_member).count() == 48
    assert User.select().where(User.is_party_member & (User.gender == "F")).count() == 7
    assert User.select().where(User.is_party_member & User.party_joined_on.is_null()).count() == 0


def test_wells_and_equipment(app, dbconn):
    for station in Station.select().where(Station.kind == "station"):
        wells = Well.select().where(Well.station == station)
        assert 25 <= wells.count() <= 40
        assert wells.where(Well.is_key_well).count() >= 1
        assert wells.where(Well.kind == "injection").count() >= 1
        # Every key well has a contracted party member of its own station.
        for well in wells.where(Well.is_key_well):
            assert well.contractor.is_party_member and well.contractor.station_id == station.id
    assert Well.select().where(Well.station.in_(Station.select().where(Station.kind == "office"))).count() == 0
    oil = Well.select().where(Well.kind == "oil").first()
    assert {e.kind for e in oil.equipment} == {"pumping_unit", "motor", "gearbox", "wellhead", "control_cabinet"}
    assert Equipment.select().where(Equipment.well.is_null() & (Equipment.kind == "heater")).count() == 8
    tokens = [w.qr_token for w in Well.select()]
    assert len(set(tokens)) == len(tokens) and min(len(t) for t in tokens) >= 20


def test_one_demo_login_per_role(app, dbconn):
    for employee_no, role, _ in DEMO_LOGINS:
        user = User.get(User.employee_no == employee_no)
        assert role in user.roles
    leader, secretary, worker = (User.get(User.employee_no == n) for n in ("HN1001", "HN1002", "HN1003"))
    assert leader.station.name == secretary.station.name == worker.station.name == "海南一号站"
    assert worker.is_party_member and worker.post == "采油工"
    # Each production station has one leader and one secretary.
    for role in ("leader", "secretary"):
        per_station = (
            User.select(User.station, fn.COUNT(User.id).alias("n"))
            .join(UserRole)
            .where(UserRole.role == role)
            .group_by(User.station)
        )
        assert sorted(r.n for r in per_station) == ([1] * 4 if role == "leader" else [1] * 5)


def test_names_are_fictional_and_unique(app, dbconn):
    names = [u.name for u in User.select()]
    assert len(set(names)) == len(names) == 135
    assert not REAL_PEOPLE & set(names)
    if CASE_STUDY.exists():
        text = CASE_STUDY.read_text(encoding="utf-8")
        assert [n for n in names if n in text] == []


def _snapshot():
    return [
        (u.employee_no, u.name, u.gender, u.post, u.is_party_member, u.party_joined_on)
        for u in User.select().order_by(User.employee_no)
    ] + [(w.code, w.kind, w.is_key_well, str(w.latitude)) for w in Well.select().order_by(Well.code)]


def test_seed_is_deterministic(empty_app):
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with db.connection_context():
        first = _snapshot()
        from models import Commitment, CommitmentProgress, Pairing, Plant, WellContract

        for model in (CommitmentProgress, Commitment, Pairing, WellContract, Equipment, Well, UserRole, User, Station, WorkArea,
                      Plant):
            model.delete().execute()
        from webapp.demo import seed_demo

        seed_demo("another-password")
        assert _snapshot() == first


def test_seed_demo_cli_prints_logins_and_refuses_a_second_run(empty_app):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "135 名员工（党员 48 名）" in result.output
    for employee_no, _, _ in DEMO_LOGINS:
        assert employee_no in result.output
    assert empty_app.config["DEMO_PASSWORD"] in result.output
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "已有作业区" in again.output
    skipped = runner.invoke(args=["seed-demo", "--if-empty"])
    assert skipped.exit_code == 0 and "跳过" in skipped.output
    with db.connection_context():
        assert User.select().count() == 135


@pytest.mark.parametrize("employee_no", [login for login, _, _ in DEMO_LOGINS])
def test_demo_password_logs_in(client, employee_no):
    from tests.conftest import login

    assert login(client, employee_no).status_code == 302


def test_seed_demo_with_history_fills_the_dashboard_and_reports(empty_app):
    from models import EquipmentCheck, Patrol

    result = empty_app.test_cli_runner().invoke(args=["seed-demo", "--history-days", "2"])
    assert result.exit_code == 0, result.output
    assert "最近 2 天的记录" in result.output
    with db.connection_context():
        assert Patrol.select().count() > 100 and EquipmentCheck.select().count() > 0
        assert not Patrol.select().where(Patrol.clock_time.is_null()).exists()
    bad = empty_app.test_cli_runner().invoke(args=["seed-demo", "--history-days", "-1"])
    assert bad.exit_code != 0
