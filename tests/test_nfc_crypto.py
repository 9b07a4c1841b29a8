"""NTAG 424 DNA SUN cryptography: published vectors, the simulated tag, hostile input and the SDM offsets."""
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ntag424_sim import SimulatedTag, encode_ndef
from webapp import nfc
from webapp.nfc import NfcError

ZERO_KEY = bytes(16)
MASTER = bytes.fromhex("5D2A9C41E07B38F6A1C4D9022B7E6F13")
OTHER_MASTER = bytes.fromhex("C0FFEE00112233445566778899AABBCC")
UID = bytes.fromhex("04A1B2C3D4E580")
OTHER_UID = bytes.fromhex("045F3E2D1C0B90")
BASE = "https://jz.example.cn"
HEX = "0123456789abcdefABCDEF"
FORGED = {"nfc_bad_tag", "nfc_bad_mac"}

# AN12196 (Rev. 1.8) p. 12: a tap of https://ntag.nxp.com/424 with the factory all-zero keys.
AN12196_E = "EF963FF7828658A599F3041510671E88"
AN12196_C = "94EED9EE65337086"


def e_and_c(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query, strict_parsing=True)
    return query["e"][0], query["c"][0]


def cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def flip_bit(hex_text: str, bit: int) -> str:
    data = bytearray.fromhex(hex_text)
    data[bit // 8] ^= 0x80 >> (bit % 8)
    return data.hex().upper()


def test_an12196_sun_vector():
    reading = nfc.verify_sun_with_keys(ZERO_KEY, ZERO_KEY, AN12196_E, AN12196_C)
    assert reading.uid == bytes.fromhex("04DE5F1EACC040")
    assert reading.uid_hex == "04DE5F1EACC040"
    assert reading.counter == 61


def test_an12196_picc_data_and_mac_separately():
    uid, counter = nfc.decrypt_picc_data(ZERO_KEY, AN12196_E)
    assert (uid.hex().upper(), counter) == ("04DE5F1EACC040", 0x3D)
    assert nfc.sun_mac(ZERO_KEY, uid, counter).hex().upper() == AN12196_C


def test_an12196_mac_over_encrypted_file_data():
    # AN12196 p. 18 (SDMENCFileData mirrored too, as quoted by nfc-developer/sdm-backend tests/test_libsdm.py):
    # ?picc_data=FD91…&enc=CEE9…&cmac=ECC1…, the MAC input running from the enc value up to the MAC.
    uid, counter = nfc.decrypt_picc_data(ZERO_KEY, "FD91EC264309878BE6345CBE53BADF40")
    assert (uid.hex().upper(), counter) == ("04958CAA5C5E80", 8)
    mac = nfc.sun_mac(ZERO_KEY, uid, counter, b"CEE9A53E3E463EF1F459635736738962&cmac=")
    assert mac.hex().upper() == "ECC1E7F6C6C73BF6"


def test_plain_mirroring_mac_vector():
    # Not from AN12196: nfc-developer/sdm-backend's README example of plain UID and counter mirroring, zero key.
    mac = nfc.sun_mac(ZERO_KEY, bytes.fromhex("041E3C8A2D6B80"), 6)
    assert mac.hex().upper() == "4B00064004B0B3D3"


def test_an12196_offsets_match_its_change_file_settings():
    # AN12196 Table 18 CmdData: FileOption 40, AccessRights 00E0, SDMOptions C1, SDMAccessRights F121,
    # then the 3-byte little-endian PICCDataOffset, SDMMACInputOffset and SDMMACOffset.
    cmd_data = bytes.fromhex("4000E0C1F121200000430000430000")
    published = [int.from_bytes(cmd_data[i:i + 3], "little") for i in (6, 9, 12)]
    url = f"https://choose.url.com/ntag424?e={'0' * 32}&c={'0' * 16}"
    offsets = nfc.sdm_offsets(url)
    assert published == [0x20, 0x43, 0x43]
    assert [offsets["PICCDataOffset"], offsets["SDMMACInputOffset"], offsets["SDMMACOffset"]] == published


def test_tag_keys_follow_the_documented_derivation():
    keys = nfc.derive_tag_keys(MASTER, UID)
    assert keys.app_master == cmac(MASTER, b"\x00jingzhan app master" + UID)
    assert keys.meta_read == cmac(MASTER, b"\x01jingzhan SDM meta read") == nfc.meta_read_key(MASTER)
    assert keys.file_read == cmac(MASTER, b"\x02jingzhan SDM file read" + UID) == nfc.file_read_key(MASTER, UID)
    other = nfc.derive_tag_keys(MASTER, OTHER_UID)
    assert other.meta_read == keys.meta_read
    assert other.file_read != keys.file_read and other.app_master != keys.app_master
    assert len({keys.app_master, keys.meta_read, keys.file_read}) == 3
    assert nfc.derive_tag_keys(OTHER_MASTER, UID).meta_read != keys.meta_read


@pytest.mark.parametrize("master, uid", [(MASTER[:15], UID), (MASTER, UID[:6]), ("0" * 16, UID), (MASTER, None)])
def test_keys_refuse_wrong_sizes(master, uid):
    with pytest.raises(ValueError):
        nfc.derive_tag_keys(master, uid)


def test_simulated_tag_round_trip_with_explicit_keys():
    tag = SimulatedTag(UID, ZERO_KEY, ZERO_KEY, f"{BASE}/n/7")
    for expected in range(1, 6):
        url = tag.tap()
        assert url.startswith(f"{BASE}/n/7?e=")
        reading = nfc.verify_sun_with_keys(ZERO_KEY, ZERO_KEY, *e_and_c(url))
        assert (reading.uid, reading.counter) == (UID, expected)


@pytest.mark.parametrize("well_id", [1, 12, 999, 123456])
def test_enrolled_tag_round_trip(well_id):
    tag = SimulatedTag.enrolled(MASTER, UID, BASE, well_id)
    urls = [tag.tap() for _ in range(3)]
    assert len(set(urls)) == 3
    for counter, url in enumerate(urls, start=1):
        assert urlsplit(url).path == f"/n/{well_id}"
        e, c = e_and_c(url)
        assert len(e) == 32 and len(c) == 16 and e == e.upper() and c == c.upper()
        reading = nfc.verify_sun(MASTER, e, c)
        assert (reading.uid_hex, reading.counter) == (UID.hex().upper(), counter)


def test_counter_goes_on_from_where_the_tag_is():
    tag = SimulatedTag.enrolled(MASTER, UID, BASE, 3, counter=41)
    assert nfc.verify_sun(MASTER, *e_and_c(tag.tap())).counter == 42


def test_the_counter_is_24_bits():
    tag = SimulatedTag.enrolled(MASTER, UID, BASE, 3, counter=0xFFFFFE)
    assert nfc.verify_sun(MASTER, *e_and_c(tag.tap())).counter == 0xFFFFFF
    with pytest.raises(RuntimeError):
        tag.tap()
    with pytest.raises(ValueError):
        nfc.sun_mac(ZERO_KEY, UID, 0x1000000)


def test_a_replayed_url_verifies_again():
    url = SimulatedTag.enrolled(MASTER, UID, BASE, 3).tap()
    # Stateless on purpose: refusing a counter not above the last one is the caller's job.
    assert nfc.verify_sun(MASTER, *e_and_c(url)) == nfc.verify_sun(MASTER, *e_and_c(url))


def test_lower_and_mixed_case_hex_is_accepted():
    assert nfc.verify_sun_with_keys(ZERO_KEY, ZERO_KEY, AN12196_E.lower(), AN12196_C.lower()).counter == 61
    mixed_e = "".join(ch.lower() if i % 2 else ch for i, ch in enumerate(AN12196_E))
    assert nfc.verify_sun_with_keys(ZERO_KEY, ZERO_KEY, mixed_e, AN12196_C).counter == 61


@pytest.mark.parametrize("bit", [*range(0, 128, 7), 127])
def test_a_flipped_bit_in_e_is_refused(bit):
    e, c = e_and_c(SimulatedTag.enrolled(MASTER, UID, BASE, 5).tap())
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, flip_bit(e, bit), c)
    assert raised.value.code in FORGED


