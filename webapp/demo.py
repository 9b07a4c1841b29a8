"""The demo work area: 海南作业区 with its five branches, 135 fictional staff (48 party members, 7 women) and its wells."""
import random
import uuid
from datetime import date

from werkzeug.security import generate_password_hash

from webapp import tallies
from webapp.periods import today_in

from models import (
    Commitment,
    CommitmentProgress,
    Equipment,
    Pairing,
    Plant,
    Station,
    User,
    UserRole,
    Well,
    WellContract,
    WorkArea,
    db,
    new_token,
    utcnow,
)

SEED = 20190731

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
    "贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊陆郝孔白崔康毛邱秦江史顾侯邵孟万段钱汤尹常武乔贺龚"
)
MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林洋峰建国志海东晨阳岩松博文亮成"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀英玲燕红梅琳雪慧颖琴晶倩婷洁玉兰萍莉佳丹"

# name, kind, branch, staff, party members, women among the party members, women among the rest
STATIONS = [
    ("海南作业区机关", "office", "海南作业区机关党支部", 23, 12, 2, 4),
    ("海南一号站", "station", "海南一号站党支部", 28, 9, 2, 3),
    ("海南二号站", "station", "海南二号站党支部", 28, 9, 1, 3),
    ("海南三号站", "station", "海南三号站党支部", 28, 9, 1, 2),
    ("海南四号站", "station", "海南四号站党支部", 28, 9, 1, 3),
]
OFFICE_POSTS = ["信息管理员", "党总支书记", "作业区经理", "副经理", "安全总监", "技术员", "地质员", "工艺员", "安全员",
                "资料员", "设备员", "综合办事员"]
STATION_POSTS = ["采油工", "采油工", "采油工", "集输工", "注水工", "电工", "维修工", "采油工"]

def well_kind(n: int) -> str:
    """The kind of a station's n-th well in the demo and the generator: every 7th an injection well, and among the
    producing ones a few screw-pump (…9) and electric-submersible (…8) wells beside the beam pumps."""
    return "injection" if n % 7 == 0 else "pcp" if n % 10 == 9 else "esp" if n % 10 == 8 else "oil"


def allocation(n: int) -> float | None:
    """An injection well's 日配注 (m³/d) in the demo and the generator, from its number (no draw of the random
    generator: the demo's other choices stay what they were)."""
    return float(40 + (n * 13) % 60) if well_kind(n) == "injection" else None


# Fixed demo logins, one per role; README and `seed-demo` list them.
DEMO_LOGINS = [
    ("HN0001", "admin", "作业区管理员"),
    ("HN0003", "plant_admin", "采油厂管理员（看各作业区概览、新建作业区）"),
    ("HN1001", "leader", "海南一号站 站长"),
    ("HN1002", "secretary", "海南一号站党支部 书记"),
    ("HN1003", "worker", "海南一号站 采油工（党员）"),
]

OIL_WELL_EQUIPMENT = [
    ("pumping_unit", "抽油机", ["CYJ10-3-53HB", "CYJ12-4.8-73HB", "CYJY8-3-37HB"]),
    ("motor", "电机", ["Y280S-8 37kW", "YCH225M-8 30kW", "Y250M-6 37kW"]),
    ("gearbox", "减速箱", ["JLH-53", "JLH-73", "JLH-37"]),
    ("wellhead", "井口", ["KY25-65", "KY21-65"]),
    ("control_cabinet", "配电柜", ["XJK-37", "XJK-30"]),
]
STATION_EQUIPMENT = [
    ("heater", "1号加热炉", "HJ-400/2.5"),
    ("heater", "2号加热炉", "HJ-400/2.5"),
    ("pump", "1号外输泵", "DY46-50×6"),
    ("pump", "2号外输泵", "DY46-50×6"),
    ("pump", "掺水泵", "IS80-50-200"),
]


