"""Who may see what: role gates and scoped lookups that raise 403/404 for ids in URLs.

The rule (docs/decisions.md, docs/security.md): an id naming something outside the user's station answers 404,
exactly like an id that does not exist, so nobody can learn what other stations hold by counting ids; 403 is for
what the user can already see but may not do (a role the user lacks, a colleague's commitment), and for a scanned
label, whose unguessable token proves the worker stands at the well. Every refusal is logged ("jingzhan.access").
"""
import logging
from functools import wraps
from typing import NoReturn

from flask import abort, g, request
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Station, Well

MAX_ID = 2**63 - 1  # the database's integer: a larger id is simply not found

log = logging.getLogger("jingzhan.access")


def _loggable(value, limit: int = 100) -> str:
    """Text from the URL as one log line: control characters escaped (no forged lines), length capped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value)[:limit])


def deny(status: int, reason: str, *, target: str = "", description: str | None = None) -> NoReturn:
    """Refuse the request with status (403 or 404) and log who asked for what: user, route, object and why."""
    log_denial(status, reason, target=target)
    abort(status, description=description)


def log_denial(status: int, reason: str, *, target: str = "") -> None:
    """One line on the "jingzhan.access" log for a refused request (once per request)."""
    if g.get("access_denial_logged"):
        return
    g.access_denial_logged = True
    try:
        user = current_user
        who = f"{user.id}/{user.employee_no}" if user and user.is_authenticated else "anonymous"
    except Exception:
        who = "unknown"
    asked = [f"{key}={_loggable(value)}" for key, value in sorted((request.view_args or {}).items())]
    if request.args.get("station"):
        asked.append(f"?station={_loggable(request.args['station'], 20)}")
    log.warning("access denied: status=%s reason=%s user=%s route=%s %s %s object=[%s]%s", status, reason, who,
                request.method, request.endpoint, _loggable(request.path, 200), " ".join(asked),
                f" target={target}" if target else "")


def parse_id(value) -> int | None:
    """An id typed or picked in a form: ASCII digits that fit MAX_ID, else None (so "²", "１２" or 10**30 are not)."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return int(text)


def requested_id(values, name: str) -> int | None:
    """An id from a query or form field: None when absent or empty, 404 unless it is one (see parse_id)."""
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        abort(404)
    return value


def role_required(*roles: str):
    """Let the view run only for a logged-in user holding one of roles (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                deny(403, "role", target="/".join(roles))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def stations_in_scope(user):
    """Stations whose wells the user may list: all of the work area for an admin, else their own."""
    query = Station.select().where(Station.work_area == user.work_area_id)
    if not user.has_role("admin"):
        query = query.where(Station.id == user.station_id)
    return query.order_by(Station.sort_order, Station.id)


def field_stations(user) -> list[Station]:
    """The stations with wells that the user may pick on the leader's pages (not the work area's office)."""
    return [s for s in stations_in_scope(user) if s.kind == "station"]


def station_asked(user, values) -> Station:
    """The station a page is asked for (?station= or the form) if the user may see it; else their own — for an
    admin in the office, the work area's first station."""
    station_id = requested_id(values, "station")
    if station_id is not None:
        return get_station(station_id, user)
    if user.has_role("admin") and user.station.kind != "station":
        return next(iter(field_stations(user)), user.station)
    return user.station


def branch_asked(user, values) -> Station:
    """The branch (党支部 = a station, the office included) a party page is for: ?station= if the user may see it,
    else their own."""
    station_id = requested_id(values, "station")
    return user.station if station_id is None else get_station(station_id, user)


def require_station(user, station) -> None:
    """The one scope rule for ids in URLs: the user's own station, or any of the work area for its admin; anything
    else answers 404 like an unknown id (another station's or work area's object is not confirmed to exist)."""
    if station is None:
        deny(404, "unknown")
    if station.work_area_id != user.work_area_id:
        deny(404, "other_work_area", target=f"station={station.id}")
    if station.id != user.station_id and not user.has_role("admin"):
        deny(404, "other_station", target=f"station={station.id}")


def get_station(station_id: int, user) -> Station:
    """The station with this id if the user may list it."""
    station = Station.get_or_none(Station.id == station_id)
    require_station(user, station)
    return station


def may_open(user, well: Well) -> bool:
    """Whether the user may open a well of their work area: their station's, their 承包井, or any for an admin."""
    return well.station_id == user.station_id or well.contractor_id == user.id or user.has_role("admin")


def get_well(user, *, well_id: int | None = None, qr_token: str | None = None) -> Well:
    """A well the user may open, by id or label token: one of their station (an admin: of the work area), or one
    they hold as 承包井. By id, any other well answers 404 like an unknown one. By a scanned label's token, another
    station's or work area's well is 403 with whose it is: the token cannot be guessed, so the answer gives nothing
    away and tells the worker standing at that well what is wrong."""
    query = Well.select(Well, Station).join(Station)
    if qr_token is not None:
        well = query.where(Well.qr_token == qr_token).first()
    else:
        well = query.where(Well.id == well_id).first()
    if well is None:
        deny(404, "unknown")
    if well.station.work_area_id != user.work_area_id:
        if qr_token is None:
            deny(404, "other_work_area", target=f"well={well.id}")
        deny(403, "other_work_area", target=f"well={well.id}", description=gettext("此井不属于您所在的作业区。"))
    if not may_open(user, well):
        if qr_token is None:
            deny(404, "other_station", target=f"well={well.id}")
        deny(403, "other_station", target=f"well={well.id}",
             description=gettext("%(code)s 属于%(station)s，不是您所在的站。", code=well.code, station=well.station.name))
    return well


def get_managed_well(well_id: int, user) -> Well:
    """A well the user manages (admin: the work area's, else their station's); any other answers 404."""
    well = Well.select(Well, Station).join(Station).where(Well.id == well_id).first()
    require_station(user, well.station if well else None)
    return well
