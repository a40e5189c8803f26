"""The relational projection of the ledger, plus the ledger's own tables.

Every row outside the ledger tables is derived from ledger entries; `seizure-registry audit` proves it.
Times are the ledger time of the entry that made the change, so `as_of` queries can filter on them.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, text, true)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import Tonnes, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """An authority with an account. Its parent is of its own kind and never below it; an inactive unit's
    tokens authenticate no more, and its cases and history stay readable."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Lot(Base):
    """A lot. Every filter of the lot list has an index: custodian through the unique constraint, location
    (a substring) through a trigram index on PostgreSQL."""

    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("custodian", "card_no", name="uq_lots_custodian_card_no"),
                      # An equal custodian or owner, in id order: a page from a cursor is a range of the index.
                      Index("ix_lots_custodian_id", "custodian", "id"),
                      Index("ix_lots_owner_id", "owner", "id"),
                      Index("ix_lots_location", "location", postgresql_using="gin",
                            postgresql_ops={"location": "gin_trgm_ops"}),
                      # Disposed and split lots in id order: a page of them costs its own size however many.
                      Index("ix_lots_disposed", "id", postgresql_where=text("disposed_at IS NOT NULL"),
                            sqlite_where=text("disposed_at IS NOT NULL")),
                      Index("ix_lots_split", "id", postgresql_where=text("split_at IS NOT NULL"),
                            sqlite_where=text("split_at IS NOT NULL")))
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    card_no: Mapped[str] = mapped_column(String(100), index=True)
    custodian: Mapped[str] = mapped_column(String(200))
    commodity: Mapped[str] = mapped_column(String(200))
    weight_t: Mapped[Decimal] = mapped_column(Tonnes())
    location: Mapped[str] = mapped_column(String(200), default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    property_class: Mapped[str] = mapped_column(String(16), default="movable")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    split_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LotStanding(Base):
    """Derived, not a fact: the ledger's replay leaves it out and the audit recomputes it (services.standing).
    From `facts_at` on, the lot is seized exactly before `seized_until`; `closed_at`: disposed of or split.
    A narrow row beside each lot, so a walk of the lot list for a status reads little."""

    __tablename__ = "lot_standing"
    lot_id: Mapped[int] = mapped_column(ID, ForeignKey("lots.id"), primary_key=True, autoincrement=False)
    facts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: not known yet
    seized_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CardKey(Base):
    """Deletion-neighbourhood keys of card numbers: two card numbers one edit apart share a key."""

    __tablename__ = "card_keys"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    applicant: Mapped[str] = mapped_column(String(200), default="")
    respondent: Mapped[str] = mapped_column(String(200), default="")
    owner_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    acting_unit: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    previous_number: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseTransfer(Base):
    """Every change of who acts for a case (transfers and conversion), in order; also gives as-of views."""

    __tablename__ = "case_transfers"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    from_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    to_unit: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    document_no: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseAssistant(Base):
    __tablename__ = "case_assistants"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime())


class Seizure(Base):
    __tablename__ = "seizures"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(16))
    document_no: Mapped[str] = mapped_column(String(200))
    served_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    term_end: Mapped[date | None] = mapped_column(Date)


class Hold(Base):
    """One seizure on one lot. Its queue position is the ledger sequence number that registered it."""

    __tablename__ = "holds"
    # A case's lots; the holds not ended by an act (ended_at NULL or later than the instant asked about).
    __table_args__ = (Index("ix_holds_lot_position", "lot_id", "position"),
                      Index("ix_holds_case_lot", "case_id", "lot_id"),
                      Index("ix_holds_ended_lot", "ended_at", "lot_id"))
    seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    position: Mapped[int] = mapped_column(BigInteger)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    term_days: Mapped[int | None] = mapped_column(Integer)  # None: the statutory maximum from its start
    term_end: Mapped[date | None] = mapped_column(Date)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_status: Mapped[str | None] = mapped_column(String(16))
    end_document_no: Mapped[str | None] = mapped_column(String(200))


class Renewal(Base):
    __tablename__ = "renewals"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    previous_term_end: Mapped[date] = mapped_column(Date)  # the last day in force before, as shown then
    # The hold's recorded facts before the renewal, so an as-of view before it can put them back exactly.
    prior_term_end: Mapped[date | None] = mapped_column(Date)
    prior_effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    term_end: Mapped[date] = mapped_column(Date)
    document_no: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Execution(Base):
    __tablename__ = "executions"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(16))
    document_no: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(200))
    override_document_no: Mapped[str | None] = mapped_column(String(200))
    total_weight_t: Mapped[Decimal] = mapped_column(Tonnes())
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExecutionLot(Base):
    __tablename__ = "execution_lots"
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True, unique=True)


class DisposalTransfer(Base):
    __tablename__ = "disposal_transfers"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    from_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # The right belongs to the effective seizure that held it: it lapses when that seizure does.
    from_seizure_id: Mapped[int] = mapped_column(ForeignKey("seizures.id"))
    to_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    document_no: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Objection(Base):
    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    claimant: Mapped[str] = mapped_column(String(200), default="")
    document_no: Mapped[str] = mapped_column(String(200))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lift_document_no: Mapped[str | None] = mapped_column(String(200))


class IdempotencyRecord(Base):
    """The first successful response to a POST with an Idempotency-Key, kept to answer retries."""

    __tablename__ = "idempotency_records"
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerHead(Base):
    """The single row every write locks first: it serialises appends and carries the Merkle frontier."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LedgerNode(Base):
    """Every complete Merkle subtree: (level, index) covers leaves [index*2^level, (index+1)*2^level)."""

    __tablename__ = "ledger_nodes"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