class _Names:
    """Unique fictional names, drawn from a seeded generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def draw(self, female: bool) -> str:
        chars = FEMALE_CHARS if female else MALE_CHARS
        while True:
            given = "".join(self.rng.choice(chars) for _ in range(self.rng.choice((1, 2, 2))))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.used:
                self.used.add(name)
                return name


def _staff_rows(rng, names, station_index, station_id, work_area_id, password_hash, spec):
    """Rows for one station's staff: party members first, then the rest."""
    _, kind, _, total, party, party_women, other_women = spec
    rows = []
    for n in range(total):
        is_party = n < party
        female = n < party_women if is_party else n - party < other_women
        if kind == "office":
            post = OFFICE_POSTS[n] if n < len(OFFICE_POSTS) else rng.choice(OFFICE_POSTS[5:])
        elif n == 0:
            post = "站长"
        elif n == 1:
            post = "党支部书记"
        else:
            post = STATION_POSTS[n % len(STATION_POSTS)]
        joined = date(rng.randint(1995, 2022), rng.randint(1, 12), rng.randint(1, 28)) if is_party else None
        rows.append(
            {
                "work_area": work_area_id,
                "station": station_id,
                "employee_no": f"HN{station_index}{n + 1:03d}",
                "name": names.draw(female),
                "gender": "F" if female else "M",
                "post": post,
                "phone": f"139{rng.randint(0, 99999999):08d}",
                "is_party_member": is_party,
                "party_joined_on": joined,
                "password_hash": password_hash,
            }
        )
    # The demo worker of 一号站 (HN1003) is a party member on an operator's post.
    if station_index == 1:
        rows[2]["post"] = "采油工"
    return rows


def _roles_for(n: int, kind: str) -> list[str]:
    """Everyone is staff (worker); the first two of each station lead it and its branch; in the office, the third
    is the plant's admin (the demo plant has this one work area)."""
    if kind == "office":
        return {0: ["admin", "worker"], 1: ["secretary", "worker"], 2: ["plant_admin", "worker"]}.get(n, ["worker"])
    if n == 0:
        return ["leader", "worker"]
    if n == 1:
        return ["secretary", "worker"]
    return ["worker"]


def seed_demo(password: str, hash_method: str | None = None) -> dict:
    """Create the demo work area in the bound, empty database; return its counts and logins. hash_method: the
    tests' cheap hash for the shared demo password (a scrypt check per login was most of the suite's time)."""
    rng = random.Random(SEED)
    names = _Names(rng)
    # One hash for the one shared demo password keeps seeding fast; real users get their own.
    password_hash = generate_password_hash(password, **({"method": hash_method} if hash_method else {}))
    with db.atomic():
        plant = Plant.create(name="演示采油厂")
        area = WorkArea.create(name="海南作业区", party_org_name="海南作业区党总支", plant=plant)
        stations = []
        for index, spec in enumerate(STATIONS):
            name, kind, branch = spec[:3]
            stations.append(Station.create(work_area=area, name=name, kind=kind, branch_name=branch, sort_order=index))
        tallies.adopt_area(area)  # its patrols are counted per shift as they are written

        for index, (station, spec) in enumerate(zip(stations, STATIONS, strict=True)):
            rows = _staff_rows(rng, names, index, station.id, area.id, password_hash, spec)
            User.insert_many(rows).execute()
            ids = {u.employee_no: u.id for u in User.select(User.id, User.employee_no).where(User.station == station)}
            roles = []
            for n, row in enumerate(rows):
                for role in _roles_for(n, spec[1]):
                    roles.append({"user": ids[row["employee_no"]], "role": role})
            UserRole.insert_many(roles).execute()

        _seed_wells(rng, stations[1:])
        _seed_party(rng, stations)

    return {
        "work_area": area.name,
        "stations": len(stations),
        "staff": User.select().count(),
        "party_members": User.select().where(User.is_party_member).count(),
        "wells": Well.select().count(),
        "logins": DEMO_LOGINS,
    }


