"""An existing registry brought to the canonical forms of its identifiers, each change one ledger entry.

A registry written before identifiers had one canonical form (`rules.identifiers`) may hold `al-2025-0001`
beside `AL-2025-0001`, a custodian with a trailing space, or `(2025)沪0113执1号` beside `〔2025〕沪0113执1号`.
`plan` finds every lot and case whose stored identifiers are not canonical, and what blocks the conversion:
records that would become one (two lots with one card number at one custodian, two cases with one number)
and stored values that cannot be an identifier at all (a zero-width space, letters of two scripts). Nothing
is merged or guessed: while anything blocks, nothing changes, and the operator names the form each blocking
record is to take (`overrides`). `apply` then writes each change as one `lot.updated` or `case.updated` entry;
entries already in the ledger stay as they are, and the replay reaches the canonical state through these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Case, Lot
from ..rules import identifiers
from .cases import rewrite_numbers
from .lots import rewrite_identifiers


def _optional_name(typed: str) -> str:
    """An owner may be unknown (empty): blank stays empty."""
    return "" if not typed or typed.isspace() else identifiers.name(typed)


FORMS: dict[str, dict[str, Callable[[str], str]]] = {
    "lot": {"card_no": identifiers.card_no, "custodian": identifiers.name, "owner": _optional_name},
    "case": {"number": identifiers.case_number, "previous_number": identifiers.case_number},
}
"""The identifiers of each kind of record the conversion writes, with their canonical forms."""

Override = tuple[str, int, str]  # (kind, id, field)


@dataclass(frozen=True)
class Change:
    kind: str                 # lot | case
    id: int
    values: dict[str, str]    # field → its new form, only the fields that change
    stored: dict[str, str | None]


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # one line each, saying what to do


def canonical_value(kind: str, field_name: str, value: str) -> str:
    """The canonical form of one identifier of a record; NotAnIdentifier when it cannot be one."""
    return FORMS[kind][field_name](value)


def plan(session: Session, overrides: dict[Override, str] | None = None) -> Plan:
    """What the conversion would change and what blocks it, read in one snapshot; changes nothing."""
    overrides = overrides or {}
    found = Plan()
    unknown = _unknown_overrides(session, overrides)
    found.blockers += unknown
    lots = session.execute(select(Lot.id, Lot.card_no, Lot.custodian, Lot.owner).order_by(Lot.id)).all()
    _plan_kind(found, "lot", ((i, {"card_no": c, "custodian": k, "owner": o}) for i, c, k, o in lots), overrides,
               key=lambda v: (v["custodian"], v["card_no"]),
               collision=lambda ids, v: f"lots {_listed(ids)} at {v['custodian']} all have card number "
                                        f"{v['card_no']} in canonical form")
    cases = session.execute(select(Case.id, Case.number, Case.previous_number).order_by(Case.id)).all()
    _plan_kind(found, "case", ((i, {"number": n, "previous_number": p}) for i, n, p in cases), overrides,
               key=lambda v: v["number"],
               collision=lambda ids, v: f"cases {_listed(ids)} all have number {v['number']} in canonical form")
    return found


def _plan_kind(found: Plan, kind: str, records: Iterable[tuple[int, dict[str, str | None]]],
               overrides: dict[Override, str], key: Callable, collision: Callable) -> None:
    holders: dict[object, list[int]] = {}
    finals: dict[object, dict] = {}
    changes: list[Change] = []
    for record_id, stored in records:
        final = {}
        for name, value in stored.items():
            final[name] = _final(found, kind, record_id, name, value, overrides)
        k = key(final)
        holders.setdefault(k, []).append(record_id)
        finals[k] = final
        changed = {name: value for name, value in final.items() if value != stored[name]}
        if changed:
            changes.append(Change(kind, record_id, changed, stored))
    found.blockers += [collision(ids, finals[k]) + f"; give all but one another form with "
                       f"--set {kind} ID {_key_field(kind)} VALUE" for k, ids in holders.items() if len(ids) > 1]
    found.changes += _in_order(changes, key)


def _final(found: Plan, kind: str, record_id: int, name: str, value: str | None,
           overrides: dict[Override, str]) -> str | None:
    """The form a stored value takes: the operator's, else its canonical form; unchanged (and a blocker) when
    it cannot be an identifier."""
    if value is None:
        return None
    chosen = overrides.get((kind, record_id, name), value)
    try:
        return canonical_value(kind, name, chosen)
    except identifiers.NotAnIdentifier as refused:
        source = "the form given for" if (kind, record_id, name) in overrides else "the stored"
        found.blockers.append(f"{kind} {record_id}: {source} {name} {chosen!r} {refused}; name its form with "
                              f"--set {kind} {record_id} {name} VALUE")
        return value


def _key_field(kind: str) -> str:
    return "card_no" if kind == "lot" else "number"


def _in_order(changes: list[Change], key: Callable) -> list[Change]:
    """Each change only once no other record still holds the key it takes (the database keeps keys unique),
    so a record the operator moves out of the way goes first."""
    stored_key = {c.id: key(c.stored) for c in changes}
    pending, done = list(changes), []
    while pending:
        held = {stored_key[c.id] for c in pending}
        ready = [c for c in pending if key({**c.stored, **c.values}) not in held - {stored_key[c.id]}]
        if not ready:  # a cycle of swapped keys cannot be written one record at a time
            return done + pending
        done += ready
        pending = [c for c in pending if c not in ready]
    return done


def _unknown_overrides(session: Session, overrides: dict[Override, str]) -> list[str]:
    problems = []
    for kind, record_id, name in overrides:
        model = Lot if kind == "lot" else Case
        if name not in FORMS.get(kind, {}):
            problems.append(f"--set {kind} {record_id} {name}: a {kind}'s identifiers are "
                            f"{', '.join(FORMS.get(kind, {}))}")
        elif session.get(model, record_id) is None:
            problems.append(f"--set {kind} {record_id} {name}: there is no {kind} {record_id}")
    return problems


def _listed(ids: list[int]) -> str:
    return ", ".join(map(str, ids))


def apply(session: Session, actor: str, changes: list[Change],
          progress: Callable[[Change], None] = lambda change: None) -> int:
    """Write each change as its own ledger entry, in order; returns how many were written."""
    for change in changes:
        if change.kind == "lot":
            rewrite_identifiers(session, actor, change.id, change.values)
        else:
            rewrite_numbers(session, actor, change.id, change.values)
        progress(change)
    return len(changes)
