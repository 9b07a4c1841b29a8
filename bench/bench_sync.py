"""Sync throughput: records a second through the real `POST /api/v1/sync` at batches of 1, 50 and 500 patrols, on
SQLite and on PostgreSQL, against the fair floor — an endpoint on the same app (its request hooks, the session's
login, its connection handling), on the same database, that takes the same JSON batch and writes what any sync must:
the patrols, their operations and their receipts, one `insert_many` per table in one transaction, with no checks.
Also the server time of a 500-patrol batch and the size of one patrol on the wire.

Both run through Flask's test client in this one process (no network, no HTTP server): the time of a batch is from
the request's start to its answer, JSON parsing and the commit included. Batches of the two alternate, so a database
that grows or a neighbour on the machine weigh on both alike; each measurement stops after a number of batches or
a number of seconds, whichever comes first. The phone's worker is HN1003 of 海南一号站, each patrol of an oil well of
its station, scanned, with GPS, ten readings and one operation (憋压), as bench/check_size.py's patrol; each well is
patrolled at its own interval (Rounds), so the history a key well's baseline reads is a real week's.

    .venv/bin/python bench/bench_sync.py --smoke
    .venv/bin/python bench/bench_sync.py                          # SQLite, and PostgreSQL when its URL is set
    scripts/with-test-postgres.sh .venv/bin/python bench/bench_sync.py

Results: docs/bench/sync.json through bench/results.py.
"""
import argparse
import cProfile
import gzip
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import PASSWORD, ROOT, keep_smoke_apart, login
from flask import Flask, jsonify, request
from results import Target, is_smoke, write_result

from models import Patrol, Station, SyncReceipt, User, Well, WellOperation, db, utcnow
from webapp import create_app, migrations
from webapp.demo import seed_demo
from webapp.sync import MAX_RECORDS

TZ = timezone(timedelta(hours=8))
READINGS = {"current_up_a": 42.5, "current_down_a": 38.1, "stroke_m": 3.0, "strokes_per_min": 4.5,
            "oil_pressure_mpa": 0.8, "casing_pressure_mpa": 1.2, "back_pressure_mpa": 0.6, "wellhead_temp_c": 38.0,
            "liquid_t_per_day": 12.4, "water_cut_pct": 86.5}
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
RATIO_GOALS = {1: 0.5, 50: 0.7, 500: 0.7}  # of the fair floor's records/s, by batch size
BATCH_GOAL_S = 0.25
WIRE_GOAL = 2048
# batch size → (most batches of each side, most seconds of each side)
REAL = {1: (3000, 20.0), 50: (300, 20.0), 500: (30, 25.0)}
SMOKE = {1: (20, 2.0), 50: (3, 2.0), 500: (1, 2.0)}
WARM_UPS = 2  # batches of each side and size before the timed ones (1 in a smoke run)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def patrol(well, at: datetime) -> dict:
    return {
        "uuid": str(uuid.uuid4()),
        "type": "patrol",
        "created_at": at.isoformat(timespec="seconds"),
        "data": {
            "well_id": well.id, "method": "scan", "qr_token": well.qr_token,
            "readings": READINGS if well.kind == "oil" else {"oil_pressure_mpa": 12.0, "casing_pressure_mpa": 3.0},
            "position": {"latitude": float(well.latitude), "longitude": float(well.longitude), "accuracy": 8},
            "abnormal": False, "note": "",
            "operations": {"bie": {"minutes": 10, "start_mpa": 0.8, "end_mpa": 3.5}},
        },
    }


