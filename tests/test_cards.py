"""三亮 cards: the member's full card, the public card behind the QR (no private fields, no enumeration), badges."""
import io

import pytest
import zxingcpp
from PIL import Image

from models import User, db
from tests.conftest import get_user, login
from tests.test_photos import jpeg


@pytest.fixture
def member(client):
    login(client, "HN1003")
    return client


def test_my_card_has_the_three_parts(member):
    page = member.get("/cards/me").get_data(as_text=True)
    user = get_user("HN1003")
    for text in ("三亮卡", "亮承诺", "亮联系点和联系人", "中共党员", "海南一号站党支部", user.name, "承包井", "联系人"):
        assert text in page, text
    assert f"{user.party_joined_on.year} 年入党" in page
    assert "/cards/" in page and "qr.png" in page


def test_non_member_gets_an_employee_card(client):
    with db.connection_context():
        worker = User.select().where((User.station == get_user("HN1003").station_id) & ~User.is_party_member).first()
    login(client, worker.employee_no)
    page = client.get("/cards/me").get_data(as_text=True)
    assert "员工卡" in page and "亮承诺" not in page and "中共党员" not in page


def test_public_card_shows_no_private_fields_by_default(app, member):
    user = get_user("HN1003")
    member.get("/cards/me")
    anonymous = app.test_client()
    response = anonymous.get(f"/c/{user.card_token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and user.name in page and "亮承诺" in page
    assert user.phone not in page and "年入党" not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert 'class="tabbar"' not in page  # nobody is logged in


def test_opted_in_fields_appear_on_the_public_card(app, member):
    member.post("/cards/me/settings", data={"phone": "1", "joined": "1"})
    user = get_user("HN1003")
    page = app.test_client().get(f"/c/{user.card_token}").get_data(as_text=True)
    assert user.phone in page and "年入党" in page


def test_reissue_invalidates_the_old_qr_exactly_like_a_random_token(app, member):
    old = get_user("HN1003").card_token
    member.post("/cards/me/reissue")
    new = get_user("HN1003").card_token
    assert new != old
    anonymous = app.test_client()
    revoked = anonymous.get(f"/c/{old}")
    random_token = anonymous.get("/c/" + "A" * len(old))
    assert revoked.status_code == random_token.status_code == 404
    assert revoked.get_data() == random_token.get_data()
    assert "此三亮卡已失效" in revoked.get_data(as_text=True)
    assert anonymous.get(f"/c/{new}").status_code == 200


@pytest.mark.parametrize("token", ["x", "%00", "<script>", "A" * 65, "' OR 1=1 --"])
def test_hostile_tokens_are_404(client, token):
    assert client.get(f"/c/{token}").status_code == 404


def test_colleague_sees_the_full_card_other_work_area_does_not_exist(app, member):
    user = get_user("HN1003")
    colleague = app.test_client()
    login(colleague, "HN2003")
    assert "年入党" in colleague.get(f"/cards/{user.id}").get_data(as_text=True)
    assert colleague.get("/cards/999999").status_code == 404


def test_card_photo_upload_is_checked_and_shared(app, member):
    user = get_user("HN1003")
    response = member.post(f"/cards/{user.id}/photo", data={"photo": (io.BytesIO(jpeg(600, 800)), "me.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    user = get_user("HN1003")
    assert user.avatar
    bad = member.post(f"/cards/{user.id}/photo", data={"photo": (io.BytesIO(b"<svg/>"), "me.svg")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "这不是照片" in bad.get_data(as_text=True)
    # Not shown publicly until the member opts in.
    anonymous = app.test_client()
    assert anonymous.get(f"/c/{user.card_token}/photo.jpg").status_code == 404
    member.post("/cards/me/settings", data={"photo": "1"})
    with anonymous.get(f"/c/{user.card_token}/photo.jpg") as picture:
        assert picture.status_code == 200
    # No longer a party member: the card is gone, and its photo with it (the photo route used to serve it).
    with db.connection_context():
        User.update(is_party_member=False).where(User.id == user.id).execute()
    assert anonymous.get(f"/c/{user.card_token}").status_code == 404
    assert anonymous.get(f"/c/{user.card_token}/photo.jpg").status_code == 404



def test_only_the_member_or_an_admin_changes_the_photo(app, member):
    other = get_user("HN1004")
    response = member.post(f"/cards/{other.id}/photo", data={"photo": (io.BytesIO(jpeg(60, 80)), "x.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 403


def test_badge_png_carries_the_card_url_and_the_name_glyphs(app, member):
    from webapp.labels import cjk_font

    user = get_user("HN1003")
    member.get("/cards/me")
    with member.get(f"/cards/{user.id}/badge.png") as response:
        assert response.status_code == 200
        image = Image.open(io.BytesIO(response.data))
        image.load()
    assert image.size == (1011, 638) and round(image.info["dpi"][0]) == 300
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [f"http://localhost/c/{get_user('HN1003').card_token}"]
    font = cjk_font(40)
    missing = [ch for ch in user.name + "三亮卡中共党员海南一号站党支部" if font.getmask(ch).getbbox() is None]
    assert missing == []


def test_branch_badges_pdf_for_its_secretary_only(app):
    station_id = get_user("HN1003").station_id
    secretary = app.test_client()
    login(secretary, "HN1002")
    with secretary.get(f"/cards/branch/{station_id}/badges.pdf") as response:
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
        assert response.data.count(b"/Type /Page\n") + response.data.count(b"/Type /Page ") >= 1
    for employee_no, status in (("HN1003", 403), ("HN2002", 404), ("HN0001", 200)):  # another branch: as unknown
        client = app.test_client()
        login(client, employee_no)
        with client.get(f"/cards/branch/{station_id}/badges.pdf") as response:
            assert response.status_code == status, employee_no
    assert secretary.get("/cards/branch/999999/badges.pdf").status_code == 404


def test_badge_without_a_chinese_font_is_a_chinese_503(member, monkeypatch):
    from webapp import labels

    monkeypatch.delenv(labels.FONT_ENV, raising=False)
    monkeypatch.setattr(labels, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    labels._load_font.cache_clear()
    response = member.get(f"/cards/{get_user('HN1003').id}/badge.png")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "暂时无法生成标签或胸卡" in body and "fonts-wqy-microhei" in body and "Traceback" not in body


def test_a_long_model_post_is_cut_to_fit_the_badge():
    from webapp.labels import fitted

    text, font = fitted("示范岗：" + "海南一号站计量间与注水泵房党员示范岗" * 4, 36, 560)
    assert text.endswith("…") and font.getlength(text) <= 560 and font.size == 24
    short, font = fitted("示范岗：计量间", 36, 560)
    assert short == "示范岗：计量间" and font.size == 36


def test_badge_pages_are_drawn_one_at_a_time_and_each_is_its_own(app):
    """The branch's badge PDF draws a page as it is written (webapp/badges.py LazyPages): 23 members make three
    pages, each with its own image — the same PDF as drawing them all first, without holding them all."""
    import hashlib
    import re
    from types import SimpleNamespace

    from webapp.badges import badges_pdf

    station = SimpleNamespace(name="海南一号站", branch_name="海南一号站党支部")
    members = [SimpleNamespace(id=n, name=f"党员{n}", avatar=None, card_token=f"token-{n}", is_party_member=True,
                               post="采油工", station=station) for n in range(23)]
    with app.test_request_context():
        pdf = badges_pdf([(m, "安全生产") for m in members], "https://jz.example", {}, "采油作业区党支部")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 3
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    images = [hashlib.sha256(s).hexdigest() for s in streams if len(s) > 10000]
    assert len(images) == 3 and len(set(images)) == 3
