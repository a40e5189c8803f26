"""Entries: exact canonical bytes, strict parsing, links."""

from __future__ import annotations

import hashlib

import pytest

from ledger.chain import Entry, check_link, decode_entry, entry_hash
from ledger.encoding import ZERO_HASH
from ledger.errors import VerificationError

ENTRY = Entry(3, "2024-05-01T10:00:00.000000Z", "SH-POL-03", "lot.registered", {"lots": [{"card": "卡号 7"}]},
              "ab" * 32)
GOOD = ('{"actor":"SH-POL-03","data":{"lots":[{"card":"卡号 7"}]},"prev":"' + "ab" * 32 +
        '","seq":3,"time":"2024-05-01T10:00:00.000000Z","type":"lot.registered","v":1}').encode()


def test_to_bytes_is_the_spec_layout() -> None:
    assert ENTRY.to_bytes() == GOOD


def test_round_trip() -> None:
    assert Entry.from_bytes(ENTRY.to_bytes()) == ENTRY


def test_to_bytes_rejects_floats() -> None:
    with pytest.raises(ValueError, match="float"):
        Entry(0, "t", "a", "x", {"weight": 1.5}, ZERO_HASH).to_bytes()


def test_entry_hash_is_hex_sha256() -> None:
    assert entry_hash(GOOD) == hashlib.sha256(GOOD).hexdigest()
    assert entry_hash(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _variant(old: str, new: str) -> bytes:
    assert old.encode() in GOOD
    return GOOD.replace(old.encode(), new.encode())


@pytest.mark.parametrize("data, reason", [
    (_variant('"v":1', '"v":2'), "version"),
    (_variant('"v":1', '"v":true'), "version"),
    (_variant(',"v":1', ""), "fields"),
    (_variant(',"v":1', ',"v":1,"w":0'), "fields"),
    (_variant('"seq":3', '"seq":-3'), "seq"),
    (_variant('"seq":3', '"seq":"3"'), "fields|seq"),  # non-canonical order too
    (_variant('"type":"lot.registered"', '"type":7'), "strings"),
    (_variant('"actor":"SH-POL-03"', '"actor":null'), "strings"),
    (_variant('{"lots":[{"card":"卡号 7"}]}', "[]"), "data"),
    (_variant("ab" * 32, "AB" * 32), "prev"),
    (_variant("ab" * 32, "ab" * 31), "prev"),
    (_variant('"seq":3', '"seq": 3'), "canonical"),
    (_variant('"data":', '"data" :'), "valid JSON|canonical"),
    (b"[1,2]", "fields"),
    (b"{", "valid JSON"),
])
def test_from_bytes_rejects(data: bytes, reason: str) -> None:
    with pytest.raises(VerificationError, match=reason):
        Entry.from_bytes(data)


def test_errors_name_the_entry() -> None:
    with pytest.raises(VerificationError, match="entry 3: unsupported version") as caught:
        decode_entry(_variant('"v":1', '"v":2'))
    assert caught.value.seq == 3
    with pytest.raises(VerificationError, match="entry 41:") as caught:
        decode_entry(b"not json", seq=41)
    assert caught.value.seq == 41


@pytest.mark.parametrize("prev, expected_seq, error", [
    ("ab" * 32, 3, None),
    ("ab" * 32, 4, "entry 4: seq is 3"),
    ("cd" * 32, 3, "entry 3: prev"),
])
def test_check_link(prev: str, expected_seq: int, error: str | None) -> None:
    if error is None:
        check_link(prev, ENTRY, expected_seq)
    else:
        with pytest.raises(VerificationError, match=error):
            check_link(prev, ENTRY, expected_seq)