def add_floor(app: Flask, stations: dict[int, int]) -> None:
    """The fair floor, on the real app (its request hooks, its session, its connection handling): behind
    `@login_required`, a batch's patrols, their operations and their receipts stored with one `insert_many` per
    table in one transaction, the author from the session — what any sync must write, without looking at it."""
    from flask_login import current_user, login_required

    @login_required
    def floor_sync():
        payload = request.get_json()
        received = utcnow()
        patrols, operations, receipts = [], [], []
        for record in payload["records"]:
            data = record["data"]
            device_time = datetime.fromisoformat(record["created_at"]).astimezone(timezone.utc).replace(tzinfo=None)
            position = data.get("position") or {}
            patrols.append({
                "uuid": record["uuid"], "well": data["well_id"], "station": stations[data["well_id"]],
                "author": current_user.id, "method": data["method"], "device_time": device_time, "received_at": received,
                "clock_offset_s": 0, "clock_time": device_time, "latitude": position.get("latitude"),
                "longitude": position.get("longitude"), "accuracy_m": position.get("accuracy"),
                "is_abnormal": data["abnormal"], "note": data["note"], "flags": "", **data["readings"],
            })
        with db.atomic():
            Patrol.insert_many(patrols).execute()
            ids = dict(Patrol.select(Patrol.uuid, Patrol.id).where(Patrol.uuid.in_([p["uuid"] for p in patrols])).tuples())
            for record in payload["records"]:
                patrol_id = ids[uuid.UUID(record["uuid"])]
                operations.extend({"patrol": patrol_id, "well": record["data"]["well_id"], "code": code,
                                   "values": json.dumps(values)} for code, values in record["data"]["operations"].items())
                receipts.append({"uuid": record["uuid"], "type": "patrol", "author": current_user.id,
                                 "content_hash": "0" * 64, "object_id": patrol_id, "device_id": payload["device_id"],
                                 "received_at": received})
            WellOperation.insert_many(operations).execute()
            SyncReceipt.insert_many(receipts).execute()
        return jsonify({"server_time": received.isoformat(timespec="seconds") + "Z",
                        "results": [{"uuid": row["uuid"], "status": "created", "id": ids[uuid.UUID(row["uuid"])]}
                                    for row in patrols]})

    # Under /api/v1/ as the real sync: the same CSRF rule (the Origin check, no token).
    app.add_url_rule("/api/v1/floor-sync", "floor_sync", floor_sync, methods=["POST"])


class Rounds:
    """Patrol times as a station's wells are really patrolled: each well once every its patrol interval (a key well
    every 4 h, an oil well every 8 h), the worker going from one due well to the next — so a key well's baseline
    reads the week's ~42 patrols it would have, not hundreds."""

    def __init__(self, wells, start: datetime):
        self.due = sorted((start + timedelta(minutes=7 * n), n, well) for n, well in enumerate(wells))

    def next(self):
        at, n, well = self.due.pop(0)
        self.due.append((at + timedelta(hours=well.patrol_interval_hours), n, well))
        self.due.sort(key=lambda item: (item[0], item[1]))
        return well, at


def prepare(backend: str, folder: Path, postgres_url: str | None):
    """A fresh database holding the demo work area and the app on it; returns (app, drop)."""
    drop = lambda: None  # noqa: E731
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'sync.db'}"
    else:
        import psycopg2

        admin = psycopg2.connect(postgres_url)
        admin.autocommit = True
        name = f"jz_sync_{os.getpid()}"
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')

        def drop():
            if not db.is_closed():
                db.close()
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

        url = f"{postgres_url.rsplit('/', 1)[0]}/{name}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": folder})
    with db.connection_context():
        migrations.upgrade()
        seed_demo(PASSWORD)
        add_floor(app, {w.id: w.station_id for w in Well.select(Well.id, Well.station)})
        version = (db.execute_sql("select sqlite_version()").fetchone()[0] if backend == "sqlite"
                   else db.execute_sql("show server_version").fetchone()[0])
    return app, drop, version


