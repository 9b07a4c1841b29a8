"""The route fuzzer (issue 17): every route of the URL map — built from the app, so a new route is covered without
anyone remembering — as every role and anonymous, with hostile values in each path argument that is not an id, in
the query parameters and form fields the app reads, must never answer 5xx, and a refused write must change nothing.

Each (route, method, role) gets one hostile value (a write two), rotating through HOSTILE so that every value meets
every kind of route, and the ids in the path are real objects (station 2's and the caller's own), so the request reaches the
route's own code instead of stopping at a 404. Bounded: about a thousand requests per database.
"""
import itertools
from urllib.parse import quote

from tests.conftest import login
from tests.scope_objects import snapshot

# Dates out of range, huge and negative integers, non-ASCII digits, NUL, a lone surrogate, markup, wrong shapes.
HOSTILE = ["\x00", "\ud83d", "9" * 400, "-1", "٣", "²", "0001-01-01", "9999-12-31", "<script>alert(1)</script>",
           "１２", "1e309", "nan", "2026-02-30", "' OR 1=1 --", "a" * 5000]
# Every query parameter and form field name the app reads (grep request.args / request.form / request.values).
NAMES = ["action", "amount", "assignee_id", "body", "category", "check", "code", "comment", "confirm", "content",
         "corrects", "date", "days", "deadline", "decision", "description", "due_on", "duplicate_of", "edit",
         "employee_no", "ends_at", "equipment", "fields-0-high", "fields-0-key", "fields-0-kind", "fields-0-low",
         "fields-0-threshold", "fields-0-required", "fields-0-alert", "fields-0-delete", "figure", "hours", "items-0-label", "items-0-normal_max", "kind", "language", "member_id",
         "month", "name", "new_password", "note", "page", "password", "period", "place", "points", "preset", "q",
         "rating", "reason", "rows", "seen", "shift", "show", "starts_at", "station", "status", "title", "topic", "user_id",
         "valid_from", "via", "well", "year"]
# Fields that choose what a route does: every other request keeps them valid (rotating through their values) so
# that the hostile values in the other fields reach the code behind the choice instead of a 400 at the door.
CHOOSERS = {"action": ["assign", "reject", "rectify", "verify", "return", "close"], "decision": ["approve", "return"],
            "confirm": ["1"], "rating": ["good", "excellent"], "status": ["cancelled", "adopted"], "via": ["manual"]}
ROLES = {"anonymous": None, "worker": "HN1003", "leader": "HN1001", "secretary": "HN1002", "admin": "HN0001"}
# Ending one's own session would leave the rest of a role's requests anonymous.
SKIP = {"static", "auth.logout"}


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in SKIP:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _path(app, rule, objects, value):
    """The rule's URL with real objects for its ids and the hostile value (percent-encoded as a broken client would
    send it, a lone surrogate as its raw bytes) for every other argument."""
    args = {}
    hostile = quote(value[:200], safe="", errors="surrogatepass")
    for name in rule.arguments:
        converter = rule._converters[name]
        if type(converter).__name__ == "DatabaseIdConverter":
            args[name] = objects[name]
        elif type(converter).__name__ == "AnyConverter":  # one of a few words: anything else is no route at all
            args[name] = sorted(converter.items)[0]
        else:
            args[name] = f"HOSTILE{name}"
    url = app.url_map.bind("localhost").build(rule.endpoint, args)
    for name in rule.arguments:
        url = url.replace(f"HOSTILE{name}", hostile)
    return url


def test_no_route_answers_5xx_and_no_refused_write_changes_anything(app, station2):
    clients = {}
    for role, employee_no in ROLES.items():
        clients[role] = app.test_client()
        if employee_no:
            login(clients[role], employee_no)
    turns = itertools.count()
    failures = []
    for rule, method in _routes(app):
        # Writes are where a hostile value does harm: the admin (who reaches every station's objects) meets every
        # hostile value there, the other roles two each.
        sweep = {"admin": len(HOSTILE)} if method != "GET" else {}
        for role, client in [pair for pair in clients.items()
                             for _ in range(1 if method == "GET" else sweep.get(pair[0], 2))]:
            turn = next(turns)
            value = HOSTILE[turn % len(HOSTILE)]
            url = _path(app, rule, station2, value)
            # Each field its own value, shifted every request: every request carries every hostile value somewhere.
            mixed = {name: HOSTILE[(turn + i) % len(HOSTILE)] for i, name in enumerate(NAMES)}
            if turn % 2:
                mixed.update({name: choices[turn // 2 % len(choices)] for name, choices in CHOOSERS.items()})
            query = "&".join(f"{name}={quote(v[:2000], safe='', errors='surrogatepass')}" for name, v in mixed.items())
            form = None
            if method != "GET":
                form = "&".join(f"{name}={quote(v, safe='', errors='surrogatepass')}" for name, v in mixed.items())
            before = snapshot() if method != "GET" else None
            response = client.open(f"{url}?{query}", method=method, data=form,
                                   content_type="application/x-www-form-urlencoded" if form else None)
            status = response.status_code
            response.close()
            if status >= 500:
                failures.append(f"{status} {role} {method} {rule.rule} with {value[:20]!r}")
            elif before is not None and status >= 400 and snapshot() != before:
                failures.append(f"refused ({status}) but wrote: {role} {method} {rule.rule} with {value[:20]!r}")
    assert not failures, "\n".join(failures)

