"""Command-line tools: schema upgrade, demo data, user accounts, backup and restore, photo storage
(`jingzhan --help`)."""
import sys
from functools import partial
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from models import ROLES, LoginAttempt, Station, User, WorkArea, db

from . import migrations
from .database import DatabaseConfigError

MIN_PASSWORD_LENGTH = 8
PHOTO_BACKUP_DIR = "jingzhan-photos"  # beside the backups: one content-addressed folder that every backup shares


@click.group("db", help="数据库结构版本。")
def db_group():
    pass


@db_group.command("upgrade", help="把数据库升级到最新结构（新库则直接建表）。")
@with_appcontext
def db_upgrade():
    with db.connection_context():
        for line in migrations.upgrade() or ["已是最新版本，无需升级。"]:
            click.echo(line)


@db_group.command("tallies", help="按各作业区现在的班次和时区重新统计每口井每个班次的巡检数（改过 JINGZHAN_TZ 之后运行）。")
@with_appcontext
def db_tallies():
    from . import tallies

    with db.connection_context():
        count = tallies.adopt_all(current_app.config["TIMEZONE"])
    click.echo(f"已重新统计 {count} 个作业区的班次巡检数。")


@db_group.command("version", help="显示数据库结构版本。")
@with_appcontext
def db_version():
    with db.connection_context():
        version = migrations.current_version()
    click.echo(f"当前版本 {version if version is not None else '（空库）'}，最新版本 {migrations.LATEST}")


@click.command("seed-demo", help="创建演示作业区（海南作业区）及演示账号。")
@click.option("--if-empty", is_flag=True, help="库里已有作业区时什么也不做。")
@click.option("--history-days", type=click.IntRange(0, 400), default=0, show_default=True,
              help="再生成最近若干天的巡检、检查、隐患记录和各支部的党建活动、建议、先锋工程（看板、报表和考核就有内容可看）。")
@with_appcontext
def seed_demo_command(if_empty, history_days):
    from .demo import seed_demo
    from .generator import generate_history

    with db.connection_context():
        migrations.upgrade()
        if WorkArea.select().exists():
            if if_empty:
                click.echo("数据库已有作业区，跳过演示数据。")
                return
            raise click.ClickException("数据库已有作业区：演示数据只能建在空库里。")
        password = current_app.config["DEMO_PASSWORD"]
        summary = seed_demo(password)
        history = generate_history(history_days) if history_days else None
    click.echo(
        f"已创建{summary['work_area']}：{summary['stations']} 个站/机关，{summary['staff']} 名员工"
        f"（党员 {summary['party_members']} 名），{summary['wells']} 口井。"
    )
    if history:
        click.echo(f"另有最近 {history_days} 天的记录：巡检 {history['patrols']} 条，设备检查 {history['checks']} 条，"
                   f"隐患 {history['hazards']} 条。")
        click.echo(f"党建：支部活动 {history['activities']} 次（签到和请假 {history['attendance']} 人次），"
                   f"合理化建议 {history['suggestions']} 条，先锋工程 {history['projects']} 项（节点 {history['milestones']} 个），"
                   f"党员示范岗 {history['model_posts']} 个，季度评诺 {history['commitments_rated']} 项。")
    click.echo(f"演示账号（密码均为 {password}）：")
    for employee_no, _, label in summary["logins"]:
        click.echo(f"  {employee_no}  {label}")


def _validate_password(password: str, employee_no: str = "") -> str:
    from .passwords import password_problem

    problem = password_problem(password, employee_no=employee_no.strip(),
                               context_words=current_app.config["PASSWORD_CONTEXT_WORDS"])
    if problem:
        raise click.BadParameter(problem)
    return password


