"""Every Peewee model of 井站通. The database is bound by webapp.create_app()."""
import json
import logging
import secrets
from datetime import datetime, timezone

from flask_babel import gettext, lazy_gettext as _l
from flask_login import UserMixin
from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DecimalField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    Model,
    SmallIntegerField,
    TextField,
    UUIDField,
    fn,
)
from werkzeug.security import check_password_hash, generate_password_hash

db = DatabaseProxy()


def utcnow() -> datetime:
    """Naive UTC now: the database stores UTC, pages convert to the work area's zone."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_token() -> str:
    """An unguessable URL-safe token (128 bits) for QR labels and cards."""
    return secrets.token_urlsafe(16)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

    @classmethod
    def latest_per(cls, group_field, ids, time_field=None) -> dict:
        """The newest row per value of group_field among ids (e.g. each well's last patrol), in one query."""
        if not ids:
            return {}
        time_field = time_field or cls.device_time
        latest = cls.select(group_field, fn.MAX(time_field).alias("at")).where(group_field.in_(ids)).group_by(group_field)
        column = getattr(latest.c, group_field.column_name)
        rows = cls.select().join(latest, on=((group_field == column) & (time_field == latest.c.at)))
        return {getattr(row, group_field.column_name): row for row in rows}


class Plant(BaseModel):
    """采油厂: the level above the work areas. Its admins (plant_admin) see every work area's overview and nothing
    more; everyone else works inside one work area and sees nothing of the others."""

    name = CharField(max_length=60, unique=True)
    created_at = DateTimeField(default=utcnow)


class WorkArea(BaseModel):
    """作业区 and its 党总支."""

    name = CharField(max_length=60, unique=True)
    plant = ForeignKeyField(Plant, null=True, backref="work_areas", on_delete="RESTRICT")
    party_org_name = CharField(max_length=80)
    timezone = CharField(max_length=64, default="Asia/Shanghai")
    # Shifts in the work area's time zone, "HH:MM-HH:MM" separated by spaces, e.g. 2 × 12 h or 3 × 8 h.
    shifts = CharField(max_length=120, default="08:00-20:00 20:00-08:00")
    created_at = DateTimeField(default=utcnow)
    # The key every NFC tag's keys are derived from (docs/nfc.md); made on first use, never shown to anyone.
    nfc_master_key = CharField(max_length=64, null=True)

    def issue_nfc_master_key(self) -> bytes:
        """The work area's NFC master key (16 bytes); of two requests making it at once the first write wins."""
        if not self.nfc_master_key:
            made = secrets.token_hex(16)
            written = WorkArea.update(nfc_master_key=made).where(
                (WorkArea.id == self.id) & WorkArea.nfc_master_key.is_null()).execute()
            self.nfc_master_key = made if written else WorkArea.select(WorkArea.nfc_master_key).where(
                WorkArea.id == self.id).scalar()
        return bytes.fromhex(self.nfc_master_key)


class Station(BaseModel):
    """A station (站) or the work-area office (机关), each with its 党支部."""

    KINDS = {"office": _l("机关"), "station": _l("站")}

    work_area = ForeignKeyField(WorkArea, backref="stations", on_delete="CASCADE")
    name = CharField(max_length=60)
    kind = CharField(max_length=16, default="station")
    branch_name = CharField(max_length=80)
    sort_order = SmallIntegerField(default=0)

    class Meta:
        indexes = ((("work_area", "name"), True),)

    @property
    def kind_label(self) -> str:
        return str(self.KINDS.get(self.kind, self.kind))


ROLES = {
    "worker": _l("岗位员工"),
    "leader": _l("站长"),
    "secretary": _l("支部书记"),
    "admin": _l("作业区管理员"),
    "plant_admin": _l("采油厂管理员"),
}


class User(UserMixin, BaseModel):
    """An employee; logs in with 工号 (employee_no)."""

    GENDERS = {"M": _l("男"), "F": _l("女")}

    work_area = ForeignKeyField(WorkArea, backref="users", on_delete="CASCADE")
    station = ForeignKeyField(Station, backref="staff", on_delete="RESTRICT")
    employee_no = CharField(max_length=20, unique=True)
    name = CharField(max_length=40)
    gender = CharField(max_length=1, default="M")
    post = CharField(max_length=40, default="")
    phone = CharField(max_length=20, default="")
    is_party_member = BooleanField(default=False)
    party_joined_on = DateField(null=True)
    password_hash = CharField(max_length=255)
    is_enabled = BooleanField(default=True)
    failed_logins = SmallIntegerField(default=0)
    locked_until = DateTimeField(null=True)
    signing_key = CharField(max_length=64, null=True)
    card_token = CharField(max_length=64, null=True, unique=True)
    avatar = CharField(max_length=36, null=True)  # uuid of a Photo
    card_public = CharField(max_length=120, default="")  # the optional fields shown on the public card
    # Set with a password someone else chose (a printed one-time password): the user must choose their own first.
    must_change_password = BooleanField(default=False)
    notifications_seen_at = DateTimeField(null=True)  # the bell counts what came after (webapp/notifications.py)
    language = CharField(max_length=8, default="")  # "" follows the browser; else a key of webapp.i18n.LANGUAGES
    created_at = DateTimeField(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    def save(self, *args, **kwargs):
        """Save; a new password or disabling the account ends every login session of the user, whoever saves it
        (the password page, the CLI, a future admin page). A bulk `User.update()` bypasses this: don't use one."""
        dirty = {field.name for field in self.dirty_fields}
        reason = None
        if self.id is not None:
            if "password_hash" in dirty:
                reason = "password"
            elif "is_enabled" in dirty and not self.is_enabled:
                reason = "disabled"
        if reason is None:
            return super().save(*args, **kwargs)
        with self._meta.database.atomic():
            rows = super().save(*args, **kwargs)
            UserSession.revoke_all(self, reason)
        return rows

    def issue_signing_key(self) -> str:
        """The key the user's phone signs records with (for exported files); made at the first login."""
        return self.signing_key or self._set_once(User.signing_key, secrets.token_hex(32))

    def issue_card_token(self, reissue: bool = False) -> str:
        """The token of the member's card QR; reissuing makes the old QR show 'no longer valid'."""
        if reissue:
            self.card_token = new_token()
            self.save(only=[User.card_token])
            return self.card_token
        return self.card_token or self._set_once(User.card_token, new_token())

    def _set_once(self, field, value: str) -> str:
        """A secret made on first use: of two requests making it at once (two phones at the first login), the first
        write wins and the other reads it — never two keys, one of them on a phone whose signatures then fail."""
        written = User.update({field: value}).where((User.id == self.id) & field.is_null()).execute()
        stored = value if written else User.select(field).where(User.id == self.id).scalar()
        setattr(self, field.name, stored)
        return stored

    @property
    def public_fields(self) -> set[str]:
        return set(self.card_public.split())

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def roles(self) -> set[str]:
        """The user's roles, loaded once per object."""
        if not hasattr(self, "_roles"):
            self._roles = {r.role for r in UserRole.select(UserRole.role).where(UserRole.user == self)}
        return self._roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def grant(self, *roles: str) -> None:
        """Give the user these roles (ignores ones already held)."""
        for role in roles:
            if role not in ROLES:
                raise ValueError(gettext("未知角色：%(role)s", role=role))
            if role not in self.roles:
                UserRole.create(user=self, role=role)
                self._roles.add(role)

    @property
    def role_labels(self) -> list[str]:
        return [str(label) for key, label in ROLES.items() if key in self.roles]

    @property
    def gender_label(self) -> str:
        return str(self.GENDERS.get(self.gender, ""))


class UserRole(BaseModel):
    """One role held by a user: worker, leader, secretary or admin."""

    user = ForeignKeyField(User, backref="role_rows", on_delete="CASCADE")
    role = CharField(max_length=16)

    class Meta:
        indexes = ((("user", "role"), True),)


class Well(BaseModel):
    """A well (井) with its QR label token."""

    # 采油井 by how they lift (each has its reading set, webapp/readings.py), and 注水井.
    KINDS = {"oil": _l("采油井"), "pcp": _l("螺杆泵井"), "esp": _l("电泵井"), "injection": _l("注水井")}
    PRODUCING = ("oil", "pcp", "esp")

    station = ForeignKeyField(Station, backref="wells", on_delete="RESTRICT")
    code = CharField(max_length=30)
    kind = CharField(max_length=16, default="oil")
    is_key_well = BooleanField(default=False)
    qr_token = CharField(max_length=64, unique=True, default=new_token)
    latitude = DecimalField(max_digits=9, decimal_places=6, null=True, auto_round=True)
    longitude = DecimalField(max_digits=9, decimal_places=6, null=True, auto_round=True)
    patrol_interval_hours = SmallIntegerField(default=8)
    allocation_m3_per_day = FloatField(null=True)  # 注水井's 日配注, what its 日注水量 is set against
    contractor = ForeignKeyField(User, null=True, backref="contracted_wells", on_delete="SET NULL")
    note = TextField(default="")

    class Meta:
        indexes = ((("station", "code"), True),)

    @property
    def kind_label(self) -> str:
        return str(self.KINDS.get(self.kind, self.kind))

    def regenerate_token(self, by=None) -> str:
        """Give the well a new label token. The old label no longer makes a clean scan, but it is kept: a visit
        recorded offline before the label was replaced is still accepted (flagged old_label, docs/evidence.md)."""
        with db.atomic():
            ReplacedLabel.create(well=self.id, token=self.qr_token, replaced_at=utcnow(),
                                 replaced_by=getattr(by, "id", by))
            self.qr_token = new_token()
            self.save(only=[Well.qr_token])
        return self.qr_token


class ReplacedLabel(BaseModel):
    """A QR label token a well had before its label was regenerated."""

    well = ForeignKeyField(Well, backref="replaced_labels", on_delete="CASCADE")
    token = CharField(max_length=64, unique=True)
    replaced_at = DateTimeField()
    replaced_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")


class NfcTag(BaseModel):
    """An NTAG 424 DNA tag enrolled to a well (docs/nfc.md): its UID, and the highest read counter seen."""

    work_area = ForeignKeyField(WorkArea, backref="nfc_tags", on_delete="CASCADE", index=False)  # leads (work_area, uid)
    well = ForeignKeyField(Well, backref="nfc_tags", on_delete="CASCADE")
    uid = CharField(max_length=14)  # 7 bytes, upper-case hex
    enrolled_at = DateTimeField(default=utcnow)
    enrolled_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    revoked_at = DateTimeField(null=True)
    revoked_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    last_counter = IntegerField(null=True)

    class Meta:
        indexes = ((("work_area", "uid"), False),)


EQUIPMENT_KINDS = {
    "pumping_unit": _l("抽油机"),
    "motor": _l("电机"),
    "gearbox": _l("减速箱"),
    "wellhead": _l("井口"),
    "control_cabinet": _l("配电柜"),
    "heater": _l("加热炉"),
    "pump": _l("机泵"),
}


class Equipment(BaseModel):
    """A piece of equipment at a well or at a station."""

    station = ForeignKeyField(Station, backref="equipment", on_delete="RESTRICT")
    well = ForeignKeyField(Well, null=True, backref="equipment", on_delete="CASCADE")
    kind = CharField(max_length=24)
    name = CharField(max_length=60)
    model = CharField(max_length=60, default="")
    installed_on = DateField(null=True)
    is_in_service = BooleanField(default=True)

    @property
    def kind_label(self) -> str:
        return str(EQUIPMENT_KINDS.get(self.kind, self.kind))


class SyncReceipt(BaseModel):
    """One record received through the sync pipeline: the uuid that makes every record count exactly once."""

    uuid = UUIDField(unique=True)
    type = CharField(max_length=32)
    author = ForeignKeyField(User, backref="receipts", on_delete="CASCADE")
    content_hash = CharField(max_length=64)
    object_id = IntegerField()
    device_id = CharField(max_length=64, default="")
    imported_by = ForeignKeyField(User, null=True, backref="imports", on_delete="SET NULL")
    received_at = DateTimeField(default=utcnow)


class Evidence(BaseModel):
    """What the server judged of one synced record's presence and time (docs/evidence.md): how the well was
    identified, where the phone was, the record's place in its phone's chain, and the bounds of its time."""

    METHODS = {"nfc": _l("NFC 标签"), "scan": _l("扫码"), "manual": _l("手工输入")}
    CHAIN_STATUSES = {"ok": _l("连续"), "gap": _l("有缺号"), "fork": _l("被改写"), "unchained": _l("无编号（旧版）")}

    receipt = ForeignKeyField(SyncReceipt, unique=True, backref="evidence", on_delete="CASCADE")
    record_type = CharField(max_length=32)
    object_id = IntegerField()
    author = ForeignKeyField(User, backref="+", on_delete="CASCADE", index=False)  # leads (author, bounded_time)
    station = ForeignKeyField(Station, null=True, backref="+", on_delete="CASCADE", index=False)  # (station, received_at)
    well = ForeignKeyField(Well, null=True, backref="+", on_delete="SET NULL")
    method = CharField(max_length=8, default="")
    latitude = DecimalField(max_digits=9, decimal_places=6, null=True, auto_round=True)
    longitude = DecimalField(max_digits=9, decimal_places=6, null=True, auto_round=True)
    accuracy_m = FloatField(null=True)
    distance_m = FloatField(null=True)
    device_id = CharField(max_length=64, default="")
    chain_seq = IntegerField(null=True)
    chain_status = CharField(max_length=10, default="unchained")
    claimed_time = DateTimeField()  # the phone's created_at, naive UTC
    clock_offset_s = IntegerField(default=0)
    received_at = DateTimeField()
    bound_low = DateTimeField(null=True)
    bounded_time = DateTimeField()
    nfc_tag = ForeignKeyField(NfcTag, null=True, backref="evidence", on_delete="SET NULL", index=False)  # (nfc_tag, …)
    nfc_counter = IntegerField(null=True)
    nfc_status = CharField(max_length=16, default="")
    flags = CharField(max_length=200, default="")

    class Meta:
        indexes = ((("record_type", "object_id"), False), (("station", "received_at"), False),
                   (("author", "bounded_time", "id"), False), (("nfc_tag", "nfc_counter"), False))

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split() if self.flags else []


class ChainLink(BaseModel):
    """One record's place in its phone's chain (per user and device), kept whatever became of the record —
    stored, refused or discarded — so that a deleted record shows as a gap and a rewritten one as a fork."""

    author = ForeignKeyField(User, backref="+", on_delete="CASCADE", index=False)  # leads (author, device_id, seq)
    device_id = CharField(max_length=64)
    seq = IntegerField()
    link = CharField(max_length=64)
    prev = CharField(max_length=64, null=True)
    uuid = UUIDField(unique=True)
    record_type = CharField(max_length=32)
    bounded_time = DateTimeField()
    outcome = CharField(max_length=10)  # created, refused, discarded
    received_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("author", "device_id", "seq"), False),)


