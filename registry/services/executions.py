"""Checking and carrying out disposal (delivery, auction, sale, offset): all lots or none."""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ..models import Execution, ExecutionLot, Hold, Lot
from ..rules import Conflict, DomainError, LotFacts, decisions
from .facts import case_and_lots, case_and_lots_read, lot_facts, one_case
from .holders import named, unit_names
from .lots import near_misses
from .sets import among
from . import standing
from .tx import Tx, read_now, run_write


@dataclass(frozen=True)
class LotCheck:
    lot_id: int | None
    card_no: str
    weight_t: Decimal | None
    conflicts: list[Conflict]
    card_no_as_typed: str | None = None

    @property
    def clear(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True)
class Cards:
    """Lots named by card number at one custodian, as a clerk has them: each in canonical form and as typed."""

    custodian: str
    card_nos: list[str]  # canonical, no two alike
    typed: list[str]     # as given, in the same order

    def as_typed(self) -> dict[str, str]:
        """The card numbers whose typed form differs from the canonical one, by canonical form."""
        return {card: typed for card, typed in zip(self.card_nos, self.typed) if typed != card}


@dataclass(frozen=True)
class Resolved:
    """The lots card numbers name, in the order given, and a conflict for each card number naming no lot."""

    lot_ids: list[int]
    lot_of: dict[str, int]  # card number → the lot it names
    unknown: list[Conflict]


def resolve_cards(session: Session, cards: Cards) -> Resolved:
    """Lot ids for card numbers at one custodian; an unknown card number comes with the near misses there."""
    query = select(Lot.card_no, Lot.id).where(Lot.custodian == cards.custodian,
                                              among(session, Lot.card_no, cards.card_nos))
    ids = dict(session.connection().execute(query).all())
    missing = [c for c in cards.card_nos if c not in ids]
    near = near_misses(session, cards.custodian, missing) if missing else {}
    typed = cards.as_typed()
    unknown = [Conflict(None, c, "unknown_card_no", detail=f"no lot {c} at {cards.custodian}",
                        card_no_as_typed=typed.get(c), suggestions=tuple(near.get(c, ()))) for c in missing]
    return Resolved([ids[c] for c in cards.card_nos if c in ids], ids, unknown)


def check(session: Session, case_id: int, lot_ids: list[int] | None = None, cards: Cards | None = None,
          override: bool = False) -> list[LotCheck]:
    """Per lot (or card number, in the order given): clear for this case now, or every reason it is not and
    who holds it. An unknown card number is one answer among the others, with its near misses. Changes nothing."""
    case = one_case(session, case_id)
    resolved = resolve_cards(session, cards) if cards is not None else None
    wanted = resolved.lot_ids if resolved is not None else lot_ids or []
    lots = {lot.id: lot for lot in lot_facts(session, wanted, missing_ok=True)}
    now = read_now(session)
    typed = cards.as_typed() if cards is not None else {}
    decided = {i: decisions.disposal_conflicts(case, lot, now, override) for i, lot in lots.items()}
    names = unit_names(session, [c for found in decided.values() for c in found])
    checks = {i: LotCheck(i, lot.card_no, lot.weight_t, named(decided[i], names), typed.get(lot.card_no))
              for i, lot in lots.items()}
    if resolved is None:
        return [checks.get(i) or LotCheck(i, "", None, [Conflict(i, None, "not_found", detail="no such lot")])
                for i in wanted]
    unknown = {c.card_no: c for c in resolved.unknown}
    return [checks[resolved.lot_of[card]] if card in resolved.lot_of else
            LotCheck(None, card, None, [unknown[card]], typed.get(card)) for card in cards.card_nos]


@dataclass(frozen=True)
class ExecutionResult:
    execution: Execution
    lots: list[LotFacts]
    voided: list[tuple[int, int]]
    as_typed: dict[str, str]  # card numbers given otherwise than in canonical form, by canonical form


def execute(session: Session, actor: str, case_id: int, kind: str, document_no: str, lot_ids: list[int] | None,
            recipient: str, override_document_no: str | None, idem=None, cards: Cards | None = None
            ) -> ExecutionResult:
    """Dispose of every listed lot for the case, or of none; queued seizures on them are voided. Lots named by
    card number are found at the custodian first, and one card number naming no lot refuses them all."""
    def work(tx: Tx) -> ExecutionResult:
        resolved = resolve_cards(session, cards) if cards is not None else None
        wanted = resolved.lot_ids if resolved is not None else lot_ids or []
        case, lots = case_and_lots(session, case_id, wanted)
        plan = decisions.dispose(case, actor, lots, tx.now, override_document_no is not None,
                                 resolved.unknown if resolved is not None else ())
        execution = Execution(case_id=case_id, unit_code=actor, kind=kind, document_no=document_no,
                              recipient=recipient, override_document_no=override_document_no,
                              total_weight_t=plan.total_weight_t, at=tx.now)
        session.add(execution)
        session.flush()
        session.execute(insert(ExecutionLot), [{"execution_id": execution.id, "lot_id": lot.id} for lot in lots])
        session.execute(update(Lot).where(Lot.id.in_([lot.id for lot in lots])).values(disposed_at=tx.now))
        ended: dict[int, dict[int, dict[str, object]]] = {lot.id: {} for lot in lots}
        for status, pairs in (("executed", plan.executed), ("voided", plan.voided)):
            for lot_id, seizure_id in pairs:
                session.execute(update(Hold).where(Hold.lot_id == lot_id, Hold.seizure_id == seizure_id)
                                .values(ended_at=tx.now, end_status=status, end_document_no=document_no))
                ended[lot_id][seizure_id] = {"ended_at": tx.now, "end_status": status}
        standing.store(tx, [standing.with_holds(lot, changed=ended[lot.id]) for lot in lots], closed=True)
        tx.record("execution.recorded", {
            "id": execution.id, "case_id": case_id, "kind": kind, "document_no": document_no,
            "recipient": recipient, "override_document_no": override_document_no,
            "lot_ids": [lot.id for lot in lots], "total_weight_t": f"{plan.total_weight_t:.4f}",
            "executed": [list(p) for p in plan.executed], "voided": [list(p) for p in plan.voided]})
        return ExecutionResult(execution, lots, plan.voided, cards.as_typed() if cards is not None else {})
    # Named by id, the lots and case are read with the lock; named by card number, they are read after it.
    reads = [case_and_lots_read(session, case_id, lot_ids)] if cards is None else []
    try:
        return run_write(session, actor, work, idem, reads=reads)
    except DomainError as refused:
        if cards is not None:  # each blocking lot named as the clerk typed its card number, too
            typed = cards.as_typed()
            refused.conflicts = [replace(c, card_no_as_typed=typed[c.card_no]) if c.card_no in typed
                                 and c.card_no_as_typed is None else c for c in refused.conflicts]
        raise
