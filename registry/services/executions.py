"""Checking and carrying out disposal (delivery, auction, sale, offset): all lots or none."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ..models import Execution, ExecutionLot, Hold, Lot
from ..rules import Conflict, LotFacts, decisions
from .facts import case_and_lots, case_and_lots_read, lot_facts, one_case
from .sets import among
from . import standing
from .tx import Tx, read_now, run_write


@dataclass(frozen=True)
class LotCheck:
    lot_id: int | None
    card_no: str
    weight_t: Decimal | None
    conflicts: list[Conflict]

    @property
    def clear(self) -> bool:
        return not self.conflicts


def resolve_cards(session: Session, custodian: str, card_nos: list[str]) -> tuple[list[int], list[str]]:
    """Lot ids for card numbers at one custodian, and the card numbers it does not know."""
    query = select(Lot.card_no, Lot.id).where(Lot.custodian == custodian, among(session, Lot.card_no, card_nos))
    rows = dict(session.connection().execute(query).all())
    return [rows[c] for c in card_nos if c in rows], [c for c in card_nos if c not in rows]


def check(session: Session, case_id: int, lot_ids: list[int] | None = None, card_nos: list[str] | None = None,
          custodian: str | None = None, override: bool = False) -> list[LotCheck]:
    """Per lot: clear for this case now, or every reason it is not and who holds it. Changes nothing."""
    case = one_case(session, case_id)
    unknown: list[str] = []
    if card_nos is not None:
        lot_ids, unknown = resolve_cards(session, custodian or "", card_nos)
    lots = lot_facts(session, lot_ids or [], missing_ok=True)
    now = read_now(session)
    checks = [LotCheck(lot.id, lot.card_no, lot.weight_t, decisions.disposal_conflicts(case, lot, now, override))
              for lot in lots]
    known = {lot.id for lot in lots}
    checks += [LotCheck(i, "", None, [Conflict(i, None, "not_found", detail="no such lot")])
               for i in (lot_ids or []) if i not in known]
    checks += [LotCheck(None, c, None, [Conflict(None, c, "unknown_card_no",
                                                 detail=f"no lot {c} at {custodian}")]) for c in unknown]
    return checks


@dataclass(frozen=True)
class ExecutionResult:
    execution: Execution
    lots: list[LotFacts]
    voided: list[tuple[int, int]]


def execute(session: Session, actor: str, case_id: int, kind: str, document_no: str, lot_ids: list[int],
            recipient: str, override_document_no: str | None, idem=None) -> ExecutionResult:
    """Dispose of every listed lot for the case, or of none; queued seizures on them are voided."""
    def work(tx: Tx) -> ExecutionResult:
        case, lots = case_and_lots(session, case_id, lot_ids)
        plan = decisions.dispose(case, actor, lots, tx.now, override_document_no is not None)
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
        return ExecutionResult(execution, lots, plan.voided)
    return run_write(session, actor, work, idem, reads=[case_and_lots_read(session, case_id, lot_ids)])
