"""The set-based path of a sync batch: its patrols judged by the same rules as record by record (webapp/patrols.py,
webapp/evidence.py, webapp/fluctuations.py), against what a few queries read for the whole run of them at once
plus the run's own records before each one, then written with one insert per table.

A batch is cut into runs of patrols identified by label or by hand; whatever else it carries — another type of
record, an NFC tap (its counter is a write the next tap must see), a correction (it looks up its original), a
record whose chain place is known already or fills a gap the run cannot heal — is taken record by record between
runs (webapp/sync.py), after the run before it is written. The answers and the stored rows are those of the path
record by record: tests/test_sync_sets.py compares both over a generated corpus."""
import bisect
import io
import logging
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from peewee import DataError, DecimalField, IntegrityError, OperationalError, UUIDField, __exception_wrapper__, fn

from models import (ChainLink, Evidence, FluctuationAlert, Patrol, ReplacedLabel, Station, SyncReceipt, Well,
                    WellOperation, db)

from .access import MAX_ID
from .database import is_postgres
from .envelope import MAX_FUTURE, answer_replay, check_envelope, content_hash, parse_time, refused, rejected, too_early
from .evidence import evidence_columns, judge_time, read_chain, stored_offset
from .fluctuations import due as alerts_due
from .patrols import REPEAT_RUN, Context, RecordError, judge_patrol, operation_rows
from .readings import CATALOGUE, set_for
from .recorded import BASELINE_DAYS, Recorded

log = logging.getLogger("jingzhan.sync")

READINGS = tuple(CATALOGUE)
SET_METHODS = ("scan", "manual")
REPEAT_LOOKBACK = REPEAT_RUN - 1  # the patrols before a record that patrols.repeats compares it with
COPY_FROM = 64  # rows from which PostgreSQL is written with COPY rather than one INSERT of their VALUES
REPEAT_DAYS = timedelta(days=1)  # read at once for a well that is not a key well; its earlier patrols as needed


def fits(record) -> bool:
    """Whether a record can go in a run: anything refused on its envelope (answered without the database), or a
    patrol identified by label or by hand that corrects nothing."""
    try:
        _, record_type, _ = check_envelope(record)
    except RecordError:
        return True
    data = record["data"]
    return record_type == "patrol" and data.get("method") in SET_METHODS and data.get("corrects_uuid") is None


class NotInRun(Exception):
    """This record needs the path record by record (its answer depends on something the run does not model)."""


@dataclass
class Pending:
    """A record of the run, judged and waiting to be written; its ids once it is."""

    uuid: str
    columns: dict
    operations: dict
    alerts: list
    receipt: dict
    evidence: dict
    patrol_id: int | None = None


