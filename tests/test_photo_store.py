"""Photo storage: content-addressed blobs in a directory or an S3-compatible bucket, served with long cache
headers and ETags after the access checks, files of older releases read until `jingzhan photos migrate`."""
import hashlib
import io
import os
import threading
import uuid as uuid_module

import pytest

from models import Photo, User, db
from tests.conftest import login
from tests.test_photos import jpeg, upload
from webapp.photo_store import EXTENSION, DirectoryStore, PhotoStoreError, S3Store, build_store, store_for
from webapp.photos import legacy_path, photo_key, reencode, store_photo

SHA = hashlib.sha256(b"photo").hexdigest()
BAD_KEYS = ["", "../etc/passwd", f"../{SHA}.jpg", f"{SHA}/../../x.jpg", f"/{SHA}.jpg", f"{SHA[:2]}/{SHA}.jpg",
            SHA.upper() + ".jpg", f"{SHA}.jpg\x00", f"{SHA}..jpg", f"{SHA}.jpg/", "a" * 63 + ".jpg", "..", ".",
            f"{SHA}.JPG", f"{SHA}.thumb.jpg.x.y", None, 42]


class FakeClientError(Exception):
    """What botocore's ClientError carries: the S3 error code in .response."""

    def __init__(self, code):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeS3:
    """The four boto3 S3 client methods S3Store calls, over a dict; records every call."""

    def __init__(self):
        self.objects, self.calls = {}, []

    def _object(self, bucket, key):
        if (bucket, key) not in self.objects:
            raise FakeClientError("NoSuchKey")
        return self.objects[(bucket, key)]

    def put_object(self, *, Bucket, Key, Body, ContentType):
        self.calls.append(("put", Key))
        self.objects[(Bucket, Key)] = (bytes(Body), ContentType)

    def get_object(self, *, Bucket, Key):
        self.calls.append(("get", Key))
        return {"Body": io.BytesIO(self._object(Bucket, Key)[0])}

    def head_object(self, *, Bucket, Key):
        self.calls.append(("head", Key))
        if (Bucket, Key) not in self.objects:
            raise FakeClientError("404")  # HEAD has no body, so S3 answers a bare 404
        return {"ContentLength": len(self.objects[(Bucket, Key)][0])}

    def delete_object(self, *, Bucket, Key):
        self.calls.append(("delete", Key))
        self.objects.pop((Bucket, Key), None)


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# The directory store

def test_directory_store_round_trip_and_layout(tmp_path):
    store = DirectoryStore(tmp_path)
    key, thumb = photo_key(SHA), photo_key(SHA, thumb=True)
    assert store.get(key) is None and not store.exists(key)
    store.put(key, b"photo bytes")
    store.put(thumb, b"thumb bytes")
    assert store.get(key) == b"photo bytes" and store.exists(key)
    assert store.get(thumb) == b"thumb bytes"
    assert files_under(tmp_path) == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg", f"{SHA[:2]}/{SHA[2:4]}/{SHA}.thumb.jpg"]
    store.delete(key)
    store.delete(key)  # deleting what is gone is no error
    assert store.get(key) is None and store.exists(thumb)


