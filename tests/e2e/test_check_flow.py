"""Equipment check by 望闻听摸测 and hazards on the phone: offline with a photo, then synced once."""
import io
import re

from PIL import Image
from playwright.sync_api import expect

from models import EquipmentCheck, Hazard, Photo, db
from tests.e2e.test_patrol_flow import scan, station_well_count, sync_status, wait_offline_ready


def camera_photo(width=4000, height=3000):
    """A 12-megapixel 'camera' JPEG with detail, so compression has work to do."""
    image = Image.effect_noise((width // 4, height // 4), 60).convert("RGB").resize((width, height))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def answer_all_ok(page, abnormal_item=None, photo=None):
    """Walk the five steps: 正常 everywhere, numbers in range, one item abnormal with a note and a photo."""
    for _ in range(5):
        for item in page.locator(".check-item").all():
            value = item.locator("input[type=number]")
            if value.count():
                low = float(re.search(r"正常范围 ([\d.-]+)", item.inner_text()).group(1))
                value.fill(str(low + 1))
            legend = item.locator("legend").inner_text()
            if abnormal_item and abnormal_item in legend:
                item.get_by_role("button", name="⚠ 异常").tap()
                item.get_by_label("异常情况").fill("盘根盒渗油")
                if photo:
                    item.locator("input[type=file]").set_input_files(photo)
                    expect(item.locator("img.photo-preview")).to_have_count(1)
            elif not value.count():
                item.get_by_role("button", name="正常", exact=True).tap()
        button = page.get_by_role("button", name=re.compile("下一步|保存检查"))
        last = button.inner_text() == "保存检查"
        button.tap()
        if last:
            return


def test_offline_check_with_photo_and_hazard_sync_once(page, context, live_server, sign_in, camera_well, tmp_path):
    photo = tmp_path / "leak.jpg"
    photo.write_bytes(camera_photo())
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    context.set_offline(True)
    scan(page, camera_well)
    page.locator("#equipment li", has_text="抽油机").get_by_role("link", name="检查").tap()
    expect(page.locator("[data-check-title]")).to_contain_text("抽油机 检查")
    answer_all_ok(page, abnormal_item="漏油", photo=photo)
    expect(page.get_by_role("heading", name="发现 1 项异常")).to_be_visible()
    expect(page.locator("[data-saved]")).to_contain_text("待同步")
    page.get_by_role("button", name=re.compile("上报隐患")).tap()
    expect(page.get_by_text("已上报隐患")).to_be_visible()
    expect(sync_status(page)).to_have_text("待同步 2 条")
    size = page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open("jingzhan");
        open.onsuccess = () => {
            const r = open.result.transaction("photos").objectStore("photos").getAll();
            r.onsuccess = () => { open.result.close(); resolve(r.result.map((p) => p.bytes.byteLength)); };
        };
    })""")
    assert len(size) == 1 and size[0] <= 200 * 1024  # compressed on the phone

    page.reload()
    expect(sync_status(page)).to_have_text("待同步 2 条")
    with db.connection_context():
        assert EquipmentCheck.select().count() == 0
    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    with db.connection_context():
        assert (EquipmentCheck.select().count(), Hazard.select().count(), Photo.select().count()) == (1, 1, 1)
        check = EquipmentCheck.get()
        hazard = Hazard.get()
        stored = Photo.get()
        assert check.is_abnormal and check.method == "scan" and check.equipment.kind == "pumping_unit"
        assert hazard.source_check_id == check.id and str(stored.uuid) in hazard.photos
        assert max(stored.width, stored.height) <= 1600


def test_hazard_loop_on_the_pages(page, desk, live_server, sign_in, camera_well):
    """Worker reports on the phone; leader assigns; assignee rectifies at the well; a colleague verifies; leader closes."""
    sign_in("HN1003")
    page.goto("/hazards/new")
    page.get_by_label("位置").select_option(label=camera_well["code"])
    page.get_by_label("隐患描述").fill("井口法兰渗漏")
    page.get_by_role("button", name="保存上报").tap()
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    expect(page.locator("[data-saved]")).to_have_text("✔ 隐患已上报到服务器。")  # the form follows the outbox

    leader = desk("HN1001")
    leader.goto("/hazards/")
    leader.get_by_role("link", name=re.compile("井口法兰渗漏")).click()
    leader.get_by_label("整改责任人").select_option(index=3)
    leader.get_by_label("整改期限").fill("2099-12-31")
    leader.get_by_role("button", name="分派").click()
    expect(leader.locator("#hazard-detail")).to_contain_text("整改中")
    with db.connection_context():
        assignee_no = Hazard.get().assignee.employee_no

    # The assignee rectifies at the well, on a phone, after scanning its label.
    page.goto("/me")
    page.get_by_role("button", name="退出登录").tap()
    sign_in(assignee_no, open_form=False)
    scan(page, camera_well)
    form = page.locator("[data-rectify-form]")
    form.get_by_label("整改做了什么").fill("更换法兰垫片")
    form.locator("input[type=file]").set_input_files({"name": "after.jpg", "mimeType": "image/jpeg", "buffer": camera_photo(800, 600)})
    expect(form.locator("img.photo-preview")).to_have_count(1)
    form.get_by_role("button", name="提交整改").tap()
    expect(page.get_by_text("整改已保存")).to_be_visible()
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    with db.connection_context():
        assert Hazard.get().status == "rectified"

    colleague = desk("HN1005" if assignee_no != "HN1005" else "HN1006")
    colleague.goto("/hazards/")
    colleague.get_by_role("link", name=re.compile("井口法兰渗漏")).click()
    colleague.get_by_label("验收意见").fill("复查无渗漏")
    colleague.get_by_role("button", name="验收通过").click()
    expect(colleague.locator("#hazard-detail")).to_contain_text("已验收")

    leader.reload()
    leader.get_by_role("button", name="确认销项").click()
    expect(leader.locator("#hazard-detail")).to_contain_text("已销项")
    expect(leader.locator(".timeline li")).to_have_count(5)
    expect(leader.locator(".timeline img")).to_have_count(1)  # the after photo
    with db.connection_context():
        assert Hazard.get().status == "closed"


def test_procedure_with_its_picture_reads_offline(page, context, live_server, live_app, sign_in, camera_well):
    import uuid

    from models import Photo, User
    from tests.e2e.conftest import wait_until
    from webapp.photo_store import store_for
    from webapp.photos import store_photo
    from webapp.procedures import save_procedure

    with db.connection_context():
        admin = User.get(User.employee_no == "HN0001")
        photo, _ = store_photo(admin, str(uuid.uuid4()), camera_photo(800, 600), store_for(live_app))
        Photo.update(shared=True).where(Photo.id == photo.id).execute()
        save_procedure("operation:peng", "碰泵操作规程", "1. 下放光杆\n2. 轻碰泵", [str(photo.uuid)], admin)
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    wait_until(page, """async (uuid) => {
        const name = (await caches.keys()).find((n) => n.startsWith("jingzhan-pages-"));
        return Boolean(name && (await (await caches.open(name)).match(`/photos/${uuid}.jpg`)));
    }""", arg=str(photo.uuid))
    context.set_offline(True)
    page.goto("/procedures/operation:peng")
    expect(page.get_by_role("heading", level=1)).to_have_text("碰泵操作规程")
    picture = page.get_by_role("img", name="碰泵操作规程 配图 1")
    expect(picture).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", picture.element_handle())


def test_returned_check_is_corrected_by_scanning_the_label_again(page, live_server, sign_in, camera_well):
    """The leader returns a check; 记录 shows the comment; the worker scans the label, re-does the check, and the new
    check is linked to the returned one (which stays as it was)."""
    sign_in("HN1003")
    scan(page, camera_well)
    page.locator("#equipment li", has_text="抽油机").get_by_role("link", name="检查").tap()
    expect(page.locator("[data-check-title]")).to_contain_text("抽油机 检查")  # the wizard has its items
    answer_all_ok(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    with db.connection_context():
        original = EquipmentCheck.get()
        EquipmentCheck.update(review_status="returned", review_comment="皮带张紧度请实测").where(
            EquipmentCheck.id == original.id).execute()

    page.goto("/records")
    returned = page.locator("#my-checks .record")
    expect(returned).to_contain_text("站长批注：皮带张紧度请实测")
    returned.get_by_role("link", name="扫码后重新检查（更正）").tap()
    # The scan's proof is remembered by the phone (evidence.js): no token in the check's address.
    expect(page).to_have_url(re.compile(r"/checks/new\?equipment=\d+&corrects=[0-9a-f-]+$"), timeout=15000)
    expect(page.locator("[data-check-title]")).to_contain_text("抽油机 检查")
    answer_all_ok(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    with db.connection_context():
        first, correction = EquipmentCheck.select().order_by(EquipmentCheck.id)
        assert correction.corrects_id == first.id and correction.method == "scan"
        assert first.review_status == "returned"


def test_a_measured_value_outside_its_range_is_abnormal_on_the_phone_as_on_the_server(page, live_server, sign_in,
                                                                                       camera_well):
    """光杆温度 120 with a normal range of 0–60, then 正常: the phone, like the server, records it as abnormal and
    offers the hazard (it used to say 全部正常)."""
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    page.locator("#equipment li", has_text="抽油机").get_by_role("link", name="检查").tap()
    expect(page.locator("[data-check-title]")).to_contain_text("抽油机 检查")
    outside = None
    for _ in range(5):
        for item in page.locator(".check-item").all():
            value = item.locator("input[type=number]")
            if value.count():
                high = float(re.search(r"正常范围 [\d.-]+–([\d.-]+)", item.inner_text()).group(1))
                if outside is None:
                    outside = item.locator("legend").inner_text()
                    value.fill(str(high + 10))
                    item.get_by_role("button", name="正常", exact=True).tap()
                    expect(item.locator(".field-error")).to_contain_text("超出正常范围")
                    expect(item.get_by_role("button", name="⚠ 异常")).to_have_attribute("aria-pressed", "true")
                    item.get_by_label("异常情况").fill("光杆发烫")
                else:
                    value.fill(str(high - 0.5))
            else:
                item.get_by_role("button", name="正常", exact=True).tap()
        button = page.get_by_role("button", name=re.compile("下一步|保存检查"))
        last = button.inner_text() == "保存检查"
        button.tap()
        if last:
            break
    assert outside is not None
    expect(page.get_by_role("heading", name="发现 1 项异常")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("上报隐患"))).to_be_visible()
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    with db.connection_context():
        assert EquipmentCheck.get().is_abnormal
