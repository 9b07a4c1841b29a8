"""Hazards (隐患) and their closed loop (闭环式销项): reported → assigned → rectified → verified → closed."""
import json
import uuid as uuid_module
from datetime import date, datetime

from flask_babel import gettext

from models import Equipment, Hazard, HazardStep, Station, User, Well

from .access import MAX_ID, parse_id
from .patrols import Context, RecordError, _text
from .photos import check_photos, photo_list

MAX_DESCRIPTION = 500
MAX_STEP_NOTE = 500


MAX_PHOTOS = 9


def _place(user, data):
    """(station id, well, equipment) the hazard is at: a well, a piece of equipment, or the author's station."""
    well = equipment = None
    equipment_id, well_id = data.get("equipment_id"), data.get("well_id")
    if equipment_id is not None:
        if isinstance(equipment_id, bool) or not isinstance(equipment_id, int):
            raise RecordError("invalid_value", gettext("设备编号无效。"), "equipment_id")
        equipment = (Equipment.select(Equipment, Station).join(Station).where(Equipment.id == equipment_id).first()
                     if abs(equipment_id) <= MAX_ID else None)
        if equipment is None or equipment.station.work_area_id != user.work_area_id:
            raise RecordError("unknown_equipment", gettext("找不到这台设备。"), "equipment_id")
        well_id = equipment.well_id if well_id is None else well_id
    if well_id is not None:
        if isinstance(well_id, bool) or not isinstance(well_id, int):
            raise RecordError("invalid_value", gettext("井编号无效。"), "well_id")
        well = Well.select(Well, Station).join(Station).where(Well.id == well_id).first() if abs(well_id) <= MAX_ID else None
        if well is None or well.station.work_area_id != user.work_area_id:
            raise RecordError("unknown_well", gettext("找不到这口井。"), "well_id")
    station_id = equipment.station_id if equipment else well.station_id if well else user.station_id
    if station_id != user.station_id and not user.has_role("admin"):
        raise RecordError("not_in_station", gettext("只能上报本站的隐患。"), "well_id")
    return station_id, well, equipment


def create_hazard(ctx: Context, data: dict) -> Hazard:
    """Handler of the `hazard` record type: a hazard reported on its own or raised from an abnormal check item."""
    from models import EquipmentCheck

    from .evidence import judge_presence, read_method

    station_id, well, equipment = _place(ctx.user, data)
    description = _text(data.get("description"), gettext("隐患描述"), MAX_DESCRIPTION, "description")
    if not description:
        raise RecordError("missing_description", gettext("请描述隐患。"), "description")
    severity = data.get("severity", "general")
    if not isinstance(severity, str) or severity not in Hazard.SEVERITIES:
        raise RecordError("invalid_value", gettext("隐患级别只能是一般、较大或重大。"), "severity")
    photos = photo_list(data.get("photos"), "photos", MAX_PHOTOS)
    check_photos(ctx.user, photos)
    source = None
    source_uuid = data.get("source_check_uuid")
    if source_uuid is not None:
        try:
            source = EquipmentCheck.get_or_none(EquipmentCheck.uuid == uuid_module.UUID(str(source_uuid)))
        except ValueError:
            raise RecordError("invalid_value", gettext("来源检查记录编号无效。"), "source_check_uuid") from None
    # Reported at a well: how the well was identified counts as for a patrol (an old phone sends no method: typed).
    if well is not None:
        judge_presence(ctx, well, method=data.get("method") if data.get("method") in ("nfc", "scan") else "manual")
    elif data.get("method") is not None:
        read_method(data)
    hazard = Hazard.create(
        uuid=ctx.uuid, station=station_id, well=well, equipment=equipment, source_check=source,
        source_item=_text(data.get("source_item"), gettext("检查项"), 40, "source_item"), reporter=ctx.user.id,
        description=description, severity=severity, photos=json.dumps(photos), reported_at=ctx.clock_time,
    )
    HazardStep.create(uuid=uuid_module.uuid4(), hazard=hazard, action="report", actor=ctx.user.id, at=ctx.clock_time,
                      note=description, photos=json.dumps(photos))
    return hazard


def _is_manager(user, hazard) -> bool:
    return user.has_role("admin") or (user.has_role("leader") and user.station_id == hazard.station_id)


