"""The ledger's signing key: created on first start (mode 0600), loaded by every worker."""
from __future__ import annotations

from flask import Flask

from ledger.checkpoint import load_or_create_key, verifier_key

from .services.ledger_log import Signer


def load_signer(app: Flask, key_file: str, origin: str) -> Signer:
    private_key = load_or_create_key(key_file)
    signer = Signer(origin, private_key)
    app.extensions["registry.signer"] = signer
    app.extensions["registry.verifier_key"] = verifier_key(origin, private_key.public_key())
    return signer
