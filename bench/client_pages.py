"""The worker's pages on a slow phone ("client"): bytes on the wire and time to interactive on the first visit and on a
repeat visit, the service worker's own traffic, a month of one worker's mobile data, and Lighthouse (mobile).

    .venv/bin/python bench/client_pages.py            # 7 pages, 3 repeat visits each, Lighthouse on 3 (about 3 min)
    .venv/bin/python bench/client_pages.py --smoke    # 首页 only, 1 repeat visit, no Lighthouse, the service worker
                                                      # unthrottled, the demo's own wells (about 15 s)

The app runs on 127.0.0.1 (a free port) behind `live.NginxGzip`, which compresses what deploy/nginx.conf.example
compresses (/static/ and /sw.js, gzip level 1; pages and JSON uncompressed). The demo work area, its stations topped
up to the generator's 40 wells (webapp/generator.py), the worker HN1003 logged in (cookies copied into each fresh
browser context). Headless Chromium as a Pixel 7; CDP `Emulation.setCPUThrottlingRate` 4 on the page and
`Network.emulateNetworkConditions` "slow 3G" (400 ms latency, 400 kbit/s down, 400 kbit/s up) on the page and on
the service worker (attached through CDP before it starts, so its precache, warm-up and network-first page fetches
are throttled too; each target has its own emulated link, so they do not share the 400 kbit/s).

Bytes are CDP's `Network.loadingFinished.encodedDataLength` (headers + body as received) of every request of the page
and of its service worker. A page's bytes are its own requests, those the service worker forwarded to the network
included (e.g. the document of a repeat visit, network-first); what the service worker answered from its cache costs
nothing; the service worker's own traffic (precache, offline-copy warm-up) is counted apart. Time to interactive
(TTI): the later of the load event's end (all scripts, modules included, have run) and the end of the last long task
(≥ 50 ms, PerformanceObserver), once the main thread has had no long task for 1 s; from navigation start.
Writes docs/bench/client.json.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import PASSWORD, ROOT, demo_app
from live import CHROMIUM_ARGS, CHROMIUM_PATH, NginxGzip, http_login, launch, serve, time_limit
from playwright.sync_api import sync_playwright
from results import Target, write_result

from models import Equipment, User, UserRole, Well, db

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
USER = "HN1003"
PAGES = [("首页", "/"), ("扫码", "/scan"), ("井", "/w/{token}"), ("记录", "/records"), ("我的", "/me"),
         ("设备检查", "/checks/new"), ("上报隐患", "/hazards/new")]
LIGHTHOUSE_PAGES = ["首页", "扫码", "井"]
FIRST_LIMIT = 100 * 1024
MONTH_LIMIT = 20 * 1024 * 1024
SCORE_LIMIT = 95
QUIET_MS = 1000
LONG_TASKS = """
window.__jzLongTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__jzLongTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
} catch (e) {}
"""
TIMINGS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return { now: performance.now(), ttfb: n ? n.responseStart : null, dcl: n ? n.domContentLoadedEventEnd : null,
           load: n ? n.loadEventEnd : 0, fcp: fcp ? fcp.startTime : null, htmx: !!window.htmx,
           longTasks: window.__jzLongTasks || [], user: document.body ? document.body.dataset.userId : null };
}"""
WARMED = "(user) => Number(localStorage.getItem(`jingzhan-warmed-${user}`) || 0)"


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def conditions(rtt_ms: int, down_kbps: int, up_kbps: int) -> dict:
    """CDP's network emulation: latency in ms, throughputs in bytes per second."""
    return {"offline": False, "latency": rtt_ms, "downloadThroughput": down_kbps * 1000 / 8,
            "uploadThroughput": up_kbps * 1000 / 8, "connectionType": "cellular3g"}


def kind_of(path: str, document: str) -> str:
    if path == document:
        return "document"
    if path.startswith("/static/") or path == "/offline":  # the static files and the offline page: the precache
        return "shell"
    if path == "/sw.js":
        return "sw"
    if path.startswith("/api/"):
        return "api"
    return "pages"  # other pages (the warm-up's), icons, photos