def profile_shares(profiler: cProfile.Profile) -> dict:
    """Where one batch's time went, as shares of the profiled total: the database driver's own calls, peewee building
    the SQL text, and our functions (each one's cumulative time)."""
    stats = pstats.Stats(profiler).stats
    total = max((ct for (_f, _l, name), (_cc, _nc, _tt, ct, _callers) in stats.items() if name == "sync"), default=0) \
        or sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values())
    driver = sum(tt for (file, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.items()
                 if file == "~" and ("sqlite3." in name or "psycopg2." in name))
    building = max((ct for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items()
                    if file.endswith("peewee.py") and name == "sql"), default=0)
    ours = {}
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        if file.startswith(str(ROOT / "webapp")) or file.startswith(str(ROOT / "routes")):
            module = Path(file).stem
            if name not in ("sync", "sync_batch", "<listcomp>", "_sync_one") and ct / total >= 0.03:
                ours[f"{module}.{name}"] = round(ct / total, 3)
    return {"profiled_s": round(total, 3), "driver": round(driver / total, 3), "peewee_sql_building": round(building / total, 3),
            "functions": dict(sorted(ours.items(), key=lambda kv: -kv[1]))}


class Statements:
    """Counts the SQL statements run (peewee's query hooks)."""

    def __init__(self):
        self.count = 0

    def __call__(self, event):
        self.count += 1


def run_backend(backend: str, args, plan: dict) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"jingzhan-bench-sync-{backend}-"))
    app, drop, version = prepare(backend, folder, args.postgres_url)
    try:
        ours = app.test_client()
        login(ours)
        with db.connection_context():
            wells = list(Well.select().join(Station).where((Station.name == "海南一号站") & (Well.kind == "oil"))
                         .order_by(Well.code))
        statements = Statements()
        db.obj.query_hooks.append(statements)
        # Early enough that the whole run's patrols, at their real intervals, end before now.
        index_batches = 2 if args.smoke else 8
        records_sent = (sum(size * (most + WARM_UPS) * 2 for size, (most, _) in plan.items())
                        + (1 + 2 * index_batches) * max(plan))
        hours = sum(w.patrol_interval_hours for w in wells) / len(wells)
        rounds = Rounds(wells, datetime.now(TZ) - timedelta(hours=records_sent * hours / len(wells) + 24))

        def body(size: int) -> str:
            records = [patrol(*rounds.next()) for _ in range(size)]
            sent_at = datetime.now(TZ).isoformat(timespec="seconds")
            return json.dumps({"device_id": "bench", "sent_at": sent_at, "records": records})

        def post(client, url, size) -> tuple[float, int]:
            data = body(size)
            before = statements.count
            began = time.perf_counter()
            response = client.post(url, data=data, content_type="application/json")
            elapsed = time.perf_counter() - began
            answer = response.get_json()
            statuses = {r["status"] for r in answer["results"]} if response.status_code == 200 else {response.status_code}
            if response.status_code != 200 or statuses != {"created"} or len(answer["results"]) != size:
                raise SystemExit(f"{backend} {url} batch of {size}: {response.status_code} {statuses}")
            return elapsed, statements.count - before

        sides = {"ours": (ours, "/api/v1/sync"), "floor": (ours, "/api/v1/floor-sync")}
        results = {"database_version": version, "sizes": {}}
        for size, (most, seconds) in plan.items():
            for client, url in sides.values():
                for _ in range(args.warm_ups):
                    post(client, url, size)
            times = {side: [] for side in sides}
            queries = {side: [] for side in sides}
            spent = dict.fromkeys(sides, 0.0)
            while min(len(t) for t in times.values()) < most and max(spent.values()) < seconds:
                for side, (client, url) in sides.items():
                    elapsed, count = post(client, url, size)
                    times[side].append(elapsed)
                    queries[side].append(count)
                    spent[side] += elapsed
            row = {}
            for side in sides:
                row[side] = {
                    "batches": len(times[side]), "records": len(times[side]) * size, "seconds": round(spent[side], 3),
                    "records_per_s": round(len(times[side]) * size / spent[side], 1),
                    "batch_ms": {"median": round(statistics.median(times[side]) * 1000, 2),
                                 "min": round(min(times[side]) * 1000, 2), "max": round(max(times[side]) * 1000, 2)},
                    "statements_per_batch": round(statistics.mean(queries[side]), 1),
                }
            # The ratio of the medians of a batch's time: alternating batches on a shared machine, one stall (a
            # checkpoint, a neighbour) in a summed time moved the ratio by ten points between identical runs.
            row["ratio"] = round(row["floor"]["batch_ms"]["median"] / row["ours"]["batch_ms"]["median"], 3)
            results["sizes"][size] = row
            log(f"{backend:>10} batch {size:>3}: ours {row['ours']['records_per_s']:>8.1f} records/s "
                f"({row['ours']['batch_ms']['median']:.1f} ms a batch, {row['ours']['statements_per_batch']} statements), "
                f"floor {row['floor']['records_per_s']:>8.1f} records/s ({row['floor']['batch_ms']['median']:.1f} ms, "
                f"{row['floor']['statements_per_batch']} statements): {row['ratio']:.0%}")
        db.obj.query_hooks.remove(statements)
        if backend == "postgresql":  # SQLite opens one per request (webapp/__init__.py close_connection)
            results["connection"] = connection_costs(ours, 20 if args.smoke else 300)
        results["indexes"] = index_costs(lambda: post(ours, "/api/v1/sync", max(plan)), index_batches)
        # One more batch of the largest size under the profiler (not timed above): where our time goes.
        largest = max(plan)
        data = body(largest)
        profiler = cProfile.Profile()
        profiler.enable()
        ours.post("/api/v1/sync", data=data, content_type="application/json")
        profiler.disable()
        results["profile"] = {"batch": largest, **profile_shares(profiler)}
        with db.connection_context():
            stored = Patrol.select().count()
        expected = largest + 2 * results["indexes"]["batches"] * largest + sum((r["ours"]["batches"] + r["floor"]["batches"] + 2 * args.warm_ups) * s
                                 for s, r in results["sizes"].items())
        if stored != expected:
            raise SystemExit(f"{backend}: {stored} patrols stored, {expected} sent")
        results["patrols_stored"] = stored
        one = json.dumps(patrol(wells[0], datetime.now(TZ)), ensure_ascii=False).encode()
        results["wire"] = {"json_bytes": len(one), "gzip_bytes": len(gzip.compress(one))}
        return results
    finally:
        if not db.is_closed():
            db.close()
        drop()


