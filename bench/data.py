"""The bench's own databases: units with tokens, cases, pools of fresh lots, 3-deep queues, big ledgers.

Units, cases and the queues go through the registry's services (the same code path as the API); lots in
bulk and the filler history that makes a ledger big go through `bench.bulk`, which writes what the services
would have. Pools are ranges of consecutive lot ids, so a load script can name a fresh lot per request.
"""
from __future__ import annotations

import os
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from . import bulk

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CUSTODIAN = "上海铁路东站货场"
OWNER = "上海某金属贸易有限公司"
UNITS = [("HIGH", "上海市高级人民法院", "court", None), ("COURT-A", "上海市宝山区人民法院", "court", "HIGH"),
         ("COURT-B", "上海市静安区人民法院", "court", "HIGH"), ("COURT-C", "上海铁路运输法院", "court", "HIGH"),
         ("AUDITOR", "审计单位", "auditor", None)]
QUEUE_CASES = ("Q-A", "Q-B", "Q-C")  # seize the queue lots, in this order on the first half
FILLER_CASES = ("F-A1", "F-B1", "F-C1", "F-A2", "F-B2", "F-C2")


@dataclass(frozen=True)
class Pool:
    """Consecutive fresh lots, registered and never seized, for load that needs a new lot per request."""

    first: int
    count: int

    def lot(self, i: int) -> int:
        return self.first + i % self.count


@dataclass
class Dataset:
    backend: str  # postgresql | sqlite
    name: str
    url: str
    key_file: str
    tokens: dict[str, str] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    queue_lots: list[int] = field(default_factory=list)
    queue_cards: list[str] = field(default_factory=list)
    entries: int = 0
    lots: int = 0
    build_seconds: float = 0.0
    # Pool cursors: the next unused position in each pool's request sequence, shared across figures.
    cursors: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"entries": self.entries, "lots": self.lots, "build_seconds": round(self.build_seconds, 1),
                "pools": {k: asdict(v) for k, v in self.pools.items()}}


