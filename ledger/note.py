"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A note is text ending in a newline, a blank line, then signature lines
``— <key name> <base64(4-byte key id ‖ signature)>``. The key id is
``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]``; a verifier key is written
``<name>+<key id hex>+<base64(0x01 ‖ public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import VerificationError

ED25519 = 0x01
"""Signature type byte of Ed25519 in the signed-note spec."""
SIG_PREFIX = "\u2014 "  # EM DASH, space
MAX_SIGNATURES = 100  # the spec requires accepting at least 16
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"bad base64: {text!r}") from None


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def is_valid_name(name: str) -> bool:
    """Key names are non-empty, without spaces or '+'."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte key id of an Ed25519 key under ``name``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + _raw(public_key)).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """Return the verifier key string ``name+keyid+base64(0x01 ‖ key)``."""
    if not is_valid_name(name):
        raise ValueError(f"invalid key name {name!r}")
    encoded = base64.b64encode(bytes([ED25519]) + _raw(public_key)).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """Parse a verifier key into (name, key id, public key); ValueError if malformed or inconsistent."""
    parts = text.strip().split("+", 2)  # base64 may contain "+"
    if len(parts) != 3 or not is_valid_name(parts[0]) or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise ValueError("verifier key must be <name>+<8 hex digits>+<base64 key>")
    name, kid, blob = parts[0], bytes.fromhex(parts[1]), _b64decode(parts[2])
    if len(blob) != 33 or blob[0] != ED25519:
        raise ValueError("verifier key is not an Ed25519 key")
    public_key = Ed25519PublicKey.from_public_bytes(blob[1:])
    if key_id(name, public_key) != kid:
        raise ValueError("verifier key id does not match its name and key")
    return name, kid, public_key


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Return ``text`` signed as a note by ``private_key`` under ``name``."""
    if not text.endswith("\n") or _CONTROL.search(text) or not is_valid_name(name):
        raise ValueError("note text must end in a newline, without control characters")
    kid = key_id(name, private_key.public_key())
    signature = private_key.sign(text.encode())
    return f"{text}\n{SIG_PREFIX}{name} {base64.b64encode(kid + signature).decode()}\n"


def _split_note(note: str) -> tuple[str, list[str]]:
    if _CONTROL.search(note):
        raise VerificationError("malformed note: control characters")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n") or split + 2 == len(note):
        raise VerificationError("malformed note: no signature block")
    lines = note[split + 2:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError("malformed note: too many signatures")
    return note[:split + 1], lines


def _parse_signature(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(SIG_PREFIX):
        raise VerificationError(f"malformed note: not a signature line: {line!r}")
    name, _, encoded = line[len(SIG_PREFIX):].partition(" ")
    try:
        blob = _b64decode(encoded)
    except ValueError:
        blob = b""
    if not is_valid_name(name) or len(blob) < 5:
        raise VerificationError(f"malformed note: bad signature line: {line!r}")
    return name, blob[:4], blob[4:]


def note_signers(note: str) -> list[tuple[str, bytes]]:
    """Return the key name and key id of every signature on ``note``, verifying none of them."""
    return [_parse_signature(line)[:2] for line in _split_note(note)[1]]


def open_note(note: str, key: str) -> str:
    """Return the text of ``note`` if it carries a valid signature by the verifier ``key``.

    Signatures by other keys are ignored, as the spec requires; a signature by ``key`` that
    fails to verify rejects the whole note.
    """
    name, kid, public_key = parse_verifier_key(key)
    text, lines = _split_note(note)
    verified = False
    for line in lines:
        sig_name, sig_kid, signature = _parse_signature(line)
        if (sig_name, sig_kid) != (name, kid):
            continue
        try:
            public_key.verify(signature, text.encode())
        except InvalidSignature:
            raise VerificationError(f"invalid signature by key {name}+{kid.hex()}") from None
        verified = True
    if not verified:
        raise VerificationError(f"note is not signed by key {name}+{kid.hex()}")
    return text