@click.command("create-user", help="新建员工账号。")
@click.option("--employee-no", required=True, help="工号（登录名）")
@click.option("--name", required=True, help="姓名")
@click.option("--station", "station_name", required=True, help="所在站或机关的名称")
@click.option("--work-area", "area_name", default="", help="所在作业区（几个作业区有同名的站时必填）")
@click.option("--role", "roles", multiple=True, type=click.Choice(sorted(ROLES)), default=["worker"], show_default=True)
@click.option("--post", default="", help="岗位")
@click.option("--gender", type=click.Choice(["M", "F"]), default="M", show_default=True)
@click.option("--party-member", is_flag=True, help="党员")
@click.password_option("--password", help="密码（不填则提示输入）")
@with_appcontext
def create_user_command(employee_no, name, station_name, area_name, roles, post, gender, party_member, password):
    _validate_password(password, employee_no)
    employee_no = employee_no.strip().upper()
    with db.connection_context():
        query = Station.select().join(WorkArea).where(Station.name == station_name.strip())
        if area_name.strip():
            query = query.where(WorkArea.name == area_name.strip())
        stations = list(query)
        if not stations:
            raise click.ClickException(f"找不到站：{station_name}")
        if len(stations) > 1:
            raise click.ClickException(f"有 {len(stations)} 个作业区都有“{station_name}”：请用 --work-area 指明。")
        station = stations[0]
        if User.select().where(User.employee_no == employee_no).exists():
            raise click.ClickException(f"工号 {employee_no} 已存在。")
        with db.atomic():
            user = User(
                work_area=station.work_area_id, station=station, employee_no=employee_no, name=name.strip(),
                gender=gender, post=post, is_party_member=party_member,
            )
            user.set_password(password)
            user.save()
            user.grant(*roles)
    click.echo(f"已创建 {employee_no} {name}（{'、'.join(str(ROLES[r]) for r in roles)}）。")


@click.command("create-work-area", help="新建作业区（含机关）及其第一个管理员，打印管理员的一次性初始密码。")
@click.argument("name")
@click.option("--admin-no", required=True, help="管理员工号")
@click.option("--admin-name", required=True, help="管理员姓名")
@click.option("--plant", "plant_name", default="采油厂", show_default=True, help="所属采油厂（没有则新建）")
@click.option("--party-org", default="", help="党总支名称（默认：作业区名称+党总支）")
@click.option("--shifts", default="", help="班次，如 \"08:00-20:00 20:00-08:00\"")
@with_appcontext
def create_work_area_command(name, admin_no, admin_name, plant_name, party_org, shifts):
    from models import Plant

    from .plants import PlantError, create_work_area

    with db.connection_context():
        with db.atomic():
            plant, _ = Plant.get_or_create(name=plant_name.strip() or "采油厂")
            try:
                created = create_work_area(plant.id, {"name": name, "party_org_name": party_org, "shifts": shifts,
                                                      "admin_employee_no": admin_no, "admin_name": admin_name})
            except PlantError as exc:
                raise click.ClickException(str(exc)) from None
    click.echo(f"已建立 {plant.name} · {created.area.name}（机关）。")
    click.echo(f"管理员 {created.admin.employee_no} {created.admin.name} 的一次性初始密码：{created.password}")
    click.echo("首次登录后须改成自己的密码；然后在“批量导入站、井、设备、员工”上传表格。")


@click.command("vapid-keys", help="生成 Web Push 的密钥对（写进环境变量 JINGZHAN_VAPID_PUBLIC_KEY / _PRIVATE_KEY）。")
def vapid_keys_command():
    from .push import vapid_keys

    public, private = vapid_keys()
    click.echo(f"JINGZHAN_VAPID_PUBLIC_KEY={public}")
    click.echo(f"JINGZHAN_VAPID_PRIVATE_KEY={private}")


@click.command("push-notifications", help="把各人铃铛里的新通知推送到已订阅的手机（由定时器每分钟执行）。")
@with_appcontext
def push_notifications_command():
    from .push import configured, send_due

    if not configured(current_app.config):
        raise click.ClickException("没有配置 JINGZHAN_VAPID_PUBLIC_KEY / JINGZHAN_VAPID_PRIVATE_KEY，不推送。")
    with db.connection_context():
        counts = send_due(current_app._get_current_object())
    click.echo("订阅 {subscriptions} 个，推送 {sent} 条，失效 {gone} 个，失败 {failed} 个。".format(**counts))


