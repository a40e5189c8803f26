"""A caller confirmed by the statement that opens its write, instead of by a query of its own.

Authenticating costs a query; on SQLite, where it runs before the writer lock, a transaction too. A write
does not need it: its first statement locks the ledger head, and that statement can check the caller's
token as well (`LIVE`). So a request that is about to write with a token this process has already
authenticated in full leaves its token here (`confirm_with_write`); the lock statement checks that the token
still exists, matches, is not revoked and belongs to an active unit, and `settle` refuses the write (401,
nothing changed) if it is not. A token revoked, or whose unit was deactivated, by any process is therefore
refused by the next write that uses it, as if it had been authenticated in full.

A request that leaves its token here and never reaches a write's lock (refused before it, or writing
nothing) must be confirmed in full before it is answered; `still_owed` tells whether that is so.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import Token, Unit
from ..rules import DomainError

_KEY = "registry.credential_to_confirm"

LIVE = select(Token.id).join(Unit, Unit.code == Token.unit_code) \
    .where(Token.id == bindparam("credential_id"), Token.secret_hash == bindparam("credential_hash"),
           Token.revoked_at.is_(None), Unit.active.is_(True)).scalar_subquery().label("credential_live")
"""A column for the lock statement: the token's id if the credential left by `confirm_with_write` is live."""


def confirm_with_write(session: Session, token_id: str, secret_hash: bytes) -> None:
    session.info[_KEY] = (token_id, secret_hash)


def params(session: Session) -> dict[str, Any]:
    """The lock statement's parameters for `LIVE` (NULLs, which match no token, when nothing is owed)."""
    token_id, secret_hash = session.info.get(_KEY) or (None, None)
    return {"credential_id": token_id, "credential_hash": secret_hash}


def settle(session: Session, live: str | None) -> None:
    """After the lock statement: a credential it was to confirm and did not find live refuses the write."""
    owed = session.info.pop(_KEY, None)
    if owed is not None and live is None:
        raise DomainError("unauthenticated", "a valid bearer token is required")


def still_owed(session: Session) -> bool:
    """Whether a credential left here was never settled by a lock statement; it is not owed after this."""
    return session.info.pop(_KEY, None) is not None