class Discard(BaseModel):
    """A record the server refused and the worker then discarded on the phone, after seeing why: kept whole."""

    author = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    discarded_uuid = UUIDField(index=True)
    discarded_type = CharField(max_length=32)
    error_code = CharField(max_length=40, default="")
    record = TextField()  # the discarded record as JSON
    discarded_at = DateTimeField()
    received_at = DateTimeField(default=utcnow)


class AreaVersioned:
    """Reference data versioned per work area (check templates, procedures): rows without a work area are the
    shared defaults every work area starts from; an admin's edit makes a version of their work area only, which
    from then on is current there and nowhere else. KEY names the field a version belongs to (kind, topic)."""

    KEY = ""

    @classmethod
    def in_area(cls, work_area_id: int):
        """The rows a work area may use: the shared ones and its own (never another work area's)."""
        return cls.select().where(cls.work_area.is_null() | (cls.work_area == work_area_id))

    @classmethod
    def currents(cls, work_area_id: int) -> dict:
        """{key: current row} for a work area: its own current version, else the shared one (one query)."""
        chosen = {}
        for row in cls.in_area(work_area_id).where(cls.is_current).order_by(cls.work_area.is_null(False)):
            chosen[getattr(row, cls.KEY)] = row  # own rows come last and win
        return chosen

    @classmethod
    def current(cls, key: str, work_area_id: int):
        return cls.currents(work_area_id).get(key)

    @classmethod
    def new_version(cls, key: str, work_area_id: int, **fields):
        """The work area's next version of key, current from now on there; earlier versions are kept.

        Two admins saving at the same moment (PostgreSQL runs both at once) would both number theirs max + 1: the
        second hits the unique (work_area, key, version) index, and is numbered again after the first."""
        key_field = getattr(cls, cls.KEY)
        for attempt in range(3):
            try:
                with db.atomic():
                    version = cls._next_version(key, work_area_id)
                    cls.update(is_current=False).where((key_field == key) & (cls.work_area == work_area_id)).execute()
                    return cls.create(work_area=work_area_id, version=version, is_current=True, **{cls.KEY: key}, **fields)
            except IntegrityError:
                if attempt == 2:
                    raise

    @classmethod
    def _next_version(cls, key: str, work_area_id: int) -> int:
        key_field = getattr(cls, cls.KEY)
        return (cls.in_area(work_area_id).where(key_field == key).select(fn.MAX(cls.version)).scalar() or 0) + 1