@click.command("set-password", help="为员工设置新密码（其他已登录设备随之退出）。")
@click.argument("employee_no")
@click.password_option("--password", help="新密码（不填则提示输入）")
@click.option("--temporary", is_flag=True, help="临时密码：员工登录后须先改成自己的密码")
@with_appcontext
def set_password_command(employee_no, password, temporary):
    _validate_password(password, employee_no)
    with db.connection_context():
        user = User.get_or_none(User.employee_no == employee_no.strip().upper())
        if user is None:
            raise click.ClickException(f"找不到工号 {employee_no}。")
        user.set_password(password)
        user.must_change_password = temporary
        user.failed_logins = 0
        user.locked_until = None
        user.save()
        # The wrong passwords that keep a device waiting (webapp/logins.py) are forgiven with the new password.
        LoginAttempt.delete().where((LoginAttempt.employee_no == user.employee_no) & ~LoginAttempt.succeeded).execute()
    click.echo(f"已为 {user.employee_no} {user.name} 设置新密码。")


@click.command("disable-user", help="停用（或用 --enable 恢复）员工账号。")
@click.argument("employee_no")
@click.option("--enable", is_flag=True, help="恢复账号")
@with_appcontext
def disable_user_command(employee_no, enable):
    with db.connection_context():
        user = User.get_or_none(User.employee_no == employee_no.strip().upper())
        if user is None:
            raise click.ClickException(f"找不到工号 {employee_no}。")
        user.is_enabled = enable
        user.save(only=[User.is_enabled])
    click.echo(f"已{'恢复' if enable else '停用'} {user.employee_no} {user.name}。")


def _counts(result: dict) -> str:
    """The row counts of a backup or restore, as one line."""
    return "，".join(f"{name} {count}" for name, count in result["counts"].items())


def _photo_store():
    from .photo_store import PhotoStoreError, store_for

    try:
        return store_for(current_app)
    except PhotoStoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_photos(copied: dict | None, folder: Path, *, verb: str) -> None:
    if copied is None:
        return
    click.echo(f"照片：{verb} {copied['copied']} 个文件，{copied['present']} 个已有（{folder}）。")
    if copied["missing"]:
        shown = "、".join(copied["missing"][:5]) + (" 等" if len(copied["missing"]) > 5 else "")
        click.echo(f"警告：有 {len(copied['missing'])} 个照片文件哪里都找不到：{shown}", err=True)


PHOTOS_OPTION = click.option("--photos", "photo_dir", type=click.Path(file_okay=False, path_type=Path),
                             help=f"照片备份目录（默认为 PATH 所在目录下的 {PHOTO_BACKUP_DIR}，"
                                  "各次备份共用，每次只复制新照片）。")
NO_PHOTOS_OPTION = click.option("--no-photos", is_flag=True, help="只处理数据库，不管照片。")


@click.command("backup", help="在线备份 SQLite 数据库到 PATH（应用可照常写入），照片复制到照片备份目录；"
                              "PostgreSQL 请用 pg_dump。")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="PATH 已存在时覆盖它。")
@PHOTOS_OPTION
@NO_PHOTOS_OPTION
@with_appcontext
def backup_command(path, force, photo_dir, no_photos):
    from .backup import BackupError, backup, copy_photos
    from .photo_store import DirectoryStore
    from .photos import read_photo

    photos, folder = None, photo_dir or path.parent / PHOTO_BACKUP_DIR
    if not no_photos:
        store, legacy = _photo_store(), Path(current_app.config["PHOTO_DIR"])
        if folder.resolve() == legacy.resolve():
            raise click.ClickException(f"照片备份目录不能是照片目录本身（{legacy}）：请用 --photos 指定别的目录。")
        photos = partial(copy_photos, read=lambda uuid, sha256, thumb: read_photo(store, uuid, sha256, thumb, legacy),
                         target=DirectoryStore(folder))
    try:
        result = backup(current_app.config["DATABASE_URL"], path, force=force, photos=photos)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = _counts(result)
    click.echo(f"已备份到 {result['path']}（{result['bytes'] / 1e6:.1f} MB，结构版本 {result['version']}，"
               f"完整性检查 {result['integrity']}；{counts}）。")
    _echo_photos(result["photos"], folder, verb="新复制")


