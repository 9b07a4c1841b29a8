"""Who may see what: role gates and scoped lookups that raise 403/404 for ids in URLs."""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from models import Station, Well


MAX_ID = 2**63 - 1  # the database's integer: a larger id is simply not found


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
                abort(403)
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
    """The one scope rule for ids in URLs: 404 outside the user's work area (nothing is confirmed), 403 for
    another station of it, unless the user is an admin of the work area."""
    if station is None or station.work_area_id != user.work_area_id:
        abort(404)
    if station.id != user.station_id and not user.has_role("admin"):
        abort(403)


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
    they hold as 承包井. 404 if unknown; 403 for another station's or another work area's well (a label's token
    cannot be guessed, so saying whose it is gives nothing away and tells the scanning worker what is wrong)."""
    query = Well.select(Well, Station).join(Station)
    if qr_token is not None:
        well = query.where(Well.qr_token == qr_token).first()
    else:
        well = query.where(Well.id == well_id).first()
    if well is None:
        abort(404)
    if well.station.work_area_id != user.work_area_id:
        abort(403, description="此井不属于您所在的作业区。")
    if not may_open(user, well):
        abort(403, description=f"{well.code} 属于{well.station.name}，不是您所在的站。")
    return well


def get_managed_well(well_id: int, user) -> Well:
    """A well the user manages (admin: the work area's, else their station's); 404 outside the work area, else 403."""
    well = Well.select(Well, Station).join(Station).where(Well.id == well_id).first()
    require_station(user, well.station if well else None)
    return well
