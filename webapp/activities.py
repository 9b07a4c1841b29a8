"""Branch activities (三会一课, 主题党日, 学习, 培训, 义务献工): scheduling, who is expected, and attendance — marked
by the organiser, or checked in by scanning a QR code that changes every 30 seconds (the `attendance` record)."""
import hashlib
import hmac
import math
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext, lazy_gettext as _l
from peewee import IntegrityError, fn

from models import Activity, ActivityInvitee, Attendance, Station, User, db

from .access import MAX_ID, parse_id
from .party import manages_branch
from .periods import SETTLED, local_today, open_since
from .patrols import Context, RecordError
from .text import clean_line, clean_text

STEP_SECONDS = 30
TOLERANCE_STEPS = 2  # a code is good for its own step and two either side: 2½ minutes on the server's clock
OPEN_BEFORE = timedelta(minutes=30)
CODE_PATTERN = re.compile(r"[0-9a-f]{12}")
MAX_STEP = 2**40
MAX_TOPIC, MAX_PLACE, MAX_NOTE, MAX_REASON = 120, 80, 500, 200
MAX_DURATION = timedelta(days=7)
SCHEDULE_RANGE = timedelta(days=366)  # how far ahead an activity may be scheduled
LATE_GRACE = timedelta(hours=12)  # an offline check-in must reach the server within this after the activity ends
# kind: (field, label, unit, upper limit) of what each attendee is credited with
CREDITS = {"training": ("hours", _l("学时"), _l("学时"), 24), "volunteer": ("days", _l("献工天数"), _l("天"), 7)}
OPEN_TO_STAFF = ("training", "volunteer")  # kinds that may invite colleagues who are not party members
SHEET_LABELS = {**Attendance.STATUSES, "waiting": _l("未签到")}
EXPIRED = _l("签到码已过期，请扫描现场大屏上的最新二维码。")
INVALID_CODE = _l("签到码无效：请扫描活动现场大屏上的签到二维码。")


class ActivityError(Exception):
    """A form the rules refuse: {field: Chinese message}."""

    def __init__(self, errors: dict):
        super().__init__("；".join(errors.values()))
        self.errors = errors


def time_step(at: datetime) -> int:
    """The number of the 30-second step a naive-UTC time falls in."""
    return int(at.replace(tzinfo=timezone.utc).timestamp()) // STEP_SECONDS


def step_code(activity: Activity, step: int) -> str:
    """The activity's check-in code for one step: HMAC-SHA256 of id and step under its secret, 48 bits in hex."""
    message = f"{activity.id}:{step}".encode()
    return hmac.new(activity.code_secret.encode(), message, hashlib.sha256).hexdigest()[:12]


def check_in_opens(activity: Activity) -> datetime:
    return activity.starts_at - OPEN_BEFORE


def is_open(activity: Activity, at: datetime) -> bool:
    """Whether members may check in at this time: from 30 minutes before the start to the end."""
    return activity.cancelled_at is None and check_in_opens(activity) <= at <= activity.ends_at


def may_manage(user, activity: Activity) -> bool:
    """The organiser, the branch's secretary, or an admin (the route has checked the work area)."""
    return activity.organiser_id == user.id or manages_branch(user, activity.station_id)


def may_attend(user, activity: Activity) -> bool:
    """Who may check in: everyone invited, and every party member of the branch (invited or not)."""
    if user.station_id == activity.station_id and user.is_party_member:
        return True
    return ActivityInvitee.select().where(
        (ActivityInvitee.activity == activity.id) & (ActivityInvitee.user == user.id)).exists()


def invitable(station: Station) -> tuple[list[User], list[User]]:
    """The branch's party members, and the station's other staff (who may be asked to 培训 and 义务献工)."""
    staff = list(User.select().where((User.station == station) & User.is_enabled).order_by(User.employee_no))
    return [u for u in staff if u.is_party_member], [u for u in staff if not u.is_party_member]


def to_utc(value: str, tz_name: str) -> datetime:
    """A datetime-local form value in the work area's zone, as naive UTC; ValueError if it is not one."""
    local = datetime.fromisoformat(value.strip()) if 0 < len(value.strip()) <= 19 else None
    if local is None or local.tzinfo is not None or not 2000 <= local.year <= 2100:
        raise ValueError(value)
    return local.replace(tzinfo=ZoneInfo(tz_name)).astimezone(timezone.utc).replace(tzinfo=None)


def _line(form, field, label, max_length, errors) -> str:
    raw = form.get(field) or ""
    if len(raw) > max_length:
        errors[field] = gettext("%(label)s不能超过 %(max)s 字。", label=label, max=max_length)
    value = clean_line(raw, max_length)
    if not value and field not in errors:
        errors[field] = gettext("请填写%(label)s。", label=label)
    return value


