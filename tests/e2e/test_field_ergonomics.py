"""Field ergonomics (issue 10.2) on a phone: a normal patrol is three taps from the home page — 扫码, 沿用上次读数,
保存打卡 — with the save button under the thumb; and every target on the field pages is at least 48 px square, for
gloved hands (inline links inside a sentence aside, as WCAG 2.5.8 allows)."""
import json
import re
import uuid as uuid_module
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from models import Equipment, Patrol, User, Well, db
from tests.e2e.conftest import refuse_camera

MIN_TARGET = 48
# Where a thumb reaches on a phone held in one hand: the lower part of the screen.
THUMB_ZONE = 0.45

LAST = {"current_up_a": 41.5, "current_down_a": 37.0, "stroke_m": 3.0, "strokes_per_min": 4.5,
        "oil_pressure_mpa": 0.9, "casing_pressure_mpa": 1.1, "back_pressure_mpa": 0.5, "wellhead_temp_c": 36.0}

TARGETS = """() => {
  const small = [];
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex="0"]';
  for (const element of document.querySelectorAll(selector)) {
    if (element.closest('[hidden], [inert], .visually-hidden')) continue;
    let target = element;
    // A check box or radio is hit through its label, which is what has the size.
    if (element.matches('input[type=checkbox], input[type=radio]') && element.closest('label')) target = element.closest('label');
    const box = target.getBoundingClientRect();
    const style = getComputedStyle(target);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    // An inline link inside a sentence is exempt (WCAG 2.5.8); a link standing alone is not.
    if (element.tagName === 'A' && getComputedStyle(element).display === 'inline'
        && element.parentElement.closest('p, li, dd, td, small')
        && element.parentElement.textContent.trim().length > element.textContent.trim().length + 2) continue;
    if (box.width < %(min)s || box.height < %(min)s) {
      const name = (target.getAttribute('aria-label') || target.textContent || target.name || '').trim().slice(0, 30);
      small.push(`${target.tagName.toLowerCase()} "${name}" ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}""" % {"min": MIN_TARGET}


def give_last_patrol(code: str, settings) -> None:
    """A patrol of this well an hour ago, by the worker: its readings are what 沿用上次读数 fills in."""
    from webapp.sync import sync_batch

    with db.connection_context():
        well = Well.get(Well.code == code)
        worker = User.get(User.employee_no == "HN1003")
        when = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds")
        record = {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": when, "data": {
            "well_id": well.id, "method": "scan", "qr_token": well.qr_token, "readings": LAST, "abnormal": False,
            "note": "", "position": {"latitude": float(well.latitude), "longitude": float(well.longitude), "accuracy": 8}}}
        results = sync_batch(worker, {"device_id": "ergonomics", "sent_at": when, "records": [record]}, settings=settings)
        assert results["results"][0]["status"] == "created", results


def in_view(page, locator) -> dict:
    """The element's box, asserting it is on screen as it is now (a tap there needs no scrolling first)."""
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, f"not on screen without scrolling: {box}"
    assert box["height"] >= MIN_TARGET and box["width"] >= MIN_TARGET, box
    return box


def test_a_normal_patrol_is_three_taps(page, live_server, live_app, sign_in, camera_well):
    give_last_patrol(camera_well["code"], live_app.config)
    sign_in("HN1003")
    page.goto("/")
    taps = 0

    tab = page.get_by_role("navigation", name="主导航").get_by_role("link", name="扫码")
    in_view(page, tab)
    tab.tap()
    taps += 1
    # The fake camera shows the label: the scanner opens the well's page by itself.
    expect(page).to_have_url(re.compile(rf"/w/{camera_well['token']}$"), timeout=15000)

    fill = page.get_by_role("button", name="沿用上次读数")
    in_view(page, fill)
    fill.tap()
    taps += 1
    expect(page.get_by_label("上行电流", exact=False).first).to_have_value("41.5")

    save = page.get_by_role("button", name="保存打卡")
    box = in_view(page, save)
    assert box["y"] >= page.viewport_size["height"] * (1 - THUMB_ZONE), f"保存打卡 is not under the thumb: {box}"
    save.tap()
    taps += 1
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")

    assert taps == 3
    with db.connection_context():
        newest = Patrol.select().join(Well).where(Well.code == camera_well["code"]).order_by(Patrol.id.desc()).first()
        assert newest.device_time > datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
        assert {key: float(getattr(newest, key)) for key in LAST} == LAST
        assert newest.method == "scan" and not newest.is_abnormal
        assert "copied" in newest.flag_list  # the leader sees a copied round as such (issue 16.3)


def field_pages(camera_well) -> list[str]:
    with db.connection_context():
        well = Well.get(Well.code == camera_well["code"])
        equipment = Equipment.select().where(Equipment.well == well).order_by(Equipment.id).first()
    return ["/", "/scan", f"/w/{well.qr_token}", f"/checks/new?equipment={equipment.id}&well={well.qr_token}",
            "/hazards/new", "/records", "/me", "/procedures/", "/suggestions/new", "/activities/mine"]


# The primary action of each field form: on screen and under the thumb as soon as the page opens.
PRIMARY = {"/w/": "保存打卡", "/checks/new": "下一步", "/hazards/new": "保存上报", "/suggestions/new": "提交建议"}


def test_every_target_on_the_field_pages_is_big_enough(page, live_server, live_app, sign_in, camera_well):
    refuse_camera(page)  # else the scanner leaves /scan for the well it sees
    sign_in("HN1003")
    small, far = {}, {}
    for url in field_pages(camera_well):
        page.goto(url)
        expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
        if url.startswith("/checks/new"):
            expect(page.locator(".steps").first).to_be_visible()
        found = page.evaluate(TARGETS)
        if found:
            small[url] = found
        name = next((label for prefix, label in PRIMARY.items() if url.startswith(prefix)), None)
        if name:
            box = page.get_by_role("button", name=name, exact=True).bounding_box()
            height = page.viewport_size["height"]
            if not (height * (1 - THUMB_ZONE) <= box["y"] and box["y"] + box["height"] <= height):
                far[url] = f"{name} at y={box['y']:.0f}..{box['y'] + box['height']:.0f} of {height}"
    assert not small, json.dumps(small, ensure_ascii=False, indent=1)
    assert not far, json.dumps(far, ensure_ascii=False, indent=1)
