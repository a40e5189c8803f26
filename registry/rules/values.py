"""Immutable facts the rules decide on: loaded by the services, never touched by them directly."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class UnitFacts:
    code: str
    kind: str
    ancestors: tuple[str, ...] = ()  # parent first
    active: bool = True


@dataclass(frozen=True)
class CaseFacts:
    id: int
    number: str
    kind: str
    owner_unit: str
    acting_unit: str
    assisting_units: frozenset[str] = frozenset()

    @property
    def is_civil(self) -> bool:
        return self.kind != "criminal"

    def may_dispose(self, unit: str) -> bool:
        return unit == self.acting_unit or unit in self.assisting_units


@dataclass(frozen=True)
class HoldFacts:
    """One seizure on one lot as recorded; statuses as of an instant come from queue.queue_at."""

    seizure_id: int
    lot_id: int
    case_id: int
    position: int
    registered_at: datetime
    term_days: int | None                   # None: the statutory maximum, counted from when it takes effect
    term_end: date | None = None            # set by a renewal or carried by a split
    effective_from: datetime | None = None  # carried by a split
    ended_at: datetime | None = None
    end_status: str | None = None           # released | executed | voided


@dataclass(frozen=True)
class LotFacts:
    id: int
    card_no: str
    custodian: str
    weight_t: Decimal
    property_class: str
    disposed_at: datetime | None = None
    split_at: datetime | None = None
    holds: tuple[HoldFacts, ...] = ()
    pending_objection_units: tuple[str, ...] = ()
    disposal_transfers: tuple[tuple[int, int], ...] = ()  # (from_seizure_id, to_case_id), oldest first
    cases: dict[int, CaseFacts] = field(default_factory=dict, compare=False)