def _seed_wells(rng, stations):
    """25–40 wells per production station, their equipment, and the party members contracted to them."""
    base_lat, base_lon = 40.912, 121.874  # a fictional patch of wetland
    for s, station in enumerate(stations, start=1):
        count = rng.randint(25, 40)
        wells = []
        for n in range(1, count + 1):
            kind = well_kind(n)
            is_key = kind != "injection" and rng.random() < 0.18
            wells.append(
                {
                    "station": station.id,
                    "code": f"海{s}-{n:02d}",
                    "kind": kind,
                    "is_key_well": is_key,
                    "qr_token": new_token(),
                    "latitude": round(base_lat + s * 0.02 + rng.uniform(-0.008, 0.008), 6),
                    "longitude": round(base_lon + s * 0.015 + rng.uniform(-0.008, 0.008), 6),
                    "patrol_interval_hours": 4 if is_key else (12 if kind == "injection" else 8),
                    "allocation_m3_per_day": allocation(n),
                }
            )
        Well.insert_many(wells).execute()

        members = list(
            User.select().where((User.station == station) & User.is_party_member).order_by(User.employee_no)
        )
        station_wells = list(Well.select().where(Well.station == station).order_by(Well.is_key_well.desc(), Well.id))
        # Every party member contracts wells in turn, key wells first (承包井).
        for i, well in enumerate(station_wells[: len(members) * 3]):
            well.contractor = members[i % len(members)]
            well.save(only=[Well.contractor])

        equipment = []
        for well in station_wells:
            kinds = OIL_WELL_EQUIPMENT if well.kind == "oil" else OIL_WELL_EQUIPMENT[3:4]
            for kind, label, model_names in kinds:
                equipment.append(
                    {
                        "station": station.id,
                        "well": well.id,
                        "kind": kind,
                        "name": f"{well.code} {label}",
                        "model": rng.choice(model_names),
                        "installed_on": date(rng.randint(2006, 2020), rng.randint(1, 12), 1),
                    }
                )
        for kind, name, model_name in STATION_EQUIPMENT:
            equipment.append({"station": station.id, "well": None, "kind": kind, "name": name, "model": model_name})
        Equipment.insert_many(equipment).execute()


DEMO_COMMITMENTS = [
    ("safety", "巡检不漏井、不漏项，发现隐患当班上报", "全年所辖井无漏检", None, ""),
    ("study", "学习采油工艺和安全规程，带动班组学习", "完成 40 学时学习", 40, "学时"),
    ("energy", "管好承包井的冲次和平衡，降低耗电", "承包井平衡率保持在 85% 以上", None, ""),
    ("service", "帮扶新员工掌握十字作业法", "带出 1 名能独立巡检的新员工", 1, "人"),
]


def _seed_party(rng, stations):
    """Card tokens, pairings (a colleague and the branch secretary as contact person), contract history, commitments."""
    today = today_in(stations[0].work_area.timezone)
    start = date(today.year, 1, 1)
    for station in stations:
        members = list(User.select().where((User.station == station) & User.is_party_member).order_by(User.employee_no))
        others = list(User.select().where((User.station == station) & ~User.is_party_member).order_by(User.employee_no))
        secretary = members[1] if len(members) > 1 else members[0]
        leader = members[0]
        pairings = []
        for i, member in enumerate(members):
            member.card_token = new_token()
            member.save(only=[User.card_token])
            contact = leader if member.id == secretary.id else secretary
            pairings.append({"member": member.id, "partner": contact.id, "kind": "contact", "start_date": start})
            if others:
                pairings.append({"member": member.id, "partner": others[i % len(others)].id, "kind": "colleague",
                                 "start_date": start})
        Pairing.insert_many(pairings).execute()
        WellContract.insert_many(
            [{"well": w.id, "member": w.contractor_id, "start_date": start}
             for w in Well.select().where((Well.station == station) & Well.contractor.is_null(False))]
        ).execute()
        for member in members[:4]:
            for category, content, target, quantity, unit in DEMO_COMMITMENTS[:2 + (member.id % 2)]:
                commitment = Commitment.create(
                    member=member, station=station, period=str(today.year), category=category, content=content,
                    target=target, target_quantity=quantity, unit=unit, status="approved",
                    reviewer=secretary.id if member.id != secretary.id else leader.id, reviewed_at=utcnow(),
                )
                if quantity:
                    CommitmentProgress.create(
                        uuid=uuid.UUID(int=rng.getrandbits(128), version=4), commitment=commitment, author=member.id,
                        device_time=utcnow(), text="参加作业区组织的采油工艺培训", quantity=min(quantity, 8),
                    )
