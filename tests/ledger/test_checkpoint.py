"""Signed notes and checkpoints.

Known answers from golang.org/x/mod/sumdb/note (note_test.go: TestNewVerifier, TestSign, TestOpen),
which uses the same key id rule for Ed25519 (signature type 0x01) as c2sp.org/signed-note.
Its signer key "PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 ‖ seed)>" gives the private key.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import Checkpoint, open_checkpoint, parse_verifier_key, sign_checkpoint, verifier_key
from ledger.errors import VerificationError
from ledger.note import key_id, open_note, sign_note

PETER_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
PETER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_B64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
ENOCH_B64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
PETER_SIG = f"\u2014 PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"\u2014 EnochRoot {ENOCH_B64}\n"
ORIGIN = "registry.example/ledger"
ROOT = bytes(range(32))


def test_known_verifier_key_and_key_id() -> None:
    peter = Ed25519PrivateKey.from_private_bytes(PETER_SEED)
    assert verifier_key("PeterNeumann", peter.public_key()) == PETER_KEY
    assert key_id("PeterNeumann", peter.public_key()).hex() == "c74f20a3"
    name, kid, public = parse_verifier_key(PETER_KEY)
    assert (name, kid.hex(), verifier_key(name, public)) == ("PeterNeumann", "c74f20a3", PETER_KEY)


def test_known_signature() -> None:
    peter = Ed25519PrivateKey.from_private_bytes(PETER_SEED)
    assert sign_note(TEXT, "PeterNeumann", peter) == TEXT + "\n" + PETER_SIG


@pytest.mark.parametrize("key", [PETER_KEY, ENOCH_KEY])
def test_open_known_note_ignores_other_signers(key: str) -> None:
    assert open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, key) == TEXT


@pytest.mark.parametrize("note", [
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    TEXT + "\n" + f"\u2014 Bad Name {PETER_B64}\n",
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],  # invalid signature by the known key
    TEXT + "\n" + ENOCH_SIG,  # signed by another key only
    TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "CarmenSandiego"),  # same key id, other name
    TEXT + "\n" + PETER_SIG.replace("x08g", "xxxx"),  # same name, other key id
    TEXT + "\n" + PETER_SIG * 101,
    TEXT.replace("problem,", "problems,") + "\n" + PETER_SIG,  # tampered text
])
def test_open_rejects(note: str) -> None:
    with pytest.raises(VerificationError):
        open_note(note, PETER_KEY)


def _mangled_keys() -> list[str]:
    keys = [PETER_KEY[i:j] for i in range(0, len(PETER_KEY), 7) for j in range(i + 1, len(PETER_KEY) + 1, 5)
            if (i, j) != (0, len(PETER_KEY))]
    keys += [PETER_KEY[:i] + chr(ord(PETER_KEY[i]) + 1) + PETER_KEY[i + 1:] for i in range(len(PETER_KEY))]
    return keys + [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
    ]


@pytest.mark.parametrize("key", _mangled_keys())
def test_parse_verifier_key_rejects(key: str) -> None:
    with pytest.raises(ValueError):
        parse_verifier_key(key)


def test_checkpoint_body_and_note_format() -> None:
    key = Ed25519PrivateKey.generate()
    cp = Checkpoint(ORIGIN, 42, ROOT)
    body = f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert cp.body() == body
    note = sign_checkpoint(cp, ORIGIN, key)
    assert note.startswith(body + "\n\u2014 " + ORIGIN + " ") and note.endswith("\n")
    blob = base64.b64decode(note.rsplit(" ", 1)[1])
    assert len(blob) == 68 and blob[:4] == key_id(ORIGIN, key.public_key())


@pytest.mark.parametrize("size", [0, 1, 2**63])
def test_sign_open_round_trip(size: int) -> None:
    key = Ed25519PrivateKey.generate()
    cp = Checkpoint(ORIGIN, size, ROOT)
    assert open_checkpoint(sign_checkpoint(cp, ORIGIN, key), verifier_key(ORIGIN, key.public_key())) == cp
    assert Checkpoint.parse_body(cp.body()) == cp


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, theirs)
    with pytest.raises(VerificationError, match="not signed by key"):
        open_checkpoint(note, verifier_key(ORIGIN, ours.public_key()))


def test_cosigned_checkpoint_opens_with_either_key() -> None:
    ours, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    cp = Checkpoint(ORIGIN, 7, ROOT)
    note = sign_checkpoint(cp, ORIGIN, ours)
    note += sign_note(cp.body(), "witness.example", witness).split("\n\n", 1)[1]
    assert open_checkpoint(note, verifier_key(ORIGIN, ours.public_key())) == cp
    assert open_checkpoint(note, verifier_key("witness.example", witness.public_key())) == cp


@pytest.mark.parametrize("old, new", [("\n7\n", "\n8\n"), (ORIGIN, "registry.example/other"),
                                      (base64.b64encode(ROOT).decode()[:5], "AAAAA")])
def test_tampered_checkpoint_is_rejected(old: str, new: str) -> None:
    key = Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, key)
    assert old in note
    with pytest.raises(VerificationError):
        open_checkpoint(note.replace(old, new, 1), verifier_key(ORIGIN, key.public_key()))


@pytest.mark.parametrize("body", [
    f"{ORIGIN}\n07\n{base64.b64encode(ROOT).decode()}\n",
    f"{ORIGIN}\n-7\n{base64.b64encode(ROOT).decode()}\n",
    f"{ORIGIN}\n7\n",
    f"{ORIGIN}\n7\n{base64.b64encode(ROOT[:31]).decode()}\n",
    f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}",
    f"\n7\n{base64.b64encode(ROOT).decode()}\n",
    f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\n\n",
    f"{ORIGIN}\n7\nnot base64!\n",
])
def test_parse_body_rejects(body: str) -> None:
    with pytest.raises(VerificationError, match="malformed checkpoint"):
        Checkpoint.parse_body(body)


def test_parse_body_allows_extension_lines() -> None:
    body = f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\nextension\n"
    assert Checkpoint.parse_body(body) == Checkpoint(ORIGIN, 7, ROOT)


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there"])
def test_invalid_key_names_are_refused(name: str) -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError):
        verifier_key(name, key.public_key())
    with pytest.raises(ValueError):
        sign_note("text\n", name, key)