class ReadingSet(AreaVersioned, BaseModel):
    """The readings a patrol records at one kind of well, one row per version (fields as JSON, webapp/readings.py)."""

    KEY = "well_kind"

    work_area = ForeignKeyField(WorkArea, null=True, backref="+", on_delete="CASCADE")
    well_kind = CharField(max_length=16)
    version = IntegerField()
    fields = TextField()
    is_current = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("work_area", "well_kind", "version"), True),)


class Patrol(BaseModel):
    """巡检打卡: one patrol check-in at a well, with its readings and proof of presence. Append-only."""

    METHODS = {"nfc": _l("NFC 标签"), "scan": _l("扫码"), "manual": _l("手工输入井号")}

    uuid = UUIDField(unique=True)
    # No index of their own: each leads a composite index below (schema 19 dropped the three duplicates).
    well = ForeignKeyField(Well, backref="patrols", on_delete="RESTRICT", index=False)
    station = ForeignKeyField(Station, backref="patrols", on_delete="RESTRICT", index=False)
    author = ForeignKeyField(User, backref="patrols", on_delete="RESTRICT", index=False)
    method = CharField(max_length=8)
    device_time = DateTimeField(index=True)
    received_at = DateTimeField(default=utcnow)
    clock_offset_s = IntegerField(default=0)
    # device_time on the server's clock (plus the offset measured at sync): what shifts are counted by.
    # Set for every patrol; null only in a database that is being upgraded to schema 10.
    clock_time = DateTimeField(null=True)
    latitude = DecimalField(max_digits=9, decimal_places=6, null=True, auto_round=True)
    longitude = DecimalField(max_digits=9, decimal_places=6, null=True, auto_round=True)
    accuracy_m = FloatField(null=True)
    distance_m = FloatField(null=True)
    current_up_a = FloatField(null=True)
    current_down_a = FloatField(null=True)
    stroke_m = FloatField(null=True)
    strokes_per_min = FloatField(null=True)
    oil_pressure_mpa = FloatField(null=True)
    casing_pressure_mpa = FloatField(null=True)
    back_pressure_mpa = FloatField(null=True)
    wellhead_temp_c = FloatField(null=True)
    liquid_t_per_day = FloatField(null=True)
    water_cut_pct = FloatField(null=True)
    # Readings of the other kinds of wells (螺杆泵井, 电泵井, 注水井; webapp/readings.py CATALOGUE).
    current_a = FloatField(null=True)
    rotation_rpm = FloatField(null=True)
    frequency_hz = FloatField(null=True)
    voltage_v = FloatField(null=True)
    pump_pressure_mpa = FloatField(null=True)
    injection_m3_per_day = FloatField(null=True)
    # The reading set the form was made from, and the readings whose change against the baseline the worker
    # confirmed on the phone (space-separated keys); "copied" in flags: saved from 沿用上次读数 unchanged.
    reading_set = ForeignKeyField(ReadingSet, null=True, backref="+", on_delete="SET NULL")
    confirmed = CharField(max_length=200, default="")
    is_abnormal = BooleanField(default=False)
    note = TextField(default="")
    flags = CharField(max_length=120, default="")
    review_status = CharField(max_length=12, default="pending", index=True)  # pending, approved, returned
    reviewed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reviewed_at = DateTimeField(null=True)
    review_comment = TextField(default="")
    corrects = ForeignKeyField("self", null=True, backref="corrections", on_delete="SET NULL")

    REVIEW_STATUSES = {"pending": _l("待审核"), "approved": _l("已审核"), "returned": _l("已退回")}

    class Meta:
        # (well, clock_time, review_status): the 3K+行为 coverage of contracted wells over a period, counted per
        # shift from the index alone (webapp/assessment.py).
        # (well, device_time, id): a well's latest patrols, the latest stored first among those of one time, read
        # in index order on PostgreSQL too (SQLite ends every index with the rowid anyway).
        indexes = ((("author", "device_time"), False), (("well", "device_time", "id"), False),
                   (("station", "clock_time"), False), (("well", "clock_time", "review_status"), False))

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split() if self.flags else []


