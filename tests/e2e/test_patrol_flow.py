"""The heart of the product on a phone: scan the wellhead label, check in the patrol, sync exactly once — online and offline."""
import re

from playwright.sync_api import expect

from models import Discard, Patrol, Station, SyncReceipt, Well, db
from tests.e2e.conftest import refuse_camera, wait_until

READINGS = {
    "上行电流": "42.5", "下行电流": "38", "冲程": "3", "冲次": "4.5",
    "油压": "0.8", "套压": "1.2", "回压": "0.6", "井口温度": "38",
}


def patrols():
    with db.connection_context():
        return list(Patrol.select().order_by(Patrol.id))


def scan(page, camera_well):
    """Open the 扫码 tab; the fake camera shows the label; the scanner opens the well page — in the same document (the
    navigation that loaded it was the one to /scan), at the label's address."""
    page.goto("/scan")
    expect(page).to_have_url(re.compile(rf"/w/{camera_well['token']}$"), timeout=15000)
    expect(page.get_by_role("heading", level=1)).to_contain_text(camera_well["code"])
    assert page.evaluate("performance.getEntriesByType('navigation')[0].name").endswith("/scan")


def fill_patrol(page, **overrides):
    values = {**READINGS, **overrides}
    for label, value in values.items():
        page.get_by_label(label, exact=False).first.fill(value)


def save(page):
    page.get_by_role("button", name="保存打卡").tap()


def sync_status(page):
    return page.locator("#sync-status")


def wait_offline_ready(page, wells, timeout_s=120):
    """Wait until the service worker reports a complete offline copy (the station's wells, pages, procedures)."""
    try:
        wait_until(page, "() => Object.keys(localStorage).some((k) => k.startsWith('jingzhan-warmed-'))", timeout_s=timeout_s)
    except AssertionError as error:
        state = page.evaluate("""async () => {
            const r = await navigator.serviceWorker.getRegistration();
            return {failed: localStorage.getItem('jingzhan-warm-failed'), progress: localStorage.getItem('jingzhan-warm-progress'),
                    install: localStorage.getItem('jingzhan-sw-install'), controlled: Boolean(navigator.serviceWorker.controller),
                    now: Date.now(), registration: r ? [r.installing, r.waiting, r.active].map((w) => w && w.state) : null};
        }""")
        raise AssertionError(f"the offline copy never completed: {state}") from error
    cached = page.evaluate(
        """async () => {
            const names = await caches.keys();
            const pages = names.find((n) => n.startsWith("jingzhan-pages-"));
            const keys = pages ? await (await caches.open(pages)).keys() : [];
            return keys.filter((r) => /^[/]wells[/][0-9]+$/.test(new URL(r.url).pathname)).length;
        }"""
    )
    assert cached >= wells, f"only {cached} of {wells} well pages cached"


def station_well_count(code):
    with db.connection_context():
        return Well.select().where(Well.station == Well.get(Well.code == code).station).count()


def test_online_scan_save_synced_once(page, live_server, sign_in, camera_well):
    sign_in("HN1003")
    scan(page, camera_well)
    expect(page.get_by_role("status").filter(has_text="已识别井口标签")).to_be_visible()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    expect(sync_status(page)).to_have_text("已全部同步")
    rows = patrols()
    assert len(rows) == 1
    patrol = rows[0]
    assert patrol.well.code == camera_well["code"] and patrol.method == "scan"
    assert patrol.author.employee_no == "HN1003"
    assert patrol.current_up_a == 42.5 and patrol.flags == ""  # GPS at the well, scanned, clock right
    assert patrol.distance_m is not None and patrol.distance_m < 50
    # The well page took the 扫码 page's place: its tab is no longer the current one; Back is the 扫码 page again.
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="扫码")).not_to_have_attribute(
        "aria-current", "page")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/scan$"))
    expect(page.locator("[data-scan-status]")).to_be_visible()


