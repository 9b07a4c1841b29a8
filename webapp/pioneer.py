"""The two goals of 33442: 党员先锋工程 (projects pushed milestone by milestone) and 党员示范岗 (model posts)."""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext, ngettext
from peewee import Case, fn

from models import Milestone, ModelPost, PioneerProject, User, Well, db, utcnow

from .access import parse_id
from .party import PartyError, manages_branch
from .text import clean_line, clean_text

MAX_TITLE = 80
MAX_GOAL = 500
MAX_NOTE = 300
MAX_POST_TITLE = 60
EARLIEST = date(2000, 1, 1)
MAX_YEARS_AHEAD = 5


def _date(value, label: str) -> date:
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        raise PartyError(gettext("请按“2026-11-26”这样的年-月-日填写%(field)s。", field=label)) from None
    if day < EARLIEST:
        raise PartyError(gettext("%(field)s太早：请选择 2000 年以后的日期。", field=label))
    return day


def _branch_user(user_id, station_id: int, *, party: bool):
    """An enabled user of the branch by a form's id, or None."""
    if parse_id(user_id) is None:
        return None
    query = User.select().where((User.id == parse_id(user_id)) & (User.station == station_id) & User.is_enabled)
    if party:
        query = query.where(User.is_party_member)
    return query.first()


def clean_project(form: dict, station_id: int, today: date) -> dict:
    """The fields of a project from its form, checked: a party member of the branch leads it, the well (optional)
    is the branch's, and it ends on or after it starts, at most five years from today."""
    title = clean_line(form.get("title"), MAX_TITLE + 1)
    if not title:
        raise PartyError(gettext("请填写项目名称，如“海1-05 产量恢复”。"))
    if len(title) > MAX_TITLE:
        raise PartyError(gettext("项目名称不能超过 %(max)s 字。", max=MAX_TITLE))
    goal = clean_text(form.get("goal"))
    if len(goal) > MAX_GOAL:
        raise PartyError(gettext("项目目标不能超过 %(max)s 字。", max=MAX_GOAL))
    leader = _branch_user(form.get("leader_id"), station_id, party=True)
    if leader is None:
        raise PartyError(gettext("请选择本支部的一名党员牵头。"))
    well = None
    if form.get("well_id"):
        well_id = parse_id(form["well_id"])
        well = Well.get_or_none((Well.id == well_id) & (Well.station == station_id)) if well_id else None
        if well is None:
            raise PartyError(gettext("请选择本站的井，或不选井。"))
    starts_on, due_on = _date(form.get("starts_on"), gettext("开始日期")), _date(form.get("due_on"), gettext("完成期限"))
    if due_on < starts_on:
        raise PartyError(gettext("完成期限不能早于开始日期。"))
    if due_on > today + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise PartyError(gettext("完成期限最多到 %(years)s 年以后。", years=MAX_YEARS_AHEAD))
    return {"title": title, "goal": goal, "leader": leader, "well": well, "starts_on": starts_on, "due_on": due_on}


def create_project(user, station_id: int, form: dict, today: date) -> PioneerProject:
    if not manages_branch(user, station_id):
        raise PartyError(gettext("只有本支部书记可以创建先锋工程。"))
    return PioneerProject.create(station=station_id, created_by=user.id, **clean_project(form, station_id, today))


def update_project(user, project: PioneerProject, form: dict, today: date) -> None:
    """Change a project's fields; its milestones must still fall within its dates."""
    if not manages_branch(user, project.station_id):
        raise PartyError(gettext("只有本支部书记可以修改先锋工程。"))
    fields = clean_project(form, project.station_id, today)
    outside = Milestone.select().where((Milestone.project == project) & ((Milestone.due_on < fields["starts_on"])
                                                                         | (Milestone.due_on > fields["due_on"]))).count()
    if outside:
        raise PartyError(ngettext("有 %(num)s 个节点的期限不在新的起止日期内，请先调整日期。",
                                  "有 %(num)s 个节点的期限不在新的起止日期内，请先调整日期。", outside))
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()


def set_status(user, project: PioneerProject, status: str) -> None:
    """Mark a project done (all its milestones reached), cancelled, or active again."""
    if not manages_branch(user, project.station_id):
        raise PartyError(gettext("只有本支部书记可以改变先锋工程的状态。"))
    if status not in PioneerProject.STATUSES:
        raise PartyError(gettext("未知的项目状态。"))
    if status == "done":
        open_count = Milestone.select().where((Milestone.project == project) & Milestone.done_at.is_null()).count()
        if open_count:
            raise PartyError(ngettext("还有 %(num)s 个节点未完成，不能标记为已完成。", "还有 %(num)s 个节点未完成，不能标记为已完成。",
                                      open_count))
    project.status = status
    project.save(only=[PioneerProject.status])


def add_milestone(user, project: PioneerProject, form: dict) -> Milestone:
    """A node of an active project: an owner of the branch and a due date within the project's dates."""
    if not manages_branch(user, project.station_id):
        raise PartyError(gettext("只有本支部书记可以添加节点。"))
    if project.status != "active":
        raise PartyError(gettext("项目已结束，不能再添加节点。"))
    title, owner, due_on = _milestone_fields(project, form)
    with db.atomic():
        last = Milestone.select(fn.MAX(Milestone.sort_order)).where(Milestone.project == project).scalar()
        return Milestone.create(project=project, title=title, owner=owner, due_on=due_on, sort_order=(last or 0) + 1)