class BulkApproval(BaseModel):
    """One tap of 一键审核: which records it approved, so it can be undone for a few minutes."""

    station = ForeignKeyField(Station, backref="+", on_delete="CASCADE")
    reviewer = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    approved_at = DateTimeField()
    patrol_ids = TextField(default="[]")
    check_ids = TextField(default="[]")
    undone_at = DateTimeField(null=True)


class WellOperation(BaseModel):
    """One of the ten operations of 十字油井管理法 done during a patrol, with its values (JSON)."""

    patrol = ForeignKeyField(Patrol, backref="operations", on_delete="CASCADE")
    well = ForeignKeyField(Well, backref="operations", on_delete="RESTRICT")
    code = CharField(max_length=16)
    values = TextField(default="{}")


SENSES = {"wang": _l("望"), "wen": _l("闻"), "ting": _l("听"), "mo": _l("摸"), "ce": _l("测")}


class CheckTemplate(AreaVersioned, BaseModel):
    """The 望闻听摸测 check items of one equipment kind, one row per version (items as JSON)."""

    KEY = "kind"

    work_area = ForeignKeyField(WorkArea, null=True, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=24)
    version = IntegerField()
    items = TextField()
    is_current = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, backref="check_templates", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("work_area", "kind", "version"), True),)


class Photo(BaseModel):
    """A photo uploaded from a phone, re-encoded by the server; its bytes live in the photo store under sha256
    (webapp/photo_store.py), shared by every row with the same bytes."""

    uuid = UUIDField(unique=True)
    author = ForeignKeyField(User, backref="photos", on_delete="RESTRICT")
    station = ForeignKeyField(Station, backref="photos", on_delete="RESTRICT")
    sha256 = CharField(max_length=64)
    width = IntegerField()
    height = IntegerField()
    size = IntegerField()
    # Shared photos (pictures in operating procedures) are visible to the whole work area.
    shared = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class EquipmentCheck(BaseModel):
    """设备检查: one 望闻听摸测 walk-through of a piece of equipment, with the template version it used."""

    uuid = UUIDField(unique=True)
    # equipment, well, station, author: each leads a composite index below.
    equipment = ForeignKeyField(Equipment, backref="checks", on_delete="RESTRICT", index=False)
    well = ForeignKeyField(Well, null=True, backref="checks", on_delete="RESTRICT", index=False)
    station = ForeignKeyField(Station, backref="checks", on_delete="RESTRICT", index=False)
    author = ForeignKeyField(User, backref="checks", on_delete="RESTRICT", index=False)
    template = ForeignKeyField(CheckTemplate, backref="checks", on_delete="RESTRICT")
    method = CharField(max_length=8)
    device_time = DateTimeField(index=True)
    received_at = DateTimeField(default=utcnow)
    clock_offset_s = IntegerField(default=0)
    clock_time = DateTimeField(null=True)  # device_time on the server's clock, as Patrol.clock_time
    is_abnormal = BooleanField(default=False)
    results = TextField()
    flags = CharField(max_length=120, default="")
    review_status = CharField(max_length=12, default="pending", index=True)  # as Patrol.REVIEW_STATUSES
    reviewed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reviewed_at = DateTimeField(null=True)
    review_comment = TextField(default="")
    corrects = ForeignKeyField("self", null=True, backref="corrections", on_delete="SET NULL")

    class Meta:
        indexes = ((("station", "clock_time"), False), (("equipment", "device_time"), False),
                   (("author", "device_time"), False), (("well", "device_time"), False))

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split() if self.flags else []


