"""采油厂 (plant): the level above the work areas. A plant admin opens a new work area with its first admin, and sees
every work area's overview; nothing below the overview. Everyone else sees only their own work area."""
from dataclasses import dataclass

from flask_babel import gettext
from werkzeug.security import generate_password_hash

from peewee import fn

from models import Plant, Station, User, Well, WorkArea, db

from . import tallies
from .onboarding import one_time_password
from .review import overview_totals, station_overview
from .shifts import parse_shifts, shift_at
from .text import clean_line

MAX_NAME = 60
OFFICE = "机关"  # i18n: data (the office's station name, stored)


class PlantError(ValueError):
    """A form that cannot be applied; the message says why, in Chinese."""


@dataclass
class NewWorkArea:
    area: WorkArea
    admin: User
    password: str  # printed once for the new admin, who must replace it at the first login


def work_areas(plant_id: int) -> list[WorkArea]:
    return list(WorkArea.select().where(WorkArea.plant == plant_id).order_by(WorkArea.name))


def get_work_area(plant_id: int, area_id: int) -> WorkArea | None:
    """A work area of the plant; None for another plant's (answered alike with an unknown id: 404)."""
    return WorkArea.get_or_none((WorkArea.id == area_id) & (WorkArea.plant == plant_id))


def area_overview(area: WorkArea, tz: str, now) -> dict:
    """One work area's current shift, station by station and in total."""
    shifts = parse_shifts(area.shifts)
    day, shift = shift_at(now, shifts, tz)
    stations = list(Station.select().where((Station.work_area == area.id) & (Station.kind == "station"))
                    .order_by(Station.sort_order, Station.id))
    rows = station_overview(stations, day, shift, tz)
    return {"area": area, "day": day, "shift": shift, "rows": rows, "totals": overview_totals(rows)}


def plant_overview(plant_id: int, tz: str, now) -> list[dict]:
    """Every work area of the plant with its totals for its current shift, and its headcount."""
    staff = dict(User.select(User.work_area, fn.COUNT(User.id)).where(User.is_enabled)
                 .group_by(User.work_area).tuples())
    result = []
    for area in work_areas(plant_id):
        overview = area_overview(area, tz, now)
        overview["staff"] = staff.get(area.id, 0)
        result.append(overview)
    return result


def create_work_area(plant_id: int, form) -> NewWorkArea:
    """A new work area of the plant, with its office (机关) and its first admin holding a one-time password; the
    stations, wells and staff come next from the admin's spreadsheets (/admin/onboarding)."""
    name = clean_line(form.get("name"), 200)
    party_org = clean_line(form.get("party_org_name"), 200) or (f"{name}党总支" if name else "")  # i18n: data (stored)
    admin_no = clean_line(form.get("admin_employee_no"), 40).upper()
    admin_name = clean_line(form.get("admin_name"), 100)
    shifts = clean_line(form.get("shifts"), 200) or WorkArea.shifts.default
    problems = []
    if not name:
        problems.append(gettext("请填写作业区名称。"))
    elif len(name) > MAX_NAME:
        problems.append(gettext("作业区名称不能超过 %(max)s 字。", max=MAX_NAME))
    elif WorkArea.select().where(WorkArea.name == name).exists():
        problems.append(gettext("已有名为“%(name)s”的作业区。", name=name))
    if len(party_org) > 80:
        problems.append(gettext("党总支名称不能超过 80 字。"))
    if not admin_no or len(admin_no) > 20 or not admin_no.isalnum():
        problems.append(gettext("管理员工号应为 1–20 位字母或数字。"))
    elif User.select().where(User.employee_no == admin_no).exists():
        problems.append(gettext("工号“%(number)s”已被使用。", number=admin_no))
    if not admin_name or len(admin_name) > 40:
        problems.append(gettext("请填写管理员姓名（不超过 40 字）。"))
    try:
        parse_shifts(shifts)
    except ValueError as exc:
        problems.append(gettext("班次：%(error)s", error=exc))
    if problems:
        raise PlantError(gettext("；").join(problems))
    password = one_time_password()
    with db.atomic():
        area = WorkArea.create(name=name, party_org_name=party_org, plant=plant_id, shifts=shifts)
        office = Station.create(work_area=area, name=OFFICE, kind="office", branch_name=f"{OFFICE}党支部")  # i18n: data
        admin = User.create(  # i18n: data (the post is stored)
            work_area=area, station=office, employee_no=admin_no, name=admin_name, post="作业区管理员",
            password_hash=generate_password_hash(password), must_change_password=True)
        admin.grant("admin", "worker")
        tallies.adopt_area(area)
    return NewWorkArea(area, admin, password)


def rename_plant(plant: Plant, raw) -> Plant:
    """The plant's name as its admin types it (the migration named every existing plant “采油厂”)."""
    name = clean_line(raw, 200)
    if not name:
        raise PlantError(gettext("请填写采油厂名称。"))
    if len(name) > MAX_NAME:
        raise PlantError(gettext("采油厂名称不能超过 %(max)s 字。", max=MAX_NAME))
    if Plant.select().where((Plant.name == name) & (Plant.id != plant.id)).exists():
        raise PlantError(gettext("已有名为“%(name)s”的采油厂。", name=name))
    Plant.update(name=name).where(Plant.id == plant.id).execute()
    plant.name = name
    return plant


def wells_of(area_id: int) -> int:
    return Well.select().join(Station).where(Station.work_area == area_id).count()


def plant_of(user) -> Plant | None:
    """The plant a plant admin runs (their own work area's plant)."""
    return Plant.get_or_none(Plant.id == user.work_area.plant_id) if user.work_area.plant_id else None
