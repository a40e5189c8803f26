"""The one exception every failed ledger check raises."""

from __future__ import annotations


class VerificationError(Exception):
    """A ledger, proof, checkpoint or signature failed verification.

    ``seq`` names the first entry found bad, when the failure is about an entry.
    """

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq
