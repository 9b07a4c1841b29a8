"""采油厂: the plant admin's overview of every work area, opening a new work area, and the wall between work areas."""
import pytest

from models import AuthEvent, Station, User, Well, WorkArea, db
from tests.conftest import login
from tests.scope_objects import snapshot
from tests.test_scope import id_routes
from webapp.plants import area_overview, create_work_area

PLANT_ADMIN = "HN0003"


def new_area(client, **fields):
    data = {"name": "海北作业区", "admin_employee_no": "HB0001", "admin_name": "赵管理", **fields}
    return client.post("/plant/areas", data=data)


@pytest.fixture
def plant_admin(app):
    client = app.test_client()
    login(client, PLANT_ADMIN)
    return client


def test_the_plant_admin_sees_every_work_area_with_the_figures_of_its_own_overview(app, plant_admin):
    page = plant_admin.get("/plant/").get_data(as_text=True)
    assert "演示采油厂" in page and "海南作业区" in page
    with db.connection_context():
        area = WorkArea.get(WorkArea.name == "海南作业区")
        expected = area_overview(area, app.config["TIMEZONE"], __import__("models").utcnow())
    assert f"{expected['totals']['coverage']:.0f}%" in page
    detail = plant_admin.get(f"/plant/areas/{area.id}").get_data(as_text=True)
    for row in expected["rows"]:
        assert row["station"].name in detail
    # The overview only: the plant admin opens no station's records through it.
    assert "/review/?station=" not in detail


def test_only_plant_admins(app):
    admin = app.test_client()
    login(admin, "HN0001")
    assert admin.get("/plant/").status_code == 403
    assert new_area(admin).status_code == 403
    assert app.test_client().get("/plant/").status_code == 302