# -- databases ---------------------------------------------------------------------------------------------
def postgres_reason() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    try:
        import psycopg
        with psycopg.connect(POSTGRES_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as error:  # the reason is reported in the table
        return f"PostgreSQL at {POSTGRES_ADMIN_URL.split('@')[-1]} unreachable: {error}".strip()


def create_database(backend: str, name: str, work: str) -> str:
    """A fresh, empty database; its SQLAlchemy URL."""
    if backend == "sqlite":
        path = os.path.join(work, f"{name}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return f"sqlite:///{path}"
    import psycopg
    db = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    import psycopg
    with psycopg.connect(POSTGRES_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def postgres_server() -> dict[str, str] | None:
    """The server the run used: version, address and the settings that move write figures."""
    try:
        import psycopg
        with psycopg.connect(POSTGRES_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3) as conn:
            found = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                     for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers",
                                  "autovacuum")}
    except Exception:
        return None
    return {"address": POSTGRES_ADMIN_URL.split("@")[-1].rsplit("/", 1)[0], **found}


# -- building ----------------------------------------------------------------------------------------------
def lot_fields(prefix: str, i: int) -> dict[str, Any]:
    return {"card_no": f"{prefix}{i:06d}", "custodian": CUSTODIAN, "commodity": "铝锭 A00",
            "weight_t": f"{1 + (i * 7919) % 30000 / 10000:.4f}", "location": f"东场{i % 40}排{i % 17}垛",
            "owner": OWNER, "property_class": "movable"}


class _App:
    """The registry app on one database, for the writes that go through its services."""

    def __init__(self, url: str, key_file: str):
        from registry import create_app
        from registry.migrate import upgrade
        upgrade(url)
        self.app = create_app({"DATABASE_URL": url, "LEDGER_KEY_FILE": key_file})

    def run(self, work: Callable[[Any], Any]) -> Any:
        database = self.app.extensions["registry.db"]
        session = database.sessions()
        try:
            with self.app.app_context():
                return work(session)
        finally:
            session.close()

    def close(self) -> None:
        self.app.extensions["registry.db"].dispose()


def case_number(n: int, name: str) -> str:
    """The number of the bench's n-th case, as typed (the registry stores the year bracket canonically)."""
    return f"(2026)沪0113执{1000 + n}号（{name}）"


def _units_and_cases(app: _App, ds: Dataset, pool_cases: int) -> None:
    from registry.services.cases import open_case
    from registry.services.units import OPERATOR, create_unit

    def work(session: Any) -> None:
        for code, name, kind, parent in UNITS:
            ds.tokens[code] = create_unit(session, OPERATOR, code, name, kind, parent).token
        names = [*QUEUE_CASES, *FILLER_CASES, *(f"P-A{i}" for i in range(1, pool_cases + 1))]
        for n, name in enumerate(names):
            unit = f"COURT-{name.split('-')[1][0]}"
            case = open_case(session, unit, {"number": case_number(n, name),
                                             "kind": "execution", "applicant": "某银行股份有限公司上海分行",
                                             "respondent": OWNER})
            ds.cases[name] = case.id
    app.run(work)


def _bulk_lots(writer: bulk.BulkWriter, prefix: str, count: int, batch: int = 1000) -> Pool:
    """Lots registered 1000 per entry, as POST /lots with a full batch does."""
    first = writer.next_lot_id
    for start in range(0, count, batch):
        writer.register_lots("COURT-A", [lot_fields(prefix, i)
                                         for i in range(start, min(start + batch, count))])
        writer.maybe_flush()
    return Pool(first, count)


def _queues(app: _App, ds: Dataset) -> None:
    """3-deep queues through the seize service: Q-A effective on the first half, Q-B on the second."""
    from registry.services.seizures import seize
    served = datetime.now(timezone.utc) - timedelta(days=2)
    half = len(ds.queue_lots) // 2
    orders = ((ds.queue_lots[:half], QUEUE_CASES), (ds.queue_lots[half:], ("Q-B", "Q-A", "Q-C")))

    def work(session: Any) -> None:
        for lots, cases in orders:
            for name in cases:
                for start in range(0, len(lots), 500):
                    seize(session, f"COURT-{name[-1]}", ds.cases[name], "seal", f"(2026)沪0113执保{name}号",
                          served, None, lots[start:start + 500])
    app.run(work)


def build(backend: str, name: str, work: str, key_file: str, *, pools: dict[str, int], queue_lots: int,
          total_lots: int | None, total_entries: int, pool_cases: int, log: Callable[[str], None]) -> Dataset:
    """A database with the units, cases, pools and queues the figures need, filled to the given sizes."""
    started = time.perf_counter()
    ds = Dataset(backend, name, create_database(backend, name, work), key_file)
    app = _App(ds.url, key_file)
    try:
        _units_and_cases(app, ds, pool_cases)
        writer = bulk.open_writer(connection := bulk.connect(ds.url))
        queue = _bulk_lots(writer, "Q", queue_lots)
        ds.pools = {pool: _bulk_lots(writer, f"{pool.upper()}-", count) for pool, count in pools.items()}
        writer.finish()
        connection.close()
        ds.queue_lots = list(range(queue.first, queue.first + queue.count))
        ds.queue_cards = [lot_fields("Q", i)["card_no"] for i in range(queue_lots)]
        _queues(app, ds)
        _fill(ds, total_lots, total_entries, log)
        _bounds(app)
        _settle(ds)
    finally:
        app.close()
    ds.build_seconds = time.perf_counter() - started
    log(f"{backend} {name}: {ds.lots:,} lots, {ds.entries:,} ledger entries, "
        f"built in {ds.build_seconds:.0f} s")
    return ds


def _fill(ds: Dataset, total_lots: int | None, total_entries: int, log: Callable[[str], None]) -> None:
    """Filler lots with a history of seizures and releases, until the lot and entry counts are reached."""
    writer = bulk.open_writer(connection := bulk.connect(ds.url))
    lots_now = writer.next_lot_id - 1
    need = total_entries - writer.head.size
    if need > 0:
        # Exactly the lots asked for; without a lot count, about ten entries per lot.
        new_lots = max(1, min(total_lots - lots_now if total_lots else -(-need // 10), need))
        share, extra = divmod(need, new_lots)  # entries per lot: one registers it, the rest churn its queue
        cases = [(ds.cases[c], f"COURT-{c[2]}") for c in FILLER_CASES]
        for i in range(new_lots):
            ids = writer.register_lots("COURT-A", [lot_fields("F", i)])
            bulk.churn(writer, ids, share - 1 + (i < extra), cases, need)
            if (i + 1) % 20_000 == 0:
                log(f"  {ds.backend} {ds.name}: {writer.head.size:,} entries")
    writer.finish()
    ds.entries, ds.lots = writer.head.size, writer.next_lot_id - 1
    connection.close()


def _bounds(app: _App) -> None:
    """The lots' status bounds, which the bulk writer leaves unknown, stored as `db upgrade` stores them."""
    from registry.services.standing import refresh
    app.run(refresh)


def _settle(ds: Dataset) -> None:
    """Leave a bulk-loaded database as one grown over time would be, with its writes on disk.

    PostgreSQL: VACUUM and planner statistics, as autovacuum would have left it (the CI cluster runs with
    autovacuum off). Without VACUUM the first request to touch each bulk-loaded row would pay for setting its
    hint bits and dirtying its page. Then a CHECKPOINT, so the build's dirty pages are not written out during
    the figures' windows. SQLite: the build's write-ahead log checkpointed into the database and truncated.
    SQLite keeps no statistics unless an operator runs ANALYZE, and the service never does.
    """
    if ds.backend == "sqlite":
        with closing(sqlite3.connect(ds.url.split("///", 1)[1])) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    import psycopg
    with psycopg.connect(ds.url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def audit(ds: Dataset) -> tuple[list[str], int]:
    """`seizure-registry audit` on the dataset: the differences between the tables and the ledger's replay."""
    from registry.audit import run_audit
    app = _App(ds.url, ds.key_file)
    try:
        return app.run(run_audit)
    finally:
        app.close()
