"""Well QR labels: the PNG and the station's A4 PDF decode to the right URLs, regeneration, access, a missing font."""
import re
from io import BytesIO
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import zxingcpp
from PIL import Image
from playhouse.test_utils import assert_query_count

from models import Station, Well, WorkArea, db
from tests.conftest import DEMO_PASSWORD, get_well
from webapp import labels


def decode(image):
    """The QR codes in a PIL image, as zxing-cpp reads them."""
    return [code for code in zxingcpp.read_barcodes(image) if code.format == zxingcpp.BarcodeFormat.QRCode]


def decode_png(data: bytes):
    return decode(Image.open(BytesIO(data)))


def get_station(name):
    with db.connection_context():
        return Station.get(Station.name == name)


def station_wells(name):
    with db.connection_context():
        return list(Well.select().join(Station).where(Station.name == name).order_by(Well.code))


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def other_work_area():
    """A station and well of a second work area, which nobody of 海南作业区 may touch."""
    with db.connection_context():
        area = WorkArea.create(name="别的作业区", party_org_name="别的党总支")
        station = Station.create(work_area=area, name="别的站", branch_name="别的站党支部")
        well = Well.create(station=station, code="别1-01")
    return station, well


class TestService:
    @pytest.mark.parametrize("base", ["https://jz.example.cn", "https://jz.example.cn/"])
    def test_label_url(self, base):
        assert labels.label_url(base, "abc_-123") == "https://jz.example.cn/w/abc_-123"

    def test_every_well_of_the_sheet_decodes_once_at_level_h(self):
        station = SimpleNamespace(name="海南一号站")
        wells = [SimpleNamespace(code=f"海1-{n:02d}", qr_token=f"token{n:02d}", station=station) for n in range(1, 15)]
        pages = labels.station_label_pages(station, wells, "https://jz.example.cn")
        assert [page.size for page in pages] == [(2480, 3508)] * 2
        found = [code for page in pages for code in decode(page)]
        assert sorted(code.text for code in found) == [f"https://jz.example.cn/w/token{n:02d}" for n in range(1, 15)]
        assert {code.ec_level for code in found} == {"H"}

    def test_forty_wells_make_four_pages_drawn_as_written_and_none_left_in_a_cycle(self, monkeypatch):
        """Forty wells are four pages, drawn in turn as the PDF is written (LazyPages), and no page is kept after it
        by a reference cycle — a list of pages handed to Pillow as append_images was, each page's encoderinfo naming
        the list, until the garbage collector ran (a worker's memory grew by a sheet at a time). (How long it takes
        is the benchmarks' business, not a test's.)"""
        import gc

        from PIL import Image

        station = SimpleNamespace(name="海南四号站")
        wells = [SimpleNamespace(code=f"海4-{n:02d}", qr_token=f"tok-{n:02d}-" + "x" * 12) for n in range(1, 41)]
        real, drawn = labels._label_sheet, []

        def recording(*args):
            draw_page, count = real(*args)
            return (lambda number: drawn.append(number) or draw_page(number)), count

        monkeypatch.setattr(labels, "_label_sheet", recording)
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            pdf = labels.station_labels_pdf(station, wells, "https://jz.example.cn")
            gc.collect()
            left = [o for o in gc.garbage if isinstance(o, Image.Image)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert page_count(pdf) == 4 and drawn == [0, 1, 2, 3]
        assert left == []

    def test_no_wells_is_refused(self):
        with pytest.raises(ValueError):
            labels.station_labels_pdf(SimpleNamespace(name="海南作业区机关"), [], "https://jz.example.cn")


class TestWellPng:
    def test_decodes_to_the_wells_url_at_level_h(self, login_as):
        well = get_well("海1-07")
        response = login_as("HN1001").get(f"/labels/wells/{well.id}.png")
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        codes = decode_png(response.data)
        assert [code.text for code in codes] == [f"http://localhost/w/{well.qr_token}"]
        assert codes[0].ec_level == "H"

    def test_is_an_attachment_with_the_chinese_well_code_as_name(self, login_as):
        well = get_well("海1-07")
        response = login_as("HN1001").get(f"/labels/wells/{well.id}.png")
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote('海1-07.png')}" in disposition
        assert "no-store" in response.headers["Cache-Control"]

    @pytest.mark.parametrize("configured", ["https://jz.example.cn", "https://jz.example.cn:8443/jingzhan"])
    def test_configured_base_url_is_used(self, app, login_as, configured):
        app.config["BASE_URL"] = configured
        well = get_well("海1-02")
        response = login_as("HN1001").get(f"/labels/wells/{well.id}.png")
        assert [code.text for code in decode_png(response.data)] == [f"{configured}/w/{well.qr_token}"]

    def test_without_base_url_the_request_host_is_used(self, app, client):
        app.config["BASE_URL"] = ""
        well = get_well("海1-02")
        host = "https://field.example.cn"
        client.post("/login", data={"employee_no": "HN1001", "password": DEMO_PASSWORD}, base_url=host)
        response = client.get(f"/labels/wells/{well.id}.png", base_url=host)
        assert [code.text for code in decode_png(response.data)] == [f"https://field.example.cn/w/{well.qr_token}"]


