"""A synced record's envelope — its uuid, type and time — and the answers a batch gives about it, whichever path
(record by record, or the set-based one of webapp/sync_sets.py) looked into the record."""
import hashlib
import hmac
import uuid as uuid_module
from datetime import datetime, timedelta, timezone

from flask_babel import gettext

from .evidence import canonical_json
from .patrols import RecordError

MAX_FUTURE = timedelta(minutes=5)
RECORD_TYPES = ("patrol", "equipment_check", "hazard", "hazard_step", "commitment_progress", "attendance",
                "suggestion", "discard")


# Times a phone can mean (years 2000–2199 in any zone); anything else is refused, so the arithmetic on them
# (clock offsets, shifts) cannot overflow.
EARLIEST_TIME, LATEST_TIME = datetime(1999, 12, 31), datetime(2200, 1, 2)


def parse_time(value) -> datetime:
    """An ISO 8601 time with its offset, as naive UTC; a time without an offset, or outside 2000–2199, is refused."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(value)
    try:
        utc = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # "0001-01-01T00:00:00+14:00" is before year 1 in UTC
        raise ValueError(value) from None
    if not EARLIEST_TIME <= utc < LATEST_TIME:
        raise ValueError(value)
    return utc


def content_hash(record: dict) -> str:
    """A hash of what the record says (not of its signature), to tell a replay from a conflicting reuse of a uuid."""
    content = {"type": record.get("type"), "created_at": record.get("created_at"), "data": record.get("data")}
    # surrogatepass: a lone surrogate (a note cut in the middle of an emoji) is hashed, not a 500.
    return hashlib.sha256(canonical_json(content).encode("utf-8", "surrogatepass")).hexdigest()


def record_signature(key_hex: str, record: dict, user_id: int) -> str:
    """HMAC-SHA256, with the author's key, over the record and its author: what an exported record carries."""
    signed = {k: record.get(k) for k in ("uuid", "type", "created_at", "data")}
    signed["user_id"] = user_id
    return hmac.new(bytes.fromhex(key_hex), canonical_json(signed).encode(), hashlib.sha256).hexdigest()


def rejected(uuid, code, message, field=None):
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"uuid": uuid, "status": "rejected", "error": error}


def check_envelope(record):
    """(uuid, type, device time) of a record, or RecordError."""
    if not isinstance(record, dict):
        raise RecordError("invalid_record", gettext("记录格式不对。"))
    raw = record.get("uuid")
    try:
        parsed = uuid_module.UUID(raw) if isinstance(raw, str) and len(raw) <= 36 else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != raw.lower():
        raise RecordError("invalid_uuid", gettext("记录编号（uuid）无效。"), "uuid")
    if not isinstance(record.get("type"), str) or record["type"] not in RECORD_TYPES:
        raise RecordError("unknown_type", gettext("未知的记录类型：%(type)s", type=str(record.get("type"))[:32]), "type")
    try:
        device_time = parse_time(record.get("created_at"))
    except (TypeError, ValueError):
        raise RecordError("invalid_time", gettext("记录时间无效（需带时区的 ISO 8601 时间）。"), "created_at") from None
    if not isinstance(record.get("data"), dict):
        raise RecordError("invalid_record", gettext("记录内容格式不对。"), "data")
    return str(parsed), record["type"], device_time


def refused(record, exc: RecordError) -> dict:
    """The answer for a record refused before it was looked into; echoes its uuid (cut short) when it had one."""
    raw = record.get("uuid") if isinstance(record, dict) else None
    return rejected(raw[:40] if isinstance(raw, str) else None, exc.code, exc.message, exc.field)


def answer_replay(author_id: int, stored_hash: str, object_id, uuid: str, user, digest: str) -> dict:
    """The answer to a uuid the server has a receipt of (its author, content hash and object): the same record sent
    again by its author is a duplicate, anything else a conflict."""
    if author_id == user.id and stored_hash == digest:
        return {"uuid": uuid, "status": "duplicate", "id": object_id}
    return rejected(uuid, "conflict", gettext("此记录编号已被另一条不同的记录使用。"), "uuid")


def too_early(uuid: str) -> dict:
    """The answer to a record made later than the server's now (beyond MAX_FUTURE): the phone's clock is ahead."""
    return rejected(uuid, "time_in_future", gettext("记录时间晚于当前时间，请检查手机时间。"), "created_at")
