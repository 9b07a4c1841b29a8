"""NTAG 424 DNA "SUN" reads (Secure Dynamic Messaging, AES mode): per-tag keys, PICC data, the MAC, the URL to program.

Pure cryptography after NXP AN12196 and the NT4H2421Gx data sheet: no Flask, no database. A tag programmed as
docs/nfc.md says answers every tap with `…/n/<well_id>?e=<32 hex>&c=<16 hex>`: e is the encrypted PICC data (UID
and read counter), c the SUN MAC over an empty input. The work area's 16-byte master key stays on the server; the
three per-tag keys derived from it are written into the tag once, when it is programmed.

verify_sun() is fed straight from the query string: anything that is not a read of one of our tags raises NfcError,
never another exception. It is stateless, so a replayed URL verifies again: the caller compares the counter with the
last one it accepted from that tag.
"""
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KEY_BYTES = 16
UID_BYTES = 7
COUNTER_MAX = 0xFFFFFF  # SDMReadCtr is 24 bits
E_CHARS = 32  # one AES block of PICC data, ASCII hex
C_CHARS = 16  # the 8-byte truncated MAC, ASCII hex
# PICCDataTag: bit 7 UID mirrored, bit 6 SDMReadCtr mirrored, low nibble the UID length (7).
PICC_DATA_TAG = 0xC7
SV2_PREFIX = bytes.fromhex("3CC300010080")
SUN_PATH = "/n/{well_id}"
NDEF_FILE_BYTES = 256  # file 02h of an NTAG 424 DNA as delivered
# Only these two, so the offsets match what an admin picks as "URI type" in TagWriter (docs/nfc.md).
URI_PREFIX_CODES = (("https://", 0x04), ("http://", 0x03))

_HEX = re.compile(r"[0-9A-Fa-f]*")
_MIRROR_E = re.compile(rb"[?&]e=([0-9A-Fa-f]{%d})(?=[&#]|$)" % E_CHARS)
_MIRROR_C = re.compile(rb"[?&]c=([0-9A-Fa-f]{%d})(?=[&#]|$)" % C_CHARS)


class NfcError(Exception):
    """A SUN message that is not a good read of one of our tags; code is the machine reason callers turn into text."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TagKeys:
    """The AES keys written into one tag: key 0 (AppMasterKey), key 1 (SDMMetaRead) and key 2 (SDMFileRead)."""

    app_master: bytes
    meta_read: bytes
    file_read: bytes


@dataclass(frozen=True)
class SunReading:
    """A verified tap: the tag's UID and its read counter at that tap."""

    uid: bytes
    counter: int

    @property
    def uid_hex(self) -> str:
        """The UID as phones' NFC apps show it, upper-case hex without separators."""
        return self.uid.hex().upper()


def _check_key(key: bytes, name: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"{name} must be {KEY_BYTES} bytes")


def _check_uid(uid: bytes) -> None:
    if not isinstance(uid, bytes) or len(uid) != UID_BYTES:
        raise ValueError(f"uid must be {UID_BYTES} bytes")


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def meta_read_key(master: bytes) -> bytes:
    """Key 1, shared by the work area's tags: the PICC data must be decrypted before the UID is known."""
    _check_key(master, "master")
    return _cmac(master, b"\x01" + b"jingzhan SDM meta read")


def file_read_key(master: bytes, uid: bytes) -> bytes:
    """Key 2, one per tag: the SUN MAC key, so a key read out of one tag forges no other."""
    _check_key(master, "master")
    _check_uid(uid)
    return _cmac(master, b"\x02" + b"jingzhan SDM file read" + uid)


def app_master_key(master: bytes, uid: bytes) -> bytes:
    """Key 0, one per tag: guards writing the NDEF file, its settings and the keys."""
    _check_key(master, "master")
    _check_uid(uid)
    return _cmac(master, b"\x00" + b"jingzhan app master" + uid)


def derive_tag_keys(master: bytes, uid: bytes) -> TagKeys:
    """The three keys to write into the tag with this UID, derived from the work area's master key."""
    return TagKeys(app_master=app_master_key(master, uid), meta_read=meta_read_key(master),
                   file_read=file_read_key(master, uid))


def _parse_hex(value: object, length: int, name: str) -> bytes:
    # The length test comes first so a huge string is refused without scanning it.
    if not isinstance(value, str) or len(value) != length:
        raise NfcError("nfc_malformed", f"{name} is not a hex string of {length} characters")
    # Not bytes.fromhex alone: it skips whitespace.
    if not _HEX.fullmatch(value):
        raise NfcError("nfc_malformed", f"{name} is not hex")
    return bytes.fromhex(value)


