"""The one write path for field records: a batch from the phone's outbox, answered per record, each counted once."""
import hmac
import logging
import random
import time
from datetime import timedelta

from flask_babel import gettext
from peewee import IntegrityError, OperationalError

from models import SyncReceipt, User, db, utcnow

from . import evidence, sync_sets
from .activities import create_attendance
from .checks import create_equipment_check
from .access import MAX_ID
from .database import is_postgres
from .envelope import (MAX_FUTURE, answer_replay, check_envelope, content_hash, parse_time, record_signature, refused,
                       rejected, too_early)
from .hazards import create_hazard, create_hazard_step
from .party import create_commitment_progress
from .patrols import Context, RecordError, create_patrol
from .suggestions import create_suggestion

log = logging.getLogger("jingzhan.sync")

# record type (envelope.RECORD_TYPES) → handler(ctx, data) returning the created model row.
HANDLERS = {
    "patrol": create_patrol,
    "equipment_check": create_equipment_check,
    "hazard": create_hazard,
    "hazard_step": create_hazard_step,
    "commitment_progress": create_commitment_progress,
    "attendance": create_attendance,
    "suggestion": create_suggestion,
    "discard": evidence.create_discard,
}

MAX_RECORDS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024
MAX_DEVICE_ID = 64


class BatchError(Exception):
    """The whole request is refused (nothing in it was looked at record by record)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _device(text: str) -> str:
    """A phone's device id as stored: the outbox makes it printable ASCII; anything else is kept as its escapes — a
    stray character (half an emoji, a NUL no PostgreSQL text holds) must not cost the batch."""
    return "".join(ch if " " <= ch <= "~" else ch.encode("ascii", "backslashreplace").decode() if ord(ch) > 127
                   else f"\\x{ord(ch):02x}" for ch in text)[:MAX_DEVICE_ID]


def _sync_one(user, record, *, device_id, offset_s, received_at, settings, imported_by, cache):
    try:
        uuid, record_type, device_time = check_envelope(record)
    except RecordError as exc:
        return refused(record, exc)
    digest = content_hash(record)
    existing = SyncReceipt.get_or_none(SyncReceipt.uuid == uuid)
    if existing is not None:
        return answer_replay(existing.author_id, existing.content_hash, existing.object_id, uuid, user, digest)
    if device_time + timedelta(seconds=offset_s) > received_at + MAX_FUTURE:
        return too_early(uuid)
    timing = evidence.judge_time(user, evidence.read_chain(record, parse_time), device_time, offset_s, received_at)
    ctx = Context(user=user, device_time=device_time, received_at=received_at, clock_offset_s=evidence.stored_offset(offset_s),
                  uuid=uuid, settings=settings, data=record["data"], timing=timing, cache=cache)
    try:
        with db.atomic():  # a savepoint: a refused record leaves nothing behind
            row = HANDLERS[record_type](ctx, record["data"])
            receipt = SyncReceipt.create(uuid=uuid, type=record_type, author=user.id, content_hash=digest,
                                         object_id=row.id, device_id=device_id, imported_by=imported_by,
                                         received_at=received_at)
            evidence.keep(ctx, receipt, row, record_type)
    except RecordError as exc:
        evidence.note_link(user, uuid, record_type, timing, "refused")
        return rejected(uuid, exc.code, exc.message, exc.field)
    except IntegrityError:
        # The same uuid committed by a concurrent batch while this one ran.
        existing = SyncReceipt.get_or_none(SyncReceipt.uuid == uuid)
        if existing is None:
            raise
        return answer_replay(existing.author_id, existing.content_hash, existing.object_id, uuid, user, digest)
    except OperationalError as error:
        if _transient(error):
            raise  # the whole batch is run again (write_batch)
        return _failed(uuid, record_type)
    except Exception:  # noqa: BLE001 — one record's unexpected failure must cost that record, not the batch
        return _failed(uuid, record_type)
    evidence.note_link(user, uuid, record_type, timing, "created")
    return {"uuid": uuid, "status": "created", "id": row.id}


def _failed(uuid, record_type):
    """A record the server failed on (a bug, not the record's fault): logged in full, answered as refused with a
    reason the worker can act on; its savepoint is rolled back, the batch's other records go on."""
    log.exception("sync: record %s (%s) failed", uuid, record_type)
    return rejected(uuid, "server_error", gettext("服务器处理这条记录时出错（已记录，管理员会处理）；"
                                                  "记录仍在手机上，可稍后重新发送，或导出交站长。"), None)


def sync_batch(user, payload, *, settings, imported_by=None, set_based=True) -> dict:
    """Store each record of the batch at most once, attributed to user; answer record by record. Its patrols are
    judged and written as sets (webapp/sync_sets.py) unless `set_based` is False: the same answers and rows,
    record by record (what tests/test_sync_sets.py compares it with)."""
    if not isinstance(payload, dict):
        raise BatchError(400, "invalid_batch", gettext("请求格式不对：应为 JSON 对象。"))
    records = payload.get("records")
    if not isinstance(records, list):
        raise BatchError(400, "invalid_batch", gettext("请求缺少 records 列表。"))
    if len(records) > MAX_RECORDS:
        raise BatchError(413, "too_many_records", gettext("一次最多同步 %(count)s 条记录。", count=MAX_RECORDS))
    device_id = payload.get("device_id", "")
    if not isinstance(device_id, str) or len(device_id) > MAX_DEVICE_ID:
        raise BatchError(400, "invalid_batch", gettext("设备编号无效。"))
    device_id = _device(device_id)
    received_at = utcnow()
    try:
        sent_at = parse_time(payload.get("sent_at"))
    except (TypeError, ValueError):
        raise BatchError(400, "invalid_batch", gettext("发送时间 sent_at 无效（需带时区的 ISO 8601 时间）。")) from None
    offset_s = round((received_at - sent_at).total_seconds())

    def write():
        cache: dict = {}  # one batch's shared reference data (read only: an attempt run again may keep it)

        def one(record):
            return _sync_one(user, record, device_id=device_id, offset_s=offset_s, received_at=received_at,
                             settings=settings, imported_by=imported_by, cache=cache)

        if imported_by is not None or not set_based:
            return [one(record) for record in records]
        return _in_runs(records, one, lambda: sync_sets.Run(user, device_id, offset_s, received_at, settings, cache))

    results = write_batch(write, user.id)
    return {"server_time": received_at.isoformat(timespec="seconds") + "Z", "results": results}


MAX_RUN_BREAKS = 3  # records a run could not take before the rest of the batch goes record by record


def _in_runs(records: list, one, new_run) -> list[dict]:
    """The answers to a batch: records that fit a run (sync_sets.fits) in runs, the others one at a time, in order."""
    results, position, breaks = [], 0, 0
    while position < len(records):
        end = position
        while end < len(records) and breaks < MAX_RUN_BREAKS and sync_sets.fits(records[end]):
            end += 1
        if end == position:
            results.append(one(records[position]))
            position += 1
            continue
        run, taken, broken = new_run(), [], False
        try:
            run.load(records[position:end])
        except OperationalError:
            raise  # the other writers' (write_batch runs the batch again) or the database's
        except Exception:  # noqa: BLE001 — a bug in reading for the run must not cost the batch: record by record
            log.exception("sync: reading for a run of %s records failed", end - position)
            results.extend(one(record) for record in records[position:end])
            position = end
            continue
        try:
            for record in records[position:end]:
                taken.append(run.take(record))
        except sync_sets.NotInRun:
            broken, breaks = True, breaks + 1
        if run.write():
            results.extend(run.final(answer) for answer in taken)
        else:  # another batch stored one of its uuids meanwhile: record by record, each is answered as it stands
            results.extend(one(record) for record in records[position:position + len(taken)])
        position += len(taken)
        if broken:  # the record the run could not take, after the run's records are stored
            results.append(one(records[position]))
            position += 1
    return results


WRITE_ATTEMPTS = 4


def _transient(error: OperationalError) -> bool:
    """A failure that is the other writers', not the batch's: a PostgreSQL deadlock or serialization failure (two
    phones sending the same records in another order), SQLite busy past its timeout."""
    causes = [error, *(error.args[:1]), error.__cause__, error.__context__]
    if any(getattr(cause, "pgcode", None) in ("40P01", "40001") for cause in causes if cause is not None):
        return True
    text = str(error)
    return any(words in text for words in ("deadlock detected", "could not serialize access", "database is locked"))


SYNC_LOCKS = 0x6A7A  # the class of PostgreSQL advisory locks a sync takes, one per author
SYNC_TURNS = (0x6A7B, 0)  # the one lock every sync holds shared, and a batch run again holds alone


def write_batch(write, *author_ids: int):
    """Run write() in one transaction, again from the start if it failed for another writer's sake (up to
    WRITE_ATTEMPTS, with a short random pause): nothing is written twice — a failed attempt is rolled back whole.

    On PostgreSQL the batches of one author take turns (a transaction-scoped advisory lock per author whose records
    it carries, in one order): two of his phones, or a phone and an imported file, carry the same records in any
    order — taking turns they never deadlock. Batches of different authors share no records and run at once. Two
    authors sending the same uuids (a copied outbox, a hostile reuse) can deadlock; the loser, run again at once,
    could meet the winner again and lose every time (tests/test_poison.py lost four times in a row) — so a batch run again
    runs alone: every sync holds SYNC_TURNS shared, a batch run again holds it exclusively, waiting for the batches
    under way to end and holding back the next ones (PostgreSQL queues a new shared request behind it) until it is
    stored. (On SQLite a server's writing requests take turns anyway: webapp/__init__.py.)"""
    postgres = is_postgres()
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with db.atomic():
                if postgres:
                    _take_turns(author_ids, alone=attempt > 0)
                return write()
        except OperationalError as error:
            if attempt == WRITE_ATTEMPTS - 1 or not _transient(error):
                raise
            log.info("sync: batch run again alone after %s", str(error).splitlines()[0])
        time.sleep(random.uniform(0.02, 0.1) * 2**attempt)  # a pause, not a secret
    raise AssertionError("unreachable")


def _take_turns(author_ids, alone: bool) -> None:
    """The batch's advisory locks: SYNC_TURNS (shared, or alone), then each author's in one order — whoever takes
    them, two batches never hold one each and wait for the other's."""
    turns = "pg_advisory_xact_lock" if alone else "pg_advisory_xact_lock_shared"
    db.execute_sql(f"SELECT {turns}(%s, %s)", SYNC_TURNS)  # nosec B608 — one of two function names, no input
    for author_id in sorted({a % 2**31 for a in author_ids}):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (SYNC_LOCKS, author_id))


