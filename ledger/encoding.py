"""RFC 8785 canonical JSON for ledger entries, which never hold floats."""

from __future__ import annotations

import json
import json.encoder
import re
from typing import Any, Callable, Iterable, NoReturn

import rfc8785

ZERO_HASH = "0" * 64
"""The ``prev`` of entry 0."""


def canonical(obj: object) -> bytes:
    """Return the RFC 8785 bytes of ``obj``; ValueError if it holds a float anywhere."""
    _reject_floats(obj)
    return rfc8785.dumps(obj)  # type: ignore[arg-type]


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


_decode = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float, parse_int=_safe_int).raw_decode
# A Python callback per integer costs more than the rest of the parse; only a run of 16 digits can hold an
# integer beyond 2^53, so text without one is parsed by the C decoder alone.
_decode_small = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float).raw_decode
_LONG_DIGITS = re.compile(r"[0-9]{16}")

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


def _bmp_only(text: str) -> bool:
    return len(text.encode("utf-16-le")) == 2 * len(text)  # no surrogate pairs needed


def parse_canonical(data: bytes) -> Any:
    """Parse JSON ``data``; ValueError unless it is exactly the canonical form of a float-free value.

    Fast path: for strings without surrogate pairs, Python's sorted compact JSON equals RFC 8785
    (same escapes; code point order equals UTF-16 order), so the C encoder can check the bytes;
    anything else is settled by the rfc8785 package.
    """
    try:
        text = data.decode("utf-8")
        obj, end = (_decode if _LONG_DIGITS.search(text) else _decode_small)(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if end != len(text):
        raise ValueError("not in canonical form: trailing characters")
    if "".join(_encode(obj, 0)) == text and (text.isascii() or _bmp_only(text)):
        return obj
    try:
        same = rfc8785.dumps(obj) == data
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not in canonical form: {exc}") from None
    if not same:
        raise ValueError("not in canonical form (RFC 8785)")
    return obj
