"""Schema versions: a fresh database is created at the newest version, an older one is upgraded in place."""
from playhouse.migrate import SchemaMigrator, migrate
from peewee import BooleanField, CharField, DateTimeField, FloatField, ForeignKeyField, SmallIntegerField, TextField

import models
from models import SchemaVersion, db

from . import tallies

# The schema that the first release created; later versions are steps below.
BASELINE = 1


def _v2_login_throttling(migrator):
    """Count failed logins and lock an account for a while after too many."""
    migrate(
        migrator.add_column("user", "failed_logins", SmallIntegerField(default=0)),
        migrator.add_column("user", "locked_until", DateTimeField(null=True)),
    )


def _v3_patrols(migrator):
    """Patrol check-ins, their well operations, and the sync receipts that make records count once."""
    from models import Patrol, ReadingSet, SyncReceipt, WellOperation

    # The patrol table is made as the model is today, with its reference to reading_set (schema 18): PostgreSQL
    # needs that table first (SQLite does not check). Step 18 then finds it there and only seeds it.
    db.create_tables([ReadingSet, SyncReceipt, Patrol, WellOperation])


def _v4_signing_keys(migrator):
    """A per-user key for the signatures on records exported from a phone."""
    if "signing_key" not in _columns("user"):
        migrate(migrator.add_column("user", "signing_key", CharField(max_length=64, null=True)))


def _v5_checks_and_hazards(migrator):
    """Check templates (with the default ones), equipment checks, photos, hazards and their steps."""
    from models import CheckTemplate, EquipmentCheck, Hazard, HazardStep, Photo

    from .checks import ensure_default_templates

    db.create_tables([CheckTemplate, Photo, EquipmentCheck, Hazard, HazardStep])
    ensure_default_templates()


def _v6_procedures(migrator):
    """Operating procedures (versioned), and photos that the whole work area may see (their pictures)."""
    from models import Procedure

    from .procedures import ensure_default_procedures

    if "shared" not in _columns("photo"):
        migrate(migrator.add_column("photo", "shared", BooleanField(default=False)))
    db.create_tables([Procedure])
    ensure_default_procedures()


def _v7_cards_and_commitments(migrator):
    """三亮 cards (token, photo, public fields), commitments and their progress, pairings, well contract history."""
    from models import Commitment, CommitmentProgress, Pairing, WellContract

    columns = _columns("user")
    steps = []
    if "card_token" not in columns:
        steps.append(migrator.add_column("user", "card_token", CharField(max_length=64, null=True)))
        steps.append(migrator.add_index("user", ("card_token",), True))
    if "avatar" not in columns:
        steps.append(migrator.add_column("user", "avatar", CharField(max_length=36, null=True)))
    if "card_public" not in columns:
        steps.append(migrator.add_column("user", "card_public", CharField(max_length=120, default="")))
    migrate(*steps)
    db.create_tables([Commitment, CommitmentProgress, Pairing, WellContract])


def _v8_shifts_and_review(migrator):
    """Shifts per work area; review of patrols (status, reviewer, comment) and corrections linked to the original."""
    from models import Patrol

    steps = []
    if "shifts" not in _columns("work_area"):
        steps.append(migrator.add_column("work_area", "shifts", CharField(max_length=120, default="08:00-20:00 20:00-08:00")))
    columns = _columns("patrol")
    for name, field in (
        ("review_status", CharField(max_length=12, default="pending")),
        ("reviewed_by_id", ForeignKeyField(models.User, field=models.User.id, null=True, on_delete="SET NULL")),
        ("reviewed_at", DateTimeField(null=True)),
        ("review_comment", TextField(default="")),
        ("corrects_id", ForeignKeyField(Patrol, field=Patrol.id, null=True, on_delete="SET NULL")),
    ):
        if name not in columns:
            steps.append(migrator.add_column("patrol", name.removesuffix("_id") if name.endswith("_id") else name, field))
    if "review_status" not in columns:
        steps.append(migrator.add_index("patrol", ("review_status",), False))
        steps.append(migrator.add_index("patrol", ("station_id", "device_time"), False))
    migrate(*steps)


def _v9_fluctuation_alerts(migrator):
    """Alerts for key-well fluctuations, kept until acknowledged with the action taken."""
    from models import FluctuationAlert

    db.create_tables([FluctuationAlert])


