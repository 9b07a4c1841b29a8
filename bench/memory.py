"""Memory: the peak resident memory of one gunicorn worker over a walk of every page of every role, then the label
and badge PDFs over and over ("memory").

One worker (every request lands in it) serving a SQLite copy of the demo work area with 14 days of generated history,
as deploy/gunicorn.conf.example runs it but without recycling (JINGZHAN_MAX_REQUESTS=0: the figure is what one
worker reaches, not what recycling hides). The worker's VmRSS is sampled from /proc five times a second and its
peak (VmHWM) read at the end. The walk: the worker, the leader, the secretary and an admin each GET every page of
the URL map (tests/e2e/test_accessibility.py's page list, the same demo objects; the exports too), then the leader
downloads the station's label PDF and the secretary the branch's badge PDF, --pdfs times each.

    .venv/bin/python bench/memory.py              # 5 rounds of PDFs
    .venv/bin/python bench/memory.py --smoke      # 1 round

Writes docs/bench/memory.json.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import PASSWORD, demo_app, keep_smoke_apart
from live import time_limit
from load_sync import MemorySampler, _status_kb
from results import Target, write_result

from models import Station, db
from tests.live_gunicorn import Gunicorn, Phone

GOAL_MB = 150
ROLES = {"worker": "HN1003", "leader": "HN1001", "secretary": "HN1002", "admin": "HN0001"}
SKIPPED = {"auth.logout", "static", "pwa.service_worker"}  # logging out ends the walk; files are not pages


def prepare(folder: Path) -> tuple[str, list[str], dict]:
    """The demo database with history; every GET URL of the app with demo objects; the PDFs' URLs."""
    from tests.e2e.test_accessibility import demo_objects

    app, _ = demo_app(folder)
    url = app.config["DATABASE_URL"]
    with app.test_request_context(), db.connection_context():
        objects = demo_objects(app)
        station = Station.get(Station.name == "海南一号站")
        adapter = app.url_map.bind("localhost")
        urls = []
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in SKIPPED:
                continue
            arguments = dict(objects.get(rule.endpoint, {}))
            arguments.update({k: station.id for k in rule.arguments if k == "station_id"})
            if rule.arguments - set(arguments):
                continue  # an address of a file (a photo, a label image) or of an object the demo does not have
            urls.append(adapter.build(rule.endpoint, arguments))
        pdfs = {"leader": f"/labels/stations/{station.id}.pdf", "secretary": f"/cards/branch/{station.id}/badges.pdf"}
    db.close()
    return url, urls, pdfs


def walk(server: Gunicorn, urls: list[str], pdfs: dict, rounds: int) -> dict:
    phones = {role: Phone(server, number, PASSWORD).login() for role, number in ROLES.items()}
    statuses: dict[int, int] = {}
    for phone in phones.values():
        for url in urls:
            response = phone.http.get(server.base + url, allow_redirects=False, timeout=120)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    after_pages = max(_status_kb(pid, "VmHWM") or 0 for pid in server.worker_pids()) / 1024
    sizes = {}
    for _ in range(rounds):
        for role, url in pdfs.items():
            response = phones[role].http.get(server.base + url, timeout=300)
            assert response.status_code == 200 and response.content.startswith(b"%PDF"), (url, response.status_code)
            sizes[url] = len(response.content)
    return {"statuses": statuses, "pdf_bytes": sizes, "peak_after_pages_mb": round(after_pages, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one round of PDFs")
    parser.add_argument("--pdfs", type=int, default=None, help="rounds of the two PDFs (default 5)")
    args = parser.parse_args(argv)
    rounds = args.pdfs or (1 if args.smoke else 5)
    if args.smoke:
        keep_smoke_apart()
    with tempfile.TemporaryDirectory(prefix="jingzhan-bench-memory-") as tmp:
        folder = Path(tmp)
        url, urls, pdfs = prepare(folder)
        server = Gunicorn(url, folder, workers=1, password=PASSWORD, timeout=300,
                          extra_args=["--max-requests", "0"])
        with server:
            sampler = MemorySampler(server, every_s=0.2).start()
            began = time.monotonic()
            walked = walk(server, urls, pdfs, rounds)
            seconds = time.monotonic() - began
            memory = sampler.finish()
    peak = memory["peak_rss_mb_max"]
    start = max(memory["worker_rss_at_start_mb"].values())
    requests = sum(walked["statuses"].values()) + rounds * len(pdfs)
    print(f"one worker, {requests} requests in {seconds:.0f} s: peak RSS {peak} MB (at start {start} MB, "
          f"{walked['peak_after_pages_mb']} MB after the pages); "
          f"statuses {walked['statuses']}")
    target = Target(
        "peak memory of one gunicorn worker: every page of every role, then label and badge PDFs", f"< {GOAL_MB} MB",
        f"{peak:.0f} MB peak RSS ({start:.0f} MB after start; {len(urls)} pages × {len(ROLES)} roles, "
        f"{rounds} × 2 PDFs)", peak < GOAL_MB, value=peak,
        note="" if peak < GOAL_MB else f"{peak - GOAL_MB:.0f} MB over",
    )
    section = f"""
One gunicorn worker without recycling on a SQLite copy of the demo with 14 days of history: the worker, the leader,
the secretary and an admin each opened every page of the URL map ({len(urls)} addresses, exports included; answers
{walked['statuses']}), then the leader downloaded 海南一号站's label PDF and the secretary the branch's badge PDF,
{rounds} times each, {requests} requests in {seconds:.0f} s. The worker's resident memory: **{peak:.0f} MB at its
peak** (VmHWM), {start:.0f} MB after start, {walked['peak_after_pages_mb']:.0f} MB at most over the pages alone. deploy/gunicorn.conf.example recycles a worker after 2,000 requests
(±10 %): slow growth is bounded there; a peak is not.
"""
    write_result("memory", params={"pdf_rounds": rounds, "pages": len(urls), "roles": list(ROLES)},
                 results={**memory, **walked, "requests": requests, "seconds": round(seconds, 1)},
                 targets=[target], section=section)
    return 0


if __name__ == "__main__":
    with time_limit(280 if "--smoke" not in sys.argv else 200):
        sys.exit(main())
