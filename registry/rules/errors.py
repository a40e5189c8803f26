"""Domain errors: a stable code, a message and the lots that caused it. No HTTP here."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Conflict:
    """Why one lot (or card number) blocks a command, and who holds it: enough for a clerk to act on."""

    lot_id: int | None
    card_no: str | None
    code: str
    holder_case_id: int | None = None
    holder_case_number: str | None = None
    holder_unit: str | None = None
    detail: str = ""
    term_end: date | None = None            # the last day of the holder's seizure on the lot, if it runs
    holder_unit_name: str | None = None     # filled in by the services, which can read unit names
    card_no_as_typed: str | None = None     # the card number as given, where it differs from card_no
    suggestions: tuple[tuple[int, str], ...] | None = None  # unknown_card_no: (lot id, card number) one edit away

    def as_dict(self) -> dict[str, Any]:
        shown = {"lot_id": self.lot_id, "card_no": self.card_no, "code": self.code,
                 "holder_case_id": self.holder_case_id, "holder_case_number": self.holder_case_number,
                 "holder_unit": self.holder_unit, "holder_unit_name": self.holder_unit_name,
                 "term_end": self.term_end.isoformat() if self.term_end else None, "detail": self.detail}
        if self.card_no_as_typed is not None:
            shown["card_no_as_typed"] = self.card_no_as_typed
        if self.suggestions is not None:
            shown["suggestions"] = [{"lot_id": i, "card_no": c} for i, c in self.suggestions]
        return shown


@dataclass
class DomainError(Exception):
    """A refused command. `code` is stable; api/errors.py alone decides the HTTP status."""

    code: str
    detail: str
    conflicts: list[Conflict] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def refuse_if(conflicts: list[Conflict], detail: str) -> None:
    """All or nothing: one blocking lot refuses the whole command, naming every blocking lot."""
    if conflicts:  # the code is the first blocking lot's; each lot's own reason is in `conflicts`
        raise DomainError(conflicts[0].code, detail, conflicts)