def test_out_of_range_value_is_explained_next_to_the_field(page, live_server, sign_in, camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    fill_patrol(page, 油压="99")
    page.get_by_label("上行电流").fill("")
    save(page)
    expect(page.locator("#r-oil_pressure_mpa-error")).to_have_text("油压应在 0–40 之间。")
    expect(page.locator("#r-current_up_a-error")).to_have_text("请填写上行电流。")
    expect(page.locator("[data-form-error]")).to_contain_text("有 2 处需要修改")
    page.locator("input[name=abnormal][value='1']").check(force=True)
    fill_patrol(page)
    save(page)
    expect(page.locator("#p-note-error")).to_have_text("异常时请写明情况。")
    page.get_by_label("情况说明").fill("盘根漏油，已补盘根")
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步")
    [patrol] = patrols()
    assert patrol.is_abnormal and patrol.note == "盘根漏油，已补盘根"


def test_operations_of_the_ten_character_method(page, live_server, sign_in, camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    fill_patrol(page)
    page.get_by_text("十字作业").tap()
    page.get_by_label("憋 憋压").check()
    page.get_by_label("憋压时间").fill("10")
    page.get_by_label("起压").fill("0.8")
    page.get_by_label("止压").fill("3.6")
    page.get_by_label("调 调参").check()
    page.get_by_label("调整参数").select_option("冲次")
    page.get_by_label("原值").fill("4.5")
    page.get_by_label("新值").fill("4")
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步")
    [patrol] = patrols()
    with db.connection_context():
        ops = {o.code: o.values for o in patrol.operations}
    assert set(ops) == {"bie", "tiao"} and '"param": "冲次"' in ops["tiao"]


def test_offline_two_patrols_survive_a_reload_and_sync_once(page, context, live_server, sign_in, camera_well):
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))

    context.set_offline(True)
    for n in range(2):
        scan(page, camera_well)
        fill_patrol(page, 井口温度=str(40 + n))
        save(page)
        expect(page.locator("[data-saved]")).to_contain_text("待同步")
    expect(sync_status(page)).to_have_text("待同步 2 条")
    page.reload()
    expect(sync_status(page)).to_have_text("待同步 2 条")
    page.goto("/records")
    expect(page.locator("[data-outbox-items] .record")).to_have_count(2)
    assert patrols() == []

    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    rows = patrols()
    assert sorted(p.wellhead_temp_c for p in rows) == [40, 41]
    with db.connection_context():
        assert SyncReceipt.select().count() == 2
    page.reload()
    expect(page.locator("[data-outbox-items] .record")).to_have_count(0)
    expect(page.locator(".record .tag.synced")).to_have_count(2)


def test_manual_entry_offline_is_marked_manual(page, context, live_server, sign_in, camera_well):
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    context.set_offline(True)
    refuse_camera(page)
    page.goto("/scan")
    expect(page.locator("[data-scan-status]")).to_contain_text("无法打开摄像头")
    page.get_by_label("井号").fill("海9-99")
    page.get_by_role("button", name="打开井页面").tap()
    expect(page.locator("[data-scan-status]")).to_contain_text("本站井目录中没有井号「海9-99」")
    page.get_by_label("井号").fill(camera_well["code"])
    page.get_by_role("button", name="打开井页面").tap()
    expect(page).to_have_url(re.compile(r"\?via=manual$"))
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")
    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    [patrol] = patrols()
    assert patrol.method == "manual" and "manual" in patrol.flag_list