def _v10_patrol_clock_time(migrator):
    """A patrol's time on the server's clock, stored, so shift queries filter on it directly."""
    from datetime import timedelta

    from models import Patrol

    if "clock_time" not in _columns("patrol"):
        migrate(migrator.add_column("patrol", "clock_time", DateTimeField(null=True)))
    for patrol in Patrol.select(Patrol.id, Patrol.device_time, Patrol.clock_offset_s).where(Patrol.clock_time.is_null()):
        Patrol.update(clock_time=patrol.device_time + timedelta(seconds=patrol.clock_offset_s or 0)).where(
            Patrol.id == patrol.id).execute()
    indexes = {index.name for index in db.get_indexes("patrol")}
    steps = []
    if "patrol_station_id_device_time" in indexes:
        steps.append(migrator.drop_index("patrol", "patrol_station_id_device_time"))
    if "patrol_station_id_clock_time" not in indexes:
        steps.append(migrator.add_index("patrol", ("station_id", "clock_time"), False))
    migrate(*steps)


def _v11_check_review_handover_plans(migrator):
    """Review of equipment checks and their time on the server's clock (as for patrols), with indexes for the
    latest checks of a piece of equipment, a worker's and a well's; shift handovers; monthly production plans."""
    from datetime import timedelta

    from models import EquipmentCheck, Handover, ProductionPlan

    columns = _columns("equipment_check")
    steps = []
    for name, field in (
        ("clock_time", DateTimeField(null=True)),
        ("review_status", CharField(max_length=12, default="pending")),
        ("reviewed_by_id", ForeignKeyField(models.User, field=models.User.id, null=True, on_delete="SET NULL")),
        ("reviewed_at", DateTimeField(null=True)),
        ("review_comment", TextField(default="")),
        ("corrects_id", ForeignKeyField(EquipmentCheck, field=EquipmentCheck.id, null=True, on_delete="SET NULL")),
    ):
        if name not in columns:
            steps.append(migrator.add_column("equipment_check", name.removesuffix("_id") if name.endswith("_id") else name, field))
    indexes = {index.name for index in db.get_indexes("equipment_check")}
    if "equipment_check_review_status" not in indexes:
        steps.append(migrator.add_index("equipment_check", ("review_status",), False))
    for pair in (("station_id", "clock_time"), ("equipment_id", "device_time"), ("author_id", "device_time"),
                 ("well_id", "device_time")):
        if "_".join(("equipment_check",) + pair) not in indexes:
            steps.append(migrator.add_index("equipment_check", pair, False))
    migrate(*steps)
    for check in EquipmentCheck.select(EquipmentCheck.id, EquipmentCheck.device_time, EquipmentCheck.clock_offset_s).where(
            EquipmentCheck.clock_time.is_null()):
        EquipmentCheck.update(clock_time=check.device_time + timedelta(seconds=check.clock_offset_s or 0)).where(
            EquipmentCheck.id == check.id).execute()
    db.create_tables([Handover, ProductionPlan])


def _v12_party_work(migrator):
    """Activities and attendance, suggestions, pioneer projects and milestones, model posts, 3K+行为 rules (version
    1 seeded) and deductions."""
    from models import (Activity, ActivityInvitee, Attendance, Deduction, Milestone, ModelPost, PioneerProject,
                        ScoreRules, Suggestion)

    from .assessment import ensure_default_rules

    db.create_tables([Activity, ActivityInvitee, Attendance, Suggestion, PioneerProject, Milestone, ModelPost,
                      ScoreRules, Deduction])
    ensure_default_rules()  # version 1 of the 3K+行为 rules, as a new database gets it


def _v13_server_sessions(migrator):
    """Server-side login sessions (revocable, replacing the cookie bound to the password hash), login attempts per
    client address (throttling shared by every server process) and the auth event log."""
    from models import AuthEvent, LoginAttempt, UserSession

    db.create_tables([UserSession, LoginAttempt, AuthEvent])