@click.command("restore", help="用备份文件 PATH 替换 SQLite 数据库（先检查备份；请先停止应用）；PostgreSQL 请用 pg_restore。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="数据库已有数据时也覆盖（覆盖前另存一份现有数据）。")
@PHOTOS_OPTION
@NO_PHOTOS_OPTION
@with_appcontext
def restore_command(path, force, photo_dir, no_photos):
    from .backup import BackupError, copy_photos, restore
    from .photo_store import DirectoryStore
    from .photos import photo_key

    photos, folder = None, photo_dir or path.parent / PHOTO_BACKUP_DIR
    if not no_photos:
        if folder.is_dir():
            source = DirectoryStore(folder)
            photos = partial(copy_photos, read=lambda uuid, sha256, thumb: source.get(photo_key(sha256, thumb)),
                             target=_photo_store())
        else:
            click.echo(f"没有照片备份目录 {folder}：只恢复数据库，照片不动（可用 --photos 指定目录）。", err=True)
    try:
        result = restore(current_app.config["DATABASE_URL"], path, force=force, photos=photos)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if result["saved"]:
        click.echo(f"原有数据已另存为 {result['saved']}。")
    counts = _counts(result)
    click.echo(f"已从 {path} 恢复到 {result['path']}（结构版本 {result['version']}，完整性检查 {result['integrity']}；{counts}）。")
    _echo_photos(result["photos"], folder, verb="放回照片存储")
    if result["needs_upgrade"]:
        click.echo("备份的结构版本较旧：请执行 jingzhan db upgrade。")
    click.echo("注意：恢复点就是备份的时刻，之后才同步到服务器的记录不在其中（手机收到确认后已从待同步队列删除）。")


@click.group("photos", help="照片存储。")
def photos_group():
    pass


@photos_group.command("migrate", help="把旧版本按 uuid 存放在照片目录里的文件移入按内容寻址的照片存储（可重复执行）。")
@with_appcontext
def photos_migrate():
    from .photos import migrate_legacy

    store, folder = _photo_store(), Path(current_app.config["PHOTO_DIR"])
    with db.connection_context():
        result = migrate_legacy(store, folder)
    if not (result["moved"] or result["already"] or result["unknown"] or result["mismatched"]):
        click.echo(f"{folder} 里没有旧版本的照片文件，无需迁移。")
        return
    click.echo(f"已移入 {result['moved']} 个文件，{result['already']} 个存储里已有（旧文件已删除）。")
    for paths, why in ((result["unknown"], "没有对应的照片记录"), (result["mismatched"], "内容与记录的 sha256 不符")):
        if paths:
            shown = "、".join(str(p) for p in paths[:5]) + (" 等" if len(paths) > 5 else "")
            click.echo(f"警告：{len(paths)} 个旧文件{why}，原样留下：{shown}", err=True)


def init_app(app):
    for command in (db_group, seed_demo_command, create_user_command, create_work_area_command, set_password_command,
                    vapid_keys_command, push_notifications_command, disable_user_command,
                    backup_command, restore_command, photos_group):
        app.cli.add_command(command)


def main():
    """Console script `jingzhan`: the Flask CLI, with a clear message when the database cannot be opened."""
    from . import create_app

    try:
        app = create_app()
    except DatabaseConfigError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    FlaskGroup(create_app=lambda: app, add_default_commands=True, load_dotenv=False)()