@pytest.mark.parametrize("bit", range(64))
def test_a_flipped_bit_in_c_is_refused(bit):
    e, c = e_and_c(SimulatedTag.enrolled(MASTER, UID, BASE, 5).tap())
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, e, flip_bit(c, bit))
    assert raised.value.code == "nfc_bad_mac"


def test_a_mac_from_another_tag_is_refused():
    e, _ = e_and_c(SimulatedTag.enrolled(MASTER, UID, BASE, 5).tap())
    _, c = e_and_c(SimulatedTag.enrolled(MASTER, OTHER_UID, BASE, 5).tap())
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, e, c)
    assert raised.value.code == "nfc_bad_mac"


def test_keys_read_out_of_one_tag_forge_no_other():
    stolen = nfc.derive_tag_keys(MASTER, UID)
    clone = SimulatedTag(OTHER_UID, stolen.meta_read, stolen.file_read, f"{BASE}/n/5")
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, *e_and_c(clone.tap()))
    assert raised.value.code == "nfc_bad_mac"


def test_a_tag_of_another_work_area_is_refused():
    url = SimulatedTag.enrolled(OTHER_MASTER, UID, BASE, 5).tap()
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, *e_and_c(url))
    assert raised.value.code in FORGED


def test_a_tag_still_on_factory_keys_is_refused():
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, AN12196_E, AN12196_C)
    assert raised.value.code in FORGED


