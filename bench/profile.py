"""`python -m bench.profile [--backend B] [KIND …]`: where a request's time goes, for the figures that miss.

Builds the quick-size small database, then per request kind, in-process through the Flask test client:
the SQL statements one request sends (each counted once per request, the cause of N+1s and round trips),
the time per request, and the top functions by own time (cProfile). `--py-spy SECONDS` instead samples the
gunicorn workers under load (py-spy must be installed) and prints the top frames by own samples.
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from . import data, load, scripts
from .servers import SERVICE, Gunicorn
from .sizes import QUICK

KINDS = ("get", "seize1", "seize100", "check", "inclusion", "consistency", "register")


def _items(ds: data.Dataset, kind: str) -> list[load.Item]:
    if kind == "get":
        return scripts.get_lot(ds).items
    if kind in ("seize1", "seize100"):
        n = 1 if kind == "seize1" else 100
        return scripts.seize(ds, kind, n).items
    if kind == "check":
        return scripts.check(ds, 500).items
    if kind == "register":
        return scripts.write_mix(ds, "R").items[0::2]
    inclusion, consistency = scripts.proofs(ds, ds.entries, 500)
    return (inclusion if kind == "inclusion" else consistency).items


def in_process(ds: data.Dataset, kinds: list[str], requests: int, top: int) -> None:
    from sqlalchemy import event

    from registry import create_app
    app = create_app({"DATABASE_URL": ds.url, "LEDGER_KEY_FILE": ds.key_file})
    statements: list[str] = []
    event.listen(app.extensions["registry.db"].engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(" ".join(statement.split())[:110]))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ds.tokens['COURT-A']}", "Content-Type": "application/json"}
    for kind in kinds:
        items = _items(ds, kind)
        for method, path, body in items[:3]:  # warm: statement caches, imports
            client.open(path, method=method, data=body, headers=headers)
        statements.clear()
        method, path, body = items[3]
        status = client.open(path, method=method, data=body, headers=headers).status_code
        counted, per_request = collections.Counter(statements), len(statements)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for method, path, body in items[4:4 + requests]:
            client.open(path, method=method, data=body, headers=headers)
        profile.disable()
        per = (time.perf_counter() - started) / requests * 1000
        print(f"\n== {kind}: {method} {path[:60]} → {status}; {per_request} SQL statements per request; "
              f"{per:.1f} ms per request in-process (profiled)")
        for statement, n in counted.most_common():
            print(f"  {n:3d} × {statement}")
        stats = pstats.Stats(profile)
        print(f"  top {top} by own time, then the project's functions by cumulative time "
              f"(s over {requests} requests):")
        _print_stats(stats, "tottime", top, lambda name: True)
        print("  --")
        _print_stats(stats, "cumulative", top, lambda name: "/registry/" in name or "/ledger/" in name)


def serial_section(ds: data.Dataset, kinds: list[str], requests: int) -> None:
    """Per request: wall time in-process, and the part spent holding the ledger-head lock (lock to commit).

    Writes are serialised by that lock, so its hold time bounds write throughput whatever the workers.
    """
    from sqlalchemy import event

    from registry import create_app
    from registry.services import tx

    app = create_app({"DATABASE_URL": ds.url, "LEDGER_KEY_FILE": ds.key_file})
    held: list[float] = []
    locked_at: list[float] = []
    lock_head, lock_head_reserving = tx.lock_head, tx.lock_head_reserving

    def timed_lock(session: Any, *args: Any) -> Any:
        locked_at.append(time.perf_counter())
        return lock_head(session, *args)

    def timed_lock_reserving(session: Any, sequence: str, *args: Any) -> Any:
        locked_at.append(time.perf_counter())
        return lock_head_reserving(session, sequence, *args)

    committing: list[float] = []
    commits: list[float] = []
    in_statements = [0.0]  # while the lock is held: time inside the driver, statement sent to rows read
    statements_held: list[float] = []
    started_statement: list[float] = []

    def committed(_session: Any) -> None:
        if locked_at:  # a write's commit; a read's says nothing about the lock
            held.append(time.perf_counter() - locked_at.pop())
            statements_held.append(in_statements[0])
            if committing:
                commits.append(time.perf_counter() - committing[-1])
        committing.clear()
        in_statements[0] = 0.0

    def statement_done(*_args: Any) -> None:
        if locked_at and started_statement:
            in_statements[0] += time.perf_counter() - started_statement.pop()
        started_statement.clear()

    tx.lock_head, tx.lock_head_reserving = timed_lock, timed_lock_reserving  # type: ignore[assignment]
    db = app.extensions["registry.db"]
    event.listen(db.sessions, "before_commit", lambda _s: committing.append(time.perf_counter()))
    event.listen(db.sessions, "after_commit", committed)
    event.listen(db.engine, "before_cursor_execute", lambda *_a: started_statement.append(time.perf_counter()))
    event.listen(db.engine, "after_cursor_execute", statement_done)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ds.tokens['COURT-A']}", "Content-Type": "application/json"}
    try:
        for kind in kinds:
            items = _items(ds, kind)
            for method, path, body in items[:3]:
                client.open(path, method=method, data=body, headers=headers)
            held.clear()
            commits.clear()
            statements_held.clear()
            walls = []
            for method, path, body in items[3:3 + requests]:
                started = time.perf_counter()
                client.open(path, method=method, data=body, headers=headers)
                walls.append(time.perf_counter() - started)
            walls.sort()
            line = f"== {kind}: {len(walls)} requests in-process, median {walls[len(walls) // 2] * 1000:.2f} ms"
            if held:
                held.sort()
                commits.sort()
                statements_held.sort()
                line += (f"; ledger-head lock held: median {held[len(held) // 2] * 1000:.2f} ms, of which "
                         f"statements {statements_held[len(statements_held) // 2] * 1000:.2f} ms, "
                         f"COMMIT alone {commits[len(commits) // 2] * 1000:.2f} ms (PostgreSQL sends it with "
                         "the last statement)")
            print(line)
    finally:
        tx.lock_head, tx.lock_head_reserving = lock_head, lock_head_reserving  # type: ignore[assignment]


def _print_stats(stats: pstats.Stats, key: str, top: int, keep: Any) -> None:
    rows = [(func, data) for func, data in stats.stats.items() if keep(func[0])]  # type: ignore[attr-defined]
    column = 2 if key == "tottime" else 3
    for (path, line, name), (_cc, calls, own, cumulative, _callers) in sorted(
            rows, key=lambda r: r[1][column], reverse=True)[:top]:
        short = path.split("site-packages/")[-1].replace(os.path.dirname(os.path.dirname(__file__)) + "/", "")
        print(f"  {own:7.3f} own {cumulative:7.3f} cum {calls:8d}×  {short}:{line}({name})")


def under_load(ds: data.Dataset, kinds: list[str], seconds: float, work: str, top: int) -> None:
    """py-spy on both gunicorn workers while the load generator drives one kind of request."""
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    server = Gunicorn("profile", SERVICE, ds.url, ds.key_file, work).start()
    try:
        for kind in kinds:
            script = load.Script(kind, _items(ds, kind), {"Authorization": f"Bearer {ds.tokens['COURT-A']}",
                                                          "Content-Type": "application/json"})
            raw = [os.path.join(work, f"spy-{kind}-{pid}.txt") for pid in server.worker_pids()]
            spies = [subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw",
                                       "-o", path, "-r", "200", "--nonblocking"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for pid, path in zip(server.worker_pids(), raw)]
            w = load.run(server.url, script, seconds=seconds, connections=8, work=work)
            for spy_process in spies:
                spy_process.wait()
            print(f"\n== {kind} under load: {w.rate:.1f} req/s, p99 {w.p99_ms:.1f} ms; "
                  "top frames by own samples")
            _print_raw(raw, top)
    finally:
        server.stop()


def _print_raw(paths: list[str], top: int) -> None:
    own: collections.Counter = collections.Counter()
    total = 0
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                stack, _, count = line.rstrip().rpartition(" ")
                if not count.isdigit():  # a blank or partly written last line
                    continue
                frames = stack.split(";")
                own[frames[-1]] += int(count)
                total += int(count)
    for frame, n in own.most_common(top):
        print(f"  {100 * n / max(total, 1):5.1f}%  {frame}")
    by_package: collections.Counter = collections.Counter()
    for frame, n in own.items():
        by_package[_package(frame)] += n
    print("  own samples by package: " + ", ".join(
        f"{name} {100 * n / max(total, 1):.0f}%" for name, n in by_package.most_common(12)))


def _package(frame: str) -> str:
    """The top-level package of a py-spy frame `function (package/module.py:line)`; py-spy names a file of
    the running program by its name alone."""
    path = frame.rpartition("(")[2]
    return path.split("/")[0] if "/" in path else "(file) " + path.split(":")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    # No `choices`: Python 3.11's argparse refuses an empty list against them.
    parser.add_argument("kinds", nargs="*", metavar="KIND", help=f"any of {', '.join(KINDS)} (default: all)")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--py-spy", type=float, metavar="SECONDS",
                        help="sample the workers under load instead")
    parser.add_argument("--serial", action="store_true",
                        help="instead: wall time per request and how long writes hold the ledger-head lock")
    args = parser.parse_args(argv)
    kinds = args.kinds or list(KINDS)
    if set(kinds) - set(KINDS):
        parser.error(f"unknown kind(s) {sorted(set(kinds) - set(KINDS))}; choose from {', '.join(KINDS)}")
    work = tempfile.mkdtemp(prefix="bench-profile-")
    ds = data.build(args.backend, "profile", work, os.path.join(work, "ledger.key"), pools=QUICK.pools,
                    queue_lots=QUICK.queue_lots, total_lots=None, total_entries=QUICK.small_entries,
                    pool_cases=QUICK.pool_cases, log=lambda m: print(m, file=sys.stderr))
    try:
        if args.py_spy:
            under_load(ds, kinds, args.py_spy, work, args.top)
        elif args.serial:
            serial_section(ds, kinds, args.requests)
        else:
            in_process(ds, kinds, args.requests, args.top)
    finally:
        data.drop_database(ds.url)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
