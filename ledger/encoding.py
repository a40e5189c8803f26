"""RFC 8785 canonical JSON for ledger entries, which never hold floats."""

from __future__ import annotations

import json
import json.encoder
import json.scanner
from typing import Any, Callable, Iterable, NoReturn

import rfc8785

ZERO_HASH = "0" * 64
"""The ``prev`` of entry 0."""


def canonical(obj: object) -> bytes:
    """Return the RFC 8785 bytes of ``obj``; ValueError if it holds a float anywhere.

    Fast path, as in ``parse_canonical``: for str keys, integers in the safe range and no code point beyond
    U+FFFF, Python's sorted compact JSON is RFC 8785 byte for byte, and the C encoder writes it ~10x faster
    than the rfc8785 package, which settles everything else.
    """
    if _plain(obj):
        try:
            data = "".join(_encode(obj, 0)).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it in its own words
            data = b""
        if data and _ASTRAL not in data.translate(_CLASSES):
            return data
    _reject_floats(obj)  # _plain may have stopped early: the rfc8785 package would encode a float
    return rfc8785.dumps(obj)  # type: ignore[arg-type]


_SAFE = 2**53 - 1


def _plain(obj: object) -> bool:
    """True if ``obj`` holds only dicts with str keys, lists, str, safe ints, bools and None.

    Stops at the first item that is not; ValueError on a float met before that.
    """
    stack = [obj]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            if not all(type(k) is str for k in item):  # type: ignore[union-attr]
                return False
            stack.extend(item.values())  # type: ignore[union-attr]
        elif kind is list:
            stack.extend(item)  # type: ignore[arg-type]
        elif kind is int:
            if not -_SAFE <= item <= _SAFE:  # type: ignore[operator]
                return False
        elif kind is float:
            raise ValueError(f"floats are not allowed in ledger data: {item!r}")
        elif kind is not str and kind is not bool and item is not None:
            return False
    return True


def _reject_floats(obj: object) -> None:
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise ValueError(f"floats are not allowed in ledger data: {item!r}")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _no_float(text: str) -> NoReturn:
    raise ValueError(f"floats are not allowed in ledger data: {text}")


def _safe_int(text: str) -> int:
    # RFC 8785 numbers are IEEE doubles: larger integers have no canonical form.
    value = int(text)
    if len(text) > 15 and abs(value) > 2**53 - 1:
        raise ValueError(f"integer outside the JSON safe range: {text}")
    return value


_decoder = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float, parse_int=_safe_int)
# A Python callback per integer costs more than the rest of the parse; only a run of 16 digits can hold an
# integer beyond 2^53, so text without one is parsed by the C decoder alone.
_decoder_small = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)
_decode, _decode_small = _decoder.raw_decode, _decoder_small.raw_decode
# The C scanners behind those two, called directly (raw_decode adds a Python frame): (value, end) or
# StopIteration where no JSON value starts.
_Scanner = Callable[[str, int], tuple[Any, int]]
_scan_long: _Scanner = json.scanner.make_scanner(_decoder)  # type: ignore[arg-type]
_scan_small: _Scanner = json.scanner.make_scanner(_decoder_small)  # type: ignore[arg-type]

# One pass over the UTF-8 bytes answers both questions the fast check asks (a regex search costs ~10x more):
# ASCII digits become "0" (UTF-8 continuation bytes are never digits, so a run of 16 "0"s is a run of 16
# digits in the text) and the lead bytes of 4-byte sequences become "X" (in valid UTF-8 they, and only they,
# start a code point beyond U+FFFF, i.e. one needing a surrogate pair in UTF-16). Everything else is " ".
_CLASSES = bytes(0x30 if 0x30 <= b <= 0x39 else 0x58 if b >= 0xF0 else 0x20 for b in range(256))
_LONG_RUN = b"0" * 16
_ASTRAL = b"X"

_Encoder = Callable[[Any, int], Iterable[str]]


def _make_encoder() -> _Encoder:
    # Built once, the C encoder is ~2x faster than json.dumps, which rebuilds it on every call.
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has _json
        fallback = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return lambda obj, _: fallback.iterencode(obj, True)
    encoder: _Encoder = make(None, None, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    return encoder


_encode = _make_encoder()


def parse_canonical(data: bytes) -> Any:
    """Parse JSON ``data``; ValueError unless it is exactly the canonical form of a float-free value.

    Fast path: for strings without surrogate pairs, Python's sorted compact JSON equals RFC 8785
    (same escapes; code point order equals UTF-16 order), so the C encoder can check the bytes;
    anything else is settled by the rfc8785 package.
    """
    classes = data.translate(_CLASSES)
    try:
        text = data.decode("utf-8")
        obj, end = (_decode if _LONG_RUN in classes else _decode_small)(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if end != len(text):
        raise ValueError("not in canonical form: trailing characters")
    if "".join(_encode(obj, 0)) == text and _ASTRAL not in classes:
        return obj
    try:
        same = rfc8785.dumps(obj) == data
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not in canonical form: {exc}") from None
    if not same:
        raise ValueError("not in canonical form (RFC 8785)")
    return obj


def canonical_object(data: bytes) -> dict[str, Any] | None:
    """Return the JSON object ``data`` holds if the fast check alone proves it canonical, else None.

    None is no verdict, only "not proven here" (or not an object): ``parse_canonical`` then settles it
    and words the reason. Used on the ``data`` of each entry in the verifier's hot loop, where raising and
    catching would cost more than the check.
    """
    classes = data.translate(_CLASSES)
    if _ASTRAL in classes:
        return None
    try:
        text = data.decode("utf-8")
        obj, end = (_scan_long if _LONG_RUN in classes else _scan_small)(text, 0)
    except (ValueError, StopIteration, RecursionError):  # not UTF-8 or JSON, a float, NaN, beyond 2^53, too deep
        return None
    if type(obj) is not dict or end != len(text) or "".join(_encode(obj, 0)) != text:
        return None
    return obj