def test_picc_data_without_the_c7_tag_is_refused():
    plain = bytes([0x87]) + UID + (1).to_bytes(3, "little") + bytes(5)  # UID mirrored, counter not
    encryptor = Cipher(algorithms.AES(ZERO_KEY), modes.CBC(bytes(16))).encryptor()
    e = (encryptor.update(plain) + encryptor.finalize()).hex()
    with pytest.raises(NfcError) as raised:
        nfc.decrypt_picc_data(ZERO_KEY, e)
    assert raised.value.code == "nfc_bad_tag"


def test_a_mac_over_another_input_is_refused():
    # A tag programmed with SDMMACInputOffset at e, not at c: its MAC covers "<e>&c=", which we do not accept.
    url = nfc.sdm_url_template(BASE, 5)
    offsets = dict(nfc.sdm_offsets(url), SDMMACInputOffset=nfc.sdm_offsets(url)["PICCDataOffset"])
    keys = nfc.derive_tag_keys(MASTER, UID)
    tag = SimulatedTag(UID, keys.meta_read, keys.file_read, url, offsets=offsets)
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, *e_and_c(tag.tap()))
    assert raised.value.code == "nfc_bad_mac"


MALFORMED = [
    "", "0" * 31, "0" * 33, "G" * 32, " " + "0" * 31, "0" * 31 + "\n", "00 " * 10 + "00", "0x" + "0" * 30,
    "\uff10" * 32, "é" * 32, "\ud800" * 32, "0" * 31 + "\udfff", "0" * 10_000, "\x00" * 32,
    None, 0, 12345678901234567890, 1.5, b"0" * 32, ["0" * 32], {"e": "0" * 32},
]


@pytest.mark.parametrize("bad", MALFORMED, ids=lambda bad: repr(bad)[:24])
def test_malformed_e_is_refused(bad):
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, bad, AN12196_C)
    assert raised.value.code == "nfc_malformed"


