"""A simulated NTAG 424 DNA answering taps with SUN URLs, written from AN12196 apart from webapp/nfc.py's checks.

Given the SDM offsets an admin programmed, it mirrors e and c into an image of its NDEF file at those offsets and
reads the URL back out as a phone would, so wrong offsets give a URL that does not verify, as on a real tag.
"""
import os
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from webapp import nfc

URI_PREFIXES = {0x00: "", 0x01: "http://www.", 0x02: "https://www.", 0x03: "http://", 0x04: "https://"}


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def encode_ndef(url: str) -> bytearray:
    """The NDEF file a writer app stores for url: NLEN, one short URI record, "https://" or "http://" abbreviated."""
    code = next((c for c, prefix in ((0x04, "https://"), (0x03, "http://")) if url.startswith(prefix)), 0x00)
    payload = bytes([code]) + url[len(URI_PREFIXES[code]):].encode()
    record = bytes([0xD1, 0x01, len(payload), ord("U")]) + payload
    return bytearray(len(record).to_bytes(2, "big") + record)


def decode_ndef(data: bytes) -> str:
    """The URL a phone opens from the NDEF file."""
    length = int.from_bytes(data[:2], "big")
    record = data[2:2 + length]
    assert record[0] == 0xD1 and record[1] == 1 and record[3] == ord("U"), record[:4].hex()
    payload = record[4:4 + record[2]]
    return URI_PREFIXES[payload[0]] + payload[1:].decode()


class SimulatedTag:
    """One tag: UID, keys 1 and 2, the URL written into it, and its 24-bit read counter."""

    def __init__(self, uid: bytes, meta_read_key: bytes, file_read_key: bytes, url: str, counter: int = 0,
                 offsets: dict | None = None, padding: Callable[[int], bytes] = os.urandom):
        assert len(uid) == 7 and len(meta_read_key) == 16 and len(file_read_key) == 16
        self.uid = uid
        self.meta_read_key = meta_read_key
        self.file_read_key = file_read_key
        # Without offsets, url is base + path and e and c are appended; with them, url is the programmed URL.
        self.url = url
        self.offsets = offsets
        self.counter = counter
        self.padding = padding

    @classmethod
    def enrolled(cls, master: bytes, uid: bytes, base_url: str, well_id: int, **kwargs) -> "SimulatedTag":
        """A tag programmed as docs/nfc.md says for this well, with the keys derived from the work area's master."""
        keys = nfc.derive_tag_keys(master, uid)
        url = nfc.sdm_url_template(base_url, well_id)
        return cls(uid, keys.meta_read, keys.file_read, url, offsets=nfc.sdm_offsets(url), **kwargs)

    def picc_data(self) -> str:
        """e for the current counter: C7 || UID || counter LSB first || 5 random bytes, AES-CBC, zero IV."""
        plain = bytes([0xC7]) + self.uid + self.counter.to_bytes(3, "little") + self.padding(5)
        encryptor = Cipher(algorithms.AES(self.meta_read_key), modes.CBC(bytes(16))).encryptor()
        return (encryptor.update(plain) + encryptor.finalize()).hex().upper()

    def mac(self, mac_input: bytes = b"") -> str:
        """c for the current counter over mac_input (the file bytes between SDMMACInputOffset and SDMMACOffset)."""
        sv2 = bytes.fromhex("3CC300010080") + self.uid + self.counter.to_bytes(3, "little")
        session_key = _cmac(self.file_read_key, sv2)
        full = _cmac(session_key, mac_input)
        return bytes(full[i] for i in range(1, 16, 2)).hex().upper()

    def tap(self) -> str:
        """What a phone opens when it reads the tag: the counter goes up by one, then e and c are mirrored."""
        if self.counter >= 0xFFFFFF:
            raise RuntimeError("SDMReadCtr is exhausted: the tag no longer answers")
        self.counter += 1
        e = self.picc_data()
        if self.offsets is None:
            return f"{self.url}?e={e}&c={self.mac()}"
        data = encode_ndef(self.url)
        at = self.offsets["PICCDataOffset"]
        data[at:at + 32] = e.encode()
        start, at = self.offsets["SDMMACInputOffset"], self.offsets["SDMMACOffset"]
        data[at:at + 16] = self.mac(bytes(data[start:at])).encode()
        return decode_ndef(data)