def index_costs(post_batch, count: int) -> dict:
    """What the indexes schema 19 dropped (migrations.REDUNDANT_INDEXES: single columns that lead a composite) cost
    each batch of the largest size: batches with them made again, then without, alternating in pairs."""
    from webapp.migrations import REDUNDANT_INDEXES

    with_them, without = [], []
    for _ in range(count):
        with db.connection_context():
            for table, column in REDUNDANT_INDEXES:
                db.execute_sql(f'CREATE INDEX "{table}_{column}" ON "{table}" ("{column}")')
        with_them.append(post_batch()[0])
        with db.connection_context():
            for table, column in REDUNDANT_INDEXES:
                db.execute_sql(f'DROP INDEX "{table}_{column}"')
        without.append(post_batch()[0])
    return {"batches": count, "with_ms": round(statistics.median(with_them) * 1000, 1),
            "without_ms": round(statistics.median(without) * 1000, 1), "indexes": len(REDUNDANT_INDEXES)}


def connection_costs(client, count: int) -> dict:
    """What a request pays for its database connection on PostgreSQL: one from the pool, as the app runs now,
    against a new connection opened and closed by each request, as before issue 18. The request: GET /api/v1/health, logged in (session and user looked
    up, one SELECT 1). Alternating, medians."""
    from webapp.database import release

    kept, fresh = [], []
    release()
    client.get("/api/v1/health")  # the connection the next requests keep
    for _ in range(count):
        began = time.perf_counter()
        client.get("/api/v1/health")
        kept.append(time.perf_counter() - began)
        release()
        began = time.perf_counter()
        client.get("/api/v1/health")
        release()  # the close each request made before
        fresh.append(time.perf_counter() - began)
        client.get("/api/v1/health")  # open again, outside the timing, for the next kept request
    return {"requests": count, "kept_ms": round(statistics.median(kept) * 1000, 2),
            "fresh_ms": round(statistics.median(fresh) * 1000, 2)}


def why(run: dict, size: int) -> str:
    """Why ours is slower than the floor, from the statement counts and the profile of a batch."""
    row = run["sizes"][size]
    per_record = (row["ours"]["statements_per_batch"] - (run["sizes"].get(1, row)["ours"]["statements_per_batch"]
                                                         if size > 1 else 0)) / max(size - (1 if size > 1 else 0), 1)
    text = (f"ours runs {row['ours']['statements_per_batch']:g} SQL statements a batch ({per_record:.2f} a record more "
            f"than one), the floor {row['floor']['statements_per_batch']:g}")
    profile = run.get("profile")
    if profile:
        functions = ", ".join(f"{name} {share:.0%}" for name, share in list(profile["functions"].items())[:5])
        text += (f"; in a profiled batch of {profile['batch']} the database driver takes {profile['driver']:.0%} of the time, "
                 f"peewee building SQL text {profile['peewee_sql_building']:.0%} (our functions, cumulative: {functions})")
    return text


