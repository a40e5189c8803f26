"""`python -m bench.compare OTHER_CHECKOUT [--backend B] [--rounds N]`: is a change to the write path faster?

Serves this checkout (A) and another one (B, e.g. a `git worktree` with the change) under gunicorn against
one database, and drives 1-lot seizures at them in alternating windows, flipping the order each round, as
the figures do with a value and its baseline. Prints each side's median rate, CPU per request and p99, and
B/A per round. A difference smaller than the spread of the rounds is no difference: run this checkout
against itself first to see that spread. Both checkouts must share the database schema.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile

from . import data, figures, load, scripts
from .servers import ROOT, SERVICE, Gunicorn
from .sizes import QUICK

# Lots enough that no lot is seized twice by one case in a run: queues stay 1-2 deep on both sides.
POOL = {"postgresql": 20_000, "sqlite": 30_000}


def compare(backend: str, other: str, rounds: int, seconds: float) -> None:
    work = tempfile.mkdtemp(prefix="bench-compare-")
    ds = data.build(backend, "compare", work, os.path.join(work, "ledger.key"),
                    pools={"seize1": POOL[backend], "seize100": 100}, queue_lots=QUICK.queue_lots,
                    total_lots=None, total_entries=QUICK.small_entries, pool_cases=QUICK.pool_cases,
                    log=lambda m: print(m, file=sys.stderr))
    sides = {"A": Gunicorn("A", SERVICE, ds.url, ds.key_file, work, root=ROOT),
             "B": Gunicorn("B", SERVICE, ds.url, ds.key_file, work, root=os.path.abspath(other))}
    ctx = figures.Context(QUICK, work, load.auto_generator(), lambda m: None)
    script = scripts.seize(ds, "seize1", 1)
    try:
        for server in sides.values():
            server.start()
            figures.window(ctx, server, script, ds, "seize1", seconds=1.5)  # warm: imports, pools, plans
        found: dict[str, list[load.Window]] = {"A": [], "B": []}
        for r in range(rounds):
            for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                w = figures.window(ctx, sides[name], script, ds, "seize1", seconds=seconds)
                if w.errors:
                    raise SystemExit(f"{name}: {w.errors} errors, first: {w.first_error}")
                found[name].append(w)
        print(f"POST /seizures, 1 lot, {backend}: {rounds} rounds of {seconds:g} s; A = {ROOT}, B = {other}")
        for name, windows in found.items():
            print(f"  {name}: {statistics.median(w.rate for w in windows):,.0f} req/s, CPU per request "
                  f"{statistics.median(w.machine_cpu_ms or 0 for w in windows):.2f} ms (workers "
                  f"{statistics.median(w.worker_cpu_ms or 0 for w in windows):.2f}), p99 "
                  f"{statistics.median(w.p99_ms for w in windows):.1f} ms")
        ratios = [b.rate / a.rate for a, b in zip(found["A"], found["B"]) if a.rate]
        print(f"  B/A per round: {' '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.3f}")
    finally:
        for server in sides.values():
            server.stop()
        data.drop_database(ds.url)
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("other", metavar="OTHER_CHECKOUT", help="the checkout to serve as B")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--window", type=float, default=4.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.other, "wsgi.py")):
        parser.error(f"{args.other} is not a checkout of this project (no wsgi.py)")
    compare(args.backend, args.other, args.rounds, args.window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
