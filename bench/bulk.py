"""Bulk writes that leave a database as the services would have: rows, ledger entries, Merkle nodes, head.

Building 10^6 entries one request (or one service call) at a time takes hours, so the bench writes the
projection rows and the ledger itself with COPY (PostgreSQL) or executemany (SQLite). Every entry is built
with the ledger's own `Entry`, `CompactRange` and `leaf_hash`, and every row holds what the matching service
would have written, so `seizure-registry audit` and `seizure-ledger verify` pass on the result (the bench
checks it). The service must not be running against the database while this writes.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable

from ledger.chain import Entry, entry_hash
from ledger.merkle import CompactRange, leaf_hash
from registry.services.cards import deletion_keys
from registry.services.ledger_log import ledger_time

TICK = timedelta(microseconds=1)
SCALE = Decimal("0.0001")
LOT_COLUMNS = ("id", "card_no", "custodian", "commodity", "weight_t", "location", "owner", "property_class",
               "parent_id", "registered_at", "disposed_at", "split_at")
SEIZURE_COLUMNS = ("id", "case_id", "unit_code", "kind", "document_no", "served_at", "recorded_at",
                   "term_end")
HOLD_COLUMNS = ("seizure_id", "lot_id", "case_id", "position", "registered_at", "term_days", "term_end",
                "effective_from", "ended_at", "end_status", "end_document_no")
# Parents before children, so foreign keys hold at every row on PostgreSQL.
TABLE_ORDER = ("lots", "card_keys", "seizures", "holds", "ledger_entries", "ledger_nodes")
COLUMNS = {"lots": LOT_COLUMNS, "card_keys": ("key", "lot_id"), "seizures": SEIZURE_COLUMNS,
           "holds": HOLD_COLUMNS, "ledger_entries": ("seq", "body", "time"),
           "ledger_nodes": ("level", "index", "hash")}


def _naive(instant: datetime | None) -> datetime | None:
    """UTCDateTime stores naive UTC: the form the service's column type writes."""
    return None if instant is None else instant.astimezone(timezone.utc).replace(tzinfo=None)


@dataclass
class Head:
    size: int
    last_hash: str
    last_time: datetime | None
    frontier: CompactRange