@dataclass
class Run(Recorded):
    """Consecutive records of one author's batch, and what the database held for them when the run began."""

    user: object
    device_id: str
    offset_s: int
    received_at: datetime
    settings: dict
    cache: dict
    receipts: dict = field(default_factory=dict)  # uuid → (author id, content hash, object id or Pending)
    known_links: set = field(default_factory=set)  # uuids whose chain place the database has already
    links: dict = field(default_factory=dict)  # (device, seq) → [[link, bounded time, prev], …], first stored first
    wells: dict = field(default_factory=dict)
    replaced: dict = field(default_factory=dict)  # (token, well id) → replaced at
    places: list = field(default_factory=list)  # sorted [(time, order), well id, latitude, longitude]
    patrols: dict = field(default_factory=dict)  # well id → sorted [((device time, order), {reading: value})]
    alerts_open: dict = field(default_factory=dict)  # well id → {metric}
    pending: list = field(default_factory=list)
    new_links: dict = field(default_factory=dict)  # uuid → the ChainLink row to insert
    memo: dict = field(default_factory=dict)  # what was read of a record once, by ("envelope" | "chain", id)
    order: int = 0

    # -- reading what the run needs, a query per kind --------------------------------------------------------------

    def load(self, records: list) -> None:
        envelopes = []
        for record in records:
            try:
                envelopes.append((record, *self._envelope(record)))
            except RecordError:
                continue
        if not envelopes:
            return
        uuids = [uuid for _, uuid, _, _ in envelopes]
        # Written out (here and for the places): peewee building these two statements cost more than running them.
        marks = ", ".join([db.param] * len(uuids))
        self.receipts = {str(uuid_module.UUID(str(uuid))): (author, digest, object_id)
                         for uuid, author, digest, object_id in db.execute_sql(
                             'SELECT "uuid", "author_id", "content_hash", "object_id" FROM "sync_receipt" '
                             f'WHERE "uuid" IN ({marks})', [SyncReceipt.uuid.db_value(u) for u in uuids]).fetchall()}
        self._load_links(envelopes, uuids)
        well_ids = {r["data"].get("well_id") for r, *_ in envelopes
                    if isinstance(r["data"].get("well_id"), int) and not isinstance(r["data"].get("well_id"), bool)}
        well_ids = [w for w in well_ids if abs(w) <= MAX_ID]
        # With each well the readings it has an open alert for (one statement less than asking apart).
        listed = fn.string_agg if is_postgres() else fn.group_concat
        open_alerts = (FluctuationAlert.select(listed(FluctuationAlert.metric, " "))
                       .where((FluctuationAlert.well == Well.id) & FluctuationAlert.acknowledged_at.is_null()))
        self.wells = {w.id: w for w in Well.select(Well, Station, open_alerts.alias("open_alerts")).join(Station)
                      .where(Well.id.in_(well_ids))}
        ours = [w for w in self.wells.values() if w.station.work_area_id == self.user.work_area_id]
        if any(isinstance(r["data"].get("qr_token"), str) and self._well_of(r) is not None
               and r["data"]["qr_token"] != self._well_of(r).qr_token for r, *_ in envelopes):
            self.replaced = {(token, well): at for token, well, at in ReplacedLabel.select(
                ReplacedLabel.token, ReplacedLabel.well, ReplacedLabel.replaced_at)
                .where(ReplacedLabel.well.in_([w.id for w in ours])).tuples()}
        times = [device_time for *_, device_time in envelopes]
        if any(w.latitude is not None for w in ours):
            corrected = [min(t + timedelta(seconds=self.offset_s), self.received_at) for t in times]
            self._load_places(min(corrected))
        # The readings any of the run's records can carry: those of the sets their forms were made from.
        needed = set()
        for record, *_ in envelopes:
            well = self._well_of(record)
            if well is not None and well.station.work_area_id == self.user.work_area_id:
                wanted = record["data"].get("reading_set_id")
                needed.update(f.key for f in set_for(well.kind, self.user.work_area_id, wanted, self.cache)[1])
        self._load_patrols(ours, min(times), max(times), [f for f in READINGS if f in needed])
        self.alerts_open = {w.id: set((w.open_alerts or "").split()) for w in ours if w.is_key_well}

    def _well_of(self, record):
        """The run's well a record names, if its well_id is an id at all (a hostile one may be a list or a map)."""
        well_id = record["data"].get("well_id")
        return self.wells.get(well_id) if isinstance(well_id, int) and not isinstance(well_id, bool) else None

    def _load_links(self, envelopes, uuids) -> None:
        chains = [self._chain(record) for record, *_ in envelopes]
        chains = [c for c in chains if c is not None]
        if not chains:
            return
        devices = {c.device for c in chains}
        low, high = min(c.seq for c in chains) - 1, max(c.seq for c in chains) + 1
        rows = (ChainLink.select(ChainLink.uuid, ChainLink.author, ChainLink.device_id, ChainLink.seq, ChainLink.link,
                                 ChainLink.bounded_time, ChainLink.prev)
                .where(((ChainLink.author == self.user.id) & ChainLink.device_id.in_(devices)
                        & ChainLink.seq.between(low, high)) | ChainLink.uuid.in_(uuids))
                .order_by(ChainLink.id).tuples())
        wanted = set(uuids)
        for uuid, author, device, seq, link, bounded, prev in rows:
            if str(uuid) in wanted:
                self.known_links.add(str(uuid))
            if author == self.user.id:
                self.links.setdefault((device, seq), []).append([link, bounded, prev])

    def _load_places(self, since: datetime) -> None:
        """The author's records at a well from `since` on, and the latest two wells before it: enough to know the
        previous other well of any record of the run."""
        p, at = db.param, Evidence.bounded_time.db_value(since)
        place = ('SELECT e."bounded_time", e."id", e."well_id", w."latitude", w."longitude" FROM "evidence" AS e '
                 'INNER JOIN "well" AS w ON e."well_id" = w."id" WHERE e."author_id" = {p} AND ')
        latest = ' ORDER BY e."bounded_time" DESC, e."id" DESC LIMIT 1'
        first_well = (f'(SELECT f."well_id" FROM "evidence" AS f WHERE f."author_id" = {p} AND f."bounded_time" < {p} '
                      f'AND f."well_id" IS NOT NULL ORDER BY f."bounded_time" DESC, f."id" DESC LIMIT 1)')
        # One statement: the records from `since` on, the latest before, the latest before at another well.
        sql = (place.format(p=p) + f'e."bounded_time" >= {p}'
               + " UNION ALL SELECT * FROM (" + place.format(p=p) + f'e."bounded_time" < {p}' + latest + ") AS a"
               + " UNION ALL SELECT * FROM (" + place.format(p=p) + f'e."bounded_time" < {p} AND e."well_id" <> '
               + first_well + latest + ") AS b")
        me = self.user.id
        rows = db.execute_sql(sql, [me, at, me, at, me, at, me, at]).fetchall()
        if rows and isinstance(rows[0][0], str):  # SQLite: the time as text, the position as floats
            rows = [(datetime.fromisoformat(time), *rest) for time, *rest in rows]
        self.places = sorted([(time, 0, evidence_id), well, lat, lon] for time, evidence_id, well, lat, lon in rows)

    def _load_patrols(self, wells: list, first: datetime, last: datetime, readings: list[str]) -> None:
        """The readings of the run's wells up to its last record: a key well's over the week before the first (its
        baseline), another's over the day before (the patrols a repeat is compared with); for a well with fewer than
        REPEAT_LOOKBACK patrols in that time, its latest before it too."""
        if not wells:
            return
        columns = [Patrol.well, Patrol.device_time, Patrol.id, *[getattr(Patrol, f) for f in readings]]
        week, day = first - timedelta(days=BASELINE_DAYS), first - REPEAT_DAYS
        since = {w.id: week if w.is_key_well else day for w in wells}
        reach = ((Patrol.well.in_([w for w in since if since[w] == week]) & (Patrol.device_time >= week))
                 | (Patrol.well.in_([w for w in since if since[w] == day]) & (Patrol.device_time >= day)))
        rows = _plain(Patrol.select(*columns).where(reach & (Patrol.device_time <= last)))
        before_first = {}
        for row in rows:
            if row[1] <= first:
                before_first[row[0]] = before_first.get(row[0], 0) + 1
        short = [w for w in since if before_first.get(w, 0) < REPEAT_LOOKBACK]
        for chunk in range(0, len(short), 100):
            parts = [Patrol.select(*columns).where((Patrol.well == w) & (Patrol.device_time < since[w]))
                     .order_by(Patrol.device_time.desc(), Patrol.id.desc()).limit(REPEAT_LOOKBACK)
                     for w in short[chunk:chunk + 100]]
            query = parts[0]
            for part in parts[1:]:
                query = query | part  # UNION: the parts' rows are distinct (one well each)
            rows.extend(_plain(query))
        for well, device_time, patrol_id, *values in rows:
            self.patrols.setdefault(well, []).append(((device_time, 0, patrol_id), dict(zip(readings, values))))
        for found in self.patrols.values():
            found.sort(key=lambda item: item[0])

    # -- the questions of Recorded, answered from the run ----------------------------------------------------------

    def chain_links(self, author_id, device, seq):
        return [(link, bounded) for link, bounded, _ in self.links.get((device, seq), [])]

    def previous_place(self, author_id, at, well_id):
        position = bisect.bisect_right(self.places, [(at, 2, 0)])
        for place in reversed(self.places[:position]):
            if place[1] != well_id:
                return place[0][0], place[2], place[3]
        return None

    def well(self, well_id):
        return self.wells.get(well_id)

    def label_replaced_at(self, token, well_id):
        return self.replaced.get((token, well_id))

    def earlier_readings(self, well_id, at, fields, count):
        found = self.patrols.get(well_id, [])
        position = bisect.bisect_right(found, (at, 2, 0), key=lambda item: item[0])
        return [tuple(values[f] for f in fields) for _, values in reversed(found[max(0, position - count):position])]

    def history(self, well_id, fields, before, exclude_id=None):
        found = {f: [] for f in fields}
        patrols = self.patrols.get(well_id, [])
        start = bisect.bisect_left(patrols, (before - timedelta(days=BASELINE_DAYS),), key=lambda item: item[0])
        end = bisect.bisect_left(patrols, (before,), key=lambda item: item[0])
        for _, values in patrols[start:end]:
            for f in fields:
                if values[f] is not None:
                    found[f].append(values[f])
        return found

    def open_alert_metrics(self, well_id):
        return set(self.alerts_open.get(well_id, ()))

    # -- one record ------------------------------------------------------------------------------------------------

    def take(self, record) -> dict:
        """The record's answer, as the path record by record would give it; NotInRun when it cannot be known here."""
        try:
            uuid, _, device_time = self._envelope(record)
        except RecordError as exc:
            return refused(record, exc)
        digest = content_hash(record)
        if uuid in self.receipts:
            return answer_replay(*self.receipts[uuid], uuid, self.user, digest)
        if device_time + timedelta(seconds=self.offset_s) > self.received_at + MAX_FUTURE:
            return too_early(uuid)
        chain = self._chain(record)
        if chain is not None and (uuid in self.known_links or self._fills_gap(chain)):
            raise NotInRun(uuid)
        timing = judge_time(self.user, chain, device_time, self.offset_s, self.received_at, known=self)
        ctx = Context(user=self.user, device_time=device_time, received_at=self.received_at,
                      clock_offset_s=stored_offset(self.offset_s), uuid=uuid, settings=self.settings,
                      data=record["data"], timing=timing, cache=self.cache, known=self)
        try:
            judged = judge_patrol(ctx, record["data"])
        except RecordError as exc:
            self._note_link(uuid, timing, "refused")
            return rejected(uuid, exc.code, exc.message, exc.field)
        except Exception as exc:  # noqa: BLE001 — the path record by record answers it (server_error) and logs it
            raise NotInRun(uuid) from exc
        columns, well = judged.columns, judged.well
        alerts = alerts_due(columns, device_time, well, judged.thresholds, self)
        receipt = dict(uuid=uuid, type="patrol", author=self.user.id, content_hash=digest, device_id=self.device_id,
                       imported_by=None, received_at=self.received_at)
        evidence = evidence_columns(ctx, None, self.device_id, None, well.station_id, "patrol")
        pending = Pending(uuid, columns, judged.operations, alerts, receipt, evidence)
        self.pending.append(pending)
        self.receipts[uuid] = (self.user.id, digest, pending)
        self.order += 1
        readings = {f: columns.get(f) for f in READINGS}
        bisect.insort(self.patrols.setdefault(well.id, []), ((device_time, 1, self.order), readings),
                      key=lambda item: item[0])
        bisect.insort(self.places, [(timing.bounded, 1, self.order), well.id, well.latitude, well.longitude])
        self.alerts_open.setdefault(well.id, set()).update(metric for metric, _, _ in alerts)
        self._note_link(uuid, timing, "created")
        return {"uuid": uuid, "status": "created", "id": pending}

    def _envelope(self, record):
        """check_envelope, once a record for the run (its load and its take)."""
        key = ("envelope", id(record))
        if key not in self.memo:
            try:
                self.memo[key] = check_envelope(record)
            except RecordError as exc:
                self.memo[key] = exc
        found = self.memo[key]
        if isinstance(found, RecordError):
            raise found
        return found

    def _chain(self, record):
        """read_chain (its link is a hash of the whole record), once a record for the run."""
        key = ("chain", id(record))
        if key not in self.memo:
            self.memo[key] = read_chain(record, parse_time)
        return self.memo[key]

    def _fills_gap(self, chain) -> bool:
        """Whether a record already here names this one as its previous: evidence.heal_gap would mend it."""
        return any(prev == chain.link for _, _, prev in self.links.get((chain.device, chain.seq + 1), []))

    def _note_link(self, uuid, timing, outcome) -> None:
        """evidence.note_link for the run: a record sent twice in the run keeps its first place."""
        chain = timing.chain
        if chain is None:
            return
        row = self.new_links.get(uuid)
        if row is not None:
            row.update(outcome=outcome, bounded_time=timing.bounded)
            row["entry"][1] = timing.bounded
            return
        entry = [chain.link, timing.bounded, chain.prev]
        self.links.setdefault((chain.device, chain.seq), []).append(entry)
        self.new_links[uuid] = (dict(author=self.user.id, device_id=chain.device, seq=chain.seq, link=chain.link,
                                   prev=chain.prev, uuid=uuid, record_type="patrol", bounded_time=timing.bounded,
                                   outcome=outcome, received_at=self.received_at, entry=entry))

    # -- writing the run -------------------------------------------------------------------------------------------

    def write(self) -> bool:
        """Store the run's records, one insert per table; False (nothing stored) when another batch stored one of
        its uuids meanwhile — then the path record by record answers them."""
        if not self.pending and not self.new_links:
            return True
        try:
            with __exception_wrapper__:  # the driver's errors as peewee's (IntegrityError …), as for a query
                write_tables(self._tables(*new_ids(len(self.pending))))
        except (IntegrityError, DataError):  # a uuid stored meanwhile, or a value a driver would not take
            return False
        except OperationalError:
            raise  # the other writers' (write_batch runs the batch again) or the database's
        except Exception:  # noqa: BLE001 — a bug in writing the run must not cost the batch: record by record
            log.exception("sync: writing a run of %s records failed", len(self.pending))
            return False
        return True

    def _tables(self, patrol_ids: list[int], receipt_ids: list[int]) -> list[tuple]:
        """(model, rows) to insert, in order, the new patrols and receipts with the ids given."""
        operations, alerts = [], []
        for p, patrol_id, receipt_id in zip(self.pending, patrol_ids, receipt_ids, strict=True):
            p.patrol_id = patrol_id
            well = p.columns["well"]
            operations.extend(operation_rows(patrol_id, well, p.operations))
            alerts.extend(dict(well=well, patrol=patrol_id, metric=metric, value=value, baseline=base)
                          for metric, value, base in p.alerts)
            p.receipt.update(id=receipt_id, object_id=patrol_id)
            p.evidence.update(receipt=receipt_id, object_id=patrol_id)
        return [(Patrol, [dict(p.columns, id=p.patrol_id) for p in self.pending]), (WellOperation, operations),
                (FluctuationAlert, alerts), (SyncReceipt, [p.receipt for p in self.pending]),
                (Evidence, [p.evidence for p in self.pending]),
                (ChainLink, [{k: v for k, v in row.items() if k != "entry"} for row in self.new_links.values()])]

    def final(self, answer: dict) -> dict:
        """An answer with the id of the patrol it names, now that it is stored."""
        if isinstance(answer.get("id"), Pending):
            return dict(answer, id=answer["id"].patrol_id)
        return answer