def _v14_plants_and_work_area_separation(migrator):
    """采油厂 above the work areas (existing work areas join one plant, to be renamed); 3K+行为 rules, check
    templates and procedures versioned per work area (versions an admin saved go to that admin's work area; the
    built-in versions stay the shared defaults); a flag
    that makes a user replace a password someone else chose (printed one-time passwords)."""
    from models import CheckTemplate, Plant, Procedure, ScoreRules, User, WorkArea

    db.create_tables([Plant])
    steps = []
    if "plant_id" not in _columns("work_area"):
        steps.append(migrator.add_column("work_area", "plant_id", ForeignKeyField(Plant, null=True, field=Plant.id,
                                                                                  on_delete="RESTRICT")))
    if "must_change_password" not in _columns("user"):
        steps.append(migrator.add_column("user", "must_change_password", BooleanField(default=False)))
    if "work_area_id" not in _columns("score_rules"):
        steps.append(migrator.add_column("score_rules", "work_area_id", ForeignKeyField(WorkArea, null=True, field=WorkArea.id,
                                                                                        on_delete="CASCADE")))
    for table in ("check_template", "procedure"):
        if "work_area_id" not in _columns(table):
            steps.append(migrator.add_column(table, "work_area_id", ForeignKeyField(WorkArea, null=True, field=WorkArea.id,
                                                                                    on_delete="CASCADE")))
    # Versions were unique per key; now per work area and key.
    old_unique = {"score_rules": ["version"], "check_template": ["kind", "version"], "procedure": ["topic", "version"]}
    for table, columns in old_unique.items():
        for index in db.get_indexes(table):
            if index.unique and index.columns == columns:
                steps.append(migrator.drop_index(table, index.name))
    migrate(*steps)
    for table, columns in old_unique.items():
        if not any(i.unique and i.columns == ["work_area_id", *columns] for i in db.get_indexes(table)):
            migrate(migrator.add_index(table, ("work_area_id", *columns), True))
    areas = list(WorkArea.select(WorkArea.id).order_by(WorkArea.id))
    if areas and not Plant.select().exists():
        plant = Plant.create(name="采油厂")
        WorkArea.update(plant=plant).where(WorkArea.plant.is_null()).execute()
    # Versions saved before this step were saved by a work area's admin: they are that work area's own now, and
    # the newest built-in version of each template and procedure is current again for every other work area.
    for model, key in ((ScoreRules, None), (CheckTemplate, "kind"), (Procedure, "topic")):
        for row in model.select(model.id, model.created_by).where(model.work_area.is_null() & (model.version > 1)):
            # Only the columns this step knows: later steps add more to the model (never select whole rows here).
            author = (User.select(User.id, User.work_area).where(User.id == row.created_by_id).first()
                      if row.created_by_id else None)
            owner = author.work_area_id if author else (areas[0].id if areas else None)
            model.update(work_area=owner).where(model.id == row.id).execute()
        if key:
            field = getattr(model, key)
            for (value,) in model.select(field).where(model.work_area.is_null()).distinct().tuples():
                newest = (model.select(model.id).where(model.work_area.is_null() & (field == value))
                          .order_by(model.version.desc()).first())
                model.update(is_current=True).where(model.id == newest.id).execute()


def _v15_notifications(migrator):
    """When each user last opened the bell's list; phones' Web Push subscriptions; patrol(well_id, clock_time) for
    the 3K+行为 coverage, which read every patrol a contracted well ever had."""
    from models import PushSubscription

    if "notifications_seen_at" not in _columns("user"):
        migrate(migrator.add_column("user", "notifications_seen_at", DateTimeField(null=True)))
    db.create_tables([PushSubscription])
    if not any(i.columns == ["well_id", "clock_time"] for i in db.get_indexes("patrol")):
        migrate(migrator.add_index("patrol", ("well_id", "clock_time"), False))


def _v16_user_language(migrator):
    """The language each user chose (issue 10.4); empty follows the browser."""
    if "language" not in _columns("user"):
        migrate(migrator.add_column("user", "language", CharField(max_length=8, default="")))