class Probe:
    """CDP on one page and on every service worker it starts: throttling, and each request with its bytes, tagged with
    the phase (`self.phase`) current when the request started."""

    def __init__(self, context, page, network: dict, cpu_rate: float, throttle_worker: bool = True):
        self.network, self.throttle_worker, self.phase, self._ids = network, throttle_worker, "setup", 0
        self.requests: dict = {}
        self.workers: list = []
        self.header_bytes: list = []
        self.cdp = context.new_cdp_session(page)
        for name in ("requestWillBeSent", "responseReceived", "loadingFinished", "loadingFailed",
                     "requestServedFromCache", "requestWillBeSentExtraInfo"):
            self.cdp.on(f"Network.{name}", lambda params, name=name: self._event("page", name, params))
        self.worker_sessions: set = set()
        self.cdp.on("Target.attachedToTarget", self._attached)
        self.cdp.on("Target.detachedFromTarget", lambda params: self.worker_sessions.discard(params["sessionId"]))
        self.cdp.on("Target.receivedMessageFromTarget", self._message)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.emulateNetworkConditions", network)
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_rate})
        self.cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})

    def _send(self, session: str, method: str, params: dict | None = None) -> None:
        self._ids += 1
        message = json.dumps({"id": self._ids, "method": method, "params": params or {}})
        self.cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": message})

    def _attached(self, params: dict) -> None:
        session, kind = params["sessionId"], params["targetInfo"]["type"]
        if kind == "service_worker":
            self.workers.append(params["targetInfo"]["targetId"])
            self.worker_sessions.add(session)
            self._send(session, "Network.enable")
            if self.throttle_worker:
                self._send(session, "Network.emulateNetworkConditions", self.network)
        if params.get("waitingForDebugger"):
            self._send(session, "Runtime.runIfWaitingForDebugger")

    def _message(self, params: dict) -> None:
        message = json.loads(params["message"])
        method = message.get("method", "")
        if method.startswith("Network."):
            self._event(f"sw:{params['sessionId']}", method.split(".", 1)[1], message["params"])

    def _event(self, source: str, name: str, params: dict) -> None:
        if name == "requestWillBeSentExtraInfo":
            headers = params.get("headers", {})
            self.header_bytes.append(sum(len(k) + len(str(v)) + 4 for k, v in headers.items()))
            return
        key = (source, params["requestId"])
        if name == "requestWillBeSent":
            if key in self.requests and params.get("redirectResponse"):
                # a redirect: the first hop's bytes are in redirectResponse.encodedDataLength
                old = self.requests.pop(key)
                old["bytes"] = params["redirectResponse"].get("encodedDataLength", 0)
                old["status"] = params["redirectResponse"].get("status")
                self.requests[(source, params["requestId"], "redirect", len(self.requests))] = old
            url = params["request"]["url"]
            self.requests[key] = {"source": "page" if source == "page" else "worker", "phase": self.phase, "url": url,
                                  "path": re.sub(r"^[a-z]+://[^/]+", "", url).split("?")[0], "type": params.get("type"),
                                  "bytes": 0, "from_sw": False, "from_cache": False, "status": None, "done": False}
            return
        request = self.requests.get(key)
        if request is None:
            return
        if name == "responseReceived":
            response = params["response"]
            request.update(status=response.get("status"), from_sw=bool(response.get("fromServiceWorker")),
                           sw_source=response.get("serviceWorkerResponseSource"),
                           from_cache=bool(response.get("fromDiskCache") or response.get("fromPrefetchCache")))
        elif name == "requestServedFromCache":
            request["from_cache"] = True
        elif name == "loadingFinished":
            request.update(bytes=params.get("encodedDataLength", 0), done=True)
        elif name == "loadingFailed":
            request.update(done=True, failed=params.get("errorText"))

    def network_rows(self, phase: str) -> list[dict]:
        """Requests of a phase that went over the network, each with `side`: "page" (the page's own, straight or
        forwarded by the service worker, whose fetch then carries the bytes) or "worker" (the service worker's own:
        precache, warm-up). What the service worker or a cache answered costs nothing and is left out."""
        rows = [r for r in self.requests.values() if r["phase"] == phase and r["url"].startswith("http")]
        worker = [r for r in rows if r["source"] == "worker" and not r["from_cache"]]
        out = []
        for r in rows:
            if r["source"] != "page" or r["from_cache"]:
                continue
            if not r["from_sw"]:
                out.append({**r, "side": "page"})
            elif r.get("sw_source") in (None, "network"):
                twin = next((w for w in worker if w["url"] == r["url"]), None)
                if twin is not None:
                    worker.remove(twin)
                    out.append({**twin, "side": "page", "via_worker": True})
        return out + [{**w, "side": "worker"} for w in worker]

    def bytes_by_kind(self, phase: str, document: str) -> dict:
        out = {"page": {}, "worker": {}}
        for r in self.network_rows(phase):
            side = out[r["side"]]
            kind = kind_of(r["path"], document)
            side[kind] = side.get(kind, 0) + r["bytes"]
        return out


def measure_visit(page, probe: Probe, url: str, phase: str, max_quiet_wait_s: float) -> dict:
    """Navigate, wait for the load event and a quiet main thread; timings (ms from navigation start) and bytes."""
    page.evaluate("1")  # deliver the events of the previous phase before the new tag
    probe.phase = phase
    response = page.goto(url, wait_until="load", timeout=120_000)
    deadline = time.monotonic() + max_quiet_wait_s
    while True:
        t = page.evaluate(TIMINGS)
        last_task_end = max((s + d for s, d in t["longTasks"]), default=0)
        busy_until = max(t["load"] or 0, last_task_end)
        if (t["load"] and t["now"] - busy_until >= QUIET_MS) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    page.evaluate("1")
    probe.phase = f"{phase}:after"
    document = re.sub(r"^[a-z]+://[^/]+", "", page.url).split("?")[0]
    assert document == url.split("?")[0], f"{url} ended at {page.url} (logged out?)"
    assert response is not None and response.status == 200, (url, response and response.status)
    by = probe.bytes_by_kind(phase, document)
    page_bytes = sum(by["page"].values())
    return {
        "status": response.status, "from_service_worker": response.from_service_worker,
        "ttfb_ms": t["ttfb"], "fcp_ms": t["fcp"], "dcl_ms": t["dcl"], "load_ms": t["load"],
        "tti_ms": round(busy_until, 1), "long_tasks": len(t["longTasks"]),
        "long_task_ms": round(sum(d for _, d in t["longTasks"]), 1), "htmx_ready": t["htmx"],
        "quiet": t["now"] - busy_until >= QUIET_MS,
        "page_bytes": page_bytes, "page": by["page"], "worker": by["worker"],
        "worker_bytes": sum(by["worker"].values()),
        "network_bytes": page_bytes + sum(by["worker"].values()),
        "shell_network_bytes": by["page"].get("shell", 0) + by["worker"].get("shell", 0),
        "requests": [{"side": r["side"], "via_worker": r.get("via_worker", False), "path": r["path"], "bytes": r["bytes"],
                      "status": r["status"]} for r in probe.network_rows(phase)],
        "served_by_worker": sum(1 for r in probe.requests.values() if r["phase"] == phase and r["from_sw"]),
        # the service worker's own requests are seen (and throttled) only while CDP is attached to it
        "worker_attached": bool(probe.worker_sessions),
    }


