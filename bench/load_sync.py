"""Load: simulated phones syncing batches against a real gunicorn for a bounded time (not part of the test suite).

Each phone is a worker logged in through the login page (its own user and session) that, until the time is up,
makes a batch of 1–20 patrols (about 2 % of batches carry one record the server must refuse), posts it as the
outbox does, keeps what was not acknowledged and sends it again, and now and then loses an answer on purpose
(the server committed, the phone heard nothing: the resend must come back `duplicate`). Between batches a phone
waits THINK × 0.5–1.5 seconds (the first sync comes after 0–THINK seconds). When the time is up every phone
drains what it still holds, the server stops, and the database is reconciled against what the phones sent: every
valid record exactly once, no refused one, no other row.

    .venv/bin/python bench/load_sync.py                               # SQLite, 200 phones, 120 s
    .venv/bin/python bench/load_sync.py --duration 60 --phones 200 --workers 4
    scripts/with-test-postgres.sh .venv/bin/python bench/load_sync.py --backend both
    .venv/bin/python bench/load_sync.py --backend postgresql --postgres-url postgresql://postgres@127.0.0.1:5432/postgres

    .venv/bin/python bench/load_sync.py --smoke                       # 8 phones, 2 workers, 4 s, SQLite only

While the phones sync, the memory of every gunicorn worker is sampled from /proc/<pid>/status (VmRSS, twice a
second) and its peak (VmHWM) read again at the end, before the server stops.

Results: a table on stdout, the raw numbers in --json (default docs/load-sync.json, one entry per backend and
think time; a new run replaces the entry it repeats; a smoke run writes it to the temporary folder) and
docs/bench/load.json (bench/results.py: targets and the section of docs/performance.md).
Exit status 1 when a guarantee failed (a 5xx, a lost or doubled record, "database is locked").
"""
import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests

from common import keep_smoke_apart
from results import Target, is_smoke, write_result
from tests.live_gunicorn import Gunicorn, Phone, demo_people, patrol

PASSWORD = "load-pass-2026"
BAD_READING = {"oil_pressure_mpa": 99}
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Our choice, not the issue's: a worker should stay under 150 MB at its peak, so that the four workers of
# deploy/ and their master fit in well under 1 GB beside the database on a small server.
WORKER_RSS_GOAL_MB = 150


def _status_kb(pid: int, field: str) -> int | None:
    """A memory figure (kB) from /proc/<pid>/status: VmRSS now, VmHWM its peak; None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class MemorySampler:
    """Samples the resident memory of gunicorn's master and workers while the load runs (a worker that is replaced
    keeps its own entry), and reads each worker's peak (VmHWM) at the end."""

    def __init__(self, server: Gunicorn, every_s: float = 0.5):
        self.server, self.every_s = server, every_s
        self.peak_kb: dict[int, int] = {}  # pid → largest VmRSS sampled or VmHWM read
        self.start_kb: dict[int, int] = {}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self, field: str = "VmRSS") -> None:
        for pid in self.server.worker_pids():
            kb = _status_kb(pid, field)
            if kb is not None:
                self.start_kb.setdefault(pid, kb)
                self.peak_kb[pid] = max(kb, self.peak_kb.get(pid, 0))

    def _run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            self.sample()

    def start(self) -> "MemorySampler":
        self.sample()
        self.thread.start()
        return self

    def finish(self) -> dict:
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.sample("VmHWM")  # the kernel's own peak of each worker still running
        master = _status_kb(self.server.process.pid, "VmHWM")
        peaks = [kb / 1024 for kb in self.peak_kb.values()]
        return {
            "workers_seen": len(self.peak_kb),
            "worker_peak_rss_mb": {str(pid): round(kb / 1024, 1) for pid, kb in sorted(self.peak_kb.items())},
            "worker_rss_at_start_mb": {str(pid): round(kb / 1024, 1) for pid, kb in sorted(self.start_kb.items())},
            "peak_rss_mb_max": round(max(peaks), 1) if peaks else None,
            "peak_rss_mb_mean": round(statistics.fmean(peaks), 1) if peaks else None,
            "master_peak_rss_mb": round(master / 1024, 1) if master else None,
        }