def make_targets(runs: dict, skipped: dict) -> list[Target]:
    out = []
    sizes = sorted({s for run in runs.values() for s in run["sizes"]}) or sorted(REAL)
    for backend, label in BACKENDS.items():
        run = runs.get(backend)
        for size in sizes:
            what = f"sync throughput, batches of {size}, {label}"
            ratio_goal = RATIO_GOALS.get(size, 0.7)
            goal = (f"≥ {ratio_goal:.0%} of the fair floor's speed (the real app, logged in, insert_many into the same "
                    "three tables; median batch times)")
            if run is None:
                out.append(Target(what, goal, "—", None, skipped.get(backend, "not measured")))
                continue
            row = run["sizes"][size]
            ours, floor = row["ours"], row["floor"]
            measured = (f"{row['ratio']:.0%}: {ours['batch_ms']['median']:.1f} ms against {floor['batch_ms']['median']:.1f} ms "
                        f"a batch (medians; {ours['records_per_s']:,.0f} records/s against {floor['records_per_s']:,.0f})")
            met = row["ratio"] >= ratio_goal
            note = "" if met else f"by {(ratio_goal - row['ratio']) * 100:.0f} points: " + why(run, size)
            out.append(Target(what, goal, measured, met, note, row["ratio"],
                              {"ours_records_per_s": ours["records_per_s"], "floor_records_per_s": floor["records_per_s"]}))
    for backend, label in BACKENDS.items():
        run = runs.get(backend)
        what = f"POST /api/v1/sync of 500 patrols, server time, {label}"
        goal = f"< {BATCH_GOAL_S:g} s"
        if run is None or 500 not in run["sizes"]:
            out.append(Target(what, goal, "—", None, skipped.get(backend, "batches of 500 not measured")))
            continue
        ms = run["sizes"][500]["ours"]["batch_ms"]
        met = ms["median"] < BATCH_GOAL_S * 1000
        out.append(Target(what, goal, f"median {ms['median']:.0f} ms ({ms['min']:.0f}–{ms['max']:.0f} ms over "
                                      f"{run['sizes'][500]['ours']['batches']} batches)", met,
                          "" if met else f"by {ms['median'] - BATCH_GOAL_S * 1000:.0f} ms: " + why(run, 500), ms["median"]))
    for backend, label in BACKENDS.items():
        run = runs.get(backend)
        if run is None or "connection" not in run:
            continue
        cost = run["connection"]
        met = cost["kept_ms"] < cost["fresh_ms"]
        out.append(Target(f"a request's database connection, {label}", "pooled, cheaper than a new one per request",
                          f"GET /api/v1/health logged in: {cost['kept_ms']:.2f} ms with one from the pool, "
                          f"{cost['fresh_ms']:.2f} ms opening and closing one (median of {cost['requests']})", met,
                          "" if met else "the pooled connection is not cheaper", cost["kept_ms"]))
    for backend, label in BACKENDS.items():
        run = runs.get(backend)
        if run is None or "indexes" not in run:
            continue
        cost = run["indexes"]
        out.append(Target(f"the {cost['indexes']} redundant indexes dropped (schema 19), {label}",
                          "measured: a sync batch's time with and without them",
                          f"batch of {max(run['sizes'])}: {cost['with_ms']:.0f} ms with them, {cost['without_ms']:.0f} ms "
                          f"without (median of {cost['batches']} each)", cost["without_ms"] <= cost["with_ms"] * 1.05,
                          "", cost["without_ms"]))
    wire = next((run["wire"] for run in runs.values()), None)
    if wire:
        met = wire["json_bytes"] < WIRE_GOAL
        out.append(Target("one patrol on the wire", "< 2 KB", f"{wire['json_bytes']} B JSON ({wire['gzip_bytes']} B gzipped), "
                          "10 readings, GPS and one operation", met, "" if met else f"by {wire['json_bytes'] - WIRE_GOAL} B",
                          wire["json_bytes"]))
    return out