def _times(form, now, tz_name, errors):
    times = {}
    for field, label in (("starts_at", gettext("开始时间")), ("ends_at", gettext("结束时间"))):
        raw = form.get(field) or ""
        if not raw.strip():
            errors[field] = gettext("请填写%(label)s。", label=label)
            continue
        try:
            times[field] = to_utc(raw, tz_name)
        except ValueError:
            errors[field] = gettext("%(label)s格式不对，请按“年-月-日 时:分”填写。", label=label)
    start, end = times.get("starts_at"), times.get("ends_at")
    if start and start < open_since(local_today(now, tz_name), tz_name):
        errors["starts_at"] = gettext("开始时间不能早于上月 1 日：%(reason)s", reason=SETTLED)
    elif start and start > now + SCHEDULE_RANGE:
        errors["starts_at"] = gettext("开始时间最多安排到一年以后。")
    if start and end and end <= start:
        errors["ends_at"] = gettext("结束时间须晚于开始时间。")
    elif start and end and end - start > MAX_DURATION:
        errors["ends_at"] = gettext("一次活动最长 7 天。")
    return start, end


def _credits(form, kind, errors) -> dict:
    """Training hours and volunteer days: required for their own kind, refused for the others."""
    values = {}
    for credit_kind, (field, label, unit, high) in CREDITS.items():
        raw = (form.get(field) or "").strip()
        values[field] = None
        if kind != credit_kind:
            if raw:
                errors[field] = gettext("只有%(kind)s填写%(label)s。", kind=Activity.KINDS[credit_kind], label=label)
            continue
        try:
            number = float(raw) if raw and len(raw) <= 20 else None
        except ValueError:
            number = math.nan
        if number is None:
            errors[field] = gettext("请填写%(label)s。", label=label)
        elif not math.isfinite(number) or not 0 < round(number, 1) <= high:
            errors[field] = gettext("%(label)s应大于 0，最多 %(high)s %(unit)s（精确到 0.1）。", label=label, high=high,
                                    unit=str(unit).lower())
        else:
            values[field] = round(number, 1)
    return values


def _invitees(form, station, kind, errors) -> list[int]:
    members, others = invitable(station)
    allowed = {u.id for u in members} | ({u.id for u in others} if kind in OPEN_TO_STAFF else set())
    raw = form.getlist("invitees")
    chosen = {parse_id(v) for v in raw} - {None}
    if len(chosen) != len(set(raw)) or chosen - allowed:
        errors["invitees"] = gettext("参加人员只能是本支部党员；培训和义务献工还可以选本站其他员工。")
    elif not chosen:
        errors["invitees"] = gettext("请至少选择一名参加人员。")
    return sorted(chosen)


def clean_activity(form, station: Station, *, now: datetime, tz_name: str) -> tuple[dict, list[int]]:
    """The fields of an activity and the ids of who is expected, from the form; ActivityError lists what is wrong."""
    errors: dict = {}
    kind = form.get("kind", "")
    if kind not in Activity.KINDS:
        errors["kind"] = gettext("请选择活动类型。")
    topic = _line(form, "topic", gettext("活动主题"), MAX_TOPIC, errors)
    place = _line(form, "place", gettext("活动地点"), MAX_PLACE, errors)
    starts_at, ends_at = _times(form, now, tz_name, errors)
    credits = _credits(form, kind, errors)
    note = form.get("note") or ""
    if len(note) > MAX_NOTE:
        errors["note"] = gettext("备注不能超过 %(max)s 字。", max=MAX_NOTE)
    invitees = _invitees(form, station, kind, errors)
    if errors:
        raise ActivityError(errors)
    fields = {"kind": kind, "topic": topic, "place": place, "starts_at": starts_at, "ends_at": ends_at,
              "note": clean_text(note), **credits}
    return fields, invitees


def settled(activity: Activity, now: datetime, tz_name: str) -> bool:
    """Whether the activity lies before the settlement window: its attendance has been scored and stays as it is."""
    return activity.starts_at < open_since(local_today(now, tz_name), tz_name)


