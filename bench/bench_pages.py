"""Page times and SQL queries per page with 10 k, 100 k and 1 M patrols of history on SQLite: the leader's shift
dashboard (current and a past full shift), a well's history and its well page, the review of a patrol and of an
equipment check, and a worker's 记录 — through Flask's test client, logged in.

Each size's database is generated once (bench/generate.py) and kept in the temporary folder, keyed by size, seed,
generator and schema version and the shift it was made in (the current shift's patrols are the ones made before
it was generated). The number of queries of a page must be the same at every size.

Run: .venv/bin/python bench/bench_pages.py [--sizes 10k,100k] [--1m] [--requests 30] [--explain] [--out FILE]
"""
import argparse
import json
import math
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import peewee
from common import PASSWORD, ROOT, login

from models import Equipment, EquipmentCheck, Patrol, Station, Well, WorkArea, db, utcnow
from webapp.generator import VERSION, build_database
from webapp import create_app, migrations
from webapp.shifts import parse_shifts, shift_at, window

CACHE = Path(tempfile.gettempdir()) / "jingzhan-bench-pages"
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
WARM_UPS = 3
ALIAS = re.compile(r'"(\w+)" AS "(t\d+)"')
BIG_TABLES = {"patrol", "well_operation", "equipment_check", "hazard", "hazard_step", "fluctuation_alert", "sync_receipt"}


def database_for(patrols: int, seed: int) -> tuple[Path, dict]:
    """The cached database of this size (built now if there is none for the current shift) and its summary."""
    CACHE.mkdir(exist_ok=True)
    day, shift = shift_at(utcnow(), parse_shifts(WorkArea.shifts.default), "Asia/Shanghai")
    stem = f"patrols-{patrols}-seed{seed}-g{VERSION}-s{migrations.LATEST}"
    path = CACHE / f"{stem}-{day.isoformat()}-{shift.index}.db"
    info = path.with_suffix(".json")
    if path.exists() and info.exists():
        return path, json.loads(info.read_text())
    for old in CACHE.glob(f"patrols-{patrols}-*"):
        old.unlink()
    print(f"building the {patrols:,}-patrol database in {CACHE} …", file=sys.stderr)
    building = path.with_suffix(".building")
    for leftover in CACHE.glob(building.name + "*"):
        leftover.unlink()

    def progress(counts, seconds):
        print(f"  {counts['patrols']:>9,} patrols {seconds:6.1f} s", file=sys.stderr)

    summary = build_database(building, patrols, seed, PASSWORD, progress=progress)
    db.close()
    building.rename(path)
    info.write_text(json.dumps(summary))
    return path, summary


class QueryLog:
    """Every SQL statement the app runs, through peewee's query hooks."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def take(self) -> list:
        events, self.events = self.events, []
        return events


def targets(app) -> dict:
    """Ids for the URLs: a key oil well of 海南一号站, a past full shift, a patrol of it and an equipment check."""
    with db.connection_context():
        station = Station.get(Station.name == "海南一号站")
        well = (Well.select().where((Well.station == station) & (Well.kind == "oil")).order_by(Well.is_key_well.desc(), Well.code)
                .first())
        tz = app.config["TIMEZONE"]
        shifts = parse_shifts(station.work_area.shifts)
        today, _shift = shift_at(utcnow(), shifts, tz)
        past = today - timedelta(days=1)
        start, end = window(past, shifts[0], tz)
        patrol = (Patrol.select().where((Patrol.well == well) & (Patrol.clock_time >= start) & (Patrol.clock_time < end)).first()
                  or Patrol.select().where(Patrol.well == well).order_by(Patrol.device_time.desc()).first())
        check = (EquipmentCheck.select().join(Equipment).where(Equipment.well == well)
                 .order_by(EquipmentCheck.device_time.desc()).first())
        older = utcnow() - timedelta(days=20)
        now_start, now_end = window(today, _shift, tz)
        in_shift = {name: Patrol.select().where((Patrol.station == station) & (Patrol.clock_time >= low) & (Patrol.clock_time < high))
                    .count() for name, (low, high) in (("current", (now_start, now_end)), ("past", (start, end)))}
    return {"well": well.id, "past": past.isoformat(), "patrol": patrol.id, "check": check.id if check else None,
            "before": older.replace(microsecond=0).isoformat(), "station_patrols_in_shift": in_shift}


def pages(ids: dict) -> list[tuple[str, str, str, dict]]:
    """(name, who, url, headers) of every measured page."""
    return [
        ("dashboard, current shift", "leader", "/review/", {}),
        ("dashboard, past full shift", "leader", f"/review/?date={ids['past']}&shift=0", {}),
        ("well history", "leader", f"/wells/{ids['well']}/history", {}),
        ("well history, page 20 days back (htmx)", "leader", f"/wells/{ids['well']}/history?before={ids['before']}",
         {"HX-Request": "true"}),
        ("well page", "leader", f"/wells/{ids['well']}", {}),
        ("patrol review", "leader", f"/review/patrols/{ids['patrol']}", {}),
        ("equipment check review", "leader", f"/review/checks/{ids['check']}", {}),
        ("records of worker HN1003", "worker", "/records", {}),
        ("handover, current shift", "worker", "/handover/", {}),
        ("daily report (单井日报)", "leader", f"/reports/daily?date={ids['past']}", {}),
        ("daily report .xlsx", "leader", f"/reports/daily.xlsx?date={ids['past']}", {}),
        ("monthly summary", "leader", f"/reports/monthly?month={ids['past'][:7]}", {}),
        ("work-area overview", "admin", "/review/overview", {}),
    ]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(client, url, headers, log: QueryLog, requests: int, budget_s: float) -> dict:
    """Median and p95 of the page's time over `requests` requests after the warm-ups, and its queries per request."""
    for _ in range(WARM_UPS):
        response = client.get(url, headers=headers)
        log.take()
        if response.status_code != 200:
            return {"status": response.status_code}
    times, queries = [], set()
    began = time.perf_counter()
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        queries.add(len(log.take()))
        if time.perf_counter() - began > budget_s:
            break
    client.get(url, headers=headers)
    statements = log.take()
    return {"status": response.status_code, "requests": len(times), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1), "min_ms": round(min(times), 1),
            "queries": queries.pop() if len(queries) == 1 else sorted(queries),  # a list if it varied
            "bytes": len(response.get_data()), "_statements": statements}


