"""NFC tags at wellheads (docs/nfc.md): enrolling an NTAG 424 DNA tag to a well, revoking it, and what the admin
programs into it — the URL, the SDM offsets and the tag's own keys (derived from the work area's master key, which
never leaves the server)."""
import re
from dataclasses import dataclass

from flask_babel import gettext

from models import NfcTag, Station, Well, db, utcnow

from .nfc import derive_tag_keys, sdm_offsets, sdm_url_template

UID_PATTERN = re.compile(r"[0-9A-F]{14}")


class TagError(Exception):
    """An enrolment or revocation refused, with the reason in Chinese."""


@dataclass
class Programming:
    """What to write into a tag, shown once to the admin who enrolled it."""

    tag: NfcTag
    url: str
    offsets: dict
    keys: dict  # key number → hex


def clean_uid(raw) -> str:
    """A tag UID as 14 upper-case hex digits; colons, spaces and dashes (as NFC apps show it) are dropped."""
    text = re.sub(r"[\s:\-]", "", raw if isinstance(raw, str) else "")[:64].upper()
    if not UID_PATTERN.fullmatch(text):
        raise TagError(gettext("标签 UID 应为 7 个字节（14 位十六进制数字，如 04:DE:5F:1E:AC:C0:40）。"))
    return text


def area_tags(work_area_id: int):
    """The work area's tags, active first, with their wells."""
    return (NfcTag.select(NfcTag, Well).join(Well).join(Station)
            .where((NfcTag.work_area == work_area_id) & (Station.work_area == work_area_id))
            .order_by(NfcTag.revoked_at.is_null(False), Well.code, NfcTag.id.desc()))


def enrol(admin, well: Well, raw_uid, base_url: str) -> Programming:
    """Enrol a tag to a well of the admin's work area; a tag still active elsewhere must be revoked first."""
    uid = clean_uid(raw_uid)
    with db.atomic():
        active = (NfcTag.select(NfcTag, Well).join(Well)
                  .where((NfcTag.work_area == admin.work_area_id) & (NfcTag.uid == uid) & NfcTag.revoked_at.is_null())
                  .first())
        if active is not None:
            raise TagError(gettext("这个标签已登记在 %(code)s，请先停用再重新登记。", code=active.well.code))
        tag = NfcTag.create(work_area=admin.work_area_id, well=well.id, uid=uid, enrolled_by=admin.id)
    return programming(admin.work_area, tag, well, base_url)


def programming(area, tag: NfcTag, well: Well, base_url: str) -> Programming:
    """The URL, offsets and keys to program into the tag."""
    keys = derive_tag_keys(area.issue_nfc_master_key(), bytes.fromhex(tag.uid))
    url = sdm_url_template(base_url, well.id)
    return Programming(tag=tag, url=url, offsets=sdm_offsets(url),
                       keys={0: keys.app_master.hex().upper(), 1: keys.meta_read.hex().upper(),
                             2: keys.file_read.hex().upper()})


def revoke(admin, tag: NfcTag) -> bool:
    """Stop accepting a tag (lost, damaged or moved); its earlier taps keep their evidence. False if it already was."""
    return bool(NfcTag.update(revoked_at=utcnow(), revoked_by=admin.id)
                .where((NfcTag.id == tag.id) & NfcTag.revoked_at.is_null()).execute())


def get_area_tag(tag_id: int, user) -> NfcTag | None:
    """A tag of the user's work area, or None."""
    return (NfcTag.select(NfcTag, Well).join(Well).join(Station)
            .where((NfcTag.id == tag_id) & (NfcTag.work_area == user.work_area_id)
                   & (Station.work_area == user.work_area_id)).first())