EXPORT_FORMAT = "jingzhan-outbox"
MAX_IMPORT_RECORDS = 2000
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _author_of(record, importer, authors):
    """The signed author of an exported record, if the importer may bring in that user's records."""
    user_id = record.get("user_id") if isinstance(record, dict) else None
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise RecordError("unknown_author", gettext("记录没有注明作者，无法导入。"), "user_id")
    if user_id not in authors:  # an id beyond the database's integer is no one's (the driver would fail on it)
        authors[user_id] = (User.get_or_none((User.id == user_id) & (User.work_area == importer.work_area_id))
                            if abs(user_id) <= MAX_ID else None)
    author = authors[user_id]
    if author is None:
        raise RecordError("unknown_author", gettext("记录的作者不是本作业区的员工。"), "user_id")
    if author.station_id != importer.station_id and not importer.has_role("admin"):
        raise RecordError("not_your_station", gettext("%(name)s 不是本站员工，请由其所在站导入。", name=author.name), "user_id")
    sig = record.get("sig")
    expected = record_signature(author.signing_key, record, author.id) if author.signing_key else None
    if not isinstance(sig, str) or expected is None or not hmac.compare_digest(sig, expected):
        raise RecordError("bad_signature", gettext("签名无效：记录可能被改动过，或不是本人手机导出的。"), "sig")
    return author