def save_activity(organiser, station: Station, form, *, now: datetime, tz_name: str,
                  activity: Activity | None = None) -> Activity:
    """Schedule a new activity of the branch, or change one (its invitees become exactly those ticked)."""
    if activity is not None and activity.cancelled_at is not None:
        raise ActivityError({"form": gettext("活动已取消，不能再修改。")})
    if activity is not None and settled(activity, now, tz_name):
        raise ActivityError({"form": str(SETTLED)})
    fields, invitees = clean_activity(form, station, now=now, tz_name=tz_name)
    with db.atomic():
        if activity is None:
            activity = Activity.create(station=station, organiser=organiser, **fields)
            kept = set()
        else:
            Activity.update(**fields).where(Activity.id == activity.id).execute()
            activity = Activity.get_by_id(activity.id)
            ActivityInvitee.delete().where((ActivityInvitee.activity == activity)
                                           & ActivityInvitee.user.not_in(invitees)).execute()
            kept = {i.user_id for i in ActivityInvitee.select().where(ActivityInvitee.activity == activity)}
        new = [{"activity": activity.id, "user": user_id} for user_id in invitees if user_id not in kept]
        if new:
            ActivityInvitee.insert_many(new).execute()
    return activity


def cancel_activity(activity: Activity, now: datetime, tz_name: str) -> None:
    """Cancel (not delete): the activity stays on the lists as 已取消 and its code stops working."""
    if settled(activity, now, tz_name):
        raise ActivityError({"form": str(SETTLED)})
    if activity.cancelled_at is None:
        activity.cancelled_at = now
        activity.save(only=[Activity.cancelled_at])


def invitee_ids(activity: Activity) -> set[int]:
    return {i.user_id for i in ActivityInvitee.select(ActivityInvitee.user).where(ActivityInvitee.activity == activity)}


def attendance_sheet(activity: Activity, now: datetime) -> dict:
    """Everyone expected or present, with their status (absent only once the activity is over), and the counts."""
    invited = {u.id: u for u in User.select().join(ActivityInvitee, on=ActivityInvitee.user == User.id)
               .where(ActivityInvitee.activity == activity)}
    rows = {a.user_id: a for a in Attendance.select(Attendance, User).join(User, on=Attendance.user)
            .where(Attendance.activity == activity)}
    people = {**invited, **{user_id: row.user for user_id, row in rows.items()}}
    over = now > activity.ends_at
    lines = []
    for user in sorted(people.values(), key=lambda u: u.employee_no):
        row = rows.get(user.id)
        status = row.status if row else ("absent" if over else "waiting")
        lines.append({"user": user, "row": row, "status": status, "label": SHEET_LABELS[status],
                      "invited": user.id in invited})
    counts = {status: sum(1 for line in lines if line["status"] == status) for status in SHEET_LABELS}
    counts["expected"] = len(invited)
    return {"lines": lines, "counts": counts}


def mark_attendance(actor, activity: Activity, member: User, status: str, reason: str, now: datetime,
                    tz_name: str) -> Attendance:
    """The organiser marks someone present by hand (method "marked") or excused (请假) with a reason — never
    themself (their own presence is scanned like anyone's), and not once the activity's month is settled."""
    if activity.cancelled_at is not None:
        raise ActivityError({"form": gettext("活动已取消。")})
    if settled(activity, now, tz_name):
        raise ActivityError({"form": str(SETTLED)})
    if member.id == actor.id:
        raise ActivityError({"form": gettext("本人的出席请扫码签到，或由其他管理人员登记。")})
    if status not in ("present", "excused"):
        raise ActivityError({"status": gettext("请选择“出席”或“请假”。")})
    reason = clean_text(reason or "")
    if status == "excused" and not reason:
        raise ActivityError({"reason": gettext("请写明%(name)s的请假原因。", name=member.name)})
    if len(reason) > MAX_REASON:
        raise ActivityError({"reason": gettext("请假原因不能超过 %(max)s 字。", max=MAX_REASON)})
    if status == "present" and now < check_in_opens(activity):
        raise ActivityError({"status": gettext("活动还没有开始，不能登记出席。")})
    if not may_attend(member, activity):
        raise ActivityError({"form": gettext("%(name)s不是本次活动的参加人员。", name=member.name)})
    fields = {"status": status, "method": "marked", "reason": reason if status == "excused" else "",
              "recorded_by": actor.id, "received_at": now}
    with db.atomic():
        row = Attendance.get_or_none((Attendance.activity == activity) & (Attendance.user == member))
        if row is not None and row.method == "scan" and row.status == "present":
            raise ActivityError({"form": gettext("%(name)s已扫码签到，无需登记。", name=member.name)})
        if row is None:
            return Attendance.create(activity=activity, user=member, **fields)
        Attendance.update(**fields).where(Attendance.id == row.id).execute()
        return Attendance.get_by_id(row.id)