def test_expired_session_keeps_records_until_login(page, context, live_server, sign_in, camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    context.set_offline(True)
    fill_patrol(page)
    save(page)
    expect(sync_status(page)).to_have_text("待同步 1 条")
    context.clear_cookies()  # the session ends while the record waits
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(sync_status(page)).to_have_text("请重新登录后同步 1 条", timeout=15000)
    assert patrols() == []
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in("HN1003", open_form=False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    assert len(patrols()) == 1


def test_a_refused_record_is_kept_explained_and_discarded_only_when_the_worker_says_so(page, live_server, sign_in,
                                                                                      camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    with db.connection_context():  # meanwhile the well is handed to another station: the server refuses the record
        well = Well.get(Well.code == camera_well["code"])
        original_station = well.station_id
        other = Station.get(Station.name == "海南二号站")
        Well.update(station=other).where(Well.id == well.id).execute()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("拒收")
    expect(sync_status(page)).to_have_text("1 条被拒收")
    page.goto("/records")
    item = page.locator("[data-outbox-items] .record")
    expect(item).to_contain_text("不属于您所在的站")
    expect(item).to_contain_text("本机第 1 条")
    page.reload()  # kept on the phone, not resent by itself
    expect(item).to_have_count(1)
    # The well comes back: sending it again is accepted.
    with db.connection_context():
        Well.update(station=original_station).where(Well.id == well.id).execute()
    item.get_by_role("button", name="重新发送").tap()
    expect(item).to_have_count(0)
    assert len(patrols()) == 1


def test_a_discarded_record_reaches_the_leader_as_a_discard(page, live_server, sign_in, camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    with db.connection_context():
        well = Well.get(Well.code == camera_well["code"])
        Well.update(station=Station.get(Station.name == "海南二号站")).where(Well.id == well.id).execute()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("打卡")  # in the outbox before the page is left
    page.goto("/records")
    item = page.locator("[data-outbox-items] .record")
    item.get_by_role("button", name="放弃这条…").tap()
    expect(item).to_contain_text("不属于您所在的站")  # what will be lost is shown before anything is
    item.get_by_role("button", name="确认放弃").tap()
    expect(item).to_have_count(0)
    with db.connection_context():
        [discard] = list(Discard.select())
        assert discard.error_code == "well_not_in_station" and discard.discarded_type == "patrol"
    assert patrols() == []


def test_a_visit_saved_before_the_label_is_replaced_is_kept_and_marked(page, live_server, sign_in, camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    with db.connection_context():
        Well.get(Well.code == camera_well["code"]).regenerate_token()  # the label is replaced meanwhile
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    [patrol] = patrols()
    assert "old_label" in patrol.flag_list


def test_records_of_another_user_wait_for_that_user(page, context, live_server, sign_in, camera_well):
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    context.set_offline(True)
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")  # in the outbox before the page is left
    # The network comes back but the sync endpoint stays out of reach while the worker logs out.
    page.route("**/api/v1/sync", lambda route: route.abort())
    context.set_offline(False)
    # Logging out with a pending record asks first; the record stays on the phone.
    page.once("dialog", lambda dialog: dialog.accept())
    page.goto("/me")
    page.get_by_role("button", name="退出登录").tap()
    expect(page).to_have_url(re.compile(r"/login"))
    page.unroute("**/api/v1/sync")
    sign_in("HN1001", open_form=False)
    expect(sync_status(page)).to_have_text("已全部同步")
    assert patrols() == []  # not sent in the leader's session
    assert page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open("jingzhan");
        open.onsuccess = () => {
            const r = open.result.transaction("outbox").objectStore("outbox").count();
            r.onsuccess = () => { open.result.close(); resolve(r.result); };
        };
    })""") == 1


def test_photo_fallback_decodes_a_label_and_refuses_other_codes(page, live_server, sign_in, camera_well):
    sign_in("HN1003")
    refuse_camera(page)
    page.goto("/scan")
    expect(page.locator("[data-scan-status]")).to_contain_text("无法打开摄像头")
    page.set_input_files("[data-scan-photo]", files=[{"name": "x.png", "mimeType": "image/png", "buffer": qr_png("https://example.com/hello")}])
    expect(page.locator("[data-scan-status]")).to_contain_text("这不是井站通的井口标签")
    label = qr_png(f"{live_server}/w/{camera_well['token']}")
    page.set_input_files("[data-scan-photo]", files=[{"name": "label.png", "mimeType": "image/png", "buffer": label}])
    expect(page).to_have_url(re.compile(rf"/w/{camera_well['token']}$"))


def qr_png(text):
    from io import BytesIO

    import qrcode

    buffer = BytesIO()
    qrcode.make(text).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_scan_does_not_wait_for_the_network_for_the_well_directory(page, live_server, live_app, sign_in, camera_well):
    """With a fresh offline copy, the scanner looks the label up in the kept directory: on weak signal a scan never
    waits for /api/v1/wells (it used to wait up to 4 s for the network first). Nothing asks the server for it."""
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    asked = []
    original = live_app.wsgi_app

    def counting(environ, start_response):
        if environ.get("PATH_INFO") == "/api/v1/wells":
            asked.append(environ["PATH_INFO"])
        return original(environ, start_response)

    live_app.wsgi_app = counting
    try:
        scan(page, camera_well)
    finally:
        live_app.wsgi_app = original
    assert asked == []


def test_a_page_loaded_past_the_service_worker_is_claimed_and_kept_offline(page, live_server, sign_in, camera_well):
    """A page that loaded while the worker was not yet in charge (the page a login redirected to while the worker
    installed, or a hard reload) is not controlled, and the worker claims only the pages open when it activates: the
    page asks to be claimed, then keeps the offline copy. Before, it waited for that forever and nothing was kept."""
    sign_in("HN1003")
    wells = station_well_count(camera_well["code"])
    wait_offline_ready(page, wells)
    page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('jingzhan-warmed-')).forEach((k) => localStorage.removeItem(k))")
    with page.expect_navigation():
        page.context.new_cdp_session(page).send("Page.reload", {"ignoreCache": True})  # past the service worker
    wait_offline_ready(page, wells, timeout_s=30)
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")


def test_export_on_the_phone_import_on_the_pc_counts_once(page, context, desk, live_server, sign_in, camera_well):
    # A browser that may clear the site's data to free space: 记录 warns, while something on the phone is unsent.
    page.add_init_script("navigator.storage.persist = () => Promise.resolve(false);")
    sign_in("HN1003")
    # Wait until the phone holds the signing key the server issued at login.
    # Not before the app made its database (opening it here first would make an empty one the app must upgrade),
    # and closed after each look (an open connection would block that upgrade: the key would never be stored).
    wait_until(page, """async () => {
        if (!(await indexedDB.databases()).some((d) => d.name === "jingzhan")) return false;
        return new Promise((resolve) => {
            const open = indexedDB.open("jingzhan");
            open.onsuccess = () => {
                const db = open.result;
                if (!db.objectStoreNames.contains("keys")) { db.close(); return resolve(false); }
                const r = db.transaction("keys").objectStore("keys").count();
                r.onsuccess = () => { db.close(); resolve(r.result === 1); };
            };
        });
    }""")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    page.goto(f"/w/{camera_well['token']}")
    context.set_offline(True)
    fill_patrol(page, 井口温度="44")
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")  # in the outbox before the page is left
    page.goto("/records")
    expect(page.locator("[data-persist-note]")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出未同步记录到文件").tap()
    exported = download.value.path()

    leader = desk("HN1001")
    leader.goto("/imports/")
    leader.get_by_label("记录文件").set_input_files(exported)
    leader.get_by_role("button", name="导入").click()
    expect(leader.locator("#import-results h2")).to_contain_text("新增 1 条")
    [patrol] = patrols()
    assert patrol.author.employee_no == "HN1003" and patrol.wellhead_temp_c == 44
    with db.connection_context():
        assert SyncReceipt.get().imported_by.employee_no == "HN1001"

    context.set_offline(False)  # the phone's own copy arrives later: a duplicate, not a second patrol
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    assert len(patrols()) == 1
    expect(page.locator("[data-persist-note]")).to_be_hidden()  # 记录, still open: nothing left to lose


def test_new_version_waits_for_the_user_and_keeps_the_queue(page, context, live_server, live_app, sign_in, camera_well):
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    old_shell = [n for n in page.evaluate("caches.keys()") if n.startswith("jingzhan-shell-")]
    page.goto(f"/w/{camera_well['token']}")
    page.route("**/api/v1/sync", lambda route: route.abort())  # the record cannot leave yet
    fill_patrol(page)
    save(page)
    expect(sync_status(page)).to_have_text("待同步 1 条")

    live_app.config["SW_VERSION"] = "deployed-v2"  # a new deployment
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    toast = page.locator("#update-toast")
    expect(toast).to_contain_text("井站通有新版本")
    expect(sync_status(page)).to_have_text("待同步 1 条")  # the old version still runs the page
    # Never old pages with new assets: until the user switches, the old shell stays and the old worker controls.
    waiting = page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        return {names: await caches.keys(), waiting: !!registration.waiting,
                controlledByActive: navigator.serviceWorker.controller.scriptURL === registration.active.scriptURL};
    }""")
    assert set(old_shell) <= set(waiting["names"]) and waiting["waiting"] and waiting["controlledByActive"]
    toast.get_by_role("button", name="立即更新").tap()
    expect(toast).to_have_count(0)  # the page reloaded under the new version
    expect(sync_status(page)).to_have_text("待同步 1 条")
    shells = [n for n in page.evaluate("caches.keys()") if n.startswith("jingzhan-shell-")]
    assert shells == ["jingzhan-shell-deployed-v2"] and shells != old_shell

    page.unroute("**/api/v1/sync")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    assert len(patrols()) == 1


def test_a_tap_away_while_the_record_is_written_waits_for_it(page, live_server, sign_in, camera_well):
    """A slow phone: the record's chain hash takes half a second — long enough to tap 记录 before the record is in
    the outbox. The tap waits for it; leaving at once would have taken the unfinished write with it."""
    sign_in("HN1003")
    page.add_init_script("""(() => {
        const digest = crypto.subtle.digest.bind(crypto.subtle);
        crypto.subtle.digest = (...args) => new Promise((resolve) => setTimeout(resolve, 500)).then(() => digest(...args));
    })()""")
    page.route("**/api/v1/sync", lambda route: route.abort())  # the record stays on the phone
    page.goto(f"/w/{camera_well['token']}")
    fill_patrol(page)
    save(page)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="记录").tap()
    expect(page).to_have_url(re.compile(r"/records$"))
    expect(page.locator("[data-outbox-items] .record")).to_have_count(1)