def _v17_evidence(migrator):
    """Evidence of presence and time on every synced record (issue 15): replaced labels, NFC tags and the work
    area's NFC master key, the evidence of each record, the phones' record chains, discarded records."""
    from models import BulkApproval, ChainLink, Discard, Evidence, NfcTag, ReplacedLabel

    if "nfc_master_key" not in _columns("work_area"):
        migrate(migrator.add_column("work_area", "nfc_master_key", CharField(max_length=64, null=True)))
    if "duplicate_of_id" not in _columns("hazard"):  # a hazard judged a duplicate points to the one it repeats
        migrate(migrator.add_column("hazard", "duplicate_of_id", ForeignKeyField(models.Hazard, null=True,
                                                                                 field=models.Hazard.id, on_delete="SET NULL")))
    db.create_tables([ReplacedLabel, NfcTag, Evidence, ChainLink, Discard, BulkApproval])


def _v18_reading_sets(migrator):
    """Reading sets per kind of well, versioned per work area (issue 16.2); the readings of 螺杆泵井, 电泵井 and
    注水井; the set a patrol was made from and the deviations its worker confirmed; 注水井's 日配注."""
    from models import ReadingSet

    from .readings import ensure_default_sets

    db.create_tables([ReadingSet])
    have = _columns("patrol")
    for name in ("current_a", "rotation_rpm", "frequency_hz", "voltage_v", "pump_pressure_mpa", "injection_m3_per_day"):
        if name not in have:
            migrate(migrator.add_column("patrol", name, FloatField(null=True)))
    if "reading_set_id" not in have:
        migrate(migrator.add_column("patrol", "reading_set_id", ForeignKeyField(ReadingSet, null=True, field=ReadingSet.id,
                                                                                on_delete="SET NULL")))
    if "confirmed" not in have:
        migrate(migrator.add_column("patrol", "confirmed", CharField(max_length=200, default="")))
    if "allocation_m3_per_day" not in _columns("well"):
        migrate(migrator.add_column("well", "allocation_m3_per_day", FloatField(null=True)))
    ensure_default_sets()


# Indexes that repeat the leading column of a composite index of the same table: every insert paid for them
# (a sync writes a patrol, its evidence and its chain place for each record) and no query needs them.
REDUNDANT_INDEXES = (("patrol", "well_id"), ("patrol", "station_id"), ("patrol", "author_id"), ("evidence", "author_id"),
                     ("evidence", "station_id"), ("evidence", "nfc_tag_id"), ("chain_link", "author_id"),
                     ("equipment_check", "author_id"), ("equipment_check", "equipment_id"),
                     ("equipment_check", "station_id"), ("equipment_check", "well_id"), ("deduction", "member_id"),
                     ("nfc_tag", "work_area_id"))


# Composite indexes that end with the id: "the latest first, the latest stored first among equal times" is then
# read in index order on PostgreSQL (on SQLite every index ends with the rowid already).
WITH_ID = (("patrol", ("well_id", "device_time")), ("evidence", ("author_id", "bounded_time")))


def _v19_indexes(migrator):
    """Drop the single-column indexes a composite index of the same table already leads with; end two composite
    indexes with the id (issue 18)."""
    for table, column in REDUNDANT_INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{table}_{column}"')  # peewee's name for a field's index
    for table, columns in WITH_ID:
        db.execute_sql(f'DROP INDEX IF EXISTS "{table}_{"_".join(columns)}"')
        quoted = ", ".join(f'"{c}"' for c in (*columns, "id"))
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_{"_".join(columns)}_id" ON "{table}" ({quoted})')


def _v20_covering_index(migrator):
    """patrol(well_id, clock_time) ends with review_status: the 3K+ coverage of a year counts a work area's patrols per
    shift from the index alone, not a table row each (issue 18)."""
    db.execute_sql('DROP INDEX IF EXISTS "patrol_well_id_clock_time"')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "patrol_well_id_clock_time_review_status" '
                   'ON "patrol" ("well_id", "clock_time", "review_status")')