class Hazard(BaseModel):
    """隐患: found, assigned, rectified, verified and closed — each step kept as a HazardStep."""

    SEVERITIES = {"general": _l("一般"), "major": _l("较大"), "serious": _l("重大")}
    STATUSES = {"reported": _l("待分派"), "assigned": _l("整改中"), "rectified": _l("待验收"), "verified": _l("已验收"),
                "closed": _l("已销项"), "rejected": _l("不成立")}
    FINISHED = ("closed", "rejected")  # nothing more to do: closed out, or judged invalid or a duplicate

    uuid = UUIDField(unique=True)
    station = ForeignKeyField(Station, backref="hazards", on_delete="RESTRICT")
    well = ForeignKeyField(Well, null=True, backref="hazards", on_delete="RESTRICT")
    equipment = ForeignKeyField(Equipment, null=True, backref="hazards", on_delete="RESTRICT")
    source_check = ForeignKeyField(EquipmentCheck, null=True, backref="hazards", on_delete="SET NULL")
    source_item = CharField(max_length=40, default="")
    reporter = ForeignKeyField(User, backref="reported_hazards", on_delete="RESTRICT")
    description = TextField()
    severity = CharField(max_length=12, default="general")
    status = CharField(max_length=12, default="reported", index=True)
    assignee = ForeignKeyField(User, null=True, backref="assigned_hazards", on_delete="SET NULL")
    deadline = DateField(null=True)
    rectified_by = ForeignKeyField(User, null=True, backref="rectified_hazards", on_delete="SET NULL")
    photos = TextField(default="[]")
    reported_at = DateTimeField()
    closed_at = DateTimeField(null=True)
    duplicate_of = ForeignKeyField("self", null=True, backref="duplicates", on_delete="SET NULL")

    @classmethod
    def still_open(cls):
        """The expression for hazards still to be dealt with (not closed out, not judged invalid)."""
        return cls.status.not_in(cls.FINISHED)

    @property
    def status_label(self) -> str:
        return str(self.STATUSES.get(self.status, self.status))

    @property
    def severity_label(self) -> str:
        return str(self.SEVERITIES.get(self.severity, self.severity))


class HazardStep(BaseModel):
    """One transition of a hazard's closed loop, with who, when, what was said and the photos."""

    ACTIONS = {"report": _l("上报"), "assign": _l("分派"), "rectify": _l("整改"), "verify": _l("验收通过"), "return": _l("退回重改"),
               "close": _l("销项"), "reject": _l("判定不成立")}

    uuid = UUIDField(unique=True)
    hazard = ForeignKeyField(Hazard, backref="steps", on_delete="CASCADE")
    action = CharField(max_length=12)
    actor = ForeignKeyField(User, backref="hazard_steps", on_delete="RESTRICT")
    at = DateTimeField()
    note = TextField(default="")
    photos = TextField(default="[]")
    assignee = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    deadline = DateField(null=True)
    flags = CharField(max_length=120, default="")

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split() if self.flags else []

    @property
    def action_label(self) -> str:
        return str(self.ACTIONS.get(self.action, self.action))


class Procedure(AreaVersioned, BaseModel):
    """操作规程: the procedure for an equipment kind or a well operation, one row per version."""

    KEY = "topic"

    work_area = ForeignKeyField(WorkArea, null=True, backref="+", on_delete="CASCADE")
    topic = CharField(max_length=40)  # "equipment:pumping_unit" or "operation:bie"
    version = IntegerField()
    title = CharField(max_length=80)
    body = TextField()
    photos = TextField(default="[]")
    is_current = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, backref="procedures", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("work_area", "topic", "version"), True),)


