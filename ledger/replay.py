"""Rebuild the registry's recorded facts from ledger entries alone.

The state is plain JSON-able data (ids as strings, times as the ledger's own time strings), table → key →
record; the service exports the same records at GET /api/v1/ledger/state, one (table, key, record) a line,
so an auditor can compare the two field by field without trusting the operator's code. It holds facts
(acts), not derived status: expiry and promotion are functions of facts and time, and equal facts give
equal answers.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from .chain import Entry

State = dict[str, dict[str, Any]]
Record = tuple[str, str, dict[str, Any]]  # (table, key, recorded facts): one line of the service's export
TABLES = ("units", "tokens", "lots", "cases", "seizures", "holds", "executions", "disposal_transfers",
          "objections", "renewals", "case_transfers")


def empty_state() -> State:
    return {table: {} for table in TABLES}


def hold_key(seizure_id: int, lot_id: int) -> str:
    return f"{seizure_id}:{lot_id}"


class Replay:
    """Applies entries in order; `apply` raises KeyError/ValueError on an entry that cannot be applied."""

    def __init__(self) -> None:
        self.state = empty_state()
        self.size = 0
        self._counts: dict[tuple[str, str], int] = {}
        self._handlers: dict[str, Callable[[Entry, dict[str, Any]], None]] = {
            "unit.created": self._unit_created, "unit.updated": self._unit_updated,
            "token.issued": self._token_issued,
            "token.revoked": self._token_revoked, "lot.registered": self._lots_registered,
            "lot.updated": self._lot_updated,
            "lot.split": self._lot_split, "lot.disposal_transferred": self._disposal_transferred,
            "objection.filed": self._objection_filed, "objection.lifted": self._objection_lifted,
            "case.opened": self._case_opened, "case.transferred": self._case_transferred,
            "case.converted": self._case_converted, "case.updated": self._case_updated,
            "seizure.registered": self._seizure_registered,
            "seizure.released": self._seizure_released, "seizure.renewed": self._seizure_renewed,
            "execution.recorded": self._execution_recorded,
        }

    def apply(self, entry: Entry) -> None:
        handler = self._handlers.get(entry.type)
        if handler is None:
            raise ValueError(f"entry {entry.seq}: unknown type {entry.type!r}")
        handler(entry, entry.data)
        self.size = entry.seq + 1

    # -- units and tokens ----------------------------------------------------------------------------------
    def _unit_created(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["units"][d["code"]] = {"name": d["name"], "kind": d["kind"], "parent": d["parent"],
                                          "created_at": e.time, "active": True}
        self.state["tokens"][d["token_id"]] = {"unit": d["code"], "revoked_at": None}

    def _unit_updated(self, e: Entry, d: dict[str, Any]) -> None:
        """An admin's change: only the fields the entry names (name, parent, active) change."""
        unit = self.state["units"][d["code"]]
        for field in ("name", "parent", "active"):
            if field in d:
                unit[field] = d[field]

    def _token_issued(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["tokens"][d["token_id"]] = {"unit": d["unit"], "revoked_at": None}

    def _token_revoked(self, e: Entry, d: dict[str, Any]) -> None:
        for token_id in d["token_ids"]:
            self.state["tokens"][token_id]["revoked_at"] = e.time

    # -- lots ----------------------------------------------------------------------------------------------
    def _add_lot(self, e: Entry, lot: dict[str, Any]) -> None:
        self.state["lots"][str(lot["id"])] = {**{k: v for k, v in lot.items() if k != "id"},
                                              "registered_at": e.time, "disposed_at": None, "split_at": None}

    def _lots_registered(self, e: Entry, d: dict[str, Any]) -> None:
        for lot in d["lots"]:
            self._add_lot(e, lot)

    def _lot_updated(self, e: Entry, d: dict[str, Any]) -> None:
        """Identifiers written anew (in canonical form): only the fields the entry names (card_no, custodian,
        owner) change."""
        lot = self.state["lots"][str(d["id"])]
        for field in ("card_no", "custodian", "owner"):
            if field in d:
                lot[field] = d[field]

    def _lot_split(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["lots"][str(d["lot_id"])]["split_at"] = e.time
        holds = self.state["holds"]
        for part in d["parts"]:
            self._add_lot(e, part)
            for carried in d["holds"]:
                origin = holds[hold_key(carried["seizure_id"], d["lot_id"])]
                holds[hold_key(carried["seizure_id"], part["id"])] = {
                    "case_id": carried["case_id"], "position": carried["position"],
                    "registered_at": origin["registered_at"], "term_days": carried["term_days"],
                    "term_end": carried["term_end"], "effective_from": carried["effective_from"],
                    "ended_at": None, "end_status": None, "end_document_no": None}

    def _disposal_transferred(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["disposal_transfers"][str(d["id"])] = {
            "lot_id": d["lot_id"], "from_case_id": d["from_case_id"], "from_seizure_id": d["from_seizure_id"],
            "to_case_id": d["to_case_id"],
            "document_no": d["document_no"], "at": e.time}

    def _objection_filed(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["objections"][str(d["id"])] = {"lot_id": d["lot_id"], "unit": d["unit"],
                                                  "claimant": d["claimant"], "document_no": d["document_no"],
                                                  "filed_at": e.time, "lifted_at": None,
                                                  "lift_document_no": None}

    def _objection_lifted(self, e: Entry, d: dict[str, Any]) -> None:
        objection = self.state["objections"][str(d["id"])]
        objection["lifted_at"], objection["lift_document_no"] = e.time, d["document_no"]

    # -- cases ---------------------------------------------------------------------------------------------
    def _case_opened(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["cases"][str(d["id"])] = {
            "number": d["number"], "kind": d["kind"], "applicant": d["applicant"], "respondent": d["respondent"],
            "owner_unit": d["owner_unit"], "acting_unit": d["owner_unit"], "assisting_units": [],
            "previous_number": None, "opened_at": e.time}

    def _next_key(self, table: str, prefix: str) -> str:
        """Rows the ledger does not number are keyed by owner and order: '<owner>:<n>'."""
        count = self._counts.get((table, prefix), 0)
        self._counts[(table, prefix)] = count + 1
        return f"{prefix}:{count}"

    def _transfer(self, e: Entry, case_id: int, mode: str, to_unit: str | None, document_no: str) -> None:
        case = self.state["cases"][str(case_id)]
        key = self._next_key("case_transfers", str(case_id))
        self.state["case_transfers"][key] = {"mode": mode, "from_unit": case["acting_unit"], "to_unit": to_unit,
                                             "document_no": document_no, "at": e.time}

    def _case_transferred(self, e: Entry, d: dict[str, Any]) -> None:
        self._transfer(e, d["case_id"], d["mode"], d["to_unit"], d["document_no"])
        case = self.state["cases"][str(d["case_id"])]
        if d["mode"] == "assist":
            case["assisting_units"] = sorted(set(case["assisting_units"]) | {d["to_unit"]})
        else:
            case["acting_unit"] = d["to_unit"]

    def _case_converted(self, e: Entry, d: dict[str, Any]) -> None:
        self._transfer(e, d["case_id"], "convert", None, d["document_no"])
        case = self.state["cases"][str(d["case_id"])]
        case["previous_number"], case["number"], case["kind"] = case["number"], d["number"], "execution"

    def _case_updated(self, e: Entry, d: dict[str, Any]) -> None:
        """Case numbers written anew (in canonical form): only the fields the entry names (number,
        previous_number) change."""
        case = self.state["cases"][str(d["id"])]
        for field in ("number", "previous_number"):
            if field in d:
                case[field] = d[field]

    # -- seizures ------------------------------------------------------------------------------------------
    def _seizure_registered(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["seizures"][str(d["id"])] = {"case_id": d["case_id"], "unit": e.actor, "kind": d["kind"],
                                                "document_no": d["document_no"], "served_at": d["served_at"],
                                                "recorded_at": e.time, "term_end": d["term_end"]}
        for lot in d["lots"]:
            self.state["holds"][hold_key(d["id"], lot["lot_id"])] = {
                "case_id": d["case_id"], "position": e.seq, "registered_at": e.time, "term_days": lot["term_days"],
                "term_end": None, "effective_from": None, "ended_at": None, "end_status": None,
                "end_document_no": None}

    def _end(self, e: Entry, seizure_id: int, lot_id: int, status: str, document_no: str) -> None:
        hold = self.state["holds"][hold_key(seizure_id, lot_id)]
        hold["ended_at"], hold["end_status"], hold["end_document_no"] = e.time, status, document_no

    def _seizure_released(self, e: Entry, d: dict[str, Any]) -> None:
        for lot_id in d["lot_ids"]:
            self._end(e, d["seizure_id"], lot_id, "released", d["document_no"])

    def _seizure_renewed(self, e: Entry, d: dict[str, Any]) -> None:
        for lot in d["lots"]:
            key = hold_key(d["seizure_id"], lot["lot_id"])
            self.state["holds"][key].update(term_end=d["term_end"], effective_from=lot["effective_from"])
            self.state["renewals"][self._next_key("renewals", key)] = {
                "term_end": d["term_end"], "document_no": d["document_no"], "at": e.time}

    def _execution_recorded(self, e: Entry, d: dict[str, Any]) -> None:
        self.state["executions"][str(d["id"])] = {
            "case_id": d["case_id"], "unit": e.actor, "kind": d["kind"], "document_no": d["document_no"],
            "recipient": d["recipient"], "override_document_no": d["override_document_no"],
            "total_weight_t": d["total_weight_t"], "lot_ids": sorted(d["lot_ids"]), "at": e.time}
        for lot_id in d["lot_ids"]:
            self.state["lots"][str(lot_id)]["disposed_at"] = e.time
        for status in ("executed", "voided"):
            for lot_id, seizure_id in d[status]:
                self._end(e, seizure_id, lot_id, status, d["document_no"])


def differences(expected: State, actual: State) -> Iterator[str]:
    """Every record that differs between the replayed state and another, named table/id/field."""
    for table in TABLES:
        mine, theirs = expected.get(table, {}), actual.get(table, {})
        for key in sorted(set(mine) | set(theirs), key=_natural):
            if key not in theirs:
                yield _missing(table, key)
            elif key not in mine:
                yield _extra(table, key)
            else:
                yield from _field_differences(table, key, mine[key], theirs[key])


def compare_records(expected: State, shown: Iterable[Record]) -> Iterator[str]:
    """`differences` against a state read one (table, key, record) at a time, as the service streams it.

    Each record shown is matched with the replayed one, which is removed from `expected` (so memory shrinks as
    the comparison goes, and `expected` is emptied); what remains at the end is what the other state lacks.
    A key shown twice is named as not in the ledger the second time.
    """
    for table, key, record in shown:
        mine = expected[table].pop(key, None) if table in expected else None
        if mine is None:
            yield _extra(table, key)
        else:
            yield from _field_differences(table, key, mine, record)
    for table in TABLES:
        for key in sorted(expected.get(table, {}), key=_natural):
            yield _missing(table, key)


def _missing(table: str, key: str) -> str:
    return f"{table} {key}: in the ledger, missing from the registry"


def _extra(table: str, key: str) -> str:
    return f"{table} {key}: in the registry, not in the ledger"


def _field_differences(table: str, key: str, mine: dict[str, Any], theirs: dict[str, Any]) -> Iterator[str]:
    if mine == theirs:
        return
    for field in sorted(set(mine) | set(theirs)):
        if mine.get(field) != theirs.get(field):
            yield (f"{table} {key}: {field} is {theirs.get(field)!r} in the registry, "
                   f"{mine.get(field)!r} by the ledger")


def _natural(key: str) -> tuple[tuple[int, int, str], ...]:
    # Numeric parts in numeric order, before text ones: a token id (hex) can be all digits, and int < str fails.
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in key.split(":"))