def new_phone(browser, p, base, cookies, well, network, cpu_rate, throttle_worker):
    context = browser.new_context(**p.devices["Pixel 7"], base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  permissions=["geolocation"],
                                  geolocation={"latitude": well["latitude"], "longitude": well["longitude"], "accuracy": 10})
    context.add_cookies(cookies)
    context.add_init_script(LONG_TASKS)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page, Probe(context, page, network, cpu_rate, throttle_worker)


def browser_runs(base, cookies, pages, well, args, network, server: NginxGzip) -> dict:
    """First visits (one fresh context each), then in the first page's context: the service worker's install and
    warm-up, and repeat visits of every page."""
    out = {"first": {}, "repeat": {}, "install": None}
    quiet_wait = 8 if args.smoke else 20
    with sync_playwright() as p:
        browser = launch(p)
        try:
            name, path = pages[0]
            context, page, probe = new_phone(browser, p, base, cookies, well, network, args.cpu, not args.smoke)
            began = time.monotonic()
            out["first"][name] = measure_visit(page, probe, path, "first", quiet_wait)
            user = page.evaluate("() => document.body.dataset.userId")
            deadline = time.monotonic() + (90 if args.smoke else 300)
            while not page.evaluate(WARMED, user):
                if time.monotonic() > deadline:
                    raise RuntimeError("the service worker's warm-up did not finish")
                page.wait_for_timeout(500)
            page.evaluate("1")
            probe.phase = "done"
            warmed_s = time.monotonic() - began
            # the service worker's own traffic (not what it forwarded for the page) from the first navigation on
            rows = [r for phase in ("first", "first:after") for r in probe.network_rows(phase) if r["side"] == "worker"]
            logged = server.since(began)
            out["install"] = {
                "seconds_to_warm": round(warmed_s, 1),
                "precache_bytes": sum(r["bytes"] for r in rows if kind_of(r["path"], "") in ("shell", "sw")),
                "precache_requests": sum(1 for r in rows if kind_of(r["path"], "") in ("shell", "sw")),
                "warm_bytes": sum(r["bytes"] for r in rows if kind_of(r["path"], "") in ("pages", "api")),
                "warm_requests": sum(1 for r in rows if kind_of(r["path"], "") in ("pages", "api")),
                "well_page_bytes": [r["bytes"] for r in rows if r["path"].startswith("/w/")],
                "precached": sorted({r["path"] for r in rows if kind_of(r["path"], "") == "shell"}),
                "server_body_bytes": sum(row[4] for row in logged),
                "server_requests": len(logged),
                "sw_script_seen_by_cdp": any(r["path"] == "/sw.js" for r in rows),
                "server_sw_script_bytes": sum(row[4] for row in logged if row[2] == "/sw.js"),
            }
            if not out["install"]["sw_script_seen_by_cdp"]:
                # the browser fetches the worker's script itself (no CDP target sees it): its body from the server's log
                out["install"]["precache_bytes"] += out["install"]["server_sw_script_bytes"]
                out["install"]["precache_requests"] += 1
            for name, path in pages:
                visits = []
                for n in range(args.repeats):
                    # from the previous page, as a tap on the tab bar (not via about:blank: leaving the origin
                    # detaches CDP from the service worker, whose fetches would then go unseen and unthrottled)
                    visits.append(measure_visit(page, probe, path, f"repeat:{name}:{n}", quiet_wait))
                out["repeat"][name] = visits
            out["request_header_bytes"] = statistics.median(probe.header_bytes) if probe.header_bytes else 700
            context.close()
            for name, path in pages[1:]:
                context, page, probe = new_phone(browser, p, base, cookies, well, network, args.cpu, not args.smoke)
                out["first"][name] = measure_visit(page, probe, path, "first", quiet_wait)
                context.close()
        finally:
            browser.close()
    return out


def sync_sizes(base, cookies, well) -> dict:
    """One patrol through POST /api/v1/sync, as the outbox sends it: bytes of the body and of the answer."""
    from check_size import patrol_record

    record = patrol_record()
    record["data"].update(well_id=well["id"], qr_token=well["token"],
                          position={"latitude": well["latitude"], "longitude": well["longitude"], "accuracy": 8})
    body = json.dumps({"device_id": "bench-client", "sent_at": record["created_at"], "records": [record]},
                      ensure_ascii=False).encode()
    request = urllib.request.Request(f"{base}/api/v1/sync", data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json", "Origin": base,
        "Cookie": "; ".join(f"{c['name']}={c['value']}" for c in cookies)})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = response.read()
        status = json.loads(answer)["results"][0]["status"]
        head = len(f"HTTP/1.1 {response.status} OK\r\n") + len(str(response.headers).replace("\n", "\r\n"))
    assert status == "created", status
    return {"body_bytes": len(body), "answer_bytes": len(answer) + head}


