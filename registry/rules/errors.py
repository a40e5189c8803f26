"""Domain errors: a stable code, a message and the lots that caused it. No HTTP here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Conflict:
    lot_id: int | None
    card_no: str | None
    code: str
    holder_case_id: int | None = None
    holder_case_number: str | None = None
    holder_unit: str | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"lot_id": self.lot_id, "card_no": self.card_no, "code": self.code,
                "holder_case_id": self.holder_case_id, "holder_case_number": self.holder_case_number,
                "holder_unit": self.holder_unit, "detail": self.detail}


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