def explain(statements) -> list[dict]:
    """Each statement of one request with its own time (run again, rows fetched) and SQLite's query plan."""
    out = []
    with db.connection_context():
        for event in statements:
            sql, params = event.sql, event.params or ()
            if not sql.lstrip().upper().startswith("SELECT"):
                out.append({"sql": sql, "ms": None, "plan": []})
                continue
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                rows = db.execute_sql(sql, params).fetchall()
                runs.append((time.perf_counter() - start) * 1000)
            plan = [row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
            tables = {alias: table for table, alias in ALIAS.findall(sql)}
            out.append({"sql": sql, "params": [str(p) for p in params], "rows": len(rows), "ms": round(min(runs), 2),
                        "plan": plan, "warnings": [line for line in plan if _scans_big_table(line, tables)]})
    return out


def _scans_big_table(line: str, tables: dict) -> bool:
    """A plan step that reads a big table from end to end (in the order of an index, perhaps), rather than a range."""
    words = line.split()
    return words[:1] == ["SCAN"] and len(words) > 1 and tables.get(words[1], words[1]) in BIG_TABLES


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version, "peewee": peewee.__version__}


def run_size(name: str, patrols: int, args) -> dict:
    began = time.perf_counter()
    path, summary = database_for(patrols, args.seed)
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench", "INSTANCE_PATH": path.parent})
    log = QueryLog()
    db.obj.query_hooks.append(log)
    with db.connection_context():
        summary["patrols_in_database"] = Patrol.select().count()
    clients = {"leader": app.test_client(), "worker": app.test_client(), "admin": app.test_client()}
    login(clients["leader"], "HN1001")
    login(clients["worker"], "HN1003")
    login(clients["admin"], "HN0001")
    log.take()
    ids = targets(app)
    result = {"date": datetime.now(timezone.utc).astimezone(ZoneInfo(app.config["TIMEZONE"])).isoformat(timespec="minutes"),
              "database": summary, "ids": ids, "pages": {}}
    for page, who, url, headers in pages(ids):
        if "None" in url:
            continue
        outcome = measure(clients[who], url, headers, log, args.requests, args.budget)
        statements = outcome.pop("_statements", [])
        if outcome["status"] == 404:
            outcome["note"] = "404: the route does not exist yet"
        elif args.explain and statements:
            outcome["statements"] = explain(statements)
            timed = [s for s in outcome["statements"] if s["ms"] is not None]
            outcome["slowest_query_ms"] = max(s["ms"] for s in timed) if timed else None
            outcome["plan_warnings"] = sum(len(s["warnings"]) for s in timed)
        result["pages"][page] = {"url": url, **outcome}
        print(f"{name:>5} {page:<42} " + (f"{outcome['median_ms']:8.1f} ms  p95 {outcome['p95_ms']:8.1f} ms  "
              f"{outcome['queries']} queries" if outcome["status"] == 200 else f"status {outcome['status']}"), file=sys.stderr)
    db.close()
    result["seconds"] = round(time.perf_counter() - began, 1)
    return result


def table(results: dict) -> str:
    """The markdown table for docs/performance.md: page, size, median, p95, fastest, queries."""
    lines = ["| page | patrols | median ms | p95 ms | min ms | queries |", "|---|---:|---:|---:|---:|---:|"]
    names = [name for name in SIZES if name in results["sizes"]]
    order = []
    for name in names:
        order += [page for page in results["sizes"][name]["pages"] if page not in order]
    for page in order:
        for name in names:
            outcome = results["sizes"][name]["pages"].get(page)
            if outcome is None:
                continue
            patrols = f"{results['sizes'][name]['database'].get('patrols_in_database', 0):,}"
            if outcome["status"] != 200:
                lines.append(f"| {page} | {patrols} | — | — | — | {outcome.get('note', outcome['status'])} |")
            else:
                lines.append(f"| {page} | {patrols} | {outcome['median_ms']:.1f} | {outcome['p95_ms']:.1f} | "
                             f"{outcome['min_ms']:.1f} | {outcome['queries']} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated, of " + ", ".join(SIZES))
    parser.add_argument("--1m", dest="million", action="store_true", help="also 1 M patrols (builds for minutes)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page, after 3 warm-ups")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds of timed requests per page at most")
    parser.add_argument("--explain", action="store_true", help="time each query again and keep its query plan")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench-pages.json",
                        help="JSON results, merged per size into what the file holds")
    args = parser.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    if args.million and "1m" not in sizes:
        sizes.append("1m")
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}")
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("sizes", {})
    results["machine"] = machine()
    for name in sizes:
        results["sizes"][name] = run_size(name, SIZES[name], args)
    results["sizes"] = {name: results["sizes"][name] for name in SIZES if name in results["sizes"]}
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
