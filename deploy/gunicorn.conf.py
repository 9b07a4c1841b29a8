"""gunicorn settings for 井站通 behind nginx: `gunicorn -c deploy/gunicorn.conf.py` (docs/deploy.md).

Every value can be changed through the environment (deploy/env.example); the app's own settings are read by
webapp/config.py from the same environment.
"""
import os

wsgi_app = "webapp:create_app()"

# nginx on the same machine talks to gunicorn over loopback; never expose this port to the network.
bind = os.environ.get("JINGZHAN_BIND", "127.0.0.1:8000").split()


def default_workers() -> int:
    """2 × cores + 1, at least 2 and at most 8: requests are short and mostly wait on the database, and each
    worker holds its own database connection and ~80 MB, so more would only queue on SQLite's single writer."""
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this service may use (systemd CPUAffinity, containers)
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(2, min(2 * cores + 1, 8))


workers = int(os.environ.get("JINGZHAN_WORKERS") or default_workers())

# Sync workers, one request at a time each: nginx receives whole request bodies first (a 12 MB photo over a weak
# mobile link can take minutes), so a worker only waits for the server's own work: re-encoding a photo, a
# 500-record sync batch, a label PDF for a whole station. 120 s covers those with a wide margin (nginx's
# proxy_read_timeout matches); a worker silent for longer is restarted.
timeout = int(os.environ.get("JINGZHAN_TIMEOUT", "120"))
# A worker is replaced after this many requests (± the jitter, so that they do not all restart together): memory a
# large PDF or export left fragmented in a long-lived process is given back. 0 turns it off.
max_requests = int(os.environ.get("JINGZHAN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
graceful_timeout = 30  # on restart, requests in flight may finish (a sync batch is committed whole or not at all)

# X-Forwarded-Proto is trusted from the proxy on loopback only; the app itself trusts X-Forwarded-For/-Proto
# through JINGZHAN_PROXY_HOPS (werkzeug ProxyFix).
forwarded_allow_ips = os.environ.get("JINGZHAN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}  # only the header nginx sets, not two more a client could add

# "-" = stdout (access) / stderr (errors): systemd puts both into the journal (journalctl -u jingzhan).
accesslog = os.environ.get("JINGZHAN_ACCESS_LOG", "-")
errorlog = os.environ.get("JINGZHAN_ERROR_LOG", "-")
loglevel = "info"
# The client as nginx saw it (X-Forwarded-For), then the usual combined log fields and the time taken (µs).
access_log_format = '%({x-forwarded-for}i)s %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'


def post_fork(server, worker):
    """The app's own loggers (jingzhan.auth, jingzhan.access, jingzhan.database …) write at INFO to gunicorn's
    error log, in its format: otherwise Python would drop their INFO lines."""
    import logging

    app_log = logging.getLogger("jingzhan")
    app_log.setLevel(logging.INFO)
    app_log.handlers = list(logging.getLogger("gunicorn.error").handlers)
    app_log.propagate = False


def post_worker_init(worker):
    """The app is loaded: its modules, templates and catalogues live as long as the worker, so the garbage
    collector is told to leave them out of its full passes (gc.freeze). A year's 四比 board makes tens of thousands
    of short-lived objects, and each full pass walked every long-lived one too: 271 → 233 ms a board at 100 k
    patrols (docs/performance.md)."""
    import gc

    gc.freeze()


# The worker heartbeat in memory, not on a disk that may stall (gunicorn's advice); /tmp otherwise.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# gunicorn ≥ 25 would open a control socket in $HOME; systemd restarts and reloads the service instead.
control_socket_disable = True
proc_name = "jingzhan"