class Commitment(BaseModel):
    """承诺: a party member's commitment for a period, approved by the branch, kept with progress and rating."""

    CATEGORIES = {"safety": _l("安全生产"), "study": _l("学习提升"), "service": _l("服务群众"), "energy": _l("节能降耗"),
                  "other": _l("其他")}
    STATUSES = {"draft": _l("草稿"), "submitted": _l("待审核"), "approved": _l("已公开承诺"), "returned": _l("已退回")}
    RATINGS = {"excellent": _l("优秀"), "good": _l("合格"), "fair": _l("基本合格"), "poor": _l("不合格")}

    member = ForeignKeyField(User, backref="commitments", on_delete="CASCADE")
    station = ForeignKeyField(Station, backref="commitments", on_delete="RESTRICT")  # the member's branch
    period = CharField(max_length=8)  # "2026" or "2026Q4"
    category = CharField(max_length=12)
    content = TextField()
    target = CharField(max_length=120)
    target_quantity = FloatField(null=True)
    unit = CharField(max_length=10, default="")
    status = CharField(max_length=12, default="draft", index=True)
    reviewer = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    review_comment = TextField(default="")
    reviewed_at = DateTimeField(null=True)
    rating = CharField(max_length=12, null=True)
    rated_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    rated_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @property
    def status_label(self) -> str:
        return str(self.STATUSES.get(self.status, self.status))

    @property
    def category_label(self) -> str:
        return str(self.CATEGORIES.get(self.category, self.category))

    @property
    def rating_label(self) -> str:
        return str(self.RATINGS.get(self.rating, "")) if self.rating else ""


class CommitmentProgress(BaseModel):
    """践诺记录: what a member did towards a commitment (synced from the phone, offline too)."""

    uuid = UUIDField(unique=True)
    commitment = ForeignKeyField(Commitment, backref="progress", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    device_time = DateTimeField()
    received_at = DateTimeField(default=utcnow)
    text = TextField()
    quantity = FloatField(null=True)
    photos = TextField(default="[]")


class Pairing(BaseModel):
    """联系点和联系人: a colleague paired with a member, or the committee member who is the member's contact person."""

    KINDS = {"colleague": _l("结对同事"), "contact": _l("联系人")}

    member = ForeignKeyField(User, backref="pairings", on_delete="CASCADE")
    partner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=12)
    start_date = DateField()
    end_date = DateField(null=True)  # null while current: changes are kept with their dates
    assigned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")


class WellContract(BaseModel):
    """The history of who was contracted to a well (承包井): Well.contractor is the current one."""

    well = ForeignKeyField(Well, backref="contracts", on_delete="CASCADE")
    member = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    start_date = DateField()
    end_date = DateField(null=True)
    assigned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")


class ShiftTally(BaseModel):
    """The patrols of a well in one shift that are not returned — the count 承包井巡检完成率 caps per shift —, kept by
    the database's own triggers on `patrol` (webapp/tallies.py): a year of a work area is read from these rows
    instead of grouping its patrols. `day` is the shift's local day (days since 1970-01-01), `slot` its place among the
    work area's shifts by start time, both as webapp.coverage.shift_of counts them under the work area's TallyBasis."""

    well = ForeignKeyField(Well, backref="+", on_delete="CASCADE")
    day = IntegerField()
    slot = SmallIntegerField()
    patrols = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("well", "day", "slot")


class MonthTally(BaseModel):
    """How many shifts of a well in a month (its local month as year × 12 + month − 1) and slot had exactly `patrols`
    counted patrols (≥ 1): a whole month's capped coverage is Σ shifts × min(patrols, due) — a few rows a well,
    whatever its interval. Kept by the same triggers as ShiftTally, from each shift's count before and after."""

    well = ForeignKeyField(Well, backref="+", on_delete="CASCADE")
    month = IntegerField()
    slot = SmallIntegerField()
    patrols = IntegerField()
    shifts = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("well", "month", "slot", "patrols")


class TallyBasis(BaseModel):
    """The shifts and UTC offset a work area's ShiftTally rows are counted under: the tallies are read only while
    they are the work area's shifts and its zone's offset (else the patrols are counted, as before)."""

    work_area = ForeignKeyField(WorkArea, primary_key=True, backref="+", on_delete="CASCADE")
    starts = CharField(max_length=200)  # the shifts' start times, seconds after local midnight, ascending
    offset_s = IntegerField()


class TallySlot(BaseModel):
    """A shift of a TallyBasis, for the triggers: its slot and its start (seconds after local midnight)."""

    work_area = ForeignKeyField(WorkArea, backref="+", on_delete="CASCADE")
    slot = SmallIntegerField()
    start_s = IntegerField()

    class Meta:
        primary_key = CompositeKey("work_area", "slot")


class FluctuationAlert(BaseModel):
    """重点井波动: a key well's reading far from its recent baseline, open until someone records the action taken."""

    METRICS = {"liquid_t_per_day": _l("产液量"), "water_cut_pct": _l("含水"), "current_up_a": _l("上行电流"),
               "oil_pressure_mpa": _l("油压")}

    well = ForeignKeyField(Well, backref="alerts", on_delete="CASCADE")
    patrol = ForeignKeyField(Patrol, backref="alerts", on_delete="CASCADE")
    metric = CharField(max_length=24)
    value = FloatField()
    baseline = FloatField()
    created_at = DateTimeField(default=utcnow)
    acknowledged_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    acknowledged_at = DateTimeField(null=True)
    action_note = TextField(default="")

    @property
    def metric_label(self) -> str:
        return str(self.METRICS.get(self.metric, self.metric))