def _whole(value, low: int, high: int, code: str, message: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RecordError(code, message, field)
    return value


def verify_scan(user, activity_id, step, code, at: datetime) -> Activity:
    """The activity whose code was scanned, if the code is right for a step near `at` (the server's clock), the
    activity is open then, and the user may attend; else RecordError with the reason in Chinese."""
    activity_id = _whole(activity_id, 1, MAX_ID, "invalid_value", gettext("活动编号无效。"), "activity_id")
    step = _whole(step, 0, MAX_STEP, "invalid_code", str(INVALID_CODE), "step")
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise RecordError("invalid_code", str(INVALID_CODE), "code")
    activity = Activity.select(Activity, Station).join(Station).where(Activity.id == activity_id).first()
    if activity is None or activity.station.work_area_id != user.work_area_id:
        raise RecordError("unknown_activity", gettext("找不到这项活动。"), "activity_id")
    if not hmac.compare_digest(code, step_code(activity, step)):
        raise RecordError("invalid_code", str(INVALID_CODE), "code")
    if activity.cancelled_at is not None:
        raise RecordError("activity_cancelled", gettext("“%(topic)s”已取消，无需签到。", topic=activity.topic), "activity_id")
    if abs(step - time_step(at)) > TOLERANCE_STEPS:
        raise RecordError("code_expired", str(EXPIRED), "code")
    if not is_open(activity, at):
        raise RecordError("not_open", gettext("不在签到时间内：签到从活动开始前 30 分钟开放，到活动结束为止。"), "activity_id")
    if not may_attend(user, activity):
        raise RecordError("not_invited", gettext("您不在本次活动的参加人员之中，请联系活动组织人。"), "activity_id")
    return activity


def create_attendance(ctx: Context, data: dict) -> Attendance:
    """Handler of the `attendance` record type: a check-in by scanning the activity's code (offline too).

    A member already present answers with their existing row (so a second scan counts once); someone excused
    earlier who scans after all becomes present."""
    from .evidence import judge_presence

    # Judged at the bounded time, never the phone's claim alone: a clock set back cannot revive an old code.
    activity = verify_scan(ctx.user, data.get("activity_id"), data.get("step"), data.get("code"), ctx.clock_time)
    judge_presence(ctx, None, method="")
    if ctx.received_at > activity.ends_at + LATE_GRACE:
        raise RecordError("checkin_closed", gettext("签到已截止：活动结束 12 小时后不再接受扫码签到，请联系活动组织人登记。"),
                          "activity_id")
    mine = (Attendance.activity == activity.id) & (Attendance.user == ctx.user.id)
    row = Attendance.get_or_none(mine)
    if row is not None and row.status == "present":
        return row
    fields = {"status": "present", "method": "scan", "reason": "", "uuid": ctx.uuid, "device_time": ctx.device_time,
              "received_at": ctx.received_at, "recorded_by": None}
    if row is not None:
        Attendance.update(**fields).where(Attendance.id == row.id).execute()
        return Attendance.get_by_id(row.id)
    try:
        with db.atomic():
            return Attendance.create(activity=activity.id, user=ctx.user.id, **fields)
    except IntegrityError:
        # A concurrent batch checked the same member in first (PostgreSQL; SQLite batches queue).
        row = Attendance.get_or_none(mine)
        if row is None:
            raise
        return row


def counts_by_activity(ids: list[int]) -> dict:
    """Per activity id: (expected, present), in two queries."""
    if not ids:
        return {}
    expected = dict(ActivityInvitee.select(ActivityInvitee.activity, fn.COUNT(ActivityInvitee.id))
                    .where(ActivityInvitee.activity.in_(ids)).group_by(ActivityInvitee.activity).tuples())
    present = dict(Attendance.select(Attendance.activity, fn.COUNT(Attendance.id))
                   .where(Attendance.activity.in_(ids) & (Attendance.status == "present"))
                   .group_by(Attendance.activity).tuples())
    return {i: (expected.get(i, 0), present.get(i, 0)) for i in ids}


def month_range(value: str, tz_name: str) -> tuple[datetime, datetime] | None:
    """The naive-UTC bounds of a month given as YYYY-MM in the work area's zone, or None if it is not one."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not match or not 2000 <= int(match[1]) <= 2100 or not 1 <= int(match[2]) <= 12:
        return None
    year, month = int(match[1]), int(match[2])
    start = to_utc(f"{year:04d}-{month:02d}-01T00:00", tz_name)
    end = to_utc(f"{year + month // 12:04d}-{month % 12 + 1:02d}-01T00:00", tz_name)
    return start, end


def my_activities(user):
    """The activities a user is invited to or has attended, newest first."""
    invited = ActivityInvitee.select(ActivityInvitee.activity).where(ActivityInvitee.user == user.id)
    attended = Attendance.select(Attendance.activity).where(Attendance.user == user.id)
    return (Activity.select(Activity, Station).join(Station)
            .where(Activity.id.in_(invited) | Activity.id.in_(attended)).order_by(Activity.starts_at.desc()))