def test_directory_store_never_leaves_a_partial_file(tmp_path, monkeypatch):
    store = DirectoryStore(tmp_path)
    key = photo_key(SHA)
    store.put(key, b"the whole photo")

    def fail(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        store.put(key, b"a photo that does not fit")
    other = photo_key(hashlib.sha256(b"other").hexdigest())
    with pytest.raises(OSError):
        store.put(other, b"x" * 100_000)
    monkeypatch.undo()
    # The old bytes are whole, the failed key does not exist, and no temporary file is left behind.
    assert store.get(key) == b"the whole photo"
    assert not store.exists(other)
    assert [name for name in files_under(tmp_path) if not name.endswith(".jpg")] == []


def test_concurrent_writers_of_one_key_leave_one_whole_file(tmp_path):
    store = DirectoryStore(tmp_path)
    key, data = photo_key(SHA), os.urandom(300_000)
    threads = [threading.Thread(target=store.put, args=(key, data)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get(key) == data
    assert files_under(tmp_path) == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_are_not_content_addresses_are_refused(tmp_path, key):
    root = tmp_path / "store"
    stores = [DirectoryStore(root), S3Store("bucket", client=FakeS3())]
    for store in stores:
        for method, args in ((store.put, (key, b"x")), (store.get, (key,)), (store.exists, (key,)),
                             (store.delete, (key,))):
            with pytest.raises(PhotoStoreError):
                method(*args)
    assert not root.exists() and stores[1].client.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# The S3 store, against an in-memory fake of the boto3 client

def test_s3_store_round_trip_with_prefix():
    fake = FakeS3()
    store = S3Store("jz-photos", prefix="hainan/", client=fake)
    key = photo_key(SHA)
    assert store.get(key) is None and not store.exists(key)
    store.put(key, b"photo bytes")
    assert fake.objects[("jz-photos", f"hainan/{SHA}.jpg")] == (b"photo bytes", "image/jpeg")
    assert store.exists(key) and store.get(key) == b"photo bytes"
    store.delete(key)
    assert not store.exists(key) and fake.objects == {}


def test_s3_errors_other_than_missing_are_not_hidden():
    class Denied(FakeS3):
        def head_object(self, **kwargs):
            raise FakeClientError("AccessDenied")

        def get_object(self, **kwargs):
            raise FakeClientError("AccessDenied")

    store = S3Store("bucket", client=Denied())
    with pytest.raises(FakeClientError):
        store.exists(photo_key(SHA))
    with pytest.raises(FakeClientError):
        store.get(photo_key(SHA))


def test_store_settings(tmp_path, monkeypatch):
    assert isinstance(build_store({"PHOTO_DIR": tmp_path}), DirectoryStore)
    assert build_store({"PHOTO_STORE": "dir", "PHOTO_DIR": tmp_path}).root == tmp_path
    with pytest.raises(PhotoStoreError, match="只能是 dir 或 s3"):
        build_store({"PHOTO_STORE": "ftp", "PHOTO_DIR": tmp_path})
    with pytest.raises(PhotoStoreError, match="JINGZHAN_PHOTO_S3_BUCKET"):
        build_store({"PHOTO_STORE": "s3", "PHOTO_DIR": tmp_path})
    # boto3 is optional (the [s3] extra): without it the message says what to install.
    import builtins

    real_import = builtins.__import__

    def no_boto3(name, *args, **kwargs):
        if name == "boto3":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    with pytest.raises(PhotoStoreError, match=r"jingzhan\[s3\]"):
        build_store({"PHOTO_STORE": "s3", "PHOTO_S3_BUCKET": "b", "PHOTO_DIR": tmp_path})


def test_settings_come_from_the_environment(monkeypatch):
    from webapp.config import Config

    monkeypatch.setenv("JINGZHAN_PHOTO_STORE", "S3")
    monkeypatch.setenv("JINGZHAN_PHOTO_S3_BUCKET", "jz")
    monkeypatch.setenv("JINGZHAN_PHOTO_S3_ENDPOINT", "http://minio:9000")
    cfg = Config(with_secret=False)
    assert (cfg.PHOTO_STORE, cfg.PHOTO_S3_BUCKET, cfg.PHOTO_S3_ENDPOINT, cfg.PHOTO_S3_PREFIX) == \
           ("s3", "jz", "http://minio:9000", "photos/")
    monkeypatch.delenv("JINGZHAN_PHOTO_STORE")
    assert Config(with_secret=False).PHOTO_STORE == "dir"


def test_the_app_builds_its_store_once(app):
    store = store_for(app)
    assert isinstance(store, DirectoryStore) and store.root == app.config["PHOTO_DIR"]
    assert store_for(app) is store


# Uploads, dedup, serving

@pytest.fixture
def worker(client):
    login(client, "HN1003")
    return client


def test_same_bytes_under_two_uuids_are_stored_once(app, worker):
    data = jpeg(640, 480)
    (first, a), (second, b) = upload(worker, data), upload(worker, data)
    assert first.status_code == second.status_code == 201 and a != b
    with db.connection_context():
        rows = list(Photo.select().where(Photo.uuid.in_([a, b])))
    assert len(rows) == 2 and rows[0].sha256 == rows[1].sha256
    sha256 = rows[0].sha256
    assert files_under(app.config["PHOTO_DIR"]) == [f"{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg",
                                                    f"{sha256[:2]}/{sha256[2:4]}/{sha256}.thumb.jpg"]
    stored = store_for(app).get(photo_key(sha256))
    assert hashlib.sha256(stored).hexdigest() == sha256  # the key is the hash of the bytes it holds
    for uid in (a, b):
        with worker.get(f"/photos/{uid}.jpg") as response:
            assert response.status_code == 200 and response.data == stored


def test_photo_is_served_with_immutable_caching_and_its_hash_as_etag(app, worker):
    _, uid = upload(worker, jpeg(800, 600))
    with db.connection_context():
        sha256 = Photo.get(Photo.uuid == uid).sha256
    for path, etag in ((f"/photos/{uid}.jpg", sha256), (f"/photos/{uid}/thumb.jpg", f"{sha256}.thumb")):
        with worker.get(path) as response:
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "image/jpeg"
            assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
            assert response.headers["ETag"] == f'"{etag}"'
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            body = response.data
        assert body[:2] == b"\xff\xd8"
        with worker.get(path, headers={"If-None-Match": f'"{etag}"'}) as again:
            assert again.status_code == 304 and again.data == b""
            assert again.headers["ETag"] == f'"{etag}"'
            assert again.headers["Cache-Control"] == "private, max-age=31536000, immutable"
            # A 304 updates the cached response's headers: it must not relabel the photo as HTML.
            assert "text/html" not in again.headers.get("Content-Type", "")
        with worker.get(path, headers={"If-None-Match": '"someone-elses-hash"'}) as other:
            assert other.status_code == 200 and other.data == body


def test_revalidation_does_not_skip_the_access_checks(app, worker):
    _, uid = upload(worker, jpeg(640, 480))
    with db.connection_context():
        etag = f'"{Photo.get(Photo.uuid == uid).sha256}"'
    stranger = app.test_client()
    login(stranger, "HN2001")  # another station
    assert stranger.get(f"/photos/{uid}.jpg", headers={"If-None-Match": etag}).status_code == 404
    assert stranger.get(f"/photos/{uid}.jpg", headers={"If-None-Match": "*"}).status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(f"/photos/{uid}.jpg", headers={"If-None-Match": etag}).status_code == 302


def test_a_row_without_bytes_is_404_not_500(app, worker):
    _, uid = upload(worker, jpeg(300, 200))
    with db.connection_context():
        sha256 = Photo.get(Photo.uuid == uid).sha256
    store_for(app).delete(photo_key(sha256))
    assert worker.get(f"/photos/{uid}.jpg").status_code == 404


def test_uploads_and_serving_through_an_s3_store(app, worker):
    fake = FakeS3()
    app.extensions[EXTENSION] = S3Store("jz", prefix="p/", client=fake)
    response, uid = upload(worker, jpeg(1000, 700))
    assert response.status_code == 201
    assert not app.config["PHOTO_DIR"].exists() or not files_under(app.config["PHOTO_DIR"])
    with db.connection_context():
        sha256 = Photo.get(Photo.uuid == uid).sha256
    assert set(fake.objects) == {("jz", f"p/{sha256}.jpg"), ("jz", f"p/{sha256}.thumb.jpg")}
    with worker.get(f"/photos/{uid}/thumb.jpg") as response:
        assert response.status_code == 200 and response.data == fake.objects[("jz", f"p/{sha256}.thumb.jpg")][0]
    # The same photo again under a new uuid: checked with HEAD, not written twice.
    puts = [c for c in fake.calls if c[0] == "put"]
    upload(worker, jpeg(1000, 700))
    assert [c for c in fake.calls if c[0] == "put"] == puts


def test_a_caller_passing_the_photo_dir_gets_the_apps_store(app):
    """routes/admin.py (procedure pictures) passes PHOTO_DIR as before: that means the app's configured store."""
    fake = FakeS3()
    app.extensions[EXTENSION] = S3Store("jz", client=fake)
    with app.app_context(), db.connection_context():
        admin = User.get(User.employee_no == "HN0001")
        photo, created = store_photo(admin, str(uuid_module.uuid4()), jpeg(400, 300), app.config["PHOTO_DIR"])
    assert created and ("jz", photo_key(photo.sha256)) in fake.objects


def test_procedure_picture_upload_is_stored_by_hash_and_shown(app):
    admin = app.test_client()
    login(admin, "HN0001")
    response = admin.post("/admin/procedures/operation:peng", data={
        "title": "碰泵操作规程", "body": "1. 下放光杆", "photos": (io.BytesIO(jpeg(500, 400)), "p.jpg")},
        content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    with db.connection_context():
        photo = Photo.select().where(Photo.shared).order_by(Photo.id.desc()).first()
    assert photo is not None and store_for(app).exists(photo_key(photo.sha256))
    worker = app.test_client()
    login(worker, "HN2003")  # another station: procedure pictures are for the whole work area
    assert worker.get(f"/photos/{photo.uuid}.jpg").status_code == 200


# Files of older releases: read until migrated, then moved by `jingzhan photos migrate`

def old_release_photo(app, employee_no, data, uid=None):
    """A photo as releases before content-addressed storage kept it: files named by uuid, and its row."""
    uid = uid or str(uuid_module.uuid4())
    photo, thumb, width, height = reencode(data)
    for content, is_thumb in ((photo, False), (thumb, True)):
        path = legacy_path(app.config["PHOTO_DIR"], uid, is_thumb)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with db.connection_context():
        user = User.get(User.employee_no == employee_no)
        Photo.create(uuid=uid, author=user.id, station=user.station_id, sha256=hashlib.sha256(photo).hexdigest(),
                     width=width, height=height, size=len(photo))
    return uid, photo, thumb


def test_old_files_are_served_then_migrated_idempotently(app, worker, runner):
    uid, photo, thumb = old_release_photo(app, "HN1003", jpeg(900, 700))
    twin, _, _ = old_release_photo(app, "HN1003", jpeg(900, 700))  # same bytes, second uuid
    other, other_photo, _ = old_release_photo(app, "HN1003", jpeg(640, 200))
    _, new = upload(worker, jpeg(333, 222))  # a photo uploaded after the upgrade, already by hash
    folder = app.config["PHOTO_DIR"]
    orphan = legacy_path(folder, str(uuid_module.uuid4()))
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"a file whose row was never written")
    tampered, _, _ = old_release_photo(app, "HN1003", jpeg(200, 640))
    legacy_path(folder, tampered).write_bytes(photo)  # not the bytes its row's sha256 names
    sha256 = hashlib.sha256(photo).hexdigest()

    def served():
        with worker.get(f"/photos/{uid}.jpg") as big, worker.get(f"/photos/{uid}/thumb.jpg") as small, \
                worker.get(f"/photos/{other}.jpg") as third:
            return (big.status_code, big.data, big.headers["ETag"], small.data, third.data)

    assert served() == (200, photo, f'"{sha256}"', thumb, other_photo)  # read from the old path
    result = runner.invoke(args=["photos", "migrate"])
    assert result.exit_code == 0, result.output
    # uid and other (photo and thumbnail each) and the tampered photo's thumbnail; twin found its two there.
    assert "已移入 5 个文件，2 个存储里已有" in result.output
    assert "1 个旧文件没有对应的照片记录" in result.output and "1 个旧文件内容与记录的 sha256 不符" in result.output
    assert served() == (200, photo, f'"{sha256}"', thumb, other_photo)  # now from the store
    store = DirectoryStore(folder)
    assert store.get(photo_key(sha256)) == photo and store.get(photo_key(sha256, thumb=True)) == thumb
    for gone in (uid, twin, other):
        assert not legacy_path(folder, gone).exists() and not legacy_path(folder, gone, thumb=True).exists()
    assert orphan.exists() and legacy_path(folder, tampered).exists()  # left where they were
    with worker.get(f"/photos/{twin}.jpg") as response, worker.get(f"/photos/{new}.jpg") as recent:
        assert response.data == photo and recent.status_code == 200
    before = files_under(folder)
    again = runner.invoke(args=["photos", "migrate"])
    assert again.exit_code == 0 and "已移入 0 个文件，0 个存储里已有" in again.output
    assert files_under(folder) == before


def test_migrating_an_empty_or_missing_folder(app, runner):
    result = runner.invoke(args=["photos", "migrate"])
    assert result.exit_code == 0 and "无需迁移" in result.output


def test_migration_into_s3_keeps_photos_readable_throughout(app, worker, runner):
    uid, photo, thumb = old_release_photo(app, "HN1003", jpeg(700, 500))
    fake = FakeS3()
    app.extensions[EXTENSION] = S3Store("jz", client=fake)
    with worker.get(f"/photos/{uid}.jpg") as response:
        assert response.data == photo  # S3 has nothing yet: the old file is read
    assert runner.invoke(args=["photos", "migrate"]).exit_code == 0
    sha256 = hashlib.sha256(photo).hexdigest()
    assert fake.objects[("jz", photo_key(sha256, thumb=True))][0] == thumb
    assert not legacy_path(app.config["PHOTO_DIR"], uid).exists()
    with worker.get(f"/photos/{uid}.jpg") as response:
        assert response.data == photo
