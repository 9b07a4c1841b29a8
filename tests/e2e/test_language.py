"""English on the phone (issue 10.4): chosen on 我的, it is the language of the offline copy too — the pages kept for
the wellhead are fetched again in English, and the scripts' texts come from the precached /i18n/en.js."""
from playwright.sync_api import expect

from tests.e2e.conftest import wait_until
from tests.e2e.test_patrol_flow import station_well_count, wait_offline_ready


def test_english_chosen_on_the_phone_is_kept_offline(page, context, live_server, sign_in, camera_well):
    sign_in("HN1003")
    wait_offline_ready(page, station_well_count(camera_well["code"]))
    page.goto("/me")
    page.get_by_label("界面语言").select_option("en")
    page.locator("#language").get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("status").filter(has_text="Language changed.")).to_be_visible()
    # The copy was Chinese: it is fetched again, now in English.
    wait_until(page, """() => Object.entries(localStorage)
        .some(([key, value]) => key.startsWith('jingzhan-lang-warmed-') && value === 'en')""", timeout_s=60)

    context.set_offline(True)
    page.goto(f"/w/{camera_well['token']}")
    expect(page.get_by_role("heading", name="Patrol check-in")).to_be_visible()  # the kept page, in English
    expect(page.locator("#sync-status")).to_have_text("All synced")  # a script's text, from the kept /i18n/en.js