@dataclass
class BulkWriter:
    """Buffers rows and entries in the order the service would write them, and flushes them in batches."""

    connection: Any  # a raw DB-API connection: psycopg or sqlite3
    head: Head
    next_lot_id: int
    next_seizure_id: int
    flush_every: int = 20_000
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})
    # (seizure_id, lot_id) -> index in rows["holds"]: a release in the same batch edits the buffered row.
    unflushed_holds: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.connection, sqlite3.Connection)

    def now(self) -> datetime:
        """The next ledger instant: strictly after the last one, never before this host's clock."""
        clock = datetime.now(timezone.utc)
        last = self.head.last_time
        return clock if last is None or clock > last else last + TICK

    def append(self, now: datetime, actor: str, type_: str, data: dict[str, Any]) -> int:
        """One ledger entry and the Merkle nodes it completes, as ledger_log.append writes them."""
        head = self.head
        entry = Entry(seq=head.size, time=ledger_time(now), actor=actor, type=type_, data=data,
                      prev=head.last_hash)
        body = _fast_canonical(entry)
        if head.size % CROSS_CHECK_EVERY == 0 and body != entry.to_bytes():
            raise AssertionError(f"bulk encoding differs from the canonical form at entry {head.size}")
        self.rows["ledger_entries"].append((head.size, body, _naive(now)))
        self.rows["ledger_nodes"].extend(head.frontier.append(leaf_hash(body)))
        head.size, head.last_hash, head.last_time = head.size + 1, entry_hash(body), now
        return head.size - 1

    def maybe_flush(self) -> None:
        """Flush once enough is buffered; callers call it where no buffered hold awaits its release."""
        if len(self.rows["ledger_entries"]) >= self.flush_every:
            self.flush()

    # -- the service's writes, one per method ----------------------------------------------------------------
    def register_lots(self, actor: str, lots: list[dict[str, Any]]) -> list[int]:
        """lot.registered, as services.lots.register_lots: the lots, their card keys, one entry."""
        now = self.now()
        records = []
        for lot in lots:
            lot_id, self.next_lot_id = self.next_lot_id, self.next_lot_id + 1
            weight = Decimal(lot["weight_t"])
            self.rows["lots"].append((lot_id, lot["card_no"], lot["custodian"], lot["commodity"],
                                      int(weight / SCALE), lot["location"], lot["owner"],
                                      lot["property_class"], None, _naive(now), None, None))
            self.rows["card_keys"].extend((k, lot_id) for k in deletion_keys(lot["card_no"]))
            records.append({"card_no": lot["card_no"], "custodian": lot["custodian"],
                            "commodity": lot["commodity"], "weight_t": f"{weight:.4f}",
                            "location": lot["location"], "owner": lot["owner"],
                            "property_class": lot["property_class"], "id": lot_id, "parent_id": None})
        self.append(now, actor, "lot.registered", {"lots": records})
        return [r["id"] for r in records]

    def seize(self, actor: str, case_id: int, document_no: str, lot_ids: list[int]) -> int:
        """seizure.registered with the statutory default term, as services.seizures.seize."""
        now = self.now()
        seizure_id, self.next_seizure_id = self.next_seizure_id, self.next_seizure_id + 1
        served = now - timedelta(days=1)
        self.rows["seizures"].append((seizure_id, case_id, actor, "seal", document_no, _naive(served),
                                      _naive(now), None))
        position = self.head.size  # the seq of this entry: registration order
        holds = self.rows["holds"]
        for lot_id in lot_ids:
            self.unflushed_holds[(seizure_id, lot_id)] = len(holds)
            holds.append((seizure_id, lot_id, case_id, position, _naive(now), *(None,) * 6))
        self.append(now, actor, "seizure.registered", {
            "id": seizure_id, "case_id": case_id, "kind": "seal", "document_no": document_no,
            "served_at": ledger_time(served), "term_end": None,
            "lots": [{"lot_id": lot_id, "term_days": None} for lot_id in lot_ids]})
        return seizure_id

    def release(self, actor: str, seizure_id: int, lot_id: int, document_no: str, reason: str) -> None:
        """seizure.released on one lot of a seizure written by this writer and not yet flushed."""
        now = self.now()
        at = self.unflushed_holds.pop((seizure_id, lot_id))
        self.rows["holds"][at] = self.rows["holds"][at][:8] + (_naive(now), "released", document_no)
        self.append(now, actor, "seizure.released", {"seizure_id": seizure_id, "lot_ids": [lot_id],
                                                     "document_no": document_no, "reason": reason})

    # -- storage ---------------------------------------------------------------------------------------------
    def flush(self) -> None:
        for table in TABLE_ORDER:
            rows, self.rows[table] = self.rows[table], []
            if rows:
                self._write(table, rows)
        self.unflushed_holds.clear()

    def _write(self, table: str, rows: list[tuple]) -> None:
        columns = COLUMNS[table]
        if self.is_sqlite:
            marks = ", ".join("?" * len(columns))
            names = ", ".join(f'"{c}"' for c in columns)
            self.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                        [tuple(_sqlite_value(v) for v in row) for row in rows])
            return
        names = ", ".join(f'"{c}"' for c in columns)
        with self.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self) -> None:
        """Flush, move the head and the id sequences forward, commit."""
        self.flush()
        head = self.head
        params = (head.size, head.last_hash, _sqlite_value(_naive(head.last_time)) if self.is_sqlite
                  else _naive(head.last_time), head.frontier.to_bytes())
        if self.is_sqlite:
            self.connection.execute("UPDATE ledger_head SET size = ?, last_hash = ?, last_time = ?, "
                                    "frontier = ? WHERE id = 1", params)
        else:
            with self.connection.cursor() as cursor:
                cursor.execute("UPDATE ledger_head SET size = %s, last_hash = %s, last_time = %s, "
                               "frontier = %s WHERE id = 1", params)
                for table in ("lots", "seizures"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
        self.connection.commit()


CROSS_CHECK_EVERY = 997


def _fast_canonical(entry: Entry) -> bytes:
    """RFC 8785 bytes of an entry holding only ints, None and BMP strings, at C speed.

    For such values sorted compact JSON is RFC 8785 (the verifier's fast path relies on the same fact);
    the pure-Python rfc8785 encoder would double the build time. Every CROSS_CHECK_EVERY-th entry is
    compared with `Entry.to_bytes`, and the bench verifies the whole ledger afterwards.
    """
    return json.dumps({"v": 1, "seq": entry.seq, "time": entry.time, "actor": entry.actor, "type": entry.type,
                       "data": entry.data, "prev": entry.prev}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime storage format, so the service reads these rows back unchanged.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def open_writer(connection: Any) -> BulkWriter:
    """A writer continuing the database's ledger and id sequences."""
    cursor = connection.cursor()
    cursor.execute("SELECT size, last_hash, last_time, frontier FROM ledger_head WHERE id = 1")
    size, last_hash, last_time, frontier = cursor.fetchone()
    cursor.execute("SELECT coalesce(max(id), 0) FROM lots")
    next_lot = cursor.fetchone()[0] + 1
    cursor.execute("SELECT coalesce(max(id), 0) FROM seizures")
    next_seizure = cursor.fetchone()[0] + 1
    cursor.close()
    if isinstance(last_time, str):
        last_time = datetime.fromisoformat(last_time)
    if last_time is not None:
        last_time = last_time.replace(tzinfo=timezone.utc)
    head = Head(size, last_hash, last_time, CompactRange.from_bytes(bytes(frontier)))
    return BulkWriter(connection, head, next_lot, next_seizure)


def connect(url: str) -> Any:
    """A raw DB-API connection for a SQLAlchemy URL of either backend, in a transaction."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")  # commit() ends it
        return connection
    import psycopg
    return psycopg.connect(url.replace("+psycopg", ""))


def churn(writer: BulkWriter, lot_ids: Iterable[int], ops_per_lot: int, cases: list[tuple[int, str]],
          budget: int) -> int:
    """Seize and release on each lot in turn, keeping at most three live seizures (a realistic queue).

    `cases` are (case_id, acting unit) pairs; a case never holds two live seizures on one lot. Stops after
    `budget` entries; returns how many it wrote.
    """
    written, turn = 0, 0
    for lot_id in lot_ids:
        live: list[tuple[int, int, str]] = []  # (seizure_id, case_id, unit) oldest first
        for _ in range(ops_per_lot):
            if written >= budget:
                return written
            if len(live) < 3:
                holding = {c for _, c, _ in live}
                while cases[turn % len(cases)][0] in holding:
                    turn += 1
                case_id, unit = cases[turn % len(cases)]
                turn += 1
                seizure_id = writer.seize(unit, case_id, f"(2026)沪0113执保{writer.head.size}号", [lot_id])
                live.append((seizure_id, case_id, unit))
            else:
                seizure_id, _, unit = live.pop(0)
                writer.release(unit, seizure_id, lot_id, f"(2026)沪0113执保解{writer.head.size}号", "申请人撤回申请")
            written += 1
        writer.maybe_flush()
    return written