def worker_rates(employee_no: str) -> dict:
    """The worker's station as the generator sees it (webapp/generator.py): wells and their patrol intervals,
    equipment, operators (staff who are not leader, secretary or admin), shifts."""
    import math

    from webapp import generator
    from webapp.shifts import parse_shifts

    user = User.get(User.employee_no == employee_no)
    station = user.station
    shifts = parse_shifts(station.work_area.shifts)
    staff = list(User.select().where((User.station == station) & User.is_enabled))
    roles: dict = {}
    for row in UserRole.select().join(User).where(User.station == station):
        roles.setdefault(row.user_id, set()).add(row.role)
    operators = [u for u in staff if not roles.get(u.id, set()) & {"leader", "secretary", "admin"}]
    wells = list(Well.select().where(Well.station == station))
    equipment = Equipment.select().where((Equipment.station == station) & Equipment.is_in_service).count()
    hours = sum(s.hours for s in shifts) / len(shifts)
    rounds = sum(max(1, math.ceil(hours / max(w.patrol_interval_hours, 1))) for w in wells)
    rate = {name: getattr(generator, name, default) for name, default in (
        ("MISSED", 0.01), ("CHECK_EVERY_DAYS", 7), ("CHECK_ABNORMAL", 0.03), ("HAZARDS_PER_STATION_DAY", 0.05),
        ("HAZARD_FROM_CHECK", 0.1))}
    return {"station": station.name, "wells": len(wells), "equipment": equipment, "operators": len(operators),
            "shifts_per_day": len(shifts), "shift_hours": hours, "rounds_per_shift": rounds, "generator": rate}


def month_estimate(rates: dict, repeat_doc: dict, install: dict, sync: dict, header_bytes: float, photo_bytes: int,
                   warm_every_min: float) -> dict:
    """A month (30 days) of one worker's mobile data, from the generator's rates and the measured sizes."""
    g = rates["generator"]
    team = 2  # the generator: two operators per shift walk half the wells each
    shifts = 30 * rates["shifts_per_day"] * team / rates["operators"]
    day_shifts = 30 * team / rates["operators"]
    patrols_per_shift = rates["rounds_per_shift"] / team * (1 - g["MISSED"])
    station_checks_per_day = rates["equipment"] / g["CHECK_EVERY_DAYS"]
    checks = day_shifts * station_checks_per_day / team
    station_hazards = 30 * (g["HAZARDS_PER_STATION_DAY"] + station_checks_per_day * g["CHECK_ABNORMAL"] * g["HAZARD_FROM_CHECK"])
    hazards = station_hazards / rates["operators"]  # reported by one of the day's team: a 1/operators share
    rectifications = hazards  # assigned to an operator of the station at random: the same share
    patrols = shifts * patrols_per_shift
    record = header_bytes + sync["body_bytes"] + sync["answer_bytes"]
    photo = photo_bytes + header_bytes + 400 + sync["answer_bytes"]  # multipart envelope ~400 B
    check_photos = checks * g["CHECK_ABNORMAL"]
    visits_per_shift = 2 * patrols_per_shift + 12 + 12 + 1  # 扫码 + 井 per patrol; 首页 and 记录 hourly; 我的 once
    warmups_per_shift = min(rates["shift_hours"] * 60 / warm_every_min, visits_per_shift)
    lines = [
        ("patrols (one sync request each)", patrols, record),
        ("扫码 + 井 page per patrol (repeat visits: the page from the network, the shell from the service worker)",
         patrols, repeat_doc["扫码"] + repeat_doc["井"]),
        ("首页 and 记录 once an hour, 我的 once a shift (repeat visits)", shifts,
         12 * (repeat_doc["首页"] + repeat_doc["记录"]) + repeat_doc["我的"]),
        ("equipment checks (设备检查 page + sync)", checks, repeat_doc["设备检查"] + record),
        ("photos of abnormal check items", check_photos, photo),
        ("hazards reported (上报隐患 page + sync + one photo)", hazards, repeat_doc["上报隐患"] + record + photo),
        ("rectifications (井 page + sync + one photo)", rectifications, repeat_doc["井"] + record + photo),
        (f"offline-copy warm-ups (every {warm_every_min:g} min while the app is used)", shifts * warmups_per_shift,
         install["warm_bytes"]),
        ("service worker install (precache), twice a month (a new phone or a new version)", 2, install["precache_bytes"]),
    ]
    rows = [{"what": w, "count": round(c, 1), "bytes_each": round(b), "bytes": round(c * b)} for w, c, b in lines]
    warm = rows[-2]
    once_a_shift = sum(r["bytes"] for r in rows) - warm["bytes"] + round(shifts * warm["bytes_each"])
    return {"rows": rows, "total": sum(r["bytes"] for r in rows), "shifts": round(shifts, 2), "patrols": round(patrols),
            "total_if_warmed_once_a_shift": once_a_shift,
            "patrols_per_shift": round(patrols_per_shift, 1), "warmups_per_shift": round(warmups_per_shift, 1),
            "checks": round(checks, 1), "hazards": round(hazards, 2), "photos": round(check_photos + 2 * hazards, 2),
            "photo_bytes": photo_bytes, "per_shift": round(sum(r["bytes"] for r in rows[:-1]) / shifts) if shifts else 0}


def ensure_lighthouse(timeout: float) -> tuple[Path | None, str]:
    """Node (scripts/ensure-node.sh, as `make test-js`) and bench/node/node_modules (`npm ci` from the lock file when
    missing); returns Lighthouse's CLI, or None and why not."""
    check = subprocess.run([str(ROOT / "scripts" / "ensure-node.sh")], capture_output=True, text=True, timeout=timeout)
    if check.returncode != 0 or not shutil.which("node"):
        return None, f"no Node.js ≥ 18 ({check.stderr.strip()[:200]})"
    cli = NODE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        if not shutil.which("npm"):
            return None, "npm not found (Debian: apt-get install npm), so Lighthouse could not be installed into bench/node"
        print("installing Lighthouse into bench/node (npm ci)", flush=True)
        ci = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                            capture_output=True, text=True, timeout=timeout)
        if ci.returncode != 0 or not cli.exists():
            return None, f"npm ci failed in bench/node: {(ci.stderr or ci.stdout).strip()[-300:]}"
    return cli, ""


