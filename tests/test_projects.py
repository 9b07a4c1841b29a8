"""党员先锋工程 with their milestones, and 党员示范岗 on the 三亮 card: who edits, who marks done, who reads."""
from datetime import timedelta

import pytest
from playhouse.test_utils import count_queries

from models import Milestone, ModelPost, PioneerProject, User, db
from tests.conftest import get_user, get_well, login
from webapp.periods import today_in

HTMX = {"HX-Request": "true"}


def today():
    return today_in("Asia/Shanghai")


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def as_user(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    return client


def project_form(**changes):
    return {"title": "海1-05 产量恢复", "goal": "三个月内恢复到 8 t/d", "leader_id": str(get_user("HN1004").id),
            "well_id": str(get_well("海1-05").id), "starts_on": day(-5), "due_on": day(60), **changes}


def create(client, **changes):
    return client.post("/projects/new", data=project_form(**changes))


def latest_project() -> PioneerProject:
    with db.connection_context():
        return PioneerProject.select().order_by(PioneerProject.id.desc()).first()


def milestones(project_id) -> list[Milestone]:
    with db.connection_context():
        return list(Milestone.select().where(Milestone.project == project_id).order_by(Milestone.sort_order))


def add(client, project_id, title="完成憋压诊断", owner="HN1003", due=10, **headers):
    return client.post(f"/projects/{project_id}/milestones", headers=headers,
                       data={"title": title, "owner_id": str(get_user(owner).id), "due_on": day(due)})


def done(client, milestone_id, note="已完成憋压，泵漏失", **headers):
    return client.post(f"/projects/milestones/{milestone_id}/done", data={"note": note}, headers=headers)


@pytest.fixture
def project(app):
    """A project of 海南一号站 led by HN1004, with milestones owned by HN1003 (due in 10 days) and HN1005 (in 30)."""
    secretary = as_user(app, "HN1002")
    assert create(secretary).status_code == 302
    made = latest_project()
    assert add(secretary, made.id).status_code == 302
    assert add(secretary, made.id, "恢复生产并连续稳产两周", owner="HN1005", due=30).status_code == 302
    return made


def test_secretary_creates_a_project_with_milestones(app, project):
    assert (project.title, project.leader_id, project.well_id, project.status) == (
        "海1-05 产量恢复", get_user("HN1004").id, get_well("海1-05").id, "active")
    assert project.created_by_id == get_user("HN1002").id
    first, second = milestones(project.id)
    assert (first.title, first.owner_id, first.sort_order) == ("完成憋压诊断", get_user("HN1003").id, 1)
    assert second.sort_order == 2
    page = as_user(app, "HN1003").get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'max="2" value="0"' in page and "节点（0/2）" in page and "海1-05" in page
    listing = as_user(app, "HN1003").get("/projects/").get_data(as_text=True)
    assert "海1-05 产量恢复" in listing and "0/2 个节点" in listing and "我负责的节点" in listing


def test_owner_marks_their_milestone_done_with_a_note(app, project):
    first, _ = milestones(project.id)
    owner = as_user(app, "HN1003")
    refused = done(owner, first.id, note=" \x00 ", **HTMX)
    assert refused.status_code == 422 and "请写明完成情况" in refused.get_data(as_text=True)
    response = done(owner, first.id, **HTMX)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="milestones"' in fragment and 'max="2" value="1"' in fragment
    first = milestones(project.id)[0]
    assert first.done_at is not None and first.done_note == "已完成憋压，泵漏失"
    assert done(owner, first.id, **HTMX).status_code == 422  # once only


@pytest.mark.parametrize("employee_no, expected", [
    ("HN1005", 200),  # owns the milestone
    ("HN1004", 200),  # leads the project
    ("HN1002", 200),  # the branch's secretary
    ("HN0001", 200),  # an admin of the work area
    ("HN1006", 403),  # a member of the branch, nothing to do with it
    ("HN1001", 403),  # the station's leader
    ("HN2002", 404),  # another branch's secretary: like an unknown id
])
def test_who_marks_a_milestone_done(app, project, employee_no, expected):
    _, second = milestones(project.id)
    assert done(as_user(app, employee_no), second.id, **HTMX).status_code == expected
    assert (milestones(project.id)[1].done_at is not None) == (expected == 200)


def test_overdue_milestones_and_projects_are_flagged(app):
    secretary = as_user(app, "HN1002")
    create(secretary, title="一号站无隐患季度", well_id="", starts_on=day(-90), due_on=day(-1))
    made = latest_project()
    assert add(secretary, made.id, "第一个月排查", due=-60).status_code == 302
    assert add(secretary, made.id, "第二个月排查", due=-30).status_code == 302
    done(secretary, milestones(made.id)[1].id)
    page = secretary.get(f"/projects/{made.id}").get_data(as_text=True)
    assert page.count("⚠ 已超期") == 1 and "1 个节点超期" in page and "项目已超期" in page
    listing = secretary.get("/projects/").get_data(as_text=True)
    assert "⚠ 1 个节点超期" in listing and "⚠ 项目已超期" in listing


@pytest.mark.parametrize("changes, message", [
    ({"title": ""}, "请填写项目名称"),
    ({"title": "长" * 81}, "项目名称不能超过 80 字"),
    ({"goal": "长" * 501}, "项目目标不能超过 500 字"),
    ({"due_on": day(-10)}, "完成期限不能早于开始日期"),
    ({"starts_on": "2026-02-30"}, "年-月-日"),
    ({"due_on": "明天"}, "年-月-日"),
    ({"starts_on": "1999-12-31"}, "2000 年以后"),
    ({"due_on": day(366 * 6)}, "5 年以后"),
    ({"leader_id": ""}, "请选择本支部的一名党员牵头"),
    ({"leader_id": "99999999999999999999"}, "请选择本支部的一名党员牵头"),
    ({"leader_id": "HN2003"}, "请选择本支部的一名党员牵头"),  # another branch's member
    ({"leader_id": "non-member"}, "请选择本支部的一名党员牵头"),
    ({"well_id": "海2-01"}, "请选择本站的井"),
])
def test_project_fields_are_checked(app, changes, message):
    changes = dict(changes)  # the parameters are shared by the SQLite and PostgreSQL runs
    if changes.get("leader_id") == "HN2003":
        changes["leader_id"] = str(get_user("HN2003").id)
    elif changes.get("leader_id") == "non-member":
        with db.connection_context():
            station = get_user("HN1002").station_id
            changes["leader_id"] = str(User.get((User.station == station) & ~User.is_party_member).id)
    if changes.get("well_id"):
        changes["well_id"] = str(get_well(changes["well_id"]).id)
    response = create(as_user(app, "HN1002"), **changes)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert latest_project() is None


@pytest.mark.parametrize("title, due, message", [
    ("", 10, "请填写节点内容"),
    ("节" * 81, 10, "节点内容不能超过 80 字"),
    ("提前开始", -6, "节点期限应在项目起止日期内"),
    ("超出期限", 61, "节点期限应在项目起止日期内"),
])
def test_milestone_fields_are_checked(app, project, title, due, message):
    response = add(as_user(app, "HN1002"), project.id, title, due=due, **HTMX)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert len(milestones(project.id)) == 2


def edit(client, milestone_id, title="完成憋压与碰泵诊断", owner="HN1005", due=20, **headers):
    return client.post(f"/projects/milestones/{milestone_id}", headers=headers,
                       data={"title": title, "owner_id": str(get_user(owner).id), "due_on": day(due)})


def test_the_secretary_corrects_a_milestone_not_yet_reached(app, project):
    first, _ = milestones(project.id)
    secretary = as_user(app, "HN1002")
    page = secretary.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "修改节点" in page and f'value="{first.title}"' in page  # the form starts from what is there
    fragment = edit(secretary, first.id, **HTMX)
    assert fragment.status_code == 200 and 'id="milestones"' in fragment.get_data(as_text=True)
    first = milestones(project.id)[0]
    assert (first.title, first.owner_id, first.due_on.isoformat()) == ("完成憋压与碰泵诊断", get_user("HN1005").id, day(20))
    assert edit(secretary, first.id).status_code == 302  # without htmx: back to the page, said in a flash


@pytest.mark.parametrize("title, owner, due, message", [
    ("", "HN1003", 10, "请填写节点内容"),
    ("节" * 81, "HN1003", 10, "节点内容不能超过 80 字"),
    ("<script>alert(1)</script>", "HN1003", 61, "节点期限应在项目起止日期内"),
    ("换人", "HN2003", 10, "请选择本站的一名责任人"),
])
def test_a_wrong_milestone_correction_is_refused_and_nothing_changes(app, project, title, owner, due, message):
    first, _ = milestones(project.id)
    response = edit(as_user(app, "HN1002"), first.id, title, owner, due, **HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert "<script>alert(1)</script>" not in page  # what was typed comes back escaped, in the open form
    assert milestones(project.id)[0].title == first.title and milestones(project.id)[0].due_on == first.due_on


@pytest.mark.parametrize("employee_no, expected", [
    ("HN1003", 403),  # owns the milestone: marks it done, does not rewrite it
    ("HN1004", 403),  # leads the project
    ("HN1001", 403),  # the station's leader
    ("HN2002", 404),  # another branch's secretary: like an unknown id
])
def test_only_the_branch_secretary_corrects_milestones(app, project, employee_no, expected):
    first, _ = milestones(project.id)
    assert edit(as_user(app, employee_no), first.id).status_code == expected
    assert milestones(project.id)[0].title == first.title
    assert edit(as_user(app, "HN1002"), 987654321).status_code == 404


def test_a_reached_milestone_is_not_corrected(app, project):
    first, _ = milestones(project.id)
    assert done(as_user(app, "HN1003"), first.id).status_code == 302
    response = edit(as_user(app, "HN1002"), first.id, **HTMX)
    assert response.status_code == 422 and "已完成的节点不能修改" in response.get_data(as_text=True)
    assert milestones(project.id)[0].title == first.title


def test_milestone_owner_must_be_of_the_branch(app, project):
    response = add(as_user(app, "HN1002"), project.id, owner="HN2003")
    assert response.status_code == 422 and "请选择本站的一名责任人" in response.get_data(as_text=True)


def test_project_status_done_only_when_every_milestone_is(app, project):
    secretary = as_user(app, "HN1002")
    secretary.post(f"/projects/{project.id}/status", data={"status": "done"})
    assert latest_project().status == "active"
    assert "还有 2 个节点未完成" in secretary.get(f"/projects/{project.id}").get_data(as_text=True)
    for milestone in milestones(project.id):
        done(secretary, milestone.id)
    secretary.post(f"/projects/{project.id}/status", data={"status": "done"})
    assert latest_project().status == "done"
    assert add(secretary, project.id).status_code == 422  # finished: no new milestones
    secretary.post(f"/projects/{project.id}/status", data={"status": "cancelled"})
    assert latest_project().status == "cancelled"
    secretary.post(f"/projects/{project.id}/status", data={"status": "nonsense"})
    assert latest_project().status == "cancelled"


def test_a_cancelled_projects_milestones_stay_as_they_were(app, project):
    secretary = as_user(app, "HN1002")
    secretary.post(f"/projects/{project.id}/status", data={"status": "cancelled"})
    first = milestones(project.id)[0]
    response = done(as_user(app, "HN1003"), first.id, **HTMX)
    assert response.status_code == 422 and "项目已结束" in response.get_data(as_text=True)


def test_secretary_edits_a_project_within_its_milestones(app, project):
    secretary = as_user(app, "HN1002")
    form = secretary.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert 'value="海1-05 产量恢复"' in form
    response = secretary.post(f"/projects/{project.id}/edit", data=project_form(due_on=day(20)))
    assert response.status_code == 422 and "有 1 个节点的期限不在新的起止日期内" in response.get_data(as_text=True)
    response = secretary.post(f"/projects/{project.id}/edit", data=project_form(title="海1-05 产量恢复攻关", due_on=day(90)))
    assert response.status_code == 302
    assert (latest_project().title, latest_project().due_on.isoformat()) == ("海1-05 产量恢复攻关", day(90))


@pytest.mark.parametrize("employee_no", ["HN1003", "HN1001", "HN1004", "HN2002"])
def test_only_the_branch_secretary_edits(app, project, employee_no):
    client = as_user(app, employee_no)
    before = [(m.id, m.done_at) for m in milestones(project.id)]
    if employee_no != "HN2002":  # who creates in their own branch (another branch: the test below)
        assert client.get("/projects/new").status_code == 403
        assert create(client).status_code == 403
    refused = 404 if employee_no == "HN2002" else 403  # another branch's project: like an unknown id
    assert client.get(f"/projects/{project.id}/edit").status_code == refused
    assert client.post(f"/projects/{project.id}/edit", data=project_form(title="改名")).status_code == refused
    assert client.post(f"/projects/{project.id}/status", data={"status": "cancelled"}).status_code == refused
    assert add(client, project.id).status_code == refused
    assert latest_project().title == project.title and latest_project().status == "active"
    assert [(m.id, m.done_at) for m in milestones(project.id)] == before


def test_another_branch_secretary_cannot_create_for_this_branch(app):
    station = get_user("HN1002").station_id
    response = as_user(app, "HN2002").post(f"/projects/new?station={station}", data=project_form())
    assert response.status_code == 404 and latest_project() is None


@pytest.mark.parametrize("employee_no, expected", [
    ("HN1003", 200), ("HN1009", 200), ("HN1001", 200), ("HN0001", 200),  # the branch's people and the work area
    ("HN2003", 404), ("HN2002", 404),  # another branch: like an unknown id
])
def test_members_read_their_branchs_projects_only(app, project, employee_no, expected):
    client = as_user(app, employee_no)
    assert client.get(f"/projects/{project.id}").status_code == expected
    station = get_user("HN1002").station_id
    assert client.get(f"/projects/?station={station}").status_code == expected
    if expected == 404:
        assert "海1-05 产量恢复" not in client.get("/projects/").get_data(as_text=True)


def test_unknown_ids_are_404(app):
    client = as_user(app, "HN1002")
    for path in ("/projects/999999", "/projects/999999/edit", "/projects/99999999999999999999999"):
        assert client.get(path).status_code == 404, path
    assert done(client, 999999).status_code == 404


def test_admin_creates_for_a_chosen_branch(app):
    station = get_user("HN1002").station_id
    admin = as_user(app, "HN0001")
    assert 'name="station"' in admin.get(f"/projects/new?station={station}").get_data(as_text=True)
    assert admin.post("/projects/new", data={**project_form(), "station": str(station)}).status_code == 302
    assert latest_project().station_id == station


def test_user_text_is_shown_as_text(app, project):
    secretary = as_user(app, "HN1002")
    secretary.post(f"/projects/{project.id}/edit", data=project_form(title="<b>加粗</b>", goal="<script>alert(1)</script>"))
    add(secretary, project.id, title="<img src=x onerror=alert(2)>")
    done(as_user(app, "HN1003"), milestones(project.id)[0].id, note="<a href=javascript:alert(3)>完成</a>")
    page = secretary.get(f"/projects/{project.id}").get_data(as_text=True)
    listing = secretary.get("/projects/").get_data(as_text=True)
    for text in (page, listing):
        assert "&lt;b&gt;加粗&lt;/b&gt;" in text and "<b>加粗" not in text
    assert "&lt;script&gt;alert(1)" in page and "<script>alert" not in page
    assert "&lt;img src=x" in page and "<img src=x" not in page
    assert "&lt;a href=javascript" in page and "<a href=javascript" not in page


def test_project_list_costs_the_same_queries_for_one_or_many(app, project):
    secretary = as_user(app, "HN1002")

    def counted():
        with count_queries() as counter:
            assert secretary.get("/projects/").status_code == 200
        return counter.count

    one = counted()
    for n in range(3):
        create(secretary, title=f"项目{n}", well_id="")
        add(secretary, latest_project().id, owner="HN1002")
    assert counted() == one


# 党员示范岗

def post_for(client, employee_no, title="安全生产党员示范岗"):
    return client.post("/posts/", data={"member_id": str(get_user(employee_no).id), "title": title})


def current_titles(employee_no) -> list[str]:
    with db.connection_context():
        rows = ModelPost.select().where((ModelPost.member == get_user(employee_no).id) & ModelPost.end_date.is_null())
        return [p.title for p in rows]


def test_model_post_shows_on_the_full_and_the_public_card_and_ends_with_history(app):
    secretary = as_user(app, "HN1002")
    assert post_for(secretary, "HN1003").status_code == 302
    assert post_for(secretary, "HN1003", "技术革新党员示范岗").status_code == 302
    assert current_titles("HN1003") == ["安全生产党员示范岗", "技术革新党员示范岗"]
    post_for(secretary, "HN1003")  # the same post twice is refused
    assert len(current_titles("HN1003")) == 2
    member = as_user(app, "HN1003")
    assert "安全生产党员示范岗" in member.get("/cards/me").get_data(as_text=True)
    token = get_user("HN1003").card_token
    public = app.test_client().get(f"/c/{token}").get_data(as_text=True)
    assert "党员示范岗" in public and "安全生产党员示范岗" in public and "技术革新党员示范岗" in public
    assert member.get(f"/cards/{get_user('HN1003').id}/badge.png").status_code == 200
    with db.connection_context():
        first = ModelPost.get(ModelPost.title == "安全生产党员示范岗")
    assert secretary.post(f"/posts/{first.id}/end").status_code == 302
    assert current_titles("HN1003") == ["技术革新党员示范岗"]
    with db.connection_context():
        assert ModelPost.get_by_id(first.id).end_date == today()
    assert "安全生产党员示范岗" not in app.test_client().get(f"/c/{token}").get_data(as_text=True)
    history = secretary.get("/posts/").get_data(as_text=True)
    assert f"安全生产党员示范岗 {first.start_date.isoformat()} — {today().isoformat()}" in history


def test_model_post_rules(app):
    secretary = as_user(app, "HN1002")
    with db.connection_context():
        non_member = User.get((User.station == get_user("HN1002").station_id) & ~User.is_party_member)
    secretary.post("/posts/", data={"member_id": str(non_member.id), "title": "示范岗"})
    post_for(secretary, "HN1004", "")
    post_for(secretary, "HN1004", "长" * 61)
    with db.connection_context():
        assert ModelPost.select().count() == 0
    assert post_for(secretary, "HN2003").status_code == 404  # another branch's member: like an unknown id
    assert secretary.post("/posts/", data={"member_id": "99999999999999999999", "title": "x"}).status_code == 404
    for employee_no in ("HN1003", "HN1001"):
        client = as_user(app, employee_no)
        assert client.get("/posts/").status_code == 403
        assert post_for(client, "HN1004").status_code == 403
    assert as_user(app, "HN2002").get(f"/posts/?station={get_user('HN1002').station_id}").status_code == 404
    post_for(secretary, "HN1004")
    with db.connection_context():
        post = ModelPost.get()
    assert as_user(app, "HN2002").post(f"/posts/{post.id}/end").status_code == 404
    assert secretary.post("/posts/999999/end").status_code == 404
    assert current_titles("HN1004") == ["安全生产党员示范岗"]
