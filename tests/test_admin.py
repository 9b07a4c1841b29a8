"""The admin's check templates and operating procedures: new versions, validation, access, reading on the phone."""
import io
import json

import pytest

from models import CheckTemplate, Photo, Procedure, db
from tests.conftest import DEMO_AREA, login
from tests.test_photos import jpeg


@pytest.fixture
def admin(client):
    login(client, "HN0001")
    return client


def form_from_template(kind, change=None):
    with db.connection_context():
        items = json.loads(CheckTemplate.current(kind, DEMO_AREA).items)
    data = {"rows": str(len(items) + 1)}
    for n, item in enumerate(items + [{}]):
        for field in ("code", "sense", "label", "hint", "unit", "normal_min", "normal_max", "limit_min", "limit_max"):
            value = item.get(field, "")
            data[f"items-{n}-{field}"] = "" if value is None else str(value)
    if change:
        change(data, len(items))
    return data


def test_admin_saves_a_new_template_version(admin):
    def add_brake(data, n):
        data[f"items-{n}-sense"] = "wang"
        data[f"items-{n}-label"] = "刹车完好、无自溜"
    response = admin.post("/admin/templates/pumping_unit", data=form_from_template("pumping_unit", add_brake))
    assert response.status_code == 302
    with db.connection_context():
        current = CheckTemplate.current("pumping_unit", DEMO_AREA)
        assert current.version == 2
        assert json.loads(current.items)[-1]["label"] == "刹车完好、无自溜"
        assert CheckTemplate.select().where(CheckTemplate.kind == "pumping_unit").count() == 2
    assert "第 2 版" in admin.get("/admin/templates/pumping_unit").get_data(as_text=True)


def test_deleting_an_item(admin):
    def drop_first(data, n):
        data["items-0-delete"] = "1"
    admin.post("/admin/templates/motor", data=form_from_template("motor", drop_first))
    with db.connection_context():
        assert "box" not in [i["code"] for i in json.loads(CheckTemplate.current("motor", DEMO_AREA).items)]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d, n: d.update({"items-0-normal_min": "abc"}), "测量项要填单位"),
        (lambda d, n: d.update({"items-0-normal_min": "90"}), "正常下限 ≤ 正常上限"),
        (lambda d, n: d.update({"items-0-sense": "smell"}), "请选择望、闻、听、摸或测"),
        (lambda d, n: d.update({"items-0-label": "长" * 41}), "不能超过 40 字"),
    ],
)
def test_bad_template_rows_are_explained(admin, change, message):
    def mutate(data, n):
        # Row 0 of the motor template becomes a 测 row when needed for the range checks.
        data["items-0-sense"] = "ce"
        data["items-0-unit"] = "A"
        data["items-0-normal_min"], data["items-0-normal_max"] = "5", "80"
        data["items-0-limit_min"], data["items-0-limit_max"] = "0", "300"
        change(data, n)
    response = admin.post("/admin/templates/motor", data=form_from_template("motor", mutate))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with db.connection_context():
        assert CheckTemplate.current("motor", DEMO_AREA).version == 1


def test_template_needs_an_item(admin):
    response = admin.post("/admin/templates/motor", data={"rows": "1", "items-0-label": ""})
    assert response.status_code == 422 and "至少要有一个检查项" in response.get_data(as_text=True)


@pytest.mark.parametrize("employee_no", ["HN1001", "HN1002", "HN1003"])
def test_only_admins_edit(client, employee_no):
    login(client, employee_no)
    assert client.get("/admin/").status_code == 403
    assert client.post("/admin/templates/motor", data={"rows": "0"}).status_code == 403
    assert client.post("/admin/procedures/operation:bie", data={"title": "x", "body": "y"}).status_code == 403


def test_unknown_kind_or_topic(admin):
    assert admin.get("/admin/templates/spaceship").status_code == 404
    assert admin.get("/admin/procedures/operation:nope").status_code == 404
    assert admin.get("/procedures/<script>").status_code == 404