def _parse_deadline(value) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def apply_step(user, hazard: Hazard, action: str, data: dict, *, at: datetime, step_uuid, judge=None) -> HazardStep:
    """Move the hazard one step along its loop, if this user may take that step now; keep the step. judge(well)
    gives the flags of a rectification's evidence (a synced record; webapp/evidence.py)."""
    note = _text(data.get("note"), gettext("说明"), MAX_STEP_NOTE, "note")
    photos = []
    flags = ""
    changes = {}
    if action == "assign":
        if not _is_manager(user, hazard):
            raise RecordError("forbidden", gettext("只有本站站长可以分派隐患。"), "action")
        if hazard.status not in ("reported", "assigned"):
            raise RecordError("wrong_state", gettext("隐患当前为“%(status)s”，不能再分派。", status=hazard.status_label), "action")
        assignee_id = data.get("assignee_id")
        assignee = User.get_or_none(User.id == assignee_id) if isinstance(assignee_id, int) and abs(assignee_id) <= MAX_ID else None
        if assignee is None or assignee.station_id != hazard.station_id or not assignee.is_enabled:
            raise RecordError("invalid_assignee", gettext("请选择本站的整改责任人。"), "assignee_id")
        deadline = _parse_deadline(data.get("deadline"))
        if deadline is None:
            raise RecordError("invalid_deadline", gettext("请填写整改期限（年-月-日）。"), "deadline")
        if deadline < at.date():
            raise RecordError("invalid_deadline", gettext("整改期限不能早于今天。"), "deadline")
        changes = {"status": "assigned", "assignee": assignee.id, "deadline": deadline}
    elif action == "rectify":
        if hazard.assignee_id != user.id:
            raise RecordError("forbidden", gettext("只有整改责任人可以提交整改。"), "action")
        if hazard.status != "assigned":
            raise RecordError("wrong_state", gettext("隐患当前为“%(status)s”，不能提交整改。", status=hazard.status_label), "action")
        if not note:
            raise RecordError("missing_note", gettext("请写明整改做了什么。"), "note")
        photos = photo_list(data.get("photos"), "photos", MAX_PHOTOS, required=True, what=gettext("整改后照片"))
        if hazard.well_id is not None:
            # On site: the assignee tapped the well's tag or scanned its label; anything else is flagged.
            flags = " ".join(judge(Well.get_by_id(hazard.well_id))) if judge else "manual"
        changes = {"status": "rectified", "rectified_by": user.id}
    elif action in ("verify", "return"):
        if hazard.status != "rectified":
            raise RecordError("wrong_state", gettext("隐患当前为“%(status)s”，不在待验收状态。", status=hazard.status_label), "action")
        if user.id == hazard.rectified_by_id:
            raise RecordError("self_verify", gettext("整改人不能验收自己的整改，请由站长或其他同事验收。"), "action")
        if user.station_id != hazard.station_id and not user.has_role("admin"):
            raise RecordError("forbidden", gettext("只能验收本站的隐患。"), "action")
        if action == "return" and not note:
            raise RecordError("missing_note", gettext("退回时请写明原因。"), "note")
        photos = photo_list(data.get("photos"), "photos", MAX_PHOTOS)
        changes = {"status": "verified"} if action == "verify" else {"status": "assigned", "rectified_by": None}
    elif action == "reject":
        # 判定不成立: not a hazard, or the same as another one. Only before anyone rectified it — work done on site
        # is never written off. It scores no 3K+ points (webapp/assessment.py) and leaves the open lists.
        if not _is_manager(user, hazard):
            raise RecordError("forbidden", gettext("只有本站站长可以判定隐患不成立。"), "action")
        if hazard.status not in ("reported", "assigned"):
            raise RecordError("wrong_state", gettext("隐患当前为“%(status)s”，已整改的隐患不能判定不成立。",
                                                     status=hazard.status_label), "action")
        if not note:
            raise RecordError("missing_note", gettext("请写明不成立的理由。"), "note")
        duplicate_of = _original_of(hazard, data.get("duplicate_of"))
        changes = {"status": "rejected", "closed_at": at, "duplicate_of": duplicate_of}
    elif action == "close":
        if not _is_manager(user, hazard):
            raise RecordError("forbidden", gettext("只有本站站长可以销项。"), "action")
        if hazard.status != "verified":
            raise RecordError("wrong_state", gettext("隐患验收通过后才能销项。"), "action")
        changes = {"status": "closed", "closed_at": at}
    else:
        raise RecordError("invalid_value", gettext("未知的处理动作。"), "action")
    check_photos(user, photos)
    for field, value in changes.items():
        setattr(hazard, field, value)
    hazard.save()
    return HazardStep.create(
        uuid=step_uuid, hazard=hazard, action=action, actor=user.id, at=at, note=note, photos=json.dumps(photos),
        assignee=changes.get("assignee"), deadline=changes.get("deadline"), flags=flags,
    )


def _original_of(hazard: Hazard, raw) -> int | None:
    """The hazard this one repeats (another of its station, not itself judged invalid), or None when not given."""
    if raw in (None, ""):
        return None
    original_id = parse_id(raw)
    original = (Hazard.get_or_none((Hazard.id == original_id) & (Hazard.station == hazard.station_id))
                if original_id is not None else None)
    if original is None or original.id == hazard.id or original.status == "rejected":
        raise RecordError("invalid_duplicate", gettext("请选择本站另一条有效的隐患作为重复的原隐患。"), "duplicate_of")
    return original.id


def create_hazard_step(ctx: Context, data: dict) -> HazardStep:
    """Handler of the `hazard_step` record type (e.g. a rectification recorded offline at the well)."""
    raw = data.get("hazard_uuid")
    try:
        hazard_uuid = uuid_module.UUID(raw) if isinstance(raw, str) else None
    except ValueError:
        hazard_uuid = None
    hazard = Hazard.select(Hazard, Station).join(Station).where(Hazard.uuid == hazard_uuid).first() if hazard_uuid else None
    if hazard is None or hazard.station.work_area_id != ctx.user.work_area_id:
        raise RecordError("unknown_hazard", gettext("找不到这条隐患。"), "hazard_uuid")
    from .evidence import all_flags, judge_presence

    def judge(well):
        method = data.get("method") if data.get("method") in ("nfc", "scan") else "manual"
        judge_presence(ctx, well, method=method)
        return all_flags(ctx)

    return apply_step(ctx.user, hazard, data.get("action"), data, at=ctx.clock_time, step_uuid=ctx.uuid, judge=judge)


def is_overdue(hazard: Hazard, today: date) -> bool:
    return hazard.status in ("reported", "assigned") and hazard.deadline is not None and hazard.deadline < today