@pytest.mark.parametrize("bad", [*MALFORMED, "0" * 15, "0" * 17, "0" * 32, AN12196_C[:-1] + "g"],
                         ids=lambda bad: repr(bad)[:24])
def test_malformed_c_is_refused(bad):
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, AN12196_E, bad)
    assert raised.value.code == "nfc_malformed"


def test_an_error_carries_code_and_message():
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, "zz", "zz")
    assert raised.value.code == "nfc_malformed" and raised.value.message == str(raised.value)


ANY_VALUE = st.one_of(
    st.text(st.characters(exclude_categories=[])),
    st.text(HEX, min_size=30, max_size=34),
    st.text(HEX + " \n\t\u3000\uff10x-", min_size=14, max_size=34),
    st.none(), st.integers(), st.binary(), st.floats(),
)


@settings(max_examples=300, deadline=None, database=None)
@given(e=ANY_VALUE, c=ANY_VALUE)
def test_any_input_raises_only_nfc_error(e, c):
    with pytest.raises(NfcError):
        nfc.verify_sun(MASTER, e, c)


@settings(max_examples=300, deadline=None, database=None)
@given(e=st.text(HEX, min_size=32, max_size=32), c=st.text(HEX, min_size=16, max_size=16))
def test_well_formed_random_input_is_refused_as_forged(e, c):
    with pytest.raises(NfcError) as raised:
        nfc.verify_sun(MASTER, e, c)
    assert raised.value.code in FORGED


def test_our_template_for_well_12():
    url = nfc.sdm_url_template(BASE + "/", 12)
    assert url == f"https://jz.example.cn/n/12?e={'0' * 32}&c={'0' * 16}"
    assert nfc.sdm_offsets(url) == {"PICCDataOffset": 28, "SDMMACInputOffset": 63, "SDMMACOffset": 63}


@pytest.mark.parametrize("base", [BASE, "http://10.0.0.5:8000", "https://jz.example.cn/app/", "jingzhan://field"])
@pytest.mark.parametrize("well_id", [1, 12, 999, 123456])
def test_offsets_point_at_the_placeholders_in_the_ndef_file(base, well_id):
    url = nfc.sdm_url_template(base, well_id)
    data = bytes(encode_ndef(url))
    assert nfc.ndef_file(url) == data
    offsets = nfc.sdm_offsets(url)
    e_at, c_at = offsets["PICCDataOffset"], offsets["SDMMACOffset"]
    assert data[e_at - 3:e_at + 32] == b"?e=" + b"0" * 32
    assert data[c_at - 3:c_at + 16] == b"&c=" + b"0" * 16
    assert offsets["SDMMACInputOffset"] == c_at and c_at + 16 == len(data)
    prefix = {"https": 4, "http": 3}.get(urlsplit(url).scheme, 0)
    assert data[6] == prefix
    assert e_at == 7 + len(url) - 51 - len("https://" if prefix == 4 else "http://" if prefix == 3 else "")


def test_offsets_need_the_placeholders():
    with pytest.raises(ValueError):
        nfc.sdm_offsets(f"{BASE}/n/12")
    with pytest.raises(ValueError):
        nfc.sdm_offsets(f"{BASE}/n/12?c={'0' * 16}&e={'0' * 32}")
    with pytest.raises(ValueError):
        nfc.sdm_offsets(f"{BASE}/{'x' * 200}/n/12?e={'0' * 32}&c={'0' * 16}")


@pytest.mark.parametrize("well_id", [0, -3, True, "12", 1.0, None])
def test_template_needs_a_well_id(well_id):
    with pytest.raises(ValueError):
        nfc.sdm_url_template(BASE, well_id)


def test_the_operator_guide_shows_the_computed_offsets():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "nfc.md").read_text(encoding="utf-8")
    offsets = nfc.sdm_offsets(nfc.sdm_url_template(BASE, 12))
    for name, value in offsets.items():
        assert f"| {name} | {value} | {value:02X}h |" in guide