def new_ids(count: int) -> tuple[list[int], list[int]]:
    """Ids for `count` new patrols and as many receipts, taken before they are inserted (their operations, alerts
    and evidence name them). PostgreSQL: from the tables' sequences. SQLite: the writer holds the database (its
    transactions begin IMMEDIATE) and a table without AUTOINCREMENT gives a new row the largest rowid plus one —
    exactly these ids."""
    if not count:
        return [], []
    if is_postgres():
        rows = db.execute_sql("SELECT nextval(pg_get_serial_sequence('patrol', 'id')), "
                              "nextval(pg_get_serial_sequence('sync_receipt', 'id')) FROM generate_series(1, %s)",
                              (count,)).fetchall()
        return sorted(row[0] for row in rows), sorted(row[1] for row in rows)
    patrol, receipt = db.execute_sql('SELECT (SELECT max("id") FROM "patrol"), (SELECT max("id") FROM "sync_receipt")'
                                     ).fetchone()
    return (list(range((patrol or 0) + 1, (patrol or 0) + 1 + count)),
            list(range((receipt or 0) + 1, (receipt or 0) + 1 + count)))


def _lines(model, rows: list[dict]) -> tuple[list, list[list]]:
    """The model's columns (its id when the rows carry one) and each row's values as the fields write them, a
    missing one its default: what Model.insert_many would send. The values a run builds are of their columns' types
    already (str, int, float, bool, datetime); only decimals and uuids go through the field's db_value."""
    fields = [f for f in model._meta.sorted_fields if not f.primary_key or "id" in rows[0]]
    plan = [(f.name, f.default, f.db_value if isinstance(f, (DecimalField, UUIDField)) else None) for f in fields]
    values = []
    for row in rows:
        line = []
        for name, default, convert in plan:
            if name in row:
                value = row[name]
            else:
                value = default() if callable(default) else default
            line.append(value if convert is None or value is None else convert(value))
        values.append(line)
    return fields, values