def edit_milestone(user, milestone: Milestone, project: PioneerProject, form: dict) -> Milestone:
    """Correct a node not yet reached — its content, owner or due date — as the branch's secretary; a reached node
    is a record of what was done and stays as it is."""
    if not manages_branch(user, project.station_id):
        raise PartyError(gettext("只有本支部书记可以修改节点。"))
    if project.status != "active":
        raise PartyError(gettext("项目已结束，节点不能再改动。"))
    if milestone.done_at is not None:
        raise PartyError(gettext("已完成的节点不能修改。"))
    milestone.title, milestone.owner, milestone.due_on = _milestone_fields(project, form)
    milestone.save(only=[Milestone.title, Milestone.owner, Milestone.due_on])
    return milestone


def _milestone_fields(project: PioneerProject, form: dict):
    """(title, owner, due date) of a node, checked: an owner of the project's branch, a date within the project's."""
    title = clean_line(form.get("title"), MAX_TITLE + 1)
    if not title:
        raise PartyError(gettext("请填写节点内容。"))
    if len(title) > MAX_TITLE:
        raise PartyError(gettext("节点内容不能超过 %(max)s 字。", max=MAX_TITLE))
    owner = _branch_user(form.get("owner_id"), project.station_id, party=False)
    if owner is None:
        raise PartyError(gettext("请选择本站的一名责任人。"))
    due_on = _date(form.get("due_on"), gettext("节点期限"))
    if not project.starts_on <= due_on <= project.due_on:
        raise PartyError(gettext("节点期限应在项目起止日期内（%(start)s 至 %(end)s）。", start=project.starts_on.isoformat(),
                                 end=project.due_on.isoformat()))
    return title, owner, due_on


def may_complete(user, milestone: Milestone, project: PioneerProject) -> bool:
    """The milestone's owner, the project's leader, or whoever edits the project."""
    return user.id in (milestone.owner_id, project.leader_id) or manages_branch(user, project.station_id)


def complete_milestone(user, milestone: Milestone, note: str) -> None:
    """Mark a milestone reached, saying what was done."""
    project = milestone.project
    if not may_complete(user, milestone, project):
        raise PartyError(gettext("只有节点责任人、项目牵头人或支部书记可以标记完成。"))
    if project.status != "active":
        raise PartyError(gettext("项目已结束，节点不能再改动。"))
    if milestone.done_at is not None:
        raise PartyError(gettext("这个节点已完成。"))
    note = clean_text(note)
    if not note:
        raise PartyError(gettext("请写明完成情况。"))
    if len(note) > MAX_NOTE:
        raise PartyError(gettext("完成情况不能超过 %(max)s 字。", max=MAX_NOTE))
    milestone.done_at, milestone.done_note = utcnow(), note
    milestone.save(only=[Milestone.done_at, Milestone.done_note])


def is_overdue(milestone: Milestone, today: date) -> bool:
    return milestone.done_at is None and milestone.due_on < today


@dataclass
class Progress:
    """A project's milestones: how many, how many reached, how many past their due date."""

    total: int = 0
    done: int = 0
    overdue: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def progress_of(project_ids, today: date) -> dict[int, Progress]:
    """Per project, its milestone counts, in one query."""
    if not project_ids:
        return {}
    rows = (
        Milestone.select(
            Milestone.project,
            fn.COUNT(Milestone.id).alias("total"),
            fn.SUM(Case(None, [(Milestone.done_at.is_null(False), 1)], 0)).alias("done"),
            fn.SUM(Case(None, [(Milestone.done_at.is_null() & (Milestone.due_on < today), 1)], 0)).alias("overdue"),
        )
        .where(Milestone.project.in_(list(project_ids)))
        .group_by(Milestone.project)
    )
    return {r.project_id: Progress(r.total, int(r.done or 0), int(r.overdue or 0)) for r in rows}


def assign_post(user, member: User, title: str, today: date) -> ModelPost:
    """Make a party member of the branch a 党员示范岗 under this title, from today."""
    if not manages_branch(user, member.station_id):
        raise PartyError(gettext("只能为本支部党员设立示范岗。"))
    if not member.is_party_member or not member.is_enabled:
        raise PartyError(gettext("示范岗须由本支部党员担任。"))
    title = clean_line(title, MAX_POST_TITLE + 1)
    if not title:
        raise PartyError(gettext("请填写示范岗名称，如“安全生产党员示范岗”。"))
    if len(title) > MAX_POST_TITLE:
        raise PartyError(gettext("示范岗名称不能超过 %(max)s 字。", max=MAX_POST_TITLE))
    current = ModelPost.select().where((ModelPost.member == member) & (ModelPost.title == title) & ModelPost.end_date.is_null())
    if current.exists():
        raise PartyError(gettext("%(name)s 已是“%(post)s”。", name=member.name, post=title))
    return ModelPost.create(member=member, title=title, start_date=today, assigned_by=user.id)


def end_post(user, post: ModelPost, today: date) -> None:
    """End a 示范岗 with today's date; the row stays as history."""
    if not manages_branch(user, post.member.station_id):
        raise PartyError(gettext("只能调整本支部党员的示范岗。"))
    if post.end_date is not None:
        raise PartyError(gettext("这个示范岗已撤销。"))
    post.end_date = today
    post.save(only=[ModelPost.end_date])


def current_posts(member_ids) -> dict[int, list[ModelPost]]:
    """Per member, the 示范岗 they hold now (oldest first), in one query."""
    posts: dict[int, list[ModelPost]] = {}
    if not member_ids:
        return posts
    for post in (ModelPost.select().where(ModelPost.member.in_(list(member_ids)) & ModelPost.end_date.is_null())
                 .order_by(ModelPost.start_date, ModelPost.id)):
        posts.setdefault(post.member_id, []).append(post)
    return posts