def import_file(importer, payload, *, settings) -> list[dict]:
    """Bring in the records of an exported outbox file through the same once-only path, noting who imported them."""
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise BatchError(422, "invalid_file", gettext("这不是井站通导出的记录文件。"))
    records = payload.get("records")
    if not isinstance(records, list):
        raise BatchError(422, "invalid_file", gettext("文件中没有记录列表。"))
    if len(records) > MAX_IMPORT_RECORDS:
        raise BatchError(413, "too_many_records", gettext("一个文件最多导入 %(count)s 条记录。", count=MAX_IMPORT_RECORDS))
    device_id = _device(payload.get("device_id") if isinstance(payload.get("device_id"), str) else "")
    received_at = utcnow()

    def write():
        authors: dict = {}
        cache: dict = {}
        results = []
        for record in records:
            try:
                author = _author_of(record, importer, authors)
            except RecordError as exc:
                results.append(dict(refused(record, exc), author=None))
                continue
            # The file says nothing trustworthy about the phone's clock at sending time: no offset.
            result = _sync_one(author, record, device_id=device_id, offset_s=0, received_at=received_at,
                               settings=settings, imported_by=importer.id, cache=cache)
            results.append(dict(result, author=author.name))
        return results

    # The file's records are their authors' (the signed user_id; one not an author's is refused inside): their locks.
    authors = {r.get("user_id") for r in records if isinstance(r, dict)}
    return write_batch(write, *(a for a in authors
                                if isinstance(a, int) and not isinstance(a, bool) and abs(a) <= MAX_ID))