def write_tables(tables: list[tuple]) -> None:
    """Insert each (model, rows), in order, through the driver without peewee building SQL value by value, all or
    nothing (a savepoint). SQLite: one executemany a table. PostgreSQL: the tables' INSERTs sent together in one
    round trip, or COPY for a table of many rows (a third of the time of one INSERT of many VALUES)."""
    cursor = db.cursor()
    if not is_postgres():
        with db.atomic():
            for model, rows in tables:
                if rows:
                    fields, values = _lines(model, rows)
                    # Names from our models (never from input) cannot be bound parameters; the values are.
                    marks = ", ".join("?" for _ in fields)
                    sql = f"INSERT INTO {_name(model)} ({_columns(fields)}) VALUES ({marks})"
                    cursor.executemany(sql, values)
        return
    # A failed statement leaves a PostgreSQL transaction unusable until it rolls back to a savepoint; the savepoint
    # is sent with the first statement, and rolled back to only once it was.
    statements, opened = ["SAVEPOINT run_rows"], False
    try:
        for model, rows in tables:
            if not rows:
                continue
            fields, values = _lines(model, rows)
            if len(rows) >= COPY_FROM:
                if statements:
                    opened = True
                    cursor.execute("; ".join(statements))  # what comes before, in order (foreign keys)
                    statements = []
                text = io.StringIO("".join(",".join(map(_csv, line)) + "\n" for line in values))
                cursor.copy_expert(f"COPY {_name(model)} ({_columns(fields)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                                   text)
            else:
                template = "(" + ", ".join(["%s"] * len(fields)) + ")"
                rows_sql = b",".join(cursor.mogrify(template, line) for line in values).decode()
                statements.append(f"INSERT INTO {_name(model)} ({_columns(fields)}) VALUES {rows_sql}")
        opened = True
        cursor.execute("; ".join([*statements, "RELEASE SAVEPOINT run_rows"]))
    except Exception:
        if opened:
            cursor.execute("ROLLBACK TO SAVEPOINT run_rows; RELEASE SAVEPOINT run_rows")
        raise


def _name(model) -> str:
    return f'"{model._meta.table_name}"'  # our own names: SQL's standard quotes, on SQLite and PostgreSQL


def _columns(fields) -> str:
    return ", ".join(f'"{f.column_name}"' for f in fields)


def _plain(query) -> list[tuple]:
    """A query's rows of (well id, device time, patrol id, readings…) as the driver gives them, without peewee
    converting value by value (the week of a key well's readings is most of what a run reads): readings are
    floats already; SQLite gives the time as text."""
    rows = db.execute_sql(*query.sql()).fetchall()
    if rows and isinstance(rows[0][1], str):
        return [(well, datetime.fromisoformat(at), patrol, *values) for well, at, patrol, *values in rows]
    return rows


def _csv(value) -> str:
    """One value as COPY's CSV reads it: NULL unquoted (\\N), text always quoted — a note reading \\N stays text."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return '"' + str(value).replace('"', '""') + '"'
