"""Label secrets stay secret (docs/evidence.md §4): the phone's offline copy holds no QR label token but those of the
labels the worker opened, yet a label opened offline shows its well's page (kept by id, found through the directory's
hashes) and the check-in made there counts as a scan of that label; the pages reached from it carry the same proof for
30 minutes (evidence.js), without the token in their address."""
import re

from playwright.sync_api import expect

from models import Patrol, Well, db
from tests.e2e.conftest import sent_records
from tests.e2e.test_patrol_flow import fill_patrol, patrols, save, station_well_count, sync_status, wait_offline_ready

# Every response in the Cache Storage, as text: no token may hide in a page, the directory or a script.
CACHED = """async () => {
    const found = [];
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) {
            const response = await cache.match(request);
            found.push({cache: name, url: request.url, body: await response.text()});
        }
    }
    return found;
}"""


def all_tokens():
    with db.connection_context():
        return {well.qr_token: well.code for well in Well.select()}


def tokens_in_cache(page):
    """{token: [the URLs of the cached responses that contain it]} over every well of the demo."""
    tokens = all_tokens()
    cached = page.evaluate(CACHED)
    assert any(re.search(r"/wells/\d+$", entry["url"]) for entry in cached), "no well page is kept"
    found = {}
    for entry in cached:
        for token in tokens:
            if token in entry["body"] or token in entry["url"]:
                found.setdefault(token, []).append(entry["url"])
    return found



def test_a_label_opened_offline_is_a_scan_and_no_other_token_is_kept(page, context, live_server, sign_in, camera_well):
    sent = sent_records(context)
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    assert tokens_in_cache(page) == {}, "the offline copy holds label tokens"

    context.set_offline(True)
    token = camera_well["token"]
    response = page.goto(f"/w/{token}")
    assert response.from_service_worker
    expect(page.get_by_role("heading", level=1)).to_contain_text(camera_well["code"])
    # The kept page was made as a typed visit: the address decides what it shows.
    expect(page.get_by_role("status").filter(has_text="已识别井口标签")).to_contain_text(camera_well["code"])
    expect(page.locator("[data-manual-notice]")).to_be_hidden()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("待同步")
    assert tokens_in_cache(page) == {}  # nothing was kept under the label's address offline

    context.set_offline(False)
    expect(sync_status(page)).to_have_text("已全部同步", timeout=15000)
    [patrol] = patrols()
    assert patrol.method == "scan" and patrol.well.code == camera_well["code"] and "manual" not in patrol.flag_list
    [record] = [r for r in sent.values() if r["type"] == "patrol"]
    assert record["data"]["method"] == "scan" and record["data"]["qr_token"] == token and "nfc" not in record["data"]
    assert record["data"]["position"]["accuracy"] == 10  # the GPS of the phone (evidence.js), standing at the well

    # Online, the page opened by its label is kept under its address: the one token the offline copy may hold.
    page.goto(f"/w/{token}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(camera_well["code"])
    kept = tokens_in_cache(page)
    assert list(kept) == [token] and all(url == f"{live_server}/w/{token}" for url in kept[token]), kept


def test_the_visit_carries_to_the_pages_reached_from_the_well_page_for_30_minutes(page, context, live_server, sign_in,
                                                                                    camera_well):
    """Scanned, the well page remembers the visit: the page by id (e.g. 返回 from a check) shows it and its records are
    scans; 30 minutes later the same page is a typed visit again. The clock is the page's (Playwright's clock)."""
    sent = sent_records(context)
    page.clock.install()
    sign_in("HN1003")
    page.goto(f"/w/{camera_well['token']}")
    expect(page.get_by_role("status").filter(has_text="已识别井口标签")).to_be_visible()
    with db.connection_context():
        well = Well.get(Well.code == camera_well["code"])
    check_link = page.locator("#equipment li", has_text="抽油机").get_by_role("link", name="检查")
    assert camera_well["token"] not in check_link.get_attribute("href")

    page.goto(f"/wells/{well.id}")
    expect(page.get_by_role("status").filter(has_text="已识别井口标签")).to_be_visible()
    expect(page.locator("[data-manual-notice]")).to_be_hidden()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")

    page.clock.fast_forward("31:00")
    page.goto(f"/wells/{well.id}")
    expect(page.locator("[data-manual-notice]")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="已识别井口标签")).to_have_count(0)
    fill_patrol(page, 井口温度="41")
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")

    first, second = patrols()
    assert (first.method, second.method) == ("scan", "manual")
    methods = [(r["data"]["method"], r["data"].get("qr_token")) for r in sent.values() if r["type"] == "patrol"]
    assert methods == [("scan", camera_well["token"]), ("manual", None)]


def test_a_tampered_remembered_visit_is_sent_as_typed(page, live_server, sign_in, camera_well):
    """A visit remembered in the session with a malformed proof is sent as typed, never as it was written."""
    sign_in("HN1003")
    with db.connection_context():
        well = Well.get(Well.code == camera_well["code"])
    page.goto(f"/wells/{well.id}")
    page.evaluate("""(id) => sessionStorage.setItem("jingzhan-visit",
        JSON.stringify({well_id: id, at: Date.now(), method: "scan", qr_token: "<b>" + "x".repeat(100)}))""", well.id)
    page.reload()
    expect(page.locator("[data-manual-notice]")).to_be_visible()
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    with db.connection_context():
        assert [p.method for p in Patrol.select()] == ["manual"]
