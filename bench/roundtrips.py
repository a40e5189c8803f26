"""`python -m bench.roundtrips [--transactions N] [--rounds R]`: what a message costs on this machine.

One transaction of a write's shape (lock a head row, read, insert and update, COMMIT) sent three ways on one
PostgreSQL connection: statement by statement through a psycopg cursor (five messages, as a write went
before `registry/pipeline.py`), through psycopg's `Connection.pipeline()`, and with libpq's pipeline mode
in two writes (BEGIN, lock and read; then insert and update, COMMIT), as `registry.pipeline.Batch` sends a
write. Prints per transaction the CPU of this process, of its server process, and the wall time (medians
over rounds, the three ways alternating). Creates and drops its own database.
"""
from __future__ import annotations

import argparse
import os
import select
import statistics
import sys
import time
import uuid
from typing import Any, Callable

import psycopg
from psycopg import pq

from .data import POSTGRES_ADMIN_URL

LOCK = "SELECT n FROM head WHERE id = {} FOR UPDATE"
READ = "SELECT count(*) FROM t WHERE id = {}"
WRITE = "WITH a AS (INSERT INTO t (body, n) VALUES ({body}, {n})) UPDATE head SET n = {n} WHERE id = 1"


def _server_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:  # the server runs on this machine (loopback)
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def statement_by_statement(conn: psycopg.Connection, i: int) -> None:
    cur = conn.cursor()
    cur.execute(LOCK.format("%s"), (1,))
    n = cur.fetchone()[0]
    cur.execute(READ.format("%s"), (i,))
    cur.fetchall()
    cur.execute(WRITE.format(body="%(b)s", n="%(n)s"), {"b": "x" * 300, "n": n + 1})
    conn.commit()


def psycopg_pipeline(conn: psycopg.Connection, i: int) -> None:
    with conn.pipeline():
        lock, read = conn.cursor(), conn.cursor()
        lock.execute(LOCK.format("%s"), (1,), prepare=True)
        read.execute(READ.format("%s"), (i,), prepare=True)
        n = lock.fetchone()[0]
        read.fetchall()
        lock.execute(WRITE.format(body="%(b)s", n="%(n)s"), {"b": "x" * 300, "n": n + 1}, prepare=True)
        conn.commit()


def _results(pgconn: Any, count: int) -> list[Any]:
    """`count` results of a pipeline, waiting on the socket rather than spinning."""
    found: list[Any] = []
    while len(found) < count:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is not None:
            found.append(result)
    return found


def two_writes(conn: psycopg.Connection, i: int) -> None:
    pgconn = conn.pgconn
    pgconn.enter_pipeline_mode()
    try:
        pgconn.send_query_params(b"BEGIN", None)
        pgconn.send_query_prepared(b"lock", [b"1"])
        pgconn.send_query_prepared(b"read", [str(i).encode()])
        pgconn.pipeline_sync()
        while pgconn.flush():
            select.select([], [pgconn.socket], [])
        begun, locked, _read, _sync = _results(pgconn, 4)
        n = int(locked.get_value(0, 0))
        pgconn.send_query_prepared(b"write", [b"x" * 300, str(n + 1).encode()])
        pgconn.send_query_params(b"COMMIT", None)
        pgconn.pipeline_sync()
        while pgconn.flush():
            select.select([], [pgconn.socket], [])
        results = [begun, locked, *_results(pgconn, 3)]
        if any(r.status == pq.ExecStatus.FATAL_ERROR for r in results):
            raise RuntimeError([r.error_message for r in results])
    finally:
        pgconn.exit_pipeline_mode()


WAYS: dict[str, Callable[[psycopg.Connection, int], None]] = {
    "five messages (psycopg cursor)": statement_by_statement,
    "psycopg Connection.pipeline()": psycopg_pipeline,
    "libpq pipeline, two writes": two_writes,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.roundtrips", description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    admin = POSTGRES_ADMIN_URL.replace("+psycopg", "")
    name = f"bench_roundtrips_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(admin.rsplit("/", 1)[0] + f"/{name}") as conn:
            conn.execute("CREATE TABLE head (id int PRIMARY KEY, n bigint)")
            conn.execute("INSERT INTO head VALUES (1, 0)")
            conn.execute("CREATE TABLE t (id bigserial PRIMARY KEY, body text, n bigint)")
            conn.commit()
            server = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            conn.commit()
            for label, sql in (("lock", LOCK.format("$1")), ("read", READ.format("$1")),
                               ("write", WRITE.format(body="$1", n="$2::bigint"))):
                conn.pgconn.prepare(label.encode(), sql.encode())
            for way in WAYS.values():  # warm: psycopg prepares its statements after 5 runs
                for i in range(50):
                    way(conn, i)
            measured: dict[str, list[tuple[float, float, float]]] = {label: [] for label in WAYS}
            for _ in range(args.rounds):
                for label, way in WAYS.items():
                    cpu, backend, wall = time.process_time(), _server_cpu(server), time.perf_counter()
                    for i in range(args.transactions):
                        way(conn, i)
                    n = args.transactions
                    measured[label].append(((time.process_time() - cpu) / n * 1000,
                                            (_server_cpu(server) - backend) / n * 1000,
                                            (time.perf_counter() - wall) / n * 1000))
        print(f"{args.transactions} transactions × {args.rounds} rounds, medians per transaction (ms)")
        print(f"{'sent as':34} {'this process':>12} {'server':>8} {'wall':>8}")
        for label, rows in measured.items():
            mine, theirs, wall = (statistics.median(r[k] for r in rows) for k in range(3))
            print(f"{label:34} {mine:12.3f} {theirs:8.3f} {wall:8.3f}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