def test_a_new_work_area_starts_with_its_admin_on_a_one_time_password(app, plant_admin):
    response = new_area(plant_admin)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    password = page.split('class="one-time-password"><code>')[1].split("</code>")[0]
    with db.connection_context():
        area = WorkArea.get(WorkArea.name == "海北作业区")
        admin = User.get(User.employee_no == "HB0001")
        assert area.plant.name == "演示采油厂" and area.party_org_name == "海北作业区党总支"
        assert admin.work_area_id == area.id and admin.roles == {"admin", "worker"} and admin.must_change_password
        assert [s.name for s in Station.select().where(Station.work_area == area)] == ["机关"]
        assert AuthEvent.select().where(AuthEvent.event == "work_area_created").count() == 1
    newcomer = app.test_client()
    assert login(newcomer, "HB0001", password).headers["Location"] == "/"
    assert newcomer.get("/").headers["Location"] == "/password"
    newcomer.post("/password", data={"current_password": password, "new_password": "haibei-wells-2026",
                                     "confirm_password": "haibei-wells-2026"})
    # The new work area is empty, and the old one is out of its sight.
    assert newcomer.get("/admin/onboarding/").status_code == 200
    with db.connection_context():
        other_well = Well.select().first()
    assert newcomer.get(f"/wells/{other_well.id}").status_code == 404
    assert newcomer.get("/wells/").get_data(as_text=True).count("/wells/") < 5
    # The plant admin's table now has both.
    assert "海北作业区" in plant_admin.get("/plant/").get_data(as_text=True)


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "请填写作业区名称"),
    ({"name": "海南作业区"}, "已有名为“海南作业区”的作业区"),
    ({"name": "名" * 61}, "不能超过 60 字"),
    ({"admin_employee_no": "HN1001"}, "工号“HN1001”已被使用"),
    ({"admin_employee_no": "HB 01;--"}, "管理员工号应为"),
    ({"admin_name": ""}, "请填写管理员姓名"),
    ({"shifts": "08:00-19:00"}, "班次：各班次加起来应为 24 小时"),
    ({"name": "<script>alert(1)</script>", "admin_name": "<b>x</b>", "admin_employee_no": "HN1001"}, "已被使用"),
])
def test_bad_forms_are_refused_whole_with_the_reason(app, plant_admin, fields, message):
    with db.connection_context():
        before = (WorkArea.select().count(), User.select().count(), Station.select().count())
    response = new_area(plant_admin, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page  # what was typed comes back escaped
    with db.connection_context():
        assert (WorkArea.select().count(), User.select().count(), Station.select().count()) == before


def test_the_plant_admin_renames_the_plant(app, plant_admin):
    response = plant_admin.post("/plant/name", data={"name": "  海南采油厂  "})
    assert response.status_code == 303
    page = plant_admin.get("/plant/").get_data(as_text=True)
    assert "采油厂名称已改为“海南采油厂”。" in page and "海南采油厂 · 各作业区概览" in page
    with db.connection_context():
        from models import Plant

        assert Plant.get_by_id(plant_of_admin()).name == "海南采油厂"
        event = AuthEvent.select().where(AuthEvent.event == "plant_renamed").get()
        assert event.employee_no == PLANT_ADMIN and event.detail == "演示采油厂 → 海南采油厂"


def plant_of_admin() -> int:
    return User.get(User.employee_no == PLANT_ADMIN).work_area.plant_id


@pytest.mark.parametrize("name, message", [
    ("", "请填写采油厂名称。"), ("   \x00\t ", "请填写采油厂名称。"), ("厂" * 61, "采油厂名称不能超过 60 字。"),
    ("别的采油厂", "已有名为“别的采油厂”的采油厂。"), ("<script>alert(1)</script>" + "x" * 100, "采油厂名称不能超过 60 字。"),
])
def test_a_bad_plant_name_is_refused_and_nothing_changes(app, plant_admin, name, message):
    with db.connection_context():
        from models import Plant

        Plant.create(name="别的采油厂")
    response = plant_admin.post("/plant/name", data={"name": name})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page and 'aria-invalid="true"' in page
    assert "<script>alert(1)</script>" not in page  # what was typed comes back escaped
    with db.connection_context():
        from models import Plant

        assert Plant.get_by_id(plant_of_admin()).name == "演示采油厂"


def test_only_the_plant_admin_renames_and_only_with_the_forms_token(app, plant_admin):
    admin = app.test_client()
    login(admin, "HN0001")
    assert admin.post("/plant/name", data={"name": "我的采油厂"}).status_code == 403
    assert app.test_client().post("/plant/name", data={"name": "我的采油厂"}).status_code == 302  # to the login
    assert plant_admin.post("/plant/name", data={"name": "我的采油厂"}, csrf=False).status_code in (400, 403)
    with db.connection_context():
        from models import Plant

        assert Plant.get_by_id(plant_of_admin()).name == "演示采油厂"


def test_another_plants_work_area_is_unknown(app, plant_admin):
    with db.connection_context():
        from models import Plant

        other = Plant.create(name="别的采油厂")
        foreign = WorkArea.create(name="外厂作业区", party_org_name="外厂党总支", plant=other)
    assert plant_admin.get(f"/plant/areas/{foreign.id}").status_code == 404
    assert plant_admin.get("/plant/areas/99999999").status_code == 404
    assert "外厂作业区" not in plant_admin.get("/plant/").get_data(as_text=True)


# Routes whose answer does not depend on the work area: the public card (its token is the secret) and files.
OPEN_TO_ALL = {"cards.public": 200, "cards.public_photo": 404, "static": 200, "procedures.show": 200, "pwa.icon": 200,
               "pwa.script_messages": 200}
# Keyed by an equipment kind or procedure topic, not an object: each admin edits their own work area's version
# (test_an_edited_template_is_the_editors_work_areas_only).
OWN_AREA_KEYED = {"admin.edit_template", "admin.edit_procedure", "admin.edit_readings"}


@pytest.mark.parametrize("who", ["HN0001", PLANT_ADMIN])
def test_nothing_of_another_work_area_opens_by_its_ids(app, station2, who):
    """Station 2 and its people move to a work area of their own: from the first work area, its admin and the
    plant's admin are refused every page, photo, export and action with station 2's ids, and nothing changes."""
    with db.connection_context():
        area = WorkArea.get(WorkArea.name == "海南作业区")
        created = create_work_area(area.plant_id, {"name": "海北作业区", "admin_employee_no": "HB0001", "admin_name": "赵管理"})
        Station.update(work_area=created.area.id).where(Station.id == station2["station_id"]).execute()
        User.update(work_area=created.area.id).where(User.station == station2["station_id"]).execute()
    client = app.test_client()
    login(client, who)
    before = snapshot()
    for rule, method in id_routes(app):
        if rule.endpoint in OWN_AREA_KEYED:
            continue
        objects = {**station2, "area_id": created.area.id}
        url = app.url_map.bind("localhost").build(rule.endpoint, {"station": station2["station_id"],
                                                                  **{a: objects[a] for a in rule.arguments}})
        response = client.open(url, method=method, data={"decision": "approve", "comment": "x", "note": "x",
                                                         "action": "assign", "rating": "good"})
        expected = OPEN_TO_ALL.get(rule.endpoint) if method == "GET" else None
        if rule.endpoint == "plant.area" and who == PLANT_ADMIN:
            expected = 200  # the overview of every work area of the plant is the plant admin's page
        if expected is not None:
            assert response.status_code == expected, (rule.rule, response.status_code)
        else:
            assert response.status_code in (403, 404), (who, method, rule.rule, response.status_code)
        response.close()
    assert snapshot() == before


def test_an_edited_template_procedure_and_rules_are_the_editors_work_areas_only(app):
    """Reference data an admin edits changes their own work area: the other work areas keep the shared defaults."""
    import json
    from datetime import date

    from models import CheckTemplate, Procedure
    from webapp.assessment import DEFAULT_RULES, rule_versions, save_rules
    from webapp.checks import save_template
    from webapp.procedures import save_procedure

    with db.connection_context():
        home = WorkArea.get(WorkArea.name == "海南作业区")
        created = create_work_area(home.plant_id, {"name": "海北作业区", "admin_employee_no": "HB0001", "admin_name": "赵管理"})
        shared_template = CheckTemplate.current("pumping_unit", home.id)
        shared_procedure = Procedure.current("operation:bie", home.id)
        items = [{"code": "x", "sense": "look", "label": "只看一项", "normal": "", "hint": ""}]
        mine = save_template("pumping_unit", items, created.admin)
        procedure = save_procedure("operation:bie", "海北憋压规程", "正文", [], created.admin)
        rules = save_rules(date(2099, 1, 1), DEFAULT_RULES[:1], created.admin)
        assert CheckTemplate.current("pumping_unit", created.area.id).id == mine.id
        assert CheckTemplate.current("pumping_unit", home.id).id == shared_template.id
        assert Procedure.current("operation:bie", created.area.id).id == procedure.id
        assert Procedure.current("operation:bie", home.id).id == shared_procedure.id
        assert [v.version for v in rule_versions(home.id)] == [1] and rules.version == 2
    # A phone of the first work area cannot send a check on the other work area's template.
    with db.connection_context():
        well = Well.select().join(Station).where(Station.work_area == home.id).first()
    worker = app.test_client()
    login(worker, "HN1003")
    templates = worker.get("/api/v1/check-templates").json
    assert "只看一项" not in json.dumps(templates, ensure_ascii=False)
    from tests.test_checks import check_record
    from tests.test_sync import batch, post

    record = check_record(well.code)
    record["data"]["template_id"] = mine.id
    [result] = post(worker, batch(record)).json["results"]
    assert result["status"] == "rejected" and result["error"]["code"] == "unknown_template"


def test_the_command_line_opens_a_work_area_for_a_fresh_install(app, runner):
    result = runner.invoke(args=["create-work-area", "海北作业区", "--plant", "新采油厂", "--admin-no", "hb0001",
                                 "--admin-name", "赵管理"])
    assert result.exit_code == 0, result.output
    password = result.output.split("一次性初始密码：")[1].split()[0]
    assert login(app.test_client(), "HB0001", password).status_code == 302
    with db.connection_context():
        assert WorkArea.get(WorkArea.name == "海北作业区").plant.name == "新采油厂"
    again = runner.invoke(args=["create-work-area", "海北作业区", "--admin-no", "HB0002", "--admin-name", "钱"])
    assert again.exit_code != 0 and "已有名为“海北作业区”的作业区" in again.output
    runner.invoke(args=["create-work-area", "海东作业区", "--admin-no", "HD0001", "--admin-name", "孙管理"])
    # Two work areas now have a 机关: create-user must be told which.
    ambiguous = runner.invoke(args=["create-user", "--employee-no", "CY0001", "--name", "李四", "--station", "机关",
                                    "--role", "plant_admin", "--password", "plant-admin-2026"])
    assert ambiguous.exit_code != 0 and "--work-area" in ambiguous.output
    chosen = runner.invoke(args=["create-user", "--employee-no", "CY0001", "--name", "李四", "--station", "机关",
                                 "--work-area", "海北作业区", "--role", "plant_admin", "--password", "plant-admin-2026"])
    assert chosen.exit_code == 0, chosen.output