def _v21_shift_tallies(migrator):
    """Patrols counted per well and shift, kept by triggers on patrol (webapp/tallies.py): every work area's counted
    from its patrols under its shifts and the configured zone (issue 18)."""
    from flask import current_app, has_app_context

    from models import MonthTally, ShiftTally, TallyBasis, TallySlot

    db.create_tables([ShiftTally, MonthTally, TallyBasis, TallySlot])
    tallies.install()
    tallies.adopt_all(current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai")


def _v22_month_buckets_by_shift_triggers(migrator):
    """The month buckets kept by triggers on shift_tally rather than by the patrol triggers (the triggers made again;
    what the tables hold is unchanged)."""
    tallies.install()


# (version, name, step). Append only; never edit a step that has shipped. A step that
# creates tables does so from the models as they are when it runs, so a later step that
# changes such a table must check what is there first (see _columns).
STEPS = [
    (2, "login throttling: user.failed_logins, user.locked_until", _v2_login_throttling),
    (3, "patrols: sync_receipt, patrol, well_operation", _v3_patrols),
    (4, "signing keys: user.signing_key", _v4_signing_keys),
    (5, "equipment checks, photos, hazards; default check templates", _v5_checks_and_hazards),
    (6, "procedures; photo.shared", _v6_procedures),
    (7, "cards, commitments, pairings, well contracts", _v7_cards_and_commitments),
    (8, "shifts; patrol review and corrections", _v8_shifts_and_review),
    (9, "key-well fluctuation alerts", _v9_fluctuation_alerts),
    (10, "patrol.clock_time", _v10_patrol_clock_time),
    (11, "equipment check review; handovers; production plans", _v11_check_review_handover_plans),
    (12, "activities, attendance, suggestions, pioneer projects, model posts, 3K+行为 rules and deductions", _v12_party_work),
    (13, "server-side sessions, login attempts per address, auth events", _v13_server_sessions),
    (14, "plants above work areas; rules, templates and procedures per work area; user.must_change_password",
     _v14_plants_and_work_area_separation),
    (15, "user.notifications_seen_at; Web Push subscriptions; patrol(well_id, clock_time)", _v15_notifications),
    (16, "user.language", _v16_user_language),
    (17, "evidence: replaced labels, NFC tags, evidence, record chains, discards; hazard.duplicate_of; bulk approvals", _v17_evidence),
    (18, "reading sets per kind of well; readings of pcp, esp and injection wells; patrol.reading_set, .confirmed; well.allocation", _v18_reading_sets),
    (19, "indexes: duplicates of a composite's lead dropped; two composites end with the id", _v19_indexes),
    (20, "patrol(well_id, clock_time, review_status) replaces patrol(well_id, clock_time)", _v20_covering_index),
    (21, "shift tallies: shift_tally, month_tally, tally_basis, tally_slot and the triggers on patrol that keep them", _v21_shift_tallies),
    (22, "month buckets kept by triggers on shift_tally", _v22_month_buckets_by_shift_triggers),
]

def _columns(table: str) -> set[str]:
    """Column names of a table, for steps that must not add what an earlier step already created."""
    return {c.name for c in db.get_columns(table)}


LATEST = STEPS[-1][0] if STEPS else BASELINE


def seed_reference_data() -> None:
    """Data every database needs whatever its work area: the default check templates, procedures and 3K+行为 rules."""
    from .assessment import ensure_default_rules
    from .checks import ensure_default_templates
    from .procedures import ensure_default_procedures
    from .readings import ensure_default_sets

    ensure_default_templates()
    ensure_default_sets()
    ensure_default_procedures()
    ensure_default_rules()


def current_version() -> int | None:
    """The database's schema version, or None for an empty database."""
    if not SchemaVersion.table_exists():
        return None
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else None


def upgrade(steps=None, latest=None) -> list[str]:
    """Bring the bound database to the newest schema; return what was done."""
    steps = STEPS if steps is None else steps
    latest = LATEST if latest is None else latest
    done = []
    version = current_version()
    if version is None:
        existing = set(db.get_tables())
        known = {m._meta.table_name for m in models.MODELS}
        if existing & known:
            raise RuntimeError("数据库已有数据表但没有版本记录：请先备份，再由管理员确认其版本。")
        with db.atomic():
            db.create_tables(models.MODELS)
            tallies.install()
            seed_reference_data()
            SchemaVersion.create(version=latest, name="created at newest schema")
        return [f"新建数据库，版本 {latest}"]
    migrator = SchemaMigrator.from_database(db.obj)
    for number, name, step in steps:
        if number <= version:
            continue
        # SQLite's ALTER TABLE and PostgreSQL's DDL are both transactional.
        with db.atomic():
            step(migrator)
            SchemaVersion.create(version=number, name=name)
        done.append(f"升级到版本 {number}：{name}")
    return done