def prepare_database(backend, folder, postgres_url):
    """A fresh database holding the demo work area; returns (url, drop)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'load.db'}", lambda: None
    import psycopg2

    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    name = f"jz_load_{os.getpid()}"
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"{postgres_url.rsplit('/', 1)[0]}/{name}", drop


def seed(url, folder, phones):
    """The demo work area, topped up with extra operators so that every phone has its own user."""
    from models import Station, User, UserRole, Well, db
    from webapp import create_app, migrations
    from webapp.demo import seed_demo

    create_app({"DATABASE_URL": url, "SECRET_KEY": "load", "INSTANCE_PATH": folder})
    with db.connection_context():
        migrations.upgrade()
        seed_demo(PASSWORD)
        stations = [s for s in Station.select().order_by(Station.id)
                    if Well.select().where((Well.station == s) & (Well.kind == "oil")).exists()]
        template = User.select().where(User.station == stations[0]).first()
        have = User.select().where(User.station.in_(stations)).count()
        extra = []
        for n in range(max(0, phones - have)):
            station = stations[n % len(stations)]
            extra.append({"work_area": template.work_area_id, "station": station.id, "employee_no": f"LD{n + 1:04d}",
                          "name": f"压测员{n + 1}", "post": "采油工", "password_hash": template.password_hash})
        with db.atomic():
            for start in range(0, len(extra), 100):
                User.insert_many(extra[start:start + 100]).execute()
            ids = [u.id for u in User.select(User.id).where(User.employee_no.startswith("LD"))]
            if ids:
                UserRole.insert_many([{"user": i, "role": "worker"} for i in ids]).execute()
        people = demo_people()
        # Spread the phones over the stations (round robin), one user each.
        by_station = {}
        for employee_no, wells in people:
            by_station.setdefault(tuple(w["id"] for w in wells), []).append((employee_no, wells))
        chosen = []
        while len(chosen) < phones and any(by_station.values()):
            for group in by_station.values():
                if group and len(chosen) < phones:
                    chosen.append(group.pop(0))
        from models import Patrol

        before = Patrol.select().count()
    db.close()
    return chosen, before


class SimulatedPhone:
    def __init__(self, phone: Phone, wells, rng: random.Random, lose_answer: float, bad_batch: float):
        self.phone, self.wells, self.rng = phone, wells, rng
        self.lose_answer, self.bad_batch = lose_answer, bad_batch
        self.outbox = []  # records not yet acknowledged (oldest first), as outbox.js keeps them
        self.valid, self.bad = set(), set()
        self.acked, self.rejected = set(), set()
        self.latencies = []
        self.statuses = Counter()
        self.results = Counter()
        self.failures = Counter()  # connection errors and unexpected answers
        self.created = Counter()

    def new_records(self):
        n = self.rng.randint(1, 20)
        records = [patrol(self.rng.choice(self.wells)) for _ in range(n)]
        if self.rng.random() < self.bad_batch:
            bad = records[self.rng.randrange(n)]
            bad["data"]["readings"] = dict(bad["data"]["readings"], **BAD_READING)
            self.bad.add(bad["uuid"])
        self.valid.update(r["uuid"] for r in records if r["uuid"] not in self.bad)
        self.outbox.extend(records)

    def send_once(self):
        batch = self.outbox[:100]
        started = time.perf_counter()
        try:
            response = self.phone.sync(batch, timeout=120)
        except requests.RequestException as exc:
            self.failures[type(exc).__name__] += 1
            return False
        self.latencies.append(time.perf_counter() - started)
        self.statuses[response.status_code] += 1
        if response.status_code != 200:
            return False
        answer = response.json()
        lost = self.rng.random() < self.lose_answer
        for result in answer["results"]:
            self.results[result["status"]] += 1
            if result["status"] == "created":
                self.created[result["uuid"]] += 1
            if lost:
                continue
            if result["status"] in ("created", "duplicate"):
                self.acked.add(result["uuid"])
            elif result["status"] == "rejected":
                self.rejected.add(result["uuid"])
                if result["uuid"] not in self.bad:
                    self.failures[f"rejected:{result['error']['code']}"] += 1
        if not lost:
            self.outbox = [r for r in self.outbox if r["uuid"] not in self.acked and r["uuid"] not in self.rejected]
        return True

    def run(self, deadline, think):
        # Phones do not all start at the same instant: the first sync falls anywhere in the first think time.
        time.sleep(self.rng.uniform(0, think))
        while time.monotonic() < deadline:
            if not self.outbox:
                self.new_records()
            self.send_once()
            pause = think * self.rng.uniform(0.5, 1.5)
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))

    def drain(self, attempts=10):
        for _ in range(attempts):
            if not self.outbox:
                return
            if not self.send_once():
                time.sleep(1)


def run_backend(backend, args):
    folder = Path(tempfile.mkdtemp(prefix=f"jingzhan-load-{backend}-"))
    url, drop = prepare_database(backend, folder, args.postgres_url)
    try:
        people, before = seed(url, folder, args.phones)
        if len(people) < args.phones:
            raise SystemExit(f"only {len(people)} users for {args.phones} phones")
        server = Gunicorn(url, folder, workers=args.workers, password=PASSWORD, timeout=120).start()
        try:
            t0 = time.monotonic()
            with ThreadPoolExecutor(max_workers=16) as pool:
                phones = list(pool.map(lambda p: Phone(server, p[0], PASSWORD).login(), people))
            login_s = time.monotonic() - t0
            sims = [SimulatedPhone(phone, wells, random.Random(args.seed * 1000 + i), args.lose_answer, args.bad_batch)
                    for i, (phone, (_, wells)) in enumerate(zip(phones, people, strict=True))]
            print(f"[{backend}] {len(sims)} phones logged in in {login_s:.1f} s; syncing for {args.duration} s …", flush=True)
            memory = MemorySampler(server).start()
            started = time.monotonic()
            deadline = started + args.duration
            threads = [threading.Thread(target=s.run, args=(deadline, args.think), daemon=True) for s in sims]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=max(1, deadline - time.monotonic()) + 150)
            elapsed = time.monotonic() - started
            stuck = sum(t.is_alive() for t in threads)
            with ThreadPoolExecutor(max_workers=20) as pool:
                list(pool.map(lambda s: s.drain(), sims))
            rss = memory.finish()
            log = server.log()
        finally:
            server.stop()
        report = reconcile(backend, url, folder, args, sims, before, elapsed, login_s, stuck, log)
        report["memory"] = rss
        return report
    finally:
        from models import db

        if not db.is_closed():
            db.close()
        drop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def reconcile(backend, url, folder, args, sims, before, elapsed, login_s, stuck, log):
    from models import Patrol, SyncReceipt, db
    from webapp import create_app

    create_app({"DATABASE_URL": url, "SECRET_KEY": "load", "INSTANCE_PATH": folder})
    valid = set().union(*(s.valid for s in sims))
    bad = set().union(*(s.bad for s in sims))
    with db.connection_context():
        stored = set()
        sent = sorted(valid | bad)
        for start in range(0, len(sent), 500):
            chunk = sent[start:start + 500]
            stored.update(str(r.uuid) for r in Patrol.select(Patrol.uuid).where(Patrol.uuid.in_(chunk)))
        receipts = SyncReceipt.select().count()
        after = Patrol.select().count()
        version = (db.execute_sql("select sqlite_version()").fetchone()[0] if backend == "sqlite"
                   else db.execute_sql("show server_version").fetchone()[0])
    db.close()
    latencies = sorted(x for s in sims for x in s.latencies)
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0] * 99
    statuses = sum((s.statuses for s in sims), Counter())
    results = sum((s.results for s in sims), Counter())
    failures = sum((s.failures for s in sims), Counter())
    created = sum((s.created for s in sims), Counter())
    unacked = sum(len(s.outbox) for s in sims)
    report = {
        "backend": backend,
        "database_version": version,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "settings": {"phones": len(sims), "duration_s": args.duration, "gunicorn_workers": args.workers,
                     "think_s": args.think, "records_per_batch": "1-20", "lose_answer": args.lose_answer,
                     "bad_batch": args.bad_batch, "seed": args.seed},
        "elapsed_s": round(elapsed, 1),
        "login_s": round(login_s, 1),
        "requests": sum(statuses.values()),
        "http_status": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "connection_errors": {k: v for k, v in failures.items() if not k.startswith("rejected:")},
        "unexpected_rejections": {k: v for k, v in failures.items() if k.startswith("rejected:")},
        "results": dict(results),
        "records_sent": {"valid": len(valid), "refused_on_purpose": len(bad)},
        "throughput": {"batches_per_s": round(sum(statuses.values()) / elapsed, 1),
                       "records_per_s": round(len(valid) / elapsed, 1)},
        "latency_ms": {"p50": round(q[49] * 1000, 1), "p95": round(q[94] * 1000, 1), "p99": round(q[98] * 1000, 1),
                       "max": round(latencies[-1] * 1000, 1) if latencies else 0,
                       "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0},
        "reconciliation": {
            "stored_valid": len(stored & valid),
            "lost": len(valid - stored),
            "refused_but_stored": len(stored & bad),
            "created_twice": sum(1 for v in created.values() if v > 1),
            "rows_added": after - before,
            "rows_not_sent_by_phones": after - before - len(stored),
            "receipts": receipts,
            "left_unacknowledged_after_drain": unacked,
            "phones_still_running_at_the_end": stuck,
        },
        "server_log": {"database_is_locked": log.count("database is locked"), "tracebacks": log.count("Traceback")},
    }
    rec = report["reconciliation"]
    report["guarantees_hold"] = (
        report["server_errors_5xx"] == 0 and rec["lost"] == 0 and rec["refused_but_stored"] == 0
        and rec["created_twice"] == 0 and rec["rows_not_sent_by_phones"] == 0
        and rec["left_unacknowledged_after_drain"] == 0 and not report["unexpected_rejections"]
        and report["server_log"]["database_is_locked"] == 0 and report["server_log"]["tracebacks"] == 0
    )
    return report


def table(reports):
    rows = [
        ("backend", lambda r: f"{r['backend']} {r['database_version']}"),
        ("phones × duration", lambda r: f"{r['settings']['phones']} × {r['elapsed_s']} s, {r['settings']['gunicorn_workers']} workers"),
        ("requests (HTTP status)", lambda r: f"{r['requests']} ({', '.join(f'{k}: {v}' for k, v in r['http_status'].items())})"),
        ("5xx / connection errors", lambda r: f"{r['server_errors_5xx']} / {sum(r['connection_errors'].values())}"),
        ("records (valid + refused on purpose)", lambda r: f"{r['records_sent']['valid']} + {r['records_sent']['refused_on_purpose']}"),
        ("answers", lambda r: ", ".join(f"{k} {v}" for k, v in sorted(r["results"].items()))),
        ("throughput", lambda r: f"{r['throughput']['batches_per_s']} batches/s, {r['throughput']['records_per_s']} records/s"),
        ("latency p50 / p95 / p99 / max", lambda r: " / ".join(f"{r['latency_ms'][k]:.0f}" for k in ("p50", "p95", "p99", "max")) + " ms"),
        ("lost / doubled / refused but stored", lambda r: f"{r['reconciliation']['lost']} / {r['reconciliation']['created_twice'] + r['reconciliation']['rows_not_sent_by_phones']} / {r['reconciliation']['refused_but_stored']}"),
        ('"database is locked" / tracebacks', lambda r: f"{r['server_log']['database_is_locked']} / {r['server_log']['tracebacks']}"),
        ("peak RSS per worker, max / mean (master)",
         lambda r: f"{r['memory']['peak_rss_mb_max']} / {r['memory']['peak_rss_mb_mean']} MB "
                   f"({r['memory']['master_peak_rss_mb']} MB)"),
        ("guarantees hold", lambda r: "yes" if r["guarantees_hold"] else "NO"),
    ]
    lines = ["| | " + " | ".join(r["backend"] for r in reports) + " |", "|---|" + "---|" * len(reports)]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in reports) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="8 phones, 2 workers, 4 s, SQLite only")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--duration", type=float, default=120, help="seconds of syncing (default 120)")
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a phone waits between batches")
    parser.add_argument("--lose-answer", type=float, default=0.03, help="share of answers the phone never hears")
    parser.add_argument("--bad-batch", type=float, default=0.02, help="share of batches with one record to refuse")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("JINGZHAN_TEST_POSTGRES_URL"),
                        help="admin URL of a throw-away cluster (default: $JINGZHAN_TEST_POSTGRES_URL)")
    parser.add_argument("--json", type=Path, default=None, help="raw results (default docs/load-sync.json; a smoke run: "
                                                                "the temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server logs)")
    args = parser.parse_args(argv)
    if args.smoke:
        keep_smoke_apart()
        args.backend, args.phones, args.workers, args.duration, args.think = "sqlite", 8, 2, 4.0, 0.5
    args.json = args.json or (Path(tempfile.gettempdir()) / "jingzhan-load-sync-smoke.json" if args.smoke
                              else ROOT / "docs" / "load-sync.json")
    if not 1 <= args.duration <= 3600:
        parser.error("--duration must be between 1 and 3600 seconds")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    skipped = {}
    if "postgresql" in backends and not args.postgres_url:
        if args.backend == "postgresql":
            parser.error("PostgreSQL needs --postgres-url or JINGZHAN_TEST_POSTGRES_URL "
                         "(scripts/with-test-postgres.sh .venv/bin/python bench/load_sync.py --backend postgresql)")
        print("PostgreSQL skipped: run under scripts/with-test-postgres.sh or pass --postgres-url.", file=sys.stderr)
        backends.remove("postgresql")
        skipped["postgresql"] = "JINGZHAN_TEST_POSTGRES_URL is not set (run under scripts/with-test-postgres.sh)"
    for backend in BACKENDS:
        if backend not in backends:
            skipped.setdefault(backend, "smoke run: SQLite only" if args.smoke else f"not asked for (--backend {args.backend})")
    began = time.monotonic()
    reports = [run_backend(b, args) for b in backends]
    saved = {}
    if args.json.exists():
        try:
            saved = json.loads(args.json.read_text())
        except ValueError:
            saved = {}
    saved.update({f"{r['backend']}, think {r['settings']['think_s']:g} s": r for r in reports})
    args.json.write_text(json.dumps(saved, ensure_ascii=False, indent=2) + "\n")
    print(table(reports))
    print(f"raw results: {args.json}")
    path = write_result(
        "load",
        params={"backends": backends, "phones": args.phones, "gunicorn_workers": args.workers, "duration_s": args.duration,
                "think_s": args.think, "records_per_batch": "1-20", "lose_answer": args.lose_answer,
                "bad_batch": args.bad_batch, "seed": args.seed, "smoke": args.smoke or is_smoke(),
                "seconds": round(time.monotonic() - began, 1)},
        results={"runs": {r["backend"]: r for r in reports}, "skipped": skipped, "raw": str(args.json)},
        targets=make_targets(reports, skipped, args), section=section(reports, skipped, args))
    print(f"results: {path}")
    return 0 if all(r["guarantees_hold"] for r in reports) else 1


def make_targets(reports, skipped, args) -> list[Target]:
    by_backend = {r["backend"]: r for r in reports}
    out = []
    for backend, label in BACKENDS.items():
        r = by_backend.get(backend)
        what = f"sync under load, {label}: every record stored once"
        goal = "0 lost, 0 stored twice, 0 refused-but-stored, 0 5xx, 0 \"database is locked\""
        if r is None:
            out.append(Target(what, goal, "—", None, skipped.get(backend, "not measured")))
        else:
            rec = r["reconciliation"]
            measured = (f"{r['records_sent']['valid']:,} records from {r['settings']['phones']} phones in {r['elapsed_s']} s: "
                        f"{rec['lost']} lost, {rec['created_twice'] + rec['rows_not_sent_by_phones']} doubled, "
                        f"{rec['refused_but_stored']} refused-but-stored, {r['server_errors_5xx']} 5xx, "
                        f"{r['server_log']['database_is_locked']} locked")
            problems = {k: v for k, v in (("lost", rec["lost"]), ("5xx", r["server_errors_5xx"]),
                                           ("unacknowledged after the drain", rec["left_unacknowledged_after_drain"]),
                                           ("unexpected rejections", sum(r["unexpected_rejections"].values())),
                                           ("tracebacks", r["server_log"]["tracebacks"])) if v}
            note = "" if r["guarantees_hold"] else "see docs/load-sync.json: " + json.dumps(problems, ensure_ascii=False)
            out.append(Target(what, goal, measured, r["guarantees_hold"], note))
    for backend, label in BACKENDS.items():
        r = by_backend.get(backend)
        what = f"peak memory of a gunicorn worker under load, {label}"
        goal = f"< {WORKER_RSS_GOAL_MB} MB RSS (our choice: 4 workers and the master well under 1 GB)"
        if r is None or r["memory"]["peak_rss_mb_max"] is None:
            out.append(Target(what, goal, "—", None, skipped.get(backend, "no worker was sampled")))
            continue
        m = r["memory"]
        met = m["peak_rss_mb_max"] < WORKER_RSS_GOAL_MB
        out.append(Target(what, goal, f"max {m['peak_rss_mb_max']} MB, mean {m['peak_rss_mb_mean']} MB over "
                                       f"{m['workers_seen']} workers (master {m['master_peak_rss_mb']} MB)", met,
                          "" if met else f"by {m['peak_rss_mb_max'] - WORKER_RSS_GOAL_MB:.0f} MB", m["peak_rss_mb_max"]))
    return out


def section(reports, skipped, args) -> str:
    lines = [
        f"`bench/load_sync.py`: {args.phones} simulated phones, each its own worker logged in through the login page, post "
        f"batches of 1–20 patrols to a real gunicorn ({args.workers} sync workers) on 127.0.0.1 for {args.duration:g} s with "
        f"a think time of {args.think:g} s × 0.5–1.5, then drain what they still hold; {args.lose_answer:.0%} of answers are "
        f"thrown away (the resend must come back `duplicate`) and {args.bad_batch:.0%} of batches carry a record the server "
        "must refuse; then the database is reconciled against what the phones sent. The clients run on the same cores as "
        "the server and the database. Worker memory: VmRSS of each worker sampled twice a second and its VmHWM read at the "
        "end (/proc). Raw numbers: `docs/load-sync.json`.",
        "",
    ]
    if reports:
        lines.append(table(reports))
    for backend, reason in skipped.items():
        lines.append(f"\n{BACKENDS[backend]}: not measured — {reason}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
