"""Photos from phones: only real images are kept, re-encoded without EXIF, with a thumbnail, stored by uuid."""
import hashlib
import os
import uuid as uuid_module
import warnings
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from models import Photo

from .patrols import RecordError

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


def photo_path(folder: Path, uuid: str, thumb: bool = False) -> Path:
    return Path(folder) / uuid[:2] / f"{uuid}{'.thumb' if thumb else ''}.jpg"


def _encode(image: Image.Image, side: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    copy = image.copy()
    copy.thumbnail((side, side), Image.LANCZOS)
    out = BytesIO()
    # No exif= argument: what was in the phone's file (GPS, device) is not written back.
    copy.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), copy.size


def reencode(data: bytes) -> tuple[bytes, bytes, int, int]:
    """(photo, thumbnail, width, height) as new JPEGs, or PhotoError for anything that is not a sound image."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError("too_large", f"照片不能超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB。", 413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only these decoders ever see the bytes: Pillow's other format plugins never parse an upload.
            # (MPO, the multi-picture JPEG of some phones, is opened by the JPEG decoder.)
            image = Image.open(BytesIO(data), formats=["JPEG", "PNG", "WEBP"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("too_many_pixels", "照片像素太多，无法处理。") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise PhotoError("not_an_image", "这不是照片（只接受 JPEG、PNG、WebP 图片）。") from None
    if image.format not in ACCEPTED_FORMATS:
        raise PhotoError("not_an_image", "这不是照片（只接受 JPEG、PNG、WebP 图片）。")
    # Checked on the header, before a single pixel is decoded.
    if image.width * image.height > MAX_PIXELS:
        raise PhotoError("too_many_pixels", "照片像素太多，无法处理。")
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise PhotoError("broken_image", "照片文件不完整或已损坏，请重新拍摄。") from None
    photo, size = _encode(image, LONG_SIDE, 82)
    thumb, _ = _encode(image, THUMB_SIDE, 75)
    return photo, thumb, *size


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def store_photo(user, uuid: str, data: bytes, folder: Path) -> tuple[Photo, bool]:
    """Keep the photo under its uuid: (photo, created). The same uuid again from its author changes nothing."""
    try:
        parsed = uuid_module.UUID(uuid)
    except (ValueError, AttributeError, TypeError):
        raise PhotoError("invalid_uuid", "照片编号（uuid）无效。", 400) from None
    if str(parsed) != uuid:
        raise PhotoError("invalid_uuid", "照片编号（uuid）无效。", 400)
    existing = Photo.get_or_none(Photo.uuid == uuid)
    if existing is not None:
        if existing.author_id != user.id:
            raise PhotoError("conflict", "此照片编号已被他人使用。", 409)
        return existing, False
    photo, thumb, width, height = reencode(data)
    # Files first, then the row: a row never points at a missing file.
    _write(photo_path(folder, uuid), photo)
    _write(photo_path(folder, uuid, thumb=True), thumb)
    row = Photo.create(uuid=uuid, author=user.id, station=user.station_id, sha256=hashlib.sha256(photo).hexdigest(),
                       width=width, height=height, size=len(photo))
    return row, True


def photo_list(raw, field: str, limit: int, *, required: bool = False, what: str = "照片") -> list[str]:
    """The photo ids a record lists, checked for shape (existence is check_photos' job)."""
    photos = raw or []
    if not isinstance(photos, list) or len(photos) > limit or not all(isinstance(p, str) for p in photos):
        raise RecordError("invalid_value", f"{what}列表不对（最多 {limit} 张）。", field)
    if required and not photos:
        raise RecordError("missing_photo", f"请拍{what}。", field)
    return photos


def check_photos(user, uuids: list[str]) -> None:
    """Every photo a record refers to must have been uploaded by its author first."""
    if not uuids:
        return
    if len(uuids) > 20:
        raise RecordError("too_many_photos", "一条记录最多 20 张照片。", "photos")
    for value in uuids:
        try:
            if str(uuid_module.UUID(value)) != value:
                raise ValueError(value)
        except (ValueError, AttributeError, TypeError):
            raise RecordError("invalid_value", "照片编号无效。", "photos") from None
    found = {str(p.uuid) for p in Photo.select(Photo.uuid).where(Photo.uuid.in_(uuids) & (Photo.author == user.id))}
    missing = [u for u in uuids if u not in found]
    if missing:
        raise RecordError("photo_missing", "有照片还没有上传，稍后会自动重试。", "photos")
