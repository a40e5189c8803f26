"""The ledger's signing key: made on purpose (`key init`) or on the first start of an empty ledger, and never
replaced by accident: over a ledger with entries a missing key, or a key other than the one that signed its
latest checkpoint, stops the start (auditors pin the verifier key; a new one would fail every audit).
"""
from __future__ import annotations

import logging

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from ledger.checkpoint import KeyFileError, create_key, load_key, verifier_key
from ledger.errors import VerificationError
from ledger.note import key_id, note_signers, open_note

from .services.ledger_log import Signer
from .startup import LedgerSeen, StartupError, existing_folder

log = logging.getLogger("registry.signing")
RESTORE = "restore the key file from backup (REGISTRY_LEDGER_KEY_FILE)"


def load_signer(app: Flask, key_file: str, origin: str, ledger: LedgerSeen) -> Signer:
    """Load the key that signs this ledger's checkpoints, creating it only while the ledger is empty."""
    private_key = _open_key(key_file, origin, ledger)
    _check_signed_by(private_key, key_file, origin, ledger)
    signer = Signer(origin, private_key)
    app.extensions["registry.signer"] = signer
    app.extensions["registry.verifier_key"] = verifier_key(origin, private_key.public_key())
    return signer


def init_key(key_file: str) -> Ed25519PrivateKey:
    """Create the signing key on purpose; an existing key file is never replaced."""
    existing_folder(key_file, "ledger key file", "REGISTRY_LEDGER_KEY_FILE")
    try:
        return create_key(key_file)
    except FileExistsError:
        raise StartupError("key_exists", f"the ledger key file {key_file} already exists and is never replaced; "
                                         f"`seizure-registry key show` prints its verifier key") from None


def read_key(key_file: str) -> Ed25519PrivateKey:
    """The signing key in `key_file`, or why it cannot be used."""
    try:
        return load_key(key_file)
    except FileNotFoundError:
        raise StartupError("key_missing", f"there is no ledger key file {key_file}; create it with "
                                          f"`seizure-registry key init`") from None
    except KeyFileError as error:
        raise StartupError("key_unusable", str(error)) from None


def _open_key(key_file: str, origin: str, ledger: LedgerSeen) -> Ed25519PrivateKey:
    existing_folder(key_file, "ledger key file", "REGISTRY_LEDGER_KEY_FILE")
    try:
        return load_key(key_file)
    except FileNotFoundError:
        pass
    except KeyFileError as error:
        raise StartupError("key_unusable", str(error)) from None
    if ledger.size:
        signed = f", last signed by key {_signers(ledger.checkpoint)}" if ledger.checkpoint else ""
        raise StartupError("key_missing", f"the ledger key file {key_file} is missing and the ledger holds "
                                          f"{ledger.size} entries{signed}; {RESTORE}")
    try:
        private_key = create_key(key_file)
    except FileExistsError:  # another worker created it a moment ago
        return read_key(key_file)
    log.warning("created the ledger signing key %s (key id %s) for an empty ledger; back it up",
                key_file, key_id_of(private_key, origin))
    return private_key


def _check_signed_by(private_key: Ed25519PrivateKey, key_file: str, origin: str, ledger: LedgerSeen) -> None:
    if ledger.checkpoint is None:
        return
    try:
        open_note(ledger.checkpoint, verifier_key(origin, private_key.public_key()))
        return
    except VerificationError:
        pass
    names = {name for name, _ in note_signers(ledger.checkpoint)}
    hint = "" if origin in names else f" (or set REGISTRY_LEDGER_ORIGIN back to {' or '.join(sorted(names))})"
    ours = f"{origin}+{key_id_of(private_key, origin)}"
    raise StartupError("key_mismatch", f"the ledger key file {key_file} holds key {ours}, but the ledger's latest "
                                       f"checkpoint was signed by key {_signers(ledger.checkpoint)}; {RESTORE}{hint}")


def key_id_of(private_key: Ed25519PrivateKey, origin: str) -> str:
    return key_id(origin, private_key.public_key()).hex()


def _signers(note: str | None) -> str:
    try:
        return " and ".join(f"{name}+{kid.hex()}" for name, kid in note_signers(note or "")) or "none"
    except VerificationError:
        return "(unreadable checkpoint)"