class Handover(BaseModel):
    """交接班: the outgoing operator's note on one shift of a station, prefilled from the shift's records,
    and the incoming operator's confirmation. Both are kept; neither is edited after confirmation."""

    station = ForeignKeyField(Station, backref="handovers", on_delete="RESTRICT")
    day = DateField()
    shift_index = SmallIntegerField()
    outgoing = ForeignKeyField(User, backref="handovers_given", on_delete="RESTRICT")
    summary = TextField()  # JSON: the shift's figures as they stood when handed over
    missed_reasons = TextField(default="{}")  # JSON: well id → the reason the well was not patrolled
    note = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    incoming = ForeignKeyField(User, null=True, backref="handovers_taken", on_delete="RESTRICT")
    confirmed_at = DateTimeField(null=True)
    incoming_note = TextField(default="")

    class Meta:
        indexes = ((("station", "day", "shift_index"), True),)


class ProductionPlan(BaseModel):
    """配产: a station's planned daily production for one month, against which the measured production is shown."""

    station = ForeignKeyField(Station, backref="plans", on_delete="CASCADE")
    month = CharField(max_length=7)  # "2026-11"
    liquid_t_per_day = FloatField()
    oil_t_per_day = FloatField()
    set_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    set_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("station", "month"), True),)


class Activity(BaseModel):
    """A branch activity the secretary schedules: 三会一课, 主题党日, study, training (hours), volunteer work (days).
    Members check in by scanning its rotating code (webapp/activities.py); the branch is the organising station's."""

    KINDS = {
        "member_meeting": _l("支部党员大会"), "committee": _l("支委会"), "group_meeting": _l("党小组会"),
        "party_lecture": _l("党课"), "theme_day": _l("主题党日"), "study": _l("学习"), "training": _l("培训"),
        "volunteer": _l("义务献工"),
    }
    THREE_MEETINGS_ONE_LESSON = ("member_meeting", "committee", "group_meeting", "party_lecture")

    station = ForeignKeyField(Station, backref="activities", on_delete="RESTRICT")  # the branch
    kind = CharField(max_length=16)
    topic = CharField(max_length=120)
    place = CharField(max_length=80, default="")
    starts_at = DateTimeField(index=True)  # naive UTC
    ends_at = DateTimeField()
    hours = FloatField(null=True)  # training hours credited to each attendee
    days = FloatField(null=True)  # volunteer days credited to each attendee
    code_secret = CharField(max_length=64, default=new_token)  # the seed of the rotating attendance code
    organiser = ForeignKeyField(User, backref="organised_activities", on_delete="RESTRICT")
    note = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    cancelled_at = DateTimeField(null=True)

    @property
    def kind_label(self) -> str:
        return str(self.KINDS.get(self.kind, self.kind))


class ActivityInvitee(BaseModel):
    """Who is expected at an activity."""

    activity = ForeignKeyField(Activity, backref="invitees", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="invitations", on_delete="CASCADE")

    class Meta:
        indexes = ((("activity", "user"), True),)


class Attendance(BaseModel):
    """One person at one activity: present (scanned, or marked by the organiser), or excused (请假) with a reason."""

    STATUSES = {"present": _l("出席"), "excused": _l("请假"), "absent": _l("缺席")}

    activity = ForeignKeyField(Activity, backref="attendance", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="attendance", on_delete="CASCADE")
    status = CharField(max_length=10, default="present")
    method = CharField(max_length=8, default="scan")  # scan, or marked by the organiser
    reason = TextField(default="")
    uuid = UUIDField(null=True, unique=True)  # the phone's record, for a scanned check-in
    device_time = DateTimeField(null=True)
    received_at = DateTimeField(default=utcnow)
    recorded_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        indexes = ((("activity", "user"), True),)


class Suggestion(BaseModel):
    """合理化建议: any employee's suggestion (offline too); the branch adopts it or not, with a note."""

    STATUSES = {"submitted": _l("待处理"), "adopted": _l("已采纳"), "declined": _l("未采纳")}

    uuid = UUIDField(unique=True)
    author = ForeignKeyField(User, backref="suggestions", on_delete="RESTRICT")
    station = ForeignKeyField(Station, backref="suggestions", on_delete="RESTRICT")
    title = CharField(max_length=80)
    body = TextField()
    device_time = DateTimeField()
    received_at = DateTimeField(default=utcnow)
    status = CharField(max_length=10, default="submitted", index=True)
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)
    decision_note = TextField(default="")

    @property
    def status_label(self) -> str:
        return str(self.STATUSES.get(self.status, self.status))


class PioneerProject(BaseModel):
    """党员先锋工程: a project led by a party member, pushed forward milestone by milestone (节点式推进)."""

    STATUSES = {"active": _l("推进中"), "done": _l("已完成"), "cancelled": _l("已取消")}

    station = ForeignKeyField(Station, backref="projects", on_delete="RESTRICT")
    title = CharField(max_length=80)
    goal = TextField(default="")
    leader = ForeignKeyField(User, backref="led_projects", on_delete="RESTRICT")
    well = ForeignKeyField(Well, null=True, backref="projects", on_delete="SET NULL")
    starts_on = DateField()
    due_on = DateField()
    status = CharField(max_length=10, default="active")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class Milestone(BaseModel):
    """A node of a pioneer project, with its owner, due date and when it was reached."""

    project = ForeignKeyField(PioneerProject, backref="milestones", on_delete="CASCADE")
    title = CharField(max_length=80)
    owner = ForeignKeyField(User, backref="milestones", on_delete="RESTRICT")
    due_on = DateField()
    done_at = DateTimeField(null=True)
    done_note = TextField(default="")
    sort_order = SmallIntegerField(default=0)


class ModelPost(BaseModel):
    """党员示范岗: a post a member holds as a model, shown on their card while current."""

    member = ForeignKeyField(User, backref="model_posts", on_delete="CASCADE")
    title = CharField(max_length=60)
    start_date = DateField()
    end_date = DateField(null=True)
    assigned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")


