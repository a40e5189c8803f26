"""Opening cases, transferring who acts for them, converting preservation to execution."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Case, CaseAssistant, CaseTransfer
from ..rules import Conflict, DomainError, decisions
from .facts import not_found, one_case, unit_facts
from .tx import Tx, run_write


def _number_free(session: Session, number: str) -> None:
    """A case number (in canonical form) belongs to one case; the refusal names the case that has it."""
    found = session.execute(select(Case.id, Case.acting_unit).where(Case.number == number)).first()
    if found is not None:
        raise DomainError("case_number_taken", f"case {found.id} has the number {number}",
                          [Conflict(None, None, "case_number_taken", found.id, number, found.acting_unit,
                                    detail=f"case {found.id} has this number")],
                          errors={"number": [f"already the number of case {found.id}"]})


def open_case(session: Session, actor: str, fields: dict[str, Any], idem=None) -> Case:
    """Courts open preservation and execution cases, police criminal ones; the opener acts for it."""
    def work(tx: Tx) -> Case:
        decisions.open_case(unit_facts(session, actor), fields["kind"])
        _number_free(session, fields["number"])
        case = Case(**fields, owner_unit=actor, acting_unit=actor, opened_at=tx.now)
        session.add(case)
        session.flush()
        tx.record("case.opened", {"id": case.id, "number": case.number, "kind": case.kind,
                                  "applicant": case.applicant, "respondent": case.respondent,
                                  "owner_unit": actor})
        return case
    return run_write(session, actor, work, idem)


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    return case


def transfer_case(session: Session, actor: str, case_id: int, mode: str, to_unit: str, document_no: str,
                  idem=None) -> Case:
    """提级 elevate, 指令 designate, 协同 assist, or a police takeover to a court; seizures keep their ranks."""
    def work(tx: Tx) -> Case:
        case = get_case(session, case_id)
        facts = one_case(session, case_id)
        target = unit_facts(session, to_unit)
        decisions.transfer_case(facts, unit_facts(session, actor), mode, target,
                                unit_facts(session, case.acting_unit))
        session.add(CaseTransfer(case_id=case_id, mode=mode, from_unit=case.acting_unit, to_unit=to_unit,
                                 document_no=document_no, at=tx.now))
        if mode == "assist":
            session.add(CaseAssistant(case_id=case_id, unit_code=to_unit, since=tx.now))
        else:
            case.acting_unit = to_unit
        tx.record("case.transferred", {"case_id": case_id, "mode": mode, "to_unit": to_unit,
                                       "document_no": document_no})
        return case
    return run_write(session, actor, work, idem)


def convert_case(session: Session, actor: str, case_id: int, number: str, document_no: str, idem=None) -> Case:
    """Preservation becomes execution under a new number, keeping its seizures, ranks and terms."""
    def work(tx: Tx) -> Case:
        case = get_case(session, case_id)
        decisions.convert(one_case(session, case_id), actor)
        _number_free(session, number)
        session.add(CaseTransfer(case_id=case_id, mode="convert", from_unit=case.acting_unit, to_unit=None,
                                 document_no=document_no, at=tx.now))
        case.previous_number, case.number, case.kind = case.number, number, "execution"
        tx.record("case.converted", {"case_id": case_id, "number": number, "document_no": document_no})
        return case
    return run_write(session, actor, work, idem)


def rewrite_numbers(session: Session, actor: str, case_id: int, values: dict[str, str]) -> Case:
    """Write a case's number or previous number in the forms given (their canonical forms): one
    `case.updated` entry naming the fields that change. A number another case has is refused
    (`case_number_taken`), and so is a change to the values the case already has (`case_unchanged`)."""
    def work(tx: Tx) -> Case:
        case = get_case(session, case_id)
        changed = {field: value for field, value in values.items() if getattr(case, field) != value}
        if not changed:
            raise DomainError("case_unchanged", f"case {case_id} already has these values; nothing was changed")
        if "number" in changed:
            _number_free(session, changed["number"])
        for field, value in changed.items():
            setattr(case, field, value)
        tx.record("case.updated", {"id": case_id, **changed})
        return case
    return run_write(session, actor, work)


def assisting_units(session: Session, case_id: int) -> list[str]:
    return sorted(session.scalars(select(CaseAssistant.unit_code).where(CaseAssistant.case_id == case_id)))


def find_cases(session: Session, number: str | None, after: int, limit: int) -> list[Case]:
    query = select(Case).where(Case.id > after).order_by(Case.id).limit(limit + 1)
    if number:
        query = query.where(Case.number == number)
    return list(session.scalars(query))