def test_procedure_versions_with_a_shared_picture(app, admin):
    response = admin.post(
        "/admin/procedures/operation:bie",
        data={"title": "憋压操作规程（修订）", "body": "第一步\n第二步 <b>关阀</b>", "photos": (io.BytesIO(jpeg(800, 600)), "valve.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with db.connection_context():
        current = Procedure.current("operation:bie", DEMO_AREA)
        assert current.version == 2 and current.title == "憋压操作规程（修订）"
        photo = Photo.get()
        assert photo.shared
    worker = app.test_client()
    login(worker, "HN2003")  # another station: procedures and their pictures are for everyone
    page = worker.get("/procedures/operation:bie").get_data(as_text=True)
    assert "第 2 版" in page and "&lt;b&gt;关阀&lt;/b&gt;" in page and f"/photos/{photo.uuid}.jpg" in page
    with worker.get(f"/photos/{photo.uuid}.jpg") as picture:
        assert picture.status_code == 200


@pytest.mark.parametrize(
    "data, message",
    [
        ({"title": "", "body": "x"}, "请填写标题"),
        ({"title": "x", "body": ""}, "请填写规程内容"),
        ({"title": "x" * 81, "body": "y"}, "标题不能超过"),
        ({"title": "x", "body": "y" * 20001}, "规程内容不能超过"),
    ],
)
def test_bad_procedures_are_explained(admin, data, message):
    response = admin.post("/admin/procedures/operation:xi", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_not_a_photo_for_a_procedure(admin):
    response = admin.post("/admin/procedures/operation:xi", data={"title": "x", "body": "y", "photos": (io.BytesIO(b"text"), "a.jpg")},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and "这不是照片" in response.get_data(as_text=True)


def test_procedures_list_and_links(admin):
    page = admin.get("/procedures/").get_data(as_text=True)
    assert "抽油机检查规程" in page and "尚未编写" in page
    assert "/procedures/operation:bie" in admin.get("/w/" + __import__("tests.conftest", fromlist=["get_well"]).get_well("海1-02").qr_token).get_data(as_text=True)


def test_service_worker_lists_the_offline_pages(client):
    body = client.get("/sw.js").get_data(as_text=True)
    assert '"/procedures/operation:bie"' in body and '"/checks/new"' in body and "__" not in body.split("const SHELL")[0]


def test_shift_settings(app, client):
    from models import WorkArea

    login(client, "HN0001")
    page = client.get("/admin/shifts").get_data(as_text=True)
    assert "白班 08:00–20:00" in page
    saved = client.post("/admin/shifts", data={"preset": "08:00-16:00 16:00-00:00 00:00-08:00"})
    assert saved.status_code == 302
    with db.connection_context():
        assert WorkArea.get().shifts == "08:00-16:00 16:00-00:00 00:00-08:00"
    assert "中班" in client.get("/review/?station=2").get_data(as_text=True)
    custom = client.post("/admin/shifts", data={"preset": "08:00-20:00 20:00-08:00", "custom": " 07:30-19:30   19:30-07:30 "})
    assert custom.status_code == 302
    with db.connection_context():
        assert WorkArea.get().shifts == "07:30-19:30 19:30-07:30"


@pytest.mark.parametrize("custom, message", [
    ("08:00-20:00", "24 小时"), ("8:00-20:00 20:00-8:00", "HH:MM"), ("08:00-20:00 21:00-09:00", "首尾相接"),
    ("<script>", "HH:MM"), ("08:00-20:00 " * 40, ""), ("25:00-01:00", "HH:MM"),
])
def test_bad_shift_settings_are_refused_and_kept(app, client, custom, message):
    from models import WorkArea

    login(client, "HN0001")
    response = client.post("/admin/shifts", data={"custom": custom})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body and "<script>" not in body.split("<main")[-1].replace("</script>", "")
    with db.connection_context():
        assert WorkArea.get().shifts == "08:00-20:00 20:00-08:00"


def test_only_admins_set_shifts(app, client):
    login(client, "HN1001")
    assert client.get("/admin/shifts").status_code == 403
    assert client.post("/admin/shifts", data={"preset": "08:00-16:00 16:00-00:00 00:00-08:00"}).status_code == 403
