"""党员先锋工程: the branch's projects, each led by a party member and pushed milestone by milestone (节点式推进)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from peewee import JOIN

from models import Milestone, PioneerProject, Station, User, Well
from webapp import pioneer
from webapp.access import branch_asked, require_station, stations_in_scope
from webapp.periods import today_in
from webapp.htmx import is_htmx, render
from webapp.party import PartyError, branch_members, manages_branch

bp = Blueprint("projects", __name__, url_prefix="/projects")


def get_project(project_id: int) -> PioneerProject:
    """A project of the user's branch (an admin: of the work area); 404 outside the work area, 403 for another branch."""
    project = (PioneerProject.select(PioneerProject, Station, User).join(Station).switch(PioneerProject)
               .join(User, on=PioneerProject.leader).where(PioneerProject.id == project_id).first())
    require_station(current_user, project.station if project else None)
    return project


def _today():
    return today_in(current_app.config["TIMEZONE"])


@bp.route("/")
@login_required
def index():
    """The branch's projects with their progress, and the milestones the user is responsible for."""
    station = branch_asked(current_user, request.values)
    today = _today()
    projects = list(
        PioneerProject.select(PioneerProject, User, Well).join(User, on=PioneerProject.leader).switch(PioneerProject)
        .join(Well, JOIN.LEFT_OUTER, on=PioneerProject.well).where(PioneerProject.station == station)
        .order_by(PioneerProject.due_on, PioneerProject.id)
    )
    projects.sort(key=lambda p: p.status != "active")  # the active ones first, each part by due date
    mine = list(
        Milestone.select(Milestone, PioneerProject).join(PioneerProject)
        .where((Milestone.owner == current_user.id) & Milestone.done_at.is_null() & (PioneerProject.status == "active"))
        .order_by(Milestone.due_on)
    )
    return render_template("projects/index.html", station=station, stations=list(stations_in_scope(current_user)),
                           projects=projects, progress=pioneer.progress_of([p.id for p in projects], today), mine=mine,
                           today=today, is_overdue=pioneer.is_overdue, statuses=PioneerProject.STATUSES,
                           can_edit=manages_branch(current_user, station.id))


def _form_page(station: Station, status: int = 200, **context):
    """The project form (new or edit) with the branch's members to lead it and its wells."""
    members = list(branch_members(station))
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    return render_template("projects/form.html", station=station, members=members, wells=wells,
                           max_title=pioneer.MAX_TITLE, max_goal=pioneer.MAX_GOAL, **context), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    station = branch_asked(current_user, request.values)
    if not manages_branch(current_user, station.id):
        abort(403)
    form = request.form.to_dict() if request.method == "POST" else {"starts_on": _today().isoformat()}
    if request.method == "POST":
        try:
            project = pioneer.create_project(current_user._get_current_object(), station.id, form, _today())
        except PartyError as exc:
            return _form_page(station, 422, form=form, error=str(exc), project=None)
        flash(gettext("先锋工程已创建，请添加节点。"), "success")
        return redirect(url_for("projects.show", project_id=project.id))
    return _form_page(station, form=form, error=None, project=None)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def update(project_id: int):
    project = get_project(project_id)
    if not manages_branch(current_user, project.station_id):
        abort(403)
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            pioneer.update_project(current_user._get_current_object(), project, form, _today())
        except PartyError as exc:
            return _form_page(project.station, 422, form=form, error=str(exc), project=project)
        flash(gettext("已保存。"), "success")
        return redirect(url_for("projects.show", project_id=project.id))
    form = {"title": project.title, "goal": project.goal, "leader_id": str(project.leader_id),
            "well_id": str(project.well_id or ""), "starts_on": project.starts_on.isoformat(),
            "due_on": project.due_on.isoformat()}
    return _form_page(project.station, form=form, error=None, project=project)