def decrypt_picc_data(meta_read_key: bytes, e: str) -> tuple[bytes, int]:
    """The (UID, read counter) in a tap's e parameter: 32 hex chars, AES-128-CBC with a zero IV under key 1."""
    _check_key(meta_read_key, "meta_read_key")
    block = _parse_hex(e, E_CHARS, "e")
    decryptor = Cipher(algorithms.AES(meta_read_key), modes.CBC(bytes(16))).decryptor()
    plain = decryptor.update(block) + decryptor.finalize()
    if plain[0] != PICC_DATA_TAG:
        raise NfcError("nfc_bad_tag", "e does not decrypt to PICC data of one of our tags")
    # Bytes 11..15 are the tag's random padding.
    return plain[1:8], int.from_bytes(plain[8:11], "little")


def sun_mac(file_read_key: bytes, uid: bytes, counter: int, mac_input: bytes = b"") -> bytes:
    """The 8-byte SUN MAC: a session key CMAC'd from key 2 and SV2, then CMAC over mac_input, odd bytes kept."""
    _check_key(file_read_key, "file_read_key")
    _check_uid(uid)
    if not isinstance(counter, int) or not 0 <= counter <= COUNTER_MAX:
        raise ValueError("counter must fit in 24 bits")
    session_key = _cmac(file_read_key, SV2_PREFIX + uid + counter.to_bytes(3, "little"))
    return _cmac(session_key, mac_input)[1::2]


def verify_sun_with_keys(meta_read_key: bytes, file_read_key: bytes | Callable[[bytes], bytes], e: str,
                         c: str) -> SunReading:
    """A tap checked with explicit keys; file_read_key may be a function of the UID (per-tag keys)."""
    mac = _parse_hex(c, C_CHARS, "c")
    uid, counter = decrypt_picc_data(meta_read_key, e)
    key = file_read_key(uid) if callable(file_read_key) else file_read_key
    if not hmac.compare_digest(sun_mac(key, uid, counter), mac):
        raise NfcError("nfc_bad_mac", "the MAC does not match: not a read of this tag")
    return SunReading(uid=uid, counter=counter)


def verify_sun(master: bytes, e: str, c: str) -> SunReading:
    """A tap of one of this work area's tags, checked with the keys derived from its master key."""
    return verify_sun_with_keys(meta_read_key(master), lambda uid: file_read_key(master, uid), e, c)


def sdm_url_template(base_url: str, well_id: int) -> str:
    """The URL to write into a well's tag: the tag overwrites the zeros with e and c at every tap."""
    if isinstance(well_id, bool) or not isinstance(well_id, int) or well_id < 1:
        raise ValueError("well_id must be a positive integer")
    path = SUN_PATH.format(well_id=well_id)
    return f"{base_url.rstrip('/')}{path}?e={'0' * E_CHARS}&c={'0' * C_CHARS}"


def ndef_file(url: str) -> bytes:
    """The NDEF file (02h) holding url as one URI record: NLEN, D1 01 <len> 55, the prefix code, the rest."""
    code, rest = 0x00, url
    for prefix, prefix_code in URI_PREFIX_CODES:
        if url.startswith(prefix):
            code, rest = prefix_code, url[len(prefix):]
            break
    payload = bytes([code]) + rest.encode("utf-8")
    # MB|ME|SR, TNF well-known; type "U". A short record holds at most 255 payload bytes.
    record = bytes([0xD1, 0x01, len(payload) & 0xFF, 0x55]) + payload
    if len(payload) > 0xFF or 2 + len(record) > NDEF_FILE_BYTES:
        raise ValueError("the URL does not fit in the tag's NDEF file")
    return len(record).to_bytes(2, "big") + record


def sdm_offsets(url: str) -> dict:
    """Where the tag mirrors e and c in the NDEF file for url: the offsets typed into the SDM settings."""
    data = ndef_file(url)
    e, c = _MIRROR_E.search(data), _MIRROR_C.search(data)
    if not e or not c or c.start(1) < e.end(1):
        raise ValueError(f"the URL needs e= with {E_CHARS} and then c= with {C_CHARS} placeholder characters")
    # SDMMACInputOffset == SDMMACOffset: the MAC is over the empty input (AN12196's example does the same).
    return {"PICCDataOffset": e.start(1), "SDMMACInputOffset": c.start(1), "SDMMACOffset": c.start(1)}
