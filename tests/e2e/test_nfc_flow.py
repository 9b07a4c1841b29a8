"""A wellhead NFC tag (NTAG 424 DNA, SUN; docs/nfc.md): a tap opens /n/<id>?e=…&c=…, online or offline through the
service worker, and every record made at that visit carries the tag's message to the server, which judges it at sync
(docs/evidence.md §4). The tag is tests/ntag424_sim.py's SimulatedTag, enrolled with the work area's master key, so the
URLs are real SUN messages.

Headless Chromium has no Web NFC (TESTING.md): the 扫码 tab's in-app reader is tested with a small stand-in for
`NDEFReader` injected by `page.add_init_script` (STAND_IN below), which hands the page the tag's URL record as Chrome on
Android would. The phone's own NFC opening the URL is what page.goto(tag.tap()) does."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from models import EquipmentCheck, Evidence, NfcTag, Patrol, Station, Well, WorkArea, db
from tests.e2e.conftest import refuse_camera, sent_records
from tests.e2e.test_check_flow import answer_all_ok
from tests.e2e.test_patrol_flow import fill_patrol, patrols, save, station_well_count, sync_status, wait_offline_ready
from tests.ntag424_sim import SimulatedTag

UID = bytes.fromhex("04DE5F1EACC040")

# A Web NFC reader as Chrome on Android has it, reduced to what the page uses: scan() starts reading, and
# window.__nfcTap(url, options) is a tap of a tag holding one URL record (options.bytes: a record of that many bytes).
STAND_IN = """
(() => {
  const readers = [];
  window.NDEFReader = class NDEFReader extends EventTarget {
    constructor() {
      super();
      Object.assign(this, { onreading: null, onreadingerror: null, signal: null, scanning: false });
      readers.push(this);
    }
    async scan(options = {}) { this.signal = options.signal || null; this.scanning = true; }
  };
  window.__nfcReading = () => readers.some((r) => r.scanning && !(r.signal && r.signal.aborted));
  window.__nfcTap = (url, options = {}) => {
    const bytes = options.bytes ? new Uint8Array(options.bytes).fill(65) : new TextEncoder().encode(url);
    const record = { recordType: options.recordType || "url", mediaType: null, data: new DataView(bytes.buffer) };
    const message = { records: [record] };
    let delivered = 0;
    for (const reader of readers) {
      if (!reader.scanning || (reader.signal && reader.signal.aborted)) continue;
      const event = new Event("reading");
      event.message = message;
      event.serialNumber = "04:de:5f:1e:ac:c0:40";
      reader.dispatchEvent(event);
      if (reader.onreading) reader.onreading(event);
      delivered += 1;
    }
    return delivered;
  };
})();
"""


@pytest.fixture
def tag(live_server, camera_well):
    """The camera well's tag, enrolled: each tap() gives the URL a phone opens, with the read counter one higher."""
    with db.connection_context():
        well = Well.get(Well.code == camera_well["code"])
        area = WorkArea.select().join(Station).where(Station.id == well.station_id).get()
        master = area.issue_nfc_master_key()
        NfcTag.create(work_area=area, well=well, uid=UID.hex().upper())
    return SimulatedTag.enrolled(master, UID, live_server, well.id)


def sun(url):
    """{e, c} of a tag's URL."""
    query = parse_qs(urlsplit(url).query)
    return {"e": query["e"][0], "c": query["c"][0]}



def of_type(sent, record_type):
    return [r["data"] for r in sent.values() if r["type"] == record_type]


def test_a_tap_offline_opens_the_kept_well_page_and_the_check_in_carries_the_message(
        page, context, live_server, sign_in, camera_well, tag):
    sent = sent_records(context)
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    context.set_offline(True)
    url = tag.tap()
    assert re.fullmatch(rf"{live_server}/n/\d+\?e=[0-9A-F]{{32}}&c=[0-9A-F]{{16}}", url), url
    response = page.goto(url)
    assert response.from_service_worker
    expect(page.get_by_role("heading", level=1)).to_contain_text(camera_well["code"])
    banner = page.get_by_role("status").filter(has_text="已识别 NFC 标签")
    expect(banner).to_have_text(f"已识别 NFC 标签：{camera_well['code']}")
    expect(page.locator("[data-manual-notice]")).to_be_hidden()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")

    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    [patrol] = patrols()
    assert patrol.method == "nfc" and patrol.well.code == camera_well["code"] and "manual" not in patrol.flag_list
    [data] = of_type(sent, "patrol")
    assert data["method"] == "nfc" and data["nfc"] == sun(url) and "qr_token" not in data
    assert data["position"]["accuracy"] == 10
    # The server judged the tap at sync (webapp/evidence.py): the tag's key verifies e and c, the counter is new.
    with db.connection_context():
        evidence = Evidence.get((Evidence.record_type == "patrol") & (Evidence.object_id == patrol.id))
        assert evidence.method == "nfc" and evidence.nfc_status == "verified" and evidence.nfc_counter == tag.counter
        assert evidence.nfc_tag.uid == UID.hex().upper()
    # A tag's address is new at every tap: nothing is kept under it.
    kept = page.evaluate("""async () => {
        const name = (await caches.keys()).find((n) => n.startsWith("jingzhan-pages-"));
        const paths = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
        return paths.filter((p) => p.startsWith("/n/"));
    }""")
    assert kept == []


