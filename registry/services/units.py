"""Units and their bearer tokens. Tokens carry 256 random bits; only a hash of the secret is stored."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..driver import Direct
from ..models import Token, Unit
from ..rules import DomainError
from ..rules.units import check_move, check_parent, check_unit, name_problem
from .facts import not_found, unit_facts
from . import head_seen
from .tx import Tx, run_write

OPERATOR = "@operator"  # the actor of entries made from the server's command line
CHANGEABLE = ("name", "parent", "active")  # what an admin may change of a unit, as `unit.updated` names it
TOKEN = re.compile(r"[0-9a-f]{16}\.[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class IssuedToken:
    unit: Unit
    token_id: str
    token: str


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _new_token(tx: Tx, unit_code: str) -> tuple[str, str]:
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    tx.session.add(Token(id=token_id, unit_code=unit_code, secret_hash=secret_digest(secret), created_at=tx.now))
    return token_id, f"{token_id}.{secret}"


def create_unit(session: Session, actor: str, code: str, name: str, kind: str, parent: str | None,
                idem=None) -> IssuedToken:
    """A new unit and its first token (the token is returned once and never stored in the clear)."""
    check_unit(code, name, kind)

    def work(tx: Tx) -> IssuedToken:
        if session.get(Unit, code) is not None:
            raise DomainError("unit_exists", f"unit {code} exists", errors={"code": ["already taken"]})
        check_parent(kind, _parent(session, parent).kind if parent is not None else None)
        unit = Unit(code=code, name=name, kind=kind, parent_code=parent, created_at=tx.now, active=True)
        session.add(unit)
        session.flush()
        token_id, token = _new_token(tx, code)
        tx.record("unit.created", {"code": code, "name": name, "kind": kind, "parent": parent,
                                   "token_id": token_id})
        return IssuedToken(unit, token_id, token)
    return run_write(session, actor, work, idem)


def _parent(session: Session, code: str) -> Unit:
    parent = session.get(Unit, code)
    if parent is None:
        raise DomainError("validation_error", f"no unit {code}", errors={"parent": ["unknown unit"]})
    return parent


def update_unit(session: Session, actor: str, code: str, changes: dict[str, Any], idem=None) -> Unit:
    """Rename, move (parent None: no parent), deactivate or reactivate a unit: one `unit.updated` entry
    naming the fields that changed. A request that would change nothing is refused (`unit_unchanged`)."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise DomainError("validation_error", "only name, parent and active can change",
                          errors={field: ["cannot be changed"] for field in unknown})
    if "name" in changes and (problem := name_problem(changes["name"])):
        raise DomainError("validation_error", "the name is not valid", errors={"name": [problem]})

    def work(tx: Tx) -> Unit:
        unit = get_unit(session, code)
        changed = {field: value for field, value in changes.items() if value != _current(unit, field)}
        if not changed:
            raise DomainError("unit_unchanged", f"unit {code} already has these values; nothing was changed")
        if changed.get("active") is False and code == actor:  # it would lock itself out of the API
            raise DomainError("validation_error", "a unit cannot deactivate itself",
                              errors={"active": ["another admin, or `seizure-registry units deactivate`, can"]})
        if "parent" in changed:
            _check_new_parent(session, unit, changed["parent"])
        _apply(unit, changed)
        tx.record("unit.updated", {"code": code, **changed})
        return unit
    return run_write(session, actor, work, idem)


def _current(unit: Unit, field: str) -> Any:
    return unit.parent_code if field == "parent" else getattr(unit, field)


def _check_new_parent(session: Session, unit: Unit, parent: str | None) -> None:
    if parent is None:
        return
    check_parent(unit.kind, _parent(session, parent).kind)
    check_move(unit.code, parent, unit_facts(session, parent).ancestors)


def _apply(unit: Unit, changed: dict[str, Any]) -> None:
    for field, value in changed.items():
        setattr(unit, "parent_code" if field == "parent" else field, value)


def issue_token(session: Session, actor: str, code: str) -> IssuedToken:
    def work(tx: Tx) -> IssuedToken:
        unit = session.get(Unit, code)
        if unit is None:
            raise not_found("unit", code)
        token_id, token = _new_token(tx, code)
        tx.record("token.issued", {"unit": code, "token_id": token_id})
        return IssuedToken(unit, token_id, token)
    return run_write(session, actor, work)


def revoke_tokens(session: Session, actor: str, token_ids: list[str] | None = None,
                  unit_code: str | None = None) -> list[str]:
    """Revoke tokens by id, or every live token of a unit; effective on the next request."""
    def work(tx: Tx) -> list[str]:
        query = select(Token).where(Token.revoked_at.is_(None))
        query = query.where(Token.id.in_(token_ids)) if token_ids else query.where(Token.unit_code == unit_code)
        tokens = session.scalars(query).all()
        if not tokens:
            raise DomainError("not_found", "no live token matches")
        for token in tokens:
            token.revoked_at = tx.now
        tx.record("token.revoked", {"token_ids": sorted(t.id for t in tokens)})
        return sorted(t.id for t in tokens)
    return run_write(session, actor, work)


# Every request that authenticates in full sends it: built once, run on the driver (`registry.driver`).
# A deactivated unit's tokens find no row, as an unknown token does.
_BEARER = Direct(select(Token.secret_hash, Token.revoked_at, Unit.code, Unit.kind, *head_seen.COLUMNS)
                 .join(Unit, Unit.code == Token.unit_code)
                 .where(Token.id == bindparam("token_id"), Unit.active.is_(True)))


def authenticate(session: Session, bearer: str):
    """The (code, kind) of the unit a bearer token belongs to, or None; the secret is compared in constant time."""
    if not TOKEN.fullmatch(bearer):  # checked before any lookup: nothing malformed reaches the database
        return None
    token_id, _, secret = bearer.partition(".")
    found = _BEARER.rows(session.connection(), {"token_id": token_id})
    row = found[0] if found else None
    if row is not None:
        head_seen.saw(session, row)  # the read that follows is answered as of this snapshot
    if row is None or row.revoked_at is not None:
        hmac.compare_digest(secret_digest(secret), bytes(32))  # same work whether or not the id exists
        return None
    if not hmac.compare_digest(secret_digest(secret), bytes(row.secret_hash)):
        return None
    return row


def list_units(session: Session, parent: str | None = None, kind: str | None = None) -> list[Unit]:
    """Units in code order; with `parent`, its direct children only; with `kind`, of that kind only."""
    query = select(Unit).order_by(Unit.code)
    if parent is not None:
        query = query.where(Unit.parent_code == parent)
    if kind is not None:
        query = query.where(Unit.kind == kind)
    return list(session.scalars(query))


def live_token_ids(session: Session, code: str) -> list[str]:
    """The ids of a unit's tokens that are not revoked."""
    return list(session.scalars(select(Token.id).where(Token.unit_code == code, Token.revoked_at.is_(None))
                                .order_by(Token.id)))


def get_unit(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise not_found("unit", code)
    return unit