class ScoreRules(BaseModel):
    """《3K+行为》 rules, one row per version: JSON rows of rule → source → points. A month is scored by the version
    in force on its first day (the newest with valid_from ≤ that day), so a change never rescores the past."""

    # NULL: the defaults every work area starts from (version 1); a work area's own versions carry its id.
    work_area = ForeignKeyField(WorkArea, null=True, backref="+", on_delete="CASCADE")
    version = IntegerField()
    valid_from = DateField()
    rules = TextField()
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("work_area", "version"), True),)


class Deduction(BaseModel):
    """A deduction from a member's 行为表现 for a month, recorded by the branch secretary with its reason."""

    member = ForeignKeyField(User, backref="deductions", on_delete="CASCADE", index=False)  # leads (member, month)
    station = ForeignKeyField(Station, backref="deductions", on_delete="RESTRICT")  # the member's branch
    month = CharField(max_length=7)  # "2026-11"
    points = FloatField()
    reason = TextField()
    recorded_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    recorded_at = DateTimeField(default=utcnow)
    corrects = ForeignKeyField("self", null=True, unique=True, backref="+", on_delete="CASCADE")  # the one it undoes

    class Meta:
        indexes = ((("member", "month"), False),)


class UserSession(BaseModel):
    """A login on one device. The cookie holds a random 256-bit id; only its SHA-256 is stored, so a copy of the
    database does not hold usable cookies. Ended for good by `revoked_at` (logout, new password, disabled account,
    timeouts); `webapp/sessions.py` holds the rules."""

    token_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)  # absolute: no activity extends it
    persistent = BooleanField(default=False)  # "在本机保持登录": the cookie outlives the browser
    user_agent = CharField(max_length=120, default="")
    address = CharField(max_length=45, default="")
    revoked_at = DateTimeField(null=True)
    revoked_reason = CharField(max_length=16, default="")

    @classmethod
    def revoke_all(cls, user, reason: str, *, address: str = "", now=None) -> int:
        """End every open session of user (reason: password, disabled, admin …); recorded when there were any."""
        count = (cls.update(revoked_at=now or utcnow(), revoked_reason=reason[:16])
                 .where((cls.user == user) & cls.revoked_at.is_null()).execute())
        if count:
            AuthEvent.record("session_revoked", user=user, address=address, detail=f"{reason} ×{count}")
        return count


class LoginAttempt(BaseModel):
    """A login attempt from a client address, for throttling per address across every server process."""

    address = CharField(max_length=45)
    at = DateTimeField(default=utcnow, index=True)
    employee_no = CharField(max_length=40, default="")  # as typed (cleaned, capped), known or not
    succeeded = BooleanField(default=False)

    class Meta:
        indexes = ((("address", "at"), False),)


auth_log = logging.getLogger("jingzhan.auth")

# Logged at WARNING (the rest at INFO): what an administrator should look at.
AUTH_WARNINGS = {"login_failed", "account_locked", "login_throttled", "session_revoked"}


class AuthEvent(BaseModel):
    """Login, logout, lockout, throttling, password change, ended sessions: kept for an administrator to review
    (`jingzhan auth-events`) and written as a log line ("jingzhan.auth") too. Never a password."""

    at = DateTimeField(default=utcnow, index=True)
    event = CharField(max_length=24)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    employee_no = CharField(max_length=40, default="")  # as typed at login, or the user's
    address = CharField(max_length=45, default="")
    detail = CharField(max_length=120, default="")

    @classmethod
    def record(cls, event: str, *, user=None, employee_no: str = "", address: str = "", detail: str = "", now=None):
        """Store the event and log it as one JSON line (so typed text cannot forge a line)."""
        employee_no = (employee_no or (user.employee_no if user is not None else ""))[:40]
        row = cls.create(at=now or utcnow(), event=event, user=user, employee_no=employee_no, address=address[:45],
                         detail=detail[:120])
        payload = {"event": event, "user_id": user.id if user is not None else None, "employee_no": employee_no,
                   "address": address, "detail": detail}
        auth_log.log(logging.WARNING if event in AUTH_WARNINGS else logging.INFO, "%s",
                     json.dumps(payload, ensure_ascii=False), extra={"auth_event": payload})
        return row


class PushSubscription(BaseModel):
    """A phone's Web Push subscription (optional channel, when the server has VAPID keys): where the browser's push
    service accepts messages for it, and up to when the bell's items were sent (webapp/push.py)."""

    user = ForeignKeyField(User, backref="push_subscriptions", on_delete="CASCADE")
    endpoint = CharField(max_length=1000, unique=True)
    p256dh = CharField(max_length=200)
    auth = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)
    sent_until = DateTimeField(default=utcnow)  # items up to here were pushed (or were older than the subscription)


class SchemaVersion(BaseModel):
    """Which schema migrations this database has been upgraded through."""

    version = IntegerField(primary_key=True)
    name = CharField(max_length=120)
    applied_at = DateTimeField(default=utcnow)


MODELS = [
    Plant, WorkArea, Station, User, UserRole, Well, ReplacedLabel, NfcTag, Equipment, SyncReceipt, Evidence,
    ChainLink, Discard, Patrol, BulkApproval, WellOperation,
    CheckTemplate, ReadingSet, Photo, EquipmentCheck, Hazard, HazardStep, Procedure,
    Commitment, CommitmentProgress, Pairing, WellContract, ShiftTally, MonthTally, TallyBasis, TallySlot,
    FluctuationAlert, Handover, ProductionPlan,
    Activity, ActivityInvitee, Attendance, Suggestion, PioneerProject, Milestone, ModelPost, ScoreRules, Deduction,
    UserSession, LoginAttempt, AuthEvent, PushSubscription,
    SchemaVersion,
]
