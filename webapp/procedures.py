"""Operating procedures (操作规程) per equipment kind and per well operation: versioned text with pictures."""
import json

from flask_babel import gettext

from models import EQUIPMENT_KINDS, Procedure

from .patrols import OPERATIONS

MAX_TITLE = 80
MAX_BODY = 20000


def topics() -> dict[str, str]:
    """Every topic a procedure can be written for, with its Chinese name."""
    names = {f"equipment:{kind}": gettext("%(kind)s（望闻听摸测）", kind=label) for kind, label in EQUIPMENT_KINDS.items()}
    names.update({f"operation:{code}": f"{char} · {name}" for code, (char, name, _) in OPERATIONS.items()})
    return names


DEFAULTS = {  # i18n: data
    "equipment:pumping_unit": (
        "抽油机检查规程",
        "望：看减速箱、盘根盒、光杆有无漏油；皮带松紧与磨损；驴头、悬绳器、盘根盒是否对中；各部螺栓是否松动。\n"
        "闻：有无皮带或绝缘烧焦味、油气味。\n"
        "听：减速箱、轴承有无异响，有无碰泵声。\n"
        "摸：中轴、尾轴承和电机温度、振动；光杆发烫可能是卡井或盘根过紧。\n"
        "测：上下行电流，计算平衡率；异常时停机检查，并上报隐患。",
    ),
    "operation:bie": (
        "憋压操作规程",
        "1. 抽油机运转正常时，关闭生产阀门（出油阀）。\n2. 记录起始油压，憋压至规定时间（一般 10 分钟）或压力达到上限即停。\n"
        "3. 记录止压；压力上升慢或不升，说明泵或油管漏失。\n4. 缓慢打开生产阀门恢复生产，确认压力回落正常。",
    ),
    "operation:xi": (
        "热洗操作规程",
        "1. 按热洗方案确认洗井液量与温度。\n2. 连接热洗流程，先低排量后正常排量。\n3. 记录洗井液量、温度和时间；洗后观察电流变化，判断蜡是否洗净。",
    ),
}


def ensure_default_procedures() -> int:
    """Create version 1 of the built-in procedures that have none yet."""
    made = 0
    for topic, (title, body) in DEFAULTS.items():
        if not Procedure.select().where((Procedure.topic == topic) & Procedure.work_area.is_null()).exists():
            Procedure.create(topic=topic, version=1, title=title, body=body, is_current=True)
            made += 1
    return made


def save_procedure(topic: str, title: str, body: str, photos: list[str], user) -> Procedure:
    """A new current version; earlier versions are kept."""
    return Procedure.new_version(topic, user.work_area_id, title=title, body=body, photos=json.dumps(photos), created_by=user)
