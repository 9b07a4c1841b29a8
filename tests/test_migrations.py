"""Schema versions: fresh databases start at the newest, older ones are upgraded in place without losing rows."""
import pytest
from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, Model

import models
from models import Equipment, Patrol, SchemaVersion, Station, User, UserRole, Well, WorkArea, db, utcnow
from webapp import migrations
from webapp.database import is_postgres
from webapp.tallies import TRIGGERS


class WorkAreaV1(Model):
    """The work_area table before plants (version 14); later columns that steps check for are left as they are."""

    name = CharField(max_length=60, unique=True)
    party_org_name = CharField(max_length=80)
    timezone = CharField(max_length=64, default="Asia/Shanghai")
    shifts = CharField(max_length=120, default="08:00-20:00 20:00-08:00")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        database = db
        table_name = "work_area"


class UserV1(Model):
    """The user table as schema version 1 created it (before login throttling)."""

    work_area = ForeignKeyField(WorkArea, on_delete="CASCADE")
    station = ForeignKeyField(Station, on_delete="RESTRICT")
    employee_no = CharField(max_length=20, unique=True)
    name = CharField(max_length=40)
    gender = CharField(max_length=1, default="M")
    post = CharField(max_length=40, default="")
    phone = CharField(max_length=20, default="")
    is_party_member = BooleanField(default=False)
    party_joined_on = DateField(null=True)
    password_hash = CharField(max_length=255)
    is_enabled = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        database = db
        table_name = "user"


def build_v1():
    """An empty database brought to schema version 1, holding one work area, station and user."""
    with db.atomic():
        # In this order: the later tables refer to "user", which UserV1 creates.
        db.create_tables([WorkAreaV1])
        db.create_tables([Station, UserV1])
        db.create_tables([UserRole, Well, Equipment, SchemaVersion])
        SchemaVersion.create(version=1, name="baseline")
        area = WorkAreaV1.create(name="测试作业区", party_org_name="测试党总支")
        station = Station.create(work_area=area, name="测试站", branch_name="测试站党支部")
        UserV1.create(work_area=area, station=station, employee_no="T001", name="测试员", password_hash="x")


def columns(table):
    return {c.name: c.null for c in db.get_columns(table)}


def test_fresh_database_is_created_at_the_newest_version(empty_app):
    with db.connection_context():
        done = migrations.upgrade()
        assert done == [f"新建数据库，版本 {migrations.LATEST}"]
        assert migrations.current_version() == migrations.LATEST
        assert set(db.get_tables()) >= {m._meta.table_name for m in models.MODELS}
        assert migrations.upgrade() == []


def test_older_schema_is_upgraded_without_losing_rows(empty_app):
    with db.connection_context():
        build_v1()
        assert migrations.current_version() == 1
        assert "failed_logins" not in columns("user")

        done = migrations.upgrade()

        assert done == [
            "升级到版本 2：login throttling: user.failed_logins, user.locked_until",
            "升级到版本 3：patrols: sync_receipt, patrol, well_operation",
            "升级到版本 4：signing keys: user.signing_key",
            "升级到版本 5：equipment checks, photos, hazards; default check templates",
            "升级到版本 6：procedures; photo.shared",
            "升级到版本 7：cards, commitments, pairings, well contracts",
            "升级到版本 8：shifts; patrol review and corrections",
            "升级到版本 9：key-well fluctuation alerts",
            "升级到版本 10：patrol.clock_time",
            "升级到版本 11：equipment check review; handovers; production plans",
            "升级到版本 12：activities, attendance, suggestions, pioneer projects, model posts, 3K+行为 rules and deductions",
            "升级到版本 13：server-side sessions, login attempts per address, auth events",
            "升级到版本 14：plants above work areas; rules, templates and procedures per work area; user.must_change_password",
            "升级到版本 15：user.notifications_seen_at; Web Push subscriptions; patrol(well_id, clock_time)",
            "升级到版本 16：user.language",
            "升级到版本 17：evidence: replaced labels, NFC tags, evidence, record chains, discards; hazard.duplicate_of; bulk approvals",
            "升级到版本 18：reading sets per kind of well; readings of pcp, esp and injection wells; patrol.reading_set, .confirmed; well.allocation",
            "升级到版本 19：indexes: duplicates of a composite's lead dropped; two composites end with the id",
            "升级到版本 20：patrol(well_id, clock_time, review_status) replaces patrol(well_id, clock_time)",
            "升级到版本 21：shift tallies: shift_tally, month_tally, tally_basis, tally_slot and the triggers on patrol that keep them",
            "升级到版本 22：month buckets kept by triggers on shift_tally",
        ]
        assert migrations.current_version() == migrations.LATEST
        assert Patrol.select().count() == 0
        user = User.get(User.employee_no == "T001")
        assert (user.name, user.station.name, user.failed_logins, user.locked_until) == ("测试员", "测试站", 0, None)
        assert WorkArea.select().count() == 1
        # The existing work area joins a plant (to be renamed); its users keep their passwords as they were.
        assert WorkArea.get().plant.name == "采油厂" and user.must_change_password is False