class TestStationPdf:
    @pytest.mark.parametrize("name", ["海南一号站", "海南二号站"])
    def test_one_page_per_twelve_wells(self, login_as, name):
        station = get_station(name)
        response = login_as("HN0001").get(f"/labels/stations/{station.id}.pdf")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert page_count(response.data) == -(-len(station_wells(name)) // 12)
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and quote(f"{name}井口标签.pdf") in disposition

    def test_station_without_wells_is_a_chinese_404(self, login_as):
        office = get_station("海南作业区机关")
        response = login_as("HN0001").get(f"/labels/stations/{office.id}.pdf")
        assert response.status_code == 404
        assert "没有可打印的标签" in response.get_data(as_text=True)


class TestIndex:
    def test_leader_sees_own_station_with_links_for_every_well(self, login_as):
        page = login_as("HN1001").get("/labels/").get_data(as_text=True)
        station = get_station("海南一号站")
        assert f'href="/labels/stations/{station.id}.pdf"' in page
        for well in station_wells("海南一号站"):
            assert f'href="/labels/wells/{well.id}.png"' in page
            assert f'action="/labels/wells/{well.id}/regenerate"' in page
        assert "海南二号站" not in page
        assert well.qr_token not in page  # tokens stay on the labels

    def test_shows_where_the_labels_point(self, app, login_as):
        client = login_as("HN1001")
        app.config["BASE_URL"] = ""
        assert "二维码指向 http://localhost/w/…（按本次访问的地址生成" in client.get("/labels/").get_data(as_text=True)
        app.config["BASE_URL"] = "https://jz.example.cn"
        page = client.get("/labels/").get_data(as_text=True)
        assert "二维码指向 https://jz.example.cn/w/…" in page and "JINGZHAN_BASE_URL" not in page

    def test_admin_sees_every_station_with_wells(self, login_as):
        page = login_as("HN0001").get("/labels/").get_data(as_text=True)
        for name in ("海南一号站", "海南二号站", "海南三号站", "海南四号站"):
            assert f'href="/labels/stations/{get_station(name).id}.pdf"' in page
        assert f'/labels/stations/{get_station("海南作业区机关").id}.pdf' not in page

    def test_query_count(self, login_as):
        client = login_as("HN0001")
        with assert_query_count(4):  # user with station and work area, roles, stations in scope, their wells
            client.get("/labels/")


class TestRegenerate:
    def test_new_token_old_label_dead_new_label_decodes(self, login_as):
        client = login_as("HN1001")
        well = get_well("海1-07")
        old = well.qr_token
        response = client.post(f"/labels/wells/{well.id}/regenerate")
        assert response.status_code == 302
        assert response.headers["Location"] == f"/labels/#well-{well.id}"
        page = client.get("/labels/").get_data(as_text=True)
        assert "已重新生成 海1-07 的标签，请打印新标签贴上。" in page
        new = get_well("海1-07").qr_token
        assert new != old
        with db.connection_context():  # kept, so an offline visit made with the old label is still accepted
            from models import ReplacedLabel

            assert ReplacedLabel.get(ReplacedLabel.token == old).well_id == well.id
        assert client.get(f"/w/{old}").status_code == 404
        assert client.get(f"/w/{new}").status_code == 200
        png = client.get(f"/labels/wells/{well.id}.png").data
        assert [code.text for code in decode_png(png)] == [f"http://localhost/w/{new}"]

    def test_get_is_not_allowed(self, login_as):
        well = get_well("海1-07")
        assert login_as("HN1001").get(f"/labels/wells/{well.id}/regenerate").status_code == 405
        assert get_well("海1-07").qr_token == well.qr_token

    def test_cross_site_post_is_refused(self, login_as):
        well = get_well("海1-07")
        response = login_as("HN1001").post(
            f"/labels/wells/{well.id}/regenerate", headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert response.status_code == 403
        assert get_well("海1-07").qr_token == well.qr_token


def _target(kind, where):
    """The URL for kind ("png", "pdf", "regenerate", "index") of the well or station named by where."""
    if where is None:
        station, well = None, None
    elif where == "other":
        station, well = other_work_area()
    elif kind == "pdf":
        station, well = get_station(where), None
    else:
        station, well = None, get_well(where)
    return {
        "index": "/labels/",
        "png": f"/labels/wells/{well.id}.png" if well else None,
        "pdf": f"/labels/stations/{station.id}.pdf" if station else None,
        "regenerate": f"/labels/wells/{well.id}/regenerate" if well else None,
    }[kind], well


@pytest.mark.parametrize(
    "user, kind, where, status",
    [
        ("HN1003", "index", None, 403),
        ("HN1003", "png", "海1-01", 403),
        ("HN1003", "pdf", "海南一号站", 403),
        ("HN1003", "regenerate", "海1-01", 403),
        ("HN1002", "png", "海1-01", 403),
        ("HN1002", "regenerate", "海1-01", 403),
        ("HN1001", "index", None, 200),
        ("HN1001", "png", "海1-01", 200),
        ("HN1001", "pdf", "海南一号站", 200),
        ("HN1001", "regenerate", "海1-01", 302),
        ("HN1001", "png", "海2-01", 404),  # another station's: like an unknown id
        ("HN1001", "pdf", "海南二号站", 404),
        ("HN1001", "regenerate", "海2-01", 404),
        ("HN1001", "png", "other", 404),
        ("HN1001", "pdf", "other", 404),
        ("HN1001", "regenerate", "other", 404),
        ("HN0001", "index", None, 200),
        ("HN0001", "png", "海2-01", 200),
        ("HN0001", "png", "海4-03", 200),
        ("HN0001", "pdf", "海南三号站", 200),
        ("HN0001", "regenerate", "海3-05", 302),
        ("HN0001", "png", "other", 404),
        ("HN0001", "pdf", "other", 404),
        ("HN0001", "regenerate", "other", 404),
    ],
)
def test_access(login_as, user, kind, where, status):
    url, well = _target(kind, where)
    client = login_as(user)
    response = client.post(url) if kind == "regenerate" else client.get(url)
    assert response.status_code == status
    if status in (403, 404):
        assert "<html" in response.get_data(as_text=True)  # a Chinese error page, not a file
        if well is not None:
            with db.connection_context():
                assert Well.get_by_id(well.id).qr_token == well.qr_token


@pytest.mark.parametrize("kind", ["index", "png", "pdf", "regenerate"])
def test_logged_out_goes_to_login(client, kind):
    url, _ = _target(kind, "海南一号站" if kind == "pdf" else "海1-01")
    response = client.post(url) if kind == "regenerate" else client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


class TestMissingFont:
    @pytest.fixture
    def no_font(self, monkeypatch):
        monkeypatch.delenv(labels.FONT_ENV, raising=False)
        monkeypatch.setattr(labels, "FONT_CANDIDATES", (("/nonexistent/wqy-microhei.ttc", 0),))

    @pytest.mark.parametrize("kind, where", [("png", "海1-01"), ("pdf", "海南一号站")])
    def test_downloads_answer_a_chinese_503(self, login_as, no_font, kind, where):
        url, _ = _target(kind, where)
        response = login_as("HN1001").get(url)
        assert response.status_code == 503
        assert response.mimetype == "text/html"
        body = response.get_data(as_text=True)
        assert "暂时无法生成标签" in body and "fonts-wqy-microhei" in body and "Traceback" not in body

    def test_index_still_works(self, login_as, no_font):
        assert login_as("HN1001").get("/labels/").status_code == 200

    def test_service_raises_a_chinese_error(self, no_font):
        with pytest.raises(labels.LabelFontMissing, match="fonts-wqy-microhei"):
            labels.find_cjk_font()

    def test_configured_font_that_does_not_exist_is_named(self, monkeypatch, tmp_path):
        missing = tmp_path / "nope.ttf"
        monkeypatch.setenv(labels.FONT_ENV, str(missing))
        with pytest.raises(labels.LabelFontMissing, match=re.escape(str(missing))):
            labels.find_cjk_font()

    def test_configured_font_is_preferred(self, monkeypatch):
        path, _ = labels.find_cjk_font()
        monkeypatch.setattr(labels, "FONT_CANDIDATES", ())
        monkeypatch.setenv(labels.FONT_ENV, path)
        assert labels.find_cjk_font() == (path, 0)

    def test_configured_file_that_is_no_font_is_a_chinese_503(self, login_as, monkeypatch, tmp_path):
        bogus = tmp_path / "bogus.ttf"
        bogus.write_bytes(b"not a font")
        monkeypatch.setenv(labels.FONT_ENV, str(bogus))
        response = login_as("HN1001").get(f"/labels/wells/{get_well('海1-01').id}.png")
        assert response.status_code == 503
        assert "字体文件无法读取" in response.get_data(as_text=True)
