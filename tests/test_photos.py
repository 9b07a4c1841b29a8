"""POST /api/v1/photos: only real images are kept, re-encoded without EXIF, once per uuid, shown only to the station."""
import io
import struct
import uuid as uuid_module
import zlib

import pytest
from PIL import Image

from models import Photo, db
from tests.conftest import login
from tests.test_openapi import check
from webapp.photo_store import DirectoryStore
from webapp.photos import photo_key


def stored_file(app, uid, thumb=False):
    """The file that holds the photo with this uuid (or its thumbnail) in the app's directory store."""
    with db.connection_context():
        sha256 = Photo.get(Photo.uuid == uid).sha256
    return DirectoryStore(app.config["PHOTO_DIR"]).path(photo_key(sha256, thumb))


def jpeg(width=2400, height=1800, exif_gps=False):
    image = Image.new("RGB", (width, height), (180, 90, 30))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        gps = {1: "N", 2: (40.0, 55.0, 12.0), 3: "E", 4: (121.0, 52.0, 30.0)}
        exif[0x8825] = gps
        image.save(out, format="JPEG", exif=exif.tobytes())
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def png_bomb(side=20000):
    """A valid PNG header claiming side×side pixels, with a tiny compressed body (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def upload(client, data, uid=None, name="photo.jpg"):
    uid = uid or str(uuid_module.uuid4())
    return client.post("/api/v1/photos", data={"uuid": uid, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data"), uid


@pytest.fixture
def worker(client):
    login(client, "HN1003")
    return client


def test_photo_is_reencoded_downscaled_and_thumbnailed(app, worker):
    response, uid = upload(worker, jpeg())
    assert response.status_code == 201
    check("/photos", "post", response)
    assert response.json["width"] == 1600 and response.json["height"] == 1200
    with Image.open(stored_file(app, uid)) as stored:
        assert stored.format == "JPEG" and max(stored.size) == 1600
    with Image.open(stored_file(app, uid, thumb=True)) as thumb:
        assert max(thumb.size) == 320


def test_exif_gps_is_gone(app, worker):
    original = Image.open(io.BytesIO(jpeg(800, 600, exif_gps=True)))
    assert original.getexif().get(0x8825)
    _, uid = upload(worker, jpeg(800, 600, exif_gps=True))
    with Image.open(stored_file(app, uid)) as stored:
        assert not stored.getexif()
    assert b"PhoneMaker" not in stored_file(app, uid).read_bytes()


@pytest.mark.parametrize("fmt, extra", [
    ("JPEG", {"comment": b"secret-comment-COM"}),
    ("JPEG", {"icc_profile": b"secret-icc" * 20}),
    ("PNG", {"pnginfo": "text"}),
])
def test_nothing_of_the_file_but_its_pixels_is_stored(app, worker, fmt, extra):
    """A JPEG comment (COM) survived the re-encoding once, in the photo and the thumbnail; a PNG text chunk or an
    ICC profile must not either."""
    from PIL import PngImagePlugin

    image = Image.new("RGB", (640, 480), (20, 120, 40))
    out = io.BytesIO()
    if extra.get("pnginfo"):
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "secret-png-text")
        image.save(out, format="PNG", pnginfo=info)
    else:
        image.save(out, format=fmt, **extra)
    _, uid = upload(worker, out.getvalue())
    for thumb in (False, True):
        data = stored_file(app, uid, thumb=thumb).read_bytes()
        assert b"secret" not in data
        with Image.open(io.BytesIO(data)) as stored:
            assert not {"comment", "icc_profile"} & set(stored.info)


def test_same_uuid_twice_stores_one_file(app, worker):
    data = jpeg(640, 480)
    first, uid = upload(worker, data)
    again, _ = upload(worker, data, uid)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["status"] == "duplicate"
    with db.connection_context():
        assert Photo.select().count() == 1
    assert len(list(app.config["PHOTO_DIR"].rglob("*.jpg"))) == 2  # the photo and its thumbnail


def test_same_uuid_from_someone_else_is_a_conflict(app, worker):
    _, uid = upload(worker, jpeg(640, 480))
    other = app.test_client()
    login(other, "HN1001")
    response, _ = upload(other, jpeg(640, 480), uid)
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict"


def truncated_jpeg():
    return jpeg(640, 480)[:2000]


@pytest.mark.parametrize(
    "data, name, status, code",
    [
        (b"just some text, not a photo", "notes.jpg", 422, "not_an_image"),
        (truncated_jpeg(), "cut.jpg", 422, "broken_image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", 422, "not_an_image"),
        (png_bomb(), "bomb.png", 422, "too_many_pixels"),
        (b"GIF89a" + b"\x00" * 100, "x.gif", 422, "not_an_image"),
    ],
)
def test_bad_uploads_are_refused_clearly(app, worker, data, name, status, code):
    response, _ = upload(worker, data, name=name)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert not response.json["error"]["message"].isascii()
    with db.connection_context():
        assert Photo.select().count() == 0
    assert not list(app.config["PHOTO_DIR"].rglob("*.jpg"))


def test_over_size_upload_is_413(worker):
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n\r\n'
            + b"x" * (13 * 1024 * 1024) + b"\r\n--B--\r\n")
    response = worker.post("/api/v1/photos", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413 and response.is_json


@pytest.mark.parametrize("uid", ["", "nope", "1" * 36, "<script>"])
def test_bad_uuid(worker, uid):
    response = worker.post("/api/v1/photos", data={"uuid": uid, "file": (io.BytesIO(jpeg(10, 10)), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_uuid"


def test_missing_file(worker):
    response = worker.post("/api/v1/photos", data={"uuid": str(uuid_module.uuid4())}, content_type="multipart/form-data")
    assert response.status_code == 400


def test_needs_login(client):
    response, _ = upload(client, jpeg(10, 10))
    assert response.status_code == 401 and response.is_json


def test_photos_are_served_to_the_station_only(app, worker):
    _, uid = upload(worker, jpeg(640, 480))
    with worker.get(f"/photos/{uid}.jpg") as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
    with worker.get(f"/photos/{uid}/thumb.jpg") as response:
        assert response.status_code == 200
    for employee_no, status in (("HN1001", 200), ("HN2001", 404), ("HN0001", 200)):  # another station: as unknown
        other = app.test_client()
        login(other, employee_no)
        with other.get(f"/photos/{uid}.jpg") as response:
            assert response.status_code == status, employee_no
    anonymous = app.test_client()
    assert anonymous.get(f"/photos/{uid}.jpg").status_code == 302
    assert worker.get(f"/photos/{uuid_module.uuid4()}.jpg").status_code == 404
    assert worker.get("/photos/../../etc/passwd.jpg").status_code == 404
    assert worker.get("/photos/not-a-uuid-but-thirty-six-characters.jpg").status_code == 404