def section(runs: dict, skipped: dict, plan: dict, warm_ups: int) -> str:
    lines = [
        "`bench/bench_sync.py`: patrols of 海南一号站's oil wells by its worker HN1003 (scanned, GPS, ten readings, one "
        "operation), posted through Flask's test client in one process — no network, no HTTP server. **Ours** is the "
        "real `POST /api/v1/sync` (every check and judgement of webapp/sync_sets.py, five tables written); **the fair "
        "floor** is an endpoint on the same app (its hooks, `@login_required`, the same connection handling) that writes "
        "the same patrols, their operations and their receipts with one `insert_many` per table and no checks. Each "
        "well is patrolled at its own interval (a key well every 4 h, an oil well every 8 h). "
        "Batches of the two alternate after "
        f"{warm_ups} warm-up batch(es) each; a measurement stops at "
        + ", ".join(f"{most} batches or {seconds:g} s (batches of {size})" for size, (most, seconds) in plan.items())
        + ". Records/s = records ÷ the summed time of the batches; **ours ÷ floor** is the ratio of the median "
        "batch times (the floor's over ours), which one stall of the shared machine does not move.",
        "",
    ]
    if runs:
        lines += ["| database | batch | ours records/s | floor records/s | ours ÷ floor | ours ms a batch (median) | "
                  "floor ms a batch | SQL statements a batch, ours / floor |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for backend, run in runs.items():
            for size, row in run["sizes"].items():
                ours, floor = row["ours"], row["floor"]
                lines.append(f"| {BACKENDS[backend]} {run['database_version']} | {size} | {ours['records_per_s']:,.0f} | "
                             f"{floor['records_per_s']:,.0f} | {row['ratio']:.0%} | {ours['batch_ms']['median']:.1f} | "
                             f"{floor['batch_ms']['median']:.1f} | {ours['statements_per_batch']:g} / "
                             f"{floor['statements_per_batch']:g} |")
    for backend, run in runs.items():
        profile = run.get("profile")
        if profile:
            lines.append(f"\n{BACKENDS[backend]}, one batch of {profile['batch']} under cProfile: the driver's calls "
                         f"{profile['driver']:.0%}, peewee building SQL {profile['peewee_sql_building']:.0%}; our functions "
                         "(cumulative): " + ", ".join(f"`{n}` {v:.0%}" for n, v in profile["functions"].items()) + ".")
    for backend, reason in skipped.items():
        lines.append(f"\n{BACKENDS[backend]}: not measured — {reason}.")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few batches of each size, SQLite only")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both",
                        help="both (default): PostgreSQL too when --postgres-url or JINGZHAN_TEST_POSTGRES_URL is set")
    parser.add_argument("--postgres-url", default=os.environ.get("JINGZHAN_TEST_POSTGRES_URL"),
                        help="admin URL of a throw-away PostgreSQL server (default: $JINGZHAN_TEST_POSTGRES_URL)")
    parser.add_argument("--sizes", default="1,50,500", help=f"records per batch, comma-separated (at most {MAX_RECORDS})")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of batches per side and size at most")
    parser.add_argument("--batches", type=int, default=None, help="batches per side and size at most")
    args = parser.parse_args(argv)
    if args.smoke:
        keep_smoke_apart()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: whole numbers")
    if not sizes or any(not 1 <= s <= MAX_RECORDS for s in sizes):
        parser.error(f"--sizes: from 1 to {MAX_RECORDS}")
    table = SMOKE if args.smoke else REAL
    args.warm_ups = 1 if args.smoke else WARM_UPS
    plan = {}
    for size in sizes:
        most, seconds = table.get(size, (max(2, table[50][0] * 50 // size), table[50][1]))
        plan[size] = (args.batches or most, args.seconds or seconds)
    backends, skipped = [], {}
    if args.backend in ("sqlite", "both"):
        backends.append("sqlite")
    if args.smoke:
        skipped["postgresql"] = "smoke run: SQLite only"
    elif args.backend in ("postgresql", "both"):
        if args.postgres_url:
            backends.append("postgresql")
        elif args.backend == "postgresql":
            parser.error("PostgreSQL needs --postgres-url or JINGZHAN_TEST_POSTGRES_URL")
        else:
            skipped["postgresql"] = "JINGZHAN_TEST_POSTGRES_URL is not set (run under scripts/with-test-postgres.sh)"
    if "sqlite" not in backends:
        skipped["sqlite"] = "not asked for in this run (--backend postgresql)"
    began = time.perf_counter()
    runs = {backend: run_backend(backend, args, plan) for backend in backends}
    targets = make_targets(runs, skipped)
    path = write_result("sync", params={"sizes": sizes, "plan": {s: {"batches": b, "seconds": t} for s, (b, t) in plan.items()},
                                        "warm_ups": args.warm_ups, "backends": backends, "smoke": is_smoke() or args.smoke,
                                        "seconds": round(time.perf_counter() - began, 1)},
                        results={"runs": runs, "skipped": skipped}, targets=targets,
                        section=section(runs, skipped, plan, args.warm_ups))
    for t in targets:
        print(f"{'—' if t.met is None else ('ok' if t.met else 'MISSED'):>6}  {t.what}: {t.measured}")
    log(f"results: {path} ({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