def _show(project: PioneerProject, status: int = 200, **extra):
    """The project page, or only its milestones section for htmx."""
    milestones = list(Milestone.select(Milestone, User).join(User, on=Milestone.owner)
                      .where(Milestone.project == project).order_by(Milestone.sort_order, Milestone.id))
    today = _today()
    progress = pioneer.Progress(len(milestones), sum(1 for m in milestones if m.done_at),
                                sum(1 for m in milestones if pioneer.is_overdue(m, today)))
    can_edit = manages_branch(current_user, project.station_id)
    staff = list(User.select().where((User.station == project.station_id) & User.is_enabled)
                 .order_by(User.employee_no)) if can_edit and project.status == "active" else []
    context = {"project": project, "milestones": milestones, "progress": progress, "today": today, "can_edit": can_edit,
               "staff": staff, "may_complete": pioneer.may_complete, "is_overdue": pioneer.is_overdue,
               "statuses": PioneerProject.STATUSES, "max_title": pioneer.MAX_TITLE, "max_note": pioneer.MAX_NOTE,
               "error": None, "error_for": None, "form": {}, **extra}
    return render("projects/show.html", "projects/_milestones.html", status=status, **context)


@bp.route("/<int:project_id>")
@login_required
def show(project_id: int):
    return _show(get_project(project_id))


@bp.route("/<int:project_id>/status", methods=["POST"])
@login_required
def set_status(project_id: int):
    """The secretary marks the project done or cancelled (or active again)."""
    project = get_project(project_id)
    if not manages_branch(current_user, project.station_id):
        abort(403)
    try:
        pioneer.set_status(current_user._get_current_object(), project, request.form.get("status", ""))
    except PartyError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("项目状态：%(status)s。", status=PioneerProject.STATUSES[project.status]), "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.route("/<int:project_id>/milestones", methods=["POST"])
@login_required
def add_milestone(project_id: int):
    project = get_project(project_id)
    if not manages_branch(current_user, project.station_id):
        abort(403)
    form = request.form.to_dict()
    try:
        pioneer.add_milestone(current_user._get_current_object(), project, form)
    except PartyError as exc:
        return _show(project, 422, error=str(exc), error_for="new", form=form)
    if is_htmx():
        return _show(project)
    flash(gettext("节点已添加。"), "success")
    return redirect(url_for("projects.show", project_id=project.id) + "#milestones")


def _milestone(milestone_id: int) -> tuple[Milestone, PioneerProject]:
    """A milestone with its project, scoped like the project (unknown: 404; another branch: as get_project says)."""
    milestone = Milestone.get_or_none(Milestone.id == milestone_id)
    if milestone is None:
        abort(404)
    milestone.project = get_project(milestone.project_id)
    return milestone, milestone.project


@bp.route("/milestones/<int:milestone_id>", methods=["POST"])
@login_required
def edit_milestone(milestone_id: int):
    """The secretary corrects a node not yet reached: its content, owner or due date."""
    milestone, project = _milestone(milestone_id)
    if not manages_branch(current_user, project.station_id):
        abort(403)
    form = request.form.to_dict()
    try:
        pioneer.edit_milestone(current_user._get_current_object(), milestone, project, form)
    except PartyError as exc:
        return _show(project, 422, error=str(exc), error_for=f"edit-{milestone.id}", form=form)
    if is_htmx():
        return _show(project)
    flash(gettext("节点“%(title)s”已修改。", title=milestone.title), "success")
    return redirect(url_for("projects.show", project_id=project.id) + f"#milestone-{milestone.id}")


@bp.route("/milestones/<int:milestone_id>/done", methods=["POST"])
@login_required
def complete_milestone(milestone_id: int):
    """The owner, the leader or the secretary marks a milestone reached, with a note."""
    milestone, project = _milestone(milestone_id)
    if not pioneer.may_complete(current_user, milestone, project):
        abort(403)
    try:
        pioneer.complete_milestone(current_user._get_current_object(), milestone, request.form.get("note", ""))
    except PartyError as exc:
        return _show(project, 422, error=str(exc), error_for=milestone.id, form=request.form.to_dict())
    if is_htmx():
        return _show(project)
    flash(gettext("节点“%(title)s”已完成。", title=milestone.title), "success")
    return redirect(url_for("projects.show", project_id=project.id) + f"#milestone-{milestone.id}")
