"""Disposal: check which lots a case may take, then take them all or none."""
from __future__ import annotations

from decimal import Decimal

from flask_smorest import Blueprint

from ..db import get_session
from ..services import executions as execution_service
from .auth import READERS, allow, current_unit, reads_only
from .common import perform, respond
from .fields import weight_text
from .schemas import CheckIn, CheckOut, ExecuteIn, ExecutionOut

blp = Blueprint("executions", __name__, url_prefix="/api/v1/executions",
                description="Delivery, auction, sale and offset")


@blp.post("/check")
@allow(*READERS)
@reads_only
@blp.arguments(CheckIn())
@blp.response(200, CheckOut)
def check(args):
    """Per lot or card number: clear for the case, or every conflict and who holds it (an unknown card number
    with the near misses at the custodian). Changes nothing."""
    checks = execution_service.check(get_session(), args["case_id"], args.get("lot_ids"), _cards(args),
                                     "override_document_no" in args)
    clear = [c for c in checks if c.clear]
    # Built as CheckOut would dump it (a test holds them equal): for 500 lots the schema's dump cost more
    # than finding the conflicts.
    return respond({"clear": len(clear) == len(checks),
                    "lots": [_checked(c) for c in checks],
                    "total_weight_t": weight_text(sum((c.weight_t for c in clear), Decimal("0")))}, 200)


def _cards(args: dict) -> execution_service.Cards | None:
    if "card_nos" not in args:
        return None
    return execution_service.Cards(args["custodian"], args["card_nos"], args["card_nos_as_typed"])


def _checked(c: execution_service.LotCheck) -> dict:
    shown = {"lot_id": c.lot_id, "card_no": c.card_no, "weight_t": weight_text(c.weight_t), "clear": c.clear,
             "conflicts": [x.as_dict() for x in c.conflicts]}
    if c.card_no_as_typed is not None:
        shown["card_no_as_typed"] = c.card_no_as_typed
    return shown


def _present(result: execution_service.ExecutionResult) -> dict:
    e = result.execution
    voided: dict[int, list[int]] = {}
    for lot_id, seizure_id in result.voided:
        voided.setdefault(lot_id, []).append(seizure_id)
    return {"id": e.id, "case_id": e.case_id, "kind": e.kind, "document_no": e.document_no,
            "recipient": e.recipient, "override_document_no": e.override_document_no, "at": e.at,
            "total_weight_t": e.total_weight_t,
            "lots": [{"lot_id": lot.id, "card_no": lot.card_no, "weight_t": lot.weight_t,
                      "voided": voided.get(lot.id, []),
                      **({"card_no_as_typed": result.as_typed[lot.card_no]} if lot.card_no in result.as_typed
                         else {})} for lot in result.lots]}


@blp.post("")
@allow("court")
@blp.arguments(ExecuteIn())
@blp.response(201, ExecutionOut)
def execute(args):
    """Dispose of every listed lot for the case or of none (409 naming each blocking lot and its holder, and
    every card number that names no lot at the custodian)."""
    session = get_session()
    return perform(lambda idem: execution_service.execute(
        session, current_unit().code, args["case_id"], args["kind"], args["document_no"], args.get("lot_ids"),
        args["recipient"], args["override_document_no"], idem, _cards(args)), _present, ExecutionOut)