def _kill_marked(marker: str) -> None:
    """Chromium started by Lighthouse (its own process group), found by the marker flag we gave it; by pid."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    os.kill(int(proc.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass


def _lost_points(report: dict, category: str, top: int = 3) -> list[dict]:
    """The audits that cost the category the most points (weight × (1 − score), in points of 100)."""
    refs = [r for r in report["categories"][category]["auditRefs"] if r.get("weight")]
    total = sum(r["weight"] for r in refs) or 1
    lost = []
    for ref in refs:
        audit = report["audits"].get(ref["id"], {})
        if audit.get("score") is None or audit["score"] >= 1:
            continue
        lost.append({"id": ref["id"], "title": audit.get("title"), "display": audit.get("displayValue"),
                     "points": round(ref["weight"] * (1 - audit["score"]) / total * 100, 1)})
    return sorted(lost, key=lambda a: -a["points"])[:top]


def lighthouse(cli: Path, base: str, cookies: list, targets: dict, folder: Path, timeout: float, deadline: float) -> dict:
    """Lighthouse 12 (default config: mobile) on each page, performance and accessibility; scores and lost points.
    Each run gets at most `timeout` seconds and none starts with less than a minute before `deadline` (monotonic)."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    out = {}
    for name, path in targets.items():
        left = deadline - time.monotonic()
        if left < 60:
            out[name] = {"path": path, "error": "not run: the benchmark's time budget was spent"}
            continue
        timeout = min(timeout, left)
        marker = f"--jingzhan-bench-lighthouse={os.getpid()}-{len(out)}"
        report_path = folder / f"lighthouse-{len(out)}.json"
        flags = " ".join(["--headless=new", *CHROMIUM_ARGS, marker])
        command = ["node", str(cli), base + path, "--only-categories=performance,accessibility", "--output=json",
                   f"--output-path={report_path}", "--quiet", f"--chrome-flags={flags}",
                   "--extra-headers=" + json.dumps({"Cookie": cookie}), "--max-wait-for-load=60000"]
        began = time.monotonic()
        process = subprocess.Popen(command, env={**os.environ, "CHROME_PATH": CHROMIUM_PATH}, start_new_session=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            out[name] = {"path": path, "error": f"timed out after {timeout:.0f} s"}
            continue
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
            _kill_marked(marker)
        if process.returncode != 0 or not report_path.exists():
            out[name] = {"path": path, "error": f"exit {process.returncode}: {stderr.strip()[-300:]}"}
            continue
        report = json.loads(report_path.read_text())
        if report.get("runtimeError"):
            out[name] = {"path": path, "error": report["runtimeError"].get("message", "runtime error")}
            continue
        out[name] = {
            "path": path, "final_url": report.get("finalDisplayedUrl"), "seconds": round(time.monotonic() - began, 1),
            "lighthouse": report.get("lighthouseVersion"), "settings": {k: report["configSettings"].get(k) for k in (
                "formFactor", "throttlingMethod", "throttling", "screenEmulation")},
            "scores": {k: round(c["score"] * 100) if c.get("score") is not None else None
                       for k, c in report["categories"].items()},
            "lost": {k: _lost_points(report, k) for k in report["categories"]},
            "metrics": {a: report["audits"][a].get("displayValue") for a in (
                "first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
                "speed-index", "interactive") if a in report["audits"]},
        }
        print(f"Lighthouse {name}: " + ", ".join(f"{k} {v}" for k, v in out[name]["scores"].items()), flush=True)
    return out


def lighthouse_target(category: str, label: str, runs: dict | None, skipped: str) -> Target:
    goal = f"≥ {SCORE_LIMIT}"
    what = f"Lighthouse {label}, mobile, worker pages"
    if runs is None:
        return Target(what, goal, "not run", None, note=skipped)
    scored = {n: r for n, r in runs.items() if "scores" in r and r["scores"].get(category) is not None}
    failed = {n: r["error"] for n, r in runs.items() if "error" in r}
    if not scored:
        return Target(what, goal, "no score", None, note="; ".join(f"{n}: {e}" for n, e in failed.items()))
    measured = ", ".join(f"{n} {r['scores'][category]}" for n, r in scored.items())
    low = {n: r for n, r in scored.items() if r["scores"][category] < SCORE_LIMIT}
    note = "; ".join(
        f"{n} {r['scores'][category]} ({SCORE_LIMIT - r['scores'][category]} under): " + ", ".join(
            f"{a['id']} {a['display'] or ''} (−{a['points']})" for a in r["lost"][category])
        for n, r in low.items())
    if failed:
        note = (note + "; " if note else "") + "not scored: " + "; ".join(f"{n}: {e}" for n, e in failed.items())
    met = None if failed and not low else not low
    return Target(what, goal, measured, met, note=note, value=min(r["scores"][category] for r in scored.values()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="首页 only, one repeat visit, no Lighthouse, worker unthrottled")
    parser.add_argument("--pages", default="", help="comma-separated page names (default all: " +
                        ",".join(n for n, _ in PAGES) + ")")
    parser.add_argument("--repeats", type=int, default=None, help="repeat visits per page (default 3)")
    parser.add_argument("--rtt", type=int, default=400, help="latency in ms (CDP network emulation)")
    parser.add_argument("--down", type=int, default=400, help="download kbit/s")
    parser.add_argument("--up", type=int, default=400, help="upload kbit/s")
    parser.add_argument("--cpu", type=float, default=4, help="CPU slowdown (CDP Emulation.setCPUThrottlingRate)")
    parser.add_argument("--no-lighthouse", action="store_true", help="skip Lighthouse")
    parser.add_argument("--lighthouse-timeout", type=float, default=240, help="seconds per Lighthouse run at most")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds the whole run may take (default 1080, smoke 200): Lighthouse is cut to fit")
    args = parser.parse_args(argv)
    wanted = [n for n in args.pages.split(",") if n] or (["首页"] if args.smoke else [n for n, _ in PAGES])
    args.repeats = args.repeats or (1 if args.smoke else 3)
    run_lighthouse = not (args.smoke or args.no_lighthouse)
    budget = args.budget or (200 if args.smoke else 1080)
    network = conditions(args.rtt, args.down, args.up)
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="jingzhan-bench-client-") as tmp:
        folder = Path(tmp)
        app, _ = demo_app(folder)
        with db.connection_context():
            added = 0
            if not args.smoke:
                try:  # the benchmarks' station size (webapp/generator.py, maintained with bench_pages)
                    from webapp.generator import WELLS_PER_STATION, top_up_wells

                    added = top_up_wells(WELLS_PER_STATION)
                except Exception as exc:  # the demo's own wells then; said in the output
                    print(f"could not top the stations up with the generator's wells: {exc!r}", file=sys.stderr)
            user = User.get(User.employee_no == USER)
            first_well = Well.select().where(Well.station == user.station).order_by(Well.code).first()
            well = {"id": first_well.id, "code": first_well.code, "token": first_well.qr_token,
                    "latitude": float(first_well.latitude), "longitude": float(first_well.longitude)}
            rates = worker_rates(USER)
        pages = [(n, p.format(token=well["token"])) for n, p in PAGES if n in wanted]
        assert pages, f"no page among {wanted}"
        server = NginxGzip(app)
        with serve(server) as base:
            cookies = http_login(base, USER, PASSWORD)
            runs = browser_runs(base, cookies, pages, well, args, network, server)
            sync = sync_sizes(base, cookies, well)
            lighthouse_runs, skipped = None, "skipped in smoke run" if args.smoke else "skipped (--no-lighthouse)"
            if run_lighthouse:
                cli, why = ensure_lighthouse(300)
                if cli is None:
                    skipped = why
                else:
                    chosen = {n: p for n, p in pages if n in LIGHTHOUSE_PAGES} or dict(pages[:1])
                    deadline = started + budget - 30
                    lighthouse_runs = lighthouse(cli, base, cookies, chosen, folder, args.lighthouse_timeout, deadline)

    # The month: the measured repeat-visit bytes of each page (a page not measured in this run: the largest measured).
    repeat_doc = {n: statistics.median(v["network_bytes"] for v in visits) for n, visits in runs["repeat"].items()}
    fallback = max(repeat_doc.values())
    repeat_doc = {n: repeat_doc.get(n, fallback) for n, _ in PAGES}
    wire = Path(os.environ.get("JINGZHAN_BENCH_OUT") or ROOT / "docs" / "bench") / "wire.json"
    photo_bytes = 200 * 1024  # photo.js's ceiling: real wellhead photos land between the benchmark's scene and this
    photo_measured = None
    if wire.exists():
        try:
            photo_measured = json.loads(wire.read_text())["results"]["photo"]["bytes"]
        except (ValueError, KeyError, TypeError):
            pass
    app_js = (ROOT / "webapp" / "static" / "js" / "app.js").read_text()
    every = re.search(r"WARM_EVERY_MS\s*=\s*([\d\s*]+);", app_js)
    warm_every_min = 30.0
    if every:  # "30 * 60 * 1000"
        warm_every_min = 1.0
        for factor in every.group(1).split("*"):
            warm_every_min *= int(factor)
        warm_every_min /= 60000
    month = month_estimate(rates, repeat_doc, runs["install"], sync, runs["request_header_bytes"], photo_bytes, warm_every_min)
    seconds = time.monotonic() - started

    # Targets.
    first = runs["first"]
    worst = max(first, key=lambda n: first[n]["page_bytes"])
    first_ok = all(v["page_bytes"] < FIRST_LIMIT for v in first.values())
    first_note = (f"the service worker's install downloads {kb(runs['install']['precache_bytes'])} more in the background "
                  f"(its precache) and then {kb(runs['install']['warm_bytes'])} of offline copy "
                  f"({runs['install']['warm_requests']} requests)")
    if not first_ok:
        over = {n: v for n, v in first.items() if v["page_bytes"] >= FIRST_LIMIT}
        first_note = "; ".join(f"{n} {kb(v['page_bytes'] - FIRST_LIMIT)} over, largest: " + ", ".join(
            f"{r['path'].removeprefix('/static/')} {kb(r['bytes'])}" for r in sorted(
                (r for r in v["requests"] if r["side"] == "page"), key=lambda r: -r["bytes"])[:3]
        ) for n, v in over.items()) + "; " + first_note
    repeat_shell = sum(v["shell_network_bytes"] for visits in runs["repeat"].values() for v in visits)
    precached = set(runs["install"]["precached"])
    fetched = {}
    for n, visits in runs["repeat"].items():
        for v in visits:
            for r in v["requests"]:
                if kind_of(r["path"], "") == "shell":
                    fetched.setdefault((n, r["path"]), []).append(r["bytes"])
    month_rows = sorted(month["rows"], key=lambda r: -r["bytes"])
    month_note = "largest: " + ", ".join(f"{r['what'].split(' (')[0]} {mb(r['bytes'])}" for r in month_rows[:3])
    if month["total"] >= MONTH_LIMIT:
        month_note = (f"{mb(month['total'] - MONTH_LIMIT)} over; " + month_note
                      + f"; with the offline copy refreshed once a shift: {mb(month['total_if_warmed_once_a_shift'])}")
    targets = [
        Target("worker pages' first visit on slow 3G (document + shell + the page's API calls), as deployed",
               "< 100 KB each", (f"{kb(min(v['page_bytes'] for v in first.values()))}–{kb(first[worst]['page_bytes'])} "
                                 f"({worst} the largest) over {len(first)} pages") if len(first) > 1 else
               f"{kb(first[worst]['page_bytes'])} ({worst})", first_ok, note=first_note,
               value=first[worst]["page_bytes"], extra={n: v["page_bytes"] for n, v in first.items()}),
        Target("worker pages' repeat visit: the shell (static files) over the network", "0 B (from the service worker)",
               f"{repeat_shell} B over {sum(len(v) for v in runs['repeat'].values())} visits of {len(runs['repeat'])} page(s); "
               f"all requests {kb(min(repeat_doc[n] for n in runs['repeat']))}–{kb(max(repeat_doc[n] for n in runs['repeat']))} "
               "a visit (the document, network-first, and API calls)",
               repeat_shell == 0, value=repeat_shell,
               note="" if repeat_shell == 0 else "over the network: " + "; ".join(
                   f"{n} {path} {sum(b)} B in {len(b)} of {len(runs['repeat'][n])} visits"
                   + ("" if path in precached else " (not in the service worker's precache list: fetched on first use)")
                   for (n, path), b in fetched.items())),
        Target("a month of one worker's mobile data (records, photos, pages, offline copy)", "< 20 MB",
               f"{mb(month['total'])} (estimate: {month['patrols']} patrols, {month['checks']:g} checks, "
               f"{month['photos']:g} photos in {month['shifts']:g} shifts)",
               month["total"] < MONTH_LIMIT, note=month_note, value=month["total"]),
        lighthouse_target("performance", "performance", lighthouse_runs, skipped),
        lighthouse_target("accessibility", "accessibility", lighthouse_runs, skipped),
    ]
    section = render_section(args, network, rates, added, pages, runs, repeat_doc, sync, month, photo_bytes,
                             photo_measured, warm_every_min, lighthouse_runs, skipped, seconds)
    print(section)
    write_result("client", params={
        "user": USER, "device": "Pixel 7 (Playwright)", "rtt_ms": args.rtt, "down_kbps": args.down, "up_kbps": args.up,
        "cpu_slowdown": args.cpu, "service_worker_throttled": not args.smoke, "pages": dict(pages),
        "repeats": args.repeats, "quiet_ms": QUIET_MS, "wells_added": added, "lighthouse_pages": LIGHTHOUSE_PAGES
        if run_lighthouse else [], "compression": "gzip level 1 for /static/ and /sw.js (deploy/nginx.conf.example)",
        "seconds": round(seconds)},
        results={"first": first, "repeat": runs["repeat"], "install": runs["install"], "sync": sync, "rates": rates,
                 "month": month, "lighthouse": lighthouse_runs, "wire_json_found": wire.exists()},
        targets=targets, section=section)
    return 0


def render_section(args, network, rates, added, pages, runs, repeat_doc, sync, month, photo_bytes, photo_measured,
                   warm_every_min, lighthouse_runs, skipped, seconds) -> str:
    lines = [
        f"Headless Chromium as a Pixel 7, the worker {USER} of {rates['station']} logged in (the station has "
        f"{rates['wells']} wells{f', {added} added to the demo by the generator' if added else ''}). CDP throttling: "
        f"CPU ×{args.cpu:g} (page), network {args.rtt} ms latency, {args.down} kbit/s down, {args.up} kbit/s up on the "
        f"page {'and on' if not args.smoke else 'but NOT (smoke run) on'} its service worker, each target its own link. "
        "The app behind a stand-in for deploy/nginx.conf.example: /static/ and /sw.js gzipped (level 1), pages and JSON "
        "not compressed. Bytes: CDP `encodedDataLength` (headers + body) of what went over the network; TTI: the later "
        f"of the load event's end and the last long task (≥ 50 ms), after {QUIET_MS} ms without one.",
        "",
        "| page | first visit: bytes (document / shell / API and other) | first visit: FCP, TTI | repeat: bytes (all / shell) "
        "| repeat: TTI (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, path in pages:
        f = runs["first"].get(name)
        visits = runs["repeat"].get(name, [])
        fp = f["page"] if f else {}
        first_cell = (f"**{kb(f['page_bytes'])}** ({kb(fp.get('document', 0))} / {kb(fp.get('shell', 0))} / "
                      f"{kb(fp.get('api', 0) + fp.get('pages', 0))})") if f else "—"
        first_time = f"{f['fcp_ms'] or 0:.0f} ms, **{f['tti_ms']:.0f} ms**" if f else "—"
        if visits:
            doc = statistics.median(v["network_bytes"] for v in visits)
            shell = max(v["shell_network_bytes"] for v in visits)
            repeat_cell = f"**{kb(doc)}** / {shell} B"
            repeat_time = f"**{statistics.median(v['tti_ms'] for v in visits):.0f} ms**"
        else:
            repeat_cell = repeat_time = "—"
        label = "/w/<token>" if path.startswith("/w/") else path
        lines.append(f"| {name} `{label}` | {first_cell} | {first_time} | {repeat_cell} | {repeat_time} |")
    install = runs["install"]
    wells = install["well_page_bytes"]
    lines += [
        "",
        f"The first visit also installs the service worker: its precache downloads {kb(install['precache_bytes'])} "
        f"({install['precache_requests']} requests) in the background, then the offline copy of the station (every well's "
        f"page, the directory, the forms and procedures) {kb(install['warm_bytes'])} in {install['warm_requests']} "
        f"requests (a well page {kb(statistics.median(wells)) if wells else '—'}, uncompressed, fetched in full at "
        "every refresh: no ETag or Last-Modified on pages); all of it "
        f"{install['seconds_to_warm']:.0f} s after the first navigation. The server sent "
        f"{kb(install['server_body_bytes'])} of bodies in {install['server_requests']} requests over that time "
        f"(cross-check; CDP adds the headers).",
        "",
        f"A month of one worker's mobile data, estimated: {mb(month['total'])}. From webapp/generator.py's rota and "
        f"rates: {rates['operators']} operators at the station, {rates['shifts_per_day']} shifts of "
        f"{rates['shift_hours']:g} h a day with two operators each → {month['shifts']:g} shifts a month for one worker; "
        f"a shift's half of the wells at their patrol intervals → {month['patrols_per_shift']:g} patrols a shift; each "
        f"piece of equipment ({rates['equipment']}) checked once every {rates['generator']['CHECK_EVERY_DAYS']} days, "
        f"{rates['generator']['CHECK_ABNORMAL']:.0%} abnormal with a photo; "
        f"{rates['generator']['HAZARDS_PER_STATION_DAY']:g} hazards a station-day plus those from checks, each with a "
        f"photo when reported and when rectified. A photo counts at photo.js's ceiling ({kb(photo_bytes)}"
        + (f"; the `wire` benchmark's synthetic scene came out at {kb(photo_measured)}" if photo_measured else "")
        + f"); a record is "
        f"one sync request ({sync['body_bytes']} B body + ~{runs['request_header_bytes']:.0f} B of request headers, "
        f"{sync['answer_bytes']} B answer). The offline copy is refreshed every {warm_every_min:g} min while the app is "
        f"used ({month['warmups_per_shift']:g} times a shift). TCP/TLS overhead not included.",
        "",
        "| what | a month | each | total |",
        "|---|---:|---:|---:|",
    ]
    for row in month["rows"]:
        lines.append(f"| {row['what']} | {row['count']:g} | {kb(row['bytes_each'])} | {mb(row['bytes'])} |")
    lines.append(f"| **total** | | | **{mb(month['total'])}** |")
    lines += ["", f"That is {mb(month['per_shift'])} a shift; a worker on 15 shifts a month (every other day) would use "
              f"{mb(15 * month['per_shift'] + month['rows'][-1]['bytes'])}. With the offline copy refreshed once a shift "
              f"instead of every {warm_every_min:g} min the month would be {mb(month['total_if_warmed_once_a_shift'])}."
              + (" Pages not measured in this run count as the largest measured one." if len(runs["repeat"]) < len(PAGES)
                 else ""), ""]
    detached = [n for n, visits in runs["repeat"].items() if not all(v["worker_attached"] for v in visits)]
    if detached:
        lines += [f"CDP lost the service worker during the repeat visits of {', '.join(detached)}: its fetches there "
                  "were neither seen nor throttled.", ""]
    if lighthouse_runs is None:
        lines.append(f"Lighthouse: {skipped}.")
    else:
        settings = next((r["settings"] for r in lighthouse_runs.values() if "settings" in r), {})
        throttling = settings.get("throttling") or {}
        lines += [
            f"Lighthouse {next((r['lighthouse'] for r in lighthouse_runs.values() if 'lighthouse' in r), '')} "
            f"(bench/node, npm), default config = mobile ({settings.get('formFactor')}, {settings.get('throttlingMethod')} "
            f"throttling: {throttling.get('rttMs')} ms RTT, {throttling.get('throughputKbps', 0):.0f} kbit/s, CPU "
            f"×{throttling.get('cpuSlowdownMultiplier')}), performance and accessibility, logged in through "
            "`--extra-headers` (the session cookie), Chromium flags of TESTING.md with `--headless=new`.",
            "",
            "| page | performance | accessibility | FCP | LCP | TBT | CLS | points lost most |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, r in lighthouse_runs.items():
            if "error" in r:
                lines.append(f"| {name} | — | — | | | | | {r['error']} |")
                continue
            m = r["metrics"]
            lost = "; ".join(f"{a['id']} {a['display'] or ''} −{a['points']}" for k in ("performance", "accessibility")
                             for a in r["lost"].get(k, [])[:2]) or "—"
            lines.append(f"| {name} | {r['scores'].get('performance')} | {r['scores'].get('accessibility')} | "
                         f"{m.get('first-contentful-paint', '')} | {m.get('largest-contentful-paint', '')} | "
                         f"{m.get('total-blocking-time', '')} | {m.get('cumulative-layout-shift', '')} | {lost} |")
    lines += ["", f"The run took {seconds:.0f} s."]
    return "\n".join(lines)


if __name__ == "__main__":
    with time_limit(190 if "--smoke" in sys.argv else 1140):  # run_all.py allows 240 s and 1200 s
        sys.exit(main())
