"""Photos from phones: only real images are kept, re-encoded without EXIF, with a thumbnail, stored under the
hash of the re-encoded photo (webapp/photo_store.py) and recorded by uuid."""
import hashlib
import os
import re
import uuid as uuid_module
import warnings
from io import BytesIO
from pathlib import Path

from flask_babel import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from models import Photo

from .patrols import RecordError
from .photo_store import DirectoryStore

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 48-megapixel phone camera fits; a decompression bomb does not
LONG_SIDE = 1600
THUMB_SIDE = 320
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}


class PhotoError(Exception):
    """An upload that is not a photo we keep; the message says why, in Chinese."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


LEGACY_NAME = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.thumb)?\.jpg")


def photo_key(sha256: str, thumb: bool = False) -> str:
    """The store key of a photo (its sha256) or of its thumbnail (the photo's sha256 too: one row, one hash)."""
    return f"{sha256}{'.thumb' if thumb else ''}.jpg"


def legacy_path(folder: Path, uuid: str, thumb: bool = False) -> Path:
    """Where releases before content-addressed storage wrote a photo: <folder>/<2 chars>/<uuid>[.thumb].jpg."""
    return Path(folder) / uuid[:2] / f"{uuid}{'.thumb' if thumb else ''}.jpg"


def _encode(image: Image.Image, side: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    copy = image.copy()
    copy.thumbnail((side, side), Image.LANCZOS)
    out = BytesIO()
    # No exif= argument, and the image has no info (see reencode): nothing of the phone's file is written back.
    copy.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), copy.size


def reencode(data: bytes) -> tuple[bytes, bytes, int, int]:
    """(photo, thumbnail, width, height) as new JPEGs, or PhotoError for anything that is not a sound image."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError("too_large", gettext("照片不能超过 %(size)s MB。", size=MAX_UPLOAD_BYTES // 1024 // 1024), 413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only these decoders ever see the bytes: Pillow's other format plugins never parse an upload.
            # (MPO, the multi-picture JPEG of some phones, is opened by the JPEG decoder.)
            image = Image.open(BytesIO(data), formats=["JPEG", "PNG", "WEBP"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("too_many_pixels", gettext("照片像素太多，无法处理。")) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise PhotoError("not_an_image", gettext("这不是照片（只接受 JPEG、PNG、WebP 图片）。")) from None
    if image.format not in ACCEPTED_FORMATS:
        raise PhotoError("not_an_image", gettext("这不是照片（只接受 JPEG、PNG、WebP 图片）。"))
    # Checked on the header, before a single pixel is decoded.
    if image.width * image.height > MAX_PIXELS:
        raise PhotoError("too_many_pixels", gettext("照片像素太多，无法处理。"))
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        # The pixels only, in a new image: nothing of the file's metadata (EXIF, GPS, XMP, a JPEG comment, an ICC
        # profile, PNG text chunks) can reach what is stored — Pillow's JPEG writer puts info["comment"] back.
        image = Image.frombytes("RGB", image.size, image.convert("RGB").tobytes())
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise PhotoError("broken_image", gettext("照片文件不完整或已损坏，请重新拍摄。")) from None
    photo, size = _encode(image, LONG_SIDE, 82)
    thumb, _ = _encode(image, THUMB_SIDE, 75)
    return photo, thumb, *size


def _keep(store, key: str, data: bytes) -> None:
    # Content-addressed: a key that is there already holds these very bytes.
    if not store.exists(key):
        store.put(key, data)


def _as_store(target):
    """A photo store; a folder (what callers passed before stores existed) is the app's store when it is the app's
    PHOTO_DIR, otherwise a directory store there."""
    if not isinstance(target, (str, os.PathLike)):
        return target
    from flask import current_app, has_app_context

    from .photo_store import store_for

    if has_app_context() and Path(target) == Path(current_app.config["PHOTO_DIR"]):
        return store_for(current_app)
    return DirectoryStore(target)


def read_photo(store, uuid, sha256: str, thumb: bool = False, legacy_dir: Path | None = None) -> bytes | None:
    """The bytes of a photo (or its thumbnail): from the store, else from the uuid-named file of an older release
    in legacy_dir, until `jingzhan photos migrate` has moved it; None when neither has it."""
    key = photo_key(sha256, thumb)
    data = store.get(key)
    if data is None and legacy_dir is not None:
        try:
            return legacy_path(legacy_dir, str(uuid), thumb).read_bytes()
        except FileNotFoundError:
            data = store.get(key)  # moved into the store meanwhile by a running migration
    return data


def read_photos(uuids, store, legacy_dir: Path | None = None) -> dict[str, bytes]:
    """The photos with these uuids (as canonical strings), by uuid; those without a row or bytes are left out."""
    wanted = [u for u in uuids if u]
    if not wanted:
        return {}
    found = {}
    for photo in Photo.select(Photo.uuid, Photo.sha256).where(Photo.uuid.in_(wanted)):
        data = read_photo(store, photo.uuid, photo.sha256, legacy_dir=legacy_dir)
        if data is not None:
            found[str(photo.uuid)] = data
    return found


def store_photo(user, uuid: str, data: bytes, store) -> tuple[Photo, bool]:
    """Keep the photo and its thumbnail in the store under the photo's hash, and record it by uuid:
    (photo, created). The same uuid again from its author changes nothing; the same bytes under another uuid are
    stored once."""
    try:
        parsed = uuid_module.UUID(uuid)
    except (ValueError, AttributeError, TypeError):
        raise PhotoError("invalid_uuid", gettext("照片编号（uuid）无效。"), 400) from None
    if str(parsed) != uuid:
        raise PhotoError("invalid_uuid", gettext("照片编号（uuid）无效。"), 400)
    existing = Photo.get_or_none(Photo.uuid == uuid)
    if existing is not None:
        if existing.author_id != user.id:
            raise PhotoError("conflict", gettext("此照片编号已被他人使用。"), 409)
        return existing, False
    photo, thumb, width, height = reencode(data)
    sha256 = hashlib.sha256(photo).hexdigest()
    store = _as_store(store)
    # Blobs first, then the row: a row never points at a missing blob.
    _keep(store, photo_key(sha256), photo)
    _keep(store, photo_key(sha256, thumb=True), thumb)
    row = Photo.create(uuid=uuid, author=user.id, station=user.station_id, sha256=sha256,
                       width=width, height=height, size=len(photo))
    return row, True


def migrate_legacy(store, folder: Path, batch: int = 500) -> dict:
    """Move the uuid-named files of older releases (<folder>/<2 chars>/<uuid>[.thumb].jpg) into the store under
    their content keys. Idempotent: each file is put (unless the store has its key already) and only then removed,
    so a reader finds every photo at all times. Files without a photo row, and photos whose bytes do not match the
    row's sha256, are left where they are and listed."""
    folder = Path(folder)
    files: dict[str, list[tuple[Path, bool]]] = {}
    for path in sorted(folder.glob("??/*.jpg")):
        match = LEGACY_NAME.fullmatch(path.name)
        if match and path.parent.name == match[1][:2] and path.is_file():
            files.setdefault(match[1], []).append((path, bool(match[2])))
    result = {"moved": 0, "already": 0, "unknown": [], "mismatched": []}
    uuids = list(files)
    for start in range(0, len(uuids), batch):
        chunk = uuids[start:start + batch]
        hashes = {str(p.uuid): p.sha256 for p in Photo.select(Photo.uuid, Photo.sha256).where(Photo.uuid.in_(chunk))}
        for uuid in chunk:
            sha256 = hashes.get(uuid)
            for path, thumb in files[uuid]:
                if sha256 is None:
                    result["unknown"].append(path)
                    continue
                data = path.read_bytes()
                if not thumb and hashlib.sha256(data).hexdigest() != sha256:
                    result["mismatched"].append(path)
                    continue
                key = photo_key(sha256, thumb)
                if store.exists(key):
                    result["already"] += 1
                else:
                    store.put(key, data)
                    result["moved"] += 1
                path.unlink()
    for directory in {path.parent for paths in files.values() for path, _ in paths}:
        try:
            directory.rmdir()  # only when emptied (a directory store may keep its own folders inside)
        except OSError:
            pass
    return result


def photo_list(raw, field: str, limit: int, *, required: bool = False, what: str | None = None) -> list[str]:
    """The photo ids a record lists, checked for shape (existence is check_photos' job); what names them (照片)."""
    what = what or gettext("照片")
    photos = raw or []
    if not isinstance(photos, list) or len(photos) > limit or not all(isinstance(p, str) for p in photos):
        raise RecordError("invalid_value", gettext("%(what)s列表不对（最多 %(limit)s 张）。", what=what, limit=limit), field)
    if required and not photos:
        raise RecordError("missing_photo", gettext("请拍%(what)s。", what=what), field)
    return photos


def check_photos(user, uuids: list[str]) -> None:
    """Every photo a record refers to must have been uploaded by its author first."""
    if not uuids:
        return
    if len(uuids) > 20:
        raise RecordError("too_many_photos", gettext("一条记录最多 20 张照片。"), "photos")
    for value in uuids:
        try:
            if str(uuid_module.UUID(value)) != value:
                raise ValueError(value)
        except (ValueError, AttributeError, TypeError):
            raise RecordError("invalid_value", gettext("照片编号无效。"), "photos") from None
    found = {str(p.uuid) for p in Photo.select(Photo.uuid).where(Photo.uuid.in_(uuids) & (Photo.author == user.id))}
    missing = [u for u in uuids if u not in found]
    if missing:
        raise RecordError("photo_missing", gettext("有照片还没有上传，稍后会自动重试。"), "photos")