def test_the_visit_of_a_tap_carries_to_a_hazard_report(page, context, live_server, sign_in, camera_well, tag):
    """Online: the server's page for the tag, then 上报隐患 from it: the report carries the same tag message, which is
    not in the report page's address."""
    sent = sent_records(context)
    sign_in("HN1003")
    url = tag.tap()
    page.goto(url)
    expect(page.get_by_role("status").filter(has_text="已识别 NFC 标签")).to_be_visible()
    page.get_by_role("link", name="上报隐患").tap()
    expect(page).to_have_url(re.compile(r"/hazards/new\?well=\d+$"))
    page.get_by_label("隐患描述").fill("井口 NFC 标签处渗油")
    page.get_by_role("button", name="保存上报").tap()
    expect(page.locator("[data-saved]")).to_have_text("✔ 隐患已上报到服务器。")
    [data] = of_type(sent, "hazard")
    assert data["method"] == "nfc" and data["nfc"] == sun(url) and "qr_token" not in data


def test_the_visit_of_a_tap_carries_to_an_equipment_check(page, context, live_server, sign_in, camera_well, tag):
    """The check's address has no e and c: the visit remembered by the well page gives them; the server counts the
    same tap by the same worker within 30 minutes as verified again (docs/evidence.md §4)."""
    sent = sent_records(context)
    sign_in("HN1003")
    url = tag.tap()
    page.goto(url)
    page.locator("#equipment li", has_text="抽油机").get_by_role("link", name="检查").tap()
    expect(page).to_have_url(re.compile(r"/checks/new\?equipment=\d+$"))
    expect(page.locator("[data-check-title]")).to_contain_text("抽油机 检查")
    answer_all_ok(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    [data] = of_type(sent, "equipment_check")
    assert data["method"] == "nfc" and data["nfc"] == sun(url) and "qr_token" not in data
    with db.connection_context():
        check = EquipmentCheck.get()
        assert check.method == "nfc"
        evidence = Evidence.get((Evidence.record_type == "equipment_check") & (Evidence.object_id == check.id))
        assert evidence.nfc_status == "verified" and evidence.nfc_counter == tag.counter


def test_the_in_app_reader_opens_our_tags_and_ignores_others(page, context, live_server, sign_in, camera_well, tag):
    """Web NFC through the stand-in (see the module's docstring): foreign, empty and oversized tags are ignored with a
    message; our tag opens its well page at the tag's address, and the check-in is an NFC visit."""
    refuse_camera(page)  # else the fake camera's label opens the well page at once
    page.add_init_script(STAND_IN)
    sent = sent_records(context)
    sign_in("HN1003")
    page.goto("/scan")
    status = page.locator("[data-nfc-status]")
    expect(page.locator("[data-nfc-native]")).to_be_hidden()
    page.get_by_role("button", name="贴近 NFC 标签").tap()
    expect(status).to_have_text("请把手机背面贴近井口的 NFC 标签。")
    assert page.evaluate("window.__nfcReading()")

    url = tag.tap()
    foreign = "https://example.com" + urlsplit(url).path + "?" + urlsplit(url).query
    for tapped, options, message in [
        (foreign, {}, "这不是本系统的井口 NFC 标签，已忽略。"),
        (f"{live_server}/records", {}, "这不是本系统的井口 NFC 标签，已忽略。"),
        ("", {"bytes": 100_000}, "这个 NFC 标签里没有网址，不是井站通的井口标签。"),
        (url, {"recordType": "text"}, "这个 NFC 标签里没有网址，不是井站通的井口标签。"),
        (url.replace("&c=", "&c=zz"), {}, "没有读到完整的标签内容：请把手机背面贴紧标签再试，或扫描井口二维码。"),
    ]:
        assert page.evaluate("([url, options]) => window.__nfcTap(url, options)", [tapped, options]) == 1
        expect(status).to_have_text(message)
        expect(page).to_have_url(f"{live_server}/scan")

    page.evaluate("(url) => window.__nfcTap(url)", url)
    expect(page).to_have_url(url)
    expect(page.get_by_role("status").filter(has_text="已识别 NFC 标签")).to_contain_text(camera_well["code"])
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    [patrol] = patrols()
    assert patrol.method == "nfc"
    [data] = of_type(sent, "patrol")
    assert data["nfc"] == sun(url)


def test_without_web_nfc_the_scan_tab_says_the_phone_opens_the_tag(page, live_server, sign_in):
    """iPhone, a PC, this Chromium: no in-app reader; the card says that a tap opens the tag's URL by itself."""
    refuse_camera(page)
    sign_in("HN1003")
    page.goto("/scan")
    assert not page.evaluate("'NDEFReader' in window")
    expect(page.locator("[data-nfc-native]")).to_contain_text("手机会自己打开标签里的网址")
    expect(page.get_by_role("button", name="贴近 NFC 标签")).to_be_hidden()


def test_the_well_page_by_id_after_a_tap_is_the_same_nfc_visit(page, live_server, sign_in, camera_well, tag):
    """The well page reached again by id after a tap (返回 from a check) is the same visit: still an NFC visit."""
    sign_in("HN1003")
    url = tag.tap()
    page.goto(url)
    expect(page.get_by_role("status").filter(has_text="已识别 NFC 标签")).to_be_visible()
    with db.connection_context():
        well_id = Well.get(Well.code == camera_well["code"]).id
    page.goto(f"/wells/{well_id}")
    expect(page.get_by_role("status").filter(has_text="已识别 NFC 标签")).to_be_visible()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    with db.connection_context():
        assert [p.method for p in Patrol.select()] == ["nfc"]
