"""The log's signing key file: created once, 0600, and the same key for every process."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ledger.checkpoint import KeyFileError, create_key, load_key, load_or_create_key


def _public(path: Path) -> bytes:
    return load_or_create_key(path).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_creates_a_private_file_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.pem"
    first = _public(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _public(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["ledger.pem"]  # no temporary file left


def test_refuses_a_key_of_another_type(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(generate_private_key(SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                     NoEncryption()))
    path.chmod(0o600)
    with pytest.raises(ValueError, match="Ed25519"):
        load_or_create_key(path)


def test_create_key_never_replaces_a_key(tmp_path: Path) -> None:
    path = tmp_path / "ledger.pem"
    first = create_key(path)
    with pytest.raises(FileExistsError):
        create_key(path)
    assert _public(path) == first.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.mark.parametrize("mode", [0o640, 0o620, 0o604, 0o660])
def test_load_key_refuses_a_key_open_to_group_or_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "ledger.pem"
    create_key(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=f"mode {mode:04o}.*chmod 600 {path}"):
        load_key(path)
    with pytest.raises(FileNotFoundError):
        load_key(tmp_path / "missing.pem")


def _race(path: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue) -> None:
    barrier.wait()
    results.put(_public(Path(path)))


@pytest.mark.slow
def test_concurrent_creation_ends_with_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    path, workers = tmp_path / "ledger.pem", 6
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=_race, args=(str(path), barrier, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    keys = {results.get(timeout=30) for _ in processes}
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert keys == {_public(path)}
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.pem"]
