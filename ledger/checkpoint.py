"""C2SP tlog-checkpoints (c2sp.org/tlog-checkpoint) signed as notes, and the log's signing key."""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat,
                                                          load_pem_private_key)

from ledger.errors import VerificationError
from ledger.merkle import HASH_SIZE
from ledger.note import open_note, parse_verifier_key, sign_note, verifier_key

_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log of ``origin`` had ``size`` entries with Merkle ``root``."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """Return the note text: origin, size and base64 root, one per line."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        """Parse checkpoint note text; extension lines after the root are allowed and ignored."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise VerificationError("malformed checkpoint: need origin, size and root lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not _SIZE.fullmatch(size):
            raise VerificationError(f"malformed checkpoint: bad tree size {size!r}")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != HASH_SIZE:
            raise VerificationError("malformed checkpoint: root is not a base64 SHA-256 hash")
        return cls(origin, int(size), digest)


def sign_checkpoint(cp: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Return the checkpoint as a note signed by ``private_key`` under ``key_name`` (the origin)."""
    return sign_note(cp.body(), key_name, private_key)


def open_checkpoint(note: str, verifier_key: str) -> Checkpoint:
    """Return the checkpoint in ``note`` if ``verifier_key`` signed it; VerificationError otherwise."""
    return Checkpoint.parse_body(open_note(note, verifier_key))


class KeyFileError(ValueError):
    """The key file exists but cannot serve as the log's signing key; the message says why and what to do."""


def load_or_create_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the Ed25519 key at ``path``, creating it (PEM PKCS#8, mode 0600) if missing.

    Safe against concurrent creators: exactly one creator wins (see ``create_key``); the others
    read the winner's key.
    """
    if not Path(path).exists():
        try:
            return create_key(path)
        except FileExistsError:
            pass
    return load_key(path)


def load_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the Ed25519 key at ``path``: FileNotFoundError if missing, KeyFileError if unusable or exposed."""
    target = Path(path)
    mode = stat.S_IMODE(target.stat().st_mode)
    if not target.is_file():
        raise KeyFileError(f"the key file {target} is not a file")
    if mode & 0o077:  # a signing key others can read lets them sign checkpoints as the log
        raise KeyFileError(f"the key file {target} is open to group or others (mode {mode:04o}); "
                           f"run chmod 600 {target}")
    try:
        pem = target.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {target}: {exc.strerror}; "
                           f"run the service as the file's owner") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{target} does not hold an Ed25519 private key (PEM, unencrypted)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{target} does not hold an Ed25519 private key")
    return key


def create_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Create a new Ed25519 key at ``path`` (PEM PKCS#8, mode 0600); FileExistsError if there is one.

    The key is written to a temporary file in the same directory and linked into place, so
    readers never see a partial file and of concurrent creators exactly one succeeds.
    """
    target = Path(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")  # created 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, target)  # atomic, and fails if another process got there first
    finally:
        os.unlink(tmp)
    return key


__all__ = ["Checkpoint", "KeyFileError", "create_key", "load_key", "load_or_create_key", "open_checkpoint",
           "parse_verifier_key", "sign_checkpoint", "verifier_key"]