def test_upgraded_schema_matches_a_fresh_one(empty_app, tmp_path):
    with db.connection_context():
        build_v1()
        migrations.upgrade()
        upgraded = {t: columns(t) for t in db.get_tables()}
        upgraded_indexes = {t: sorted(tuple(i.columns) for i in db.get_indexes(t)) for t in db.get_tables()}
        upgraded_triggers = triggers()
        for model in reversed(models.MODELS):
            model.drop_table(cascade=True) if empty_app.config["BACKEND"] == "postgresql" else model.drop_table()
        migrations.upgrade()
        fresh = {t: columns(t) for t in db.get_tables()}
        fresh_indexes = {t: sorted(tuple(i.columns) for i in db.get_indexes(t)) for t in db.get_tables()}
        fresh_triggers = triggers()
    assert upgraded == fresh
    assert upgraded_indexes == fresh_indexes
    assert upgraded_triggers == fresh_triggers == sorted(name for _, name in TRIGGERS)


def triggers() -> list[str]:
    if is_postgres():
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY 1"
    return [name for (name,) in db.execute_sql(sql)]


def test_no_index_repeats_the_lead_of_another(app):
    """Every insert pays for every index: a single-column index whose column leads a composite index of the same
    table serves no query the composite does not (schema 19 dropped thirteen)."""
    with db.connection_context():
        for table in db.get_tables():
            indexes = [tuple(i.columns) for i in db.get_indexes(table) if not i.unique]
            singles = {i[0] for i in indexes if len(i) == 1}
            leads = {i[0] for i in indexes if len(i) > 1}
            assert not singles & leads, (table, singles & leads)
        names = {i.name for t in db.get_tables() for i in db.get_indexes(t)}
        assert not names & {f"{table}_{column}" for table, column in migrations.REDUNDANT_INDEXES}


def test_rules_an_admin_saved_before_plants_stay_with_that_work_area(empty_app):
    """Upgrading to 14: a version saved by the work area's admin becomes that work area's; a new work area of the
    same database starts from the shared defaults only."""
    from models import ScoreRules
    from webapp.assessment import rule_versions

    with db.connection_context():
        build_v1()
        migrations.upgrade(steps=[s for s in migrations.STEPS if s[0] <= 13], latest=13)
        admin = User.select(User.id).where(User.employee_no == "T001").get()  # the columns of version 13 only
        ScoreRules.create(version=2, valid_from=utcnow().date(), rules="[]", created_by=admin.id)
        migrations.upgrade()
        area = WorkArea.get()
        other = WorkArea.create(name="第二作业区", party_org_name="第二党总支", plant=area.plant)
        assert [v.version for v in rule_versions(area.id)] == [1, 2]
        assert [v.version for v in rule_versions(other.id)] == [1]


def test_steps_run_in_order_once_each(empty_app):
    ran = []
    steps = [(2, "two", lambda m: ran.append(2)), (3, "three", lambda m: ran.append(3))]
    with db.connection_context():
        build_v1()
        migrations.upgrade(steps=steps, latest=3)
        migrations.upgrade(steps=steps, latest=3)
        assert ran == [2, 3]
        assert [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)] == [1, 2, 3]


def test_failed_step_leaves_the_version_unchanged(empty_app):
    def broken(migrator):
        raise RuntimeError("boom")

    with db.connection_context():
        build_v1()
        with pytest.raises(RuntimeError):
            migrations.upgrade(steps=[(2, "broken", broken)], latest=2)
        assert migrations.current_version() == 1


def test_tables_without_a_version_are_not_touched(empty_app):
    with db.connection_context():
        db.create_tables([WorkAreaV1])  # any table of ours, without the version table
        with pytest.raises(RuntimeError, match="没有版本记录"):
            migrations.upgrade()


def test_cli_upgrade_and_version(empty_app):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["db", "version"])
    assert "空库" in result.output
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "新建数据库" in result.output
    result = runner.invoke(args=["db", "upgrade"])
    assert "已是最新版本" in result.output
    result = runner.invoke(args=["db", "version"])
    assert f"当前版本 {migrations.LATEST}" in result.output


def test_every_step_name_fits_the_schema_version_table():
    """PostgreSQL refuses a name longer than the column (SQLite does not check): a step named too long passes on
    SQLite and fails every PostgreSQL upgrade."""
    from models import SchemaVersion

    assert all(len(name) <= SchemaVersion.name.max_length for _number, name, _step in migrations.STEPS)


def test_cli_counts_the_shift_tallies_afresh(app):
    """After TIMEZONE changed, `jingzhan db tallies` counts every work area under its shifts and the zone's offset."""
    from models import ShiftTally, TallyBasis
    from webapp import tallies
    from webapp.shifts import parse_shifts

    with db.connection_context():
        area = WorkArea.get()
        tallies.adopt(area.id, parse_shifts(area.shifts), "Asia/Tokyo")
        assert not tallies.matches(area.id, parse_shifts(area.shifts), 8 * 3600)
        ShiftTally.delete().execute()
    result = app.test_cli_runner().invoke(args=["db", "tallies"])
    assert result.exit_code == 0 and "已重新统计 1 个作业区" in result.output
    with db.connection_context():
        assert tallies.matches(area.id, parse_shifts(area.shifts), 8 * 3600) and TallyBasis.select().count() == 1
