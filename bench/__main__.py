"""`python -m bench [--quick] [--only FIGURE …] [--json PATH]`: the issue's figures, in one table.

Builds its own databases (PostgreSQL on 127.0.0.1:5432 and SQLite), serves them with gunicorn on loopback,
drives load from separate processes, prints the table, writes results.json and, after a full run of every
figure, the "last full run" section of bench/README.md. Exit status 1 if a figure could not be measured;
a missed target is a finding, not a failure (unless --strict).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from . import data, figures, load, offline, report
from .baseline_app import create_tables
from .figures import Context, Phase, Row
from .servers import BASELINE, SERVICE, Gunicorn
from .sizes import FULL, QUICK

HERE = os.path.dirname(os.path.abspath(__file__))
# Within a backend: proofs first (the big ledger at exactly its built size), memory last (after everything).
PER_BACKEND: dict[str, Callable[[Context, Phase], list[Row]]] = {
    "proofs": figures.proofs, "scaling": figures.scaling, "get": figures.get_lot, "seize": figures.seize,
    "check": figures.check, "search": figures.search, "memory": figures.memory,
}
OFFLINE = ("verify", "merkle")
FIGURES = (*PER_BACKEND, *OFFLINE)
NEEDS_SMALL = {"get", "seize", "check", "scaling"}
NEEDS_BIG = {"scaling", "proofs", "search", "memory"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and short windows (< 2 min), for CI")
    parser.add_argument("--only", nargs="+", choices=FIGURES, metavar="FIGURE",
                        help=f"run only these figures: {', '.join(FIGURES)}")
    parser.add_argument("--json", default=os.path.join(HERE, "results.json"), metavar="PATH",
                        help="where to write the results (default bench/results.json)")
    parser.add_argument("--backend", nargs="+", choices=("postgresql", "sqlite"),
                        default=["postgresql", "sqlite"])
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk if installed (auto), or the Python one")
    parser.add_argument("--rounds", type=int, help="alternating rounds per figure (default 3, quick 1)")
    parser.add_argument("--window", type=float, metavar="SECONDS", help="seconds per load window")
    parser.add_argument("--keep", action="store_true", help="keep the databases and files in bench/.work")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser


class Log:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.rounds or args.window:
        sizes = replace(sizes, rounds=args.rounds or sizes.rounds, window=args.window or sizes.window)
    generator = load.auto_generator() if args.loadgen == "auto" else args.loadgen
    log = Log()
    work, others = _work_dir(log)
    ctx = Context(sizes, work, generator, log)
    only = list(args.only or FIGURES)
    started, load_before = datetime.now(timezone.utc), report.load_average()
    rows: list[Row] = []
    failed = False
    export: offline.Export | None = None
    backends = list(args.backend)
    reason = data.postgres_reason() if "postgresql" in backends else None
    if reason:
        log(f"skipping PostgreSQL: {reason}")
        backends.remove("postgresql")
        rows.append(Row("PostgreSQL figures", "postgresql", "", None, note=f"skipped: {reason}", met=False))
        failed = True
    log(f"{'quick' if sizes.quick else 'full'} run of {', '.join(only)} on {', '.join(backends)}; "
        f"load from {generator}")
    for backend in backends:
        wanted = [f for f in PER_BACKEND if f in only]
        want_export = export is None and any(f in only for f in OFFLINE)
        if not wanted and not want_export:
            continue
        found, ex, crashed = _phase(ctx, backend, wanted, want_export, args.keep)
        rows += found
        export = export or ex
        failed = failed or crashed
    for name in (f for f in OFFLINE if f in only):
        if export is None:
            continue
        log(f"{name}: {export.size:,} exported entries")
        rows += _guarded(ctx, name, lambda: getattr(offline, name)(ctx, export))
    failed = failed or any(r.note.startswith("failed:") for r in rows)
    finished = datetime.now(timezone.utc)
    run = {"quick": sizes.quick, "only": only, "backends": backends,
           "started": started.isoformat(timespec="seconds"),
           "finished": finished.isoformat(timespec="seconds"),
           "seconds": round((finished - started).total_seconds()), "sizes": sizes.as_dict(),
           "load_average_before": load_before, "load_average_after": report.load_average(),
           "concurrent_bench_runs": others, "source_digest": report.source_digest(),
           "machine": report.machine(data.postgres_server(), generator)}
    print(("QUICK sizes (ledgers of 10^4, 2 s windows): a smoke check, not the figures of record\n"
           if sizes.quick else "") + report.table(rows))
    report.write_json(args.json, rows, run, ctx.details)
    if sizes == FULL and not args.only and backends == ["postgresql", "sqlite"] and not failed:
        report.update_readme(rows, run)
        log("bench/README.md: last full run updated")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log(f"done in {run['seconds']} s; results in {args.json}")
    missed = any(r.met is False for r in rows)
    return 1 if failed or (args.strict and missed) else 0


def _work_dir(log: Callable[[str], None]) -> tuple[str, list[int]]:
    """This run's own directory under bench/.work, so a concurrent run neither deletes nor overwrites its
    databases and exports; stale directories of runs that died are removed, live ones are reported (their
    load disturbs this run's figures)."""
    root = os.path.join(HERE, ".work")
    os.makedirs(root, exist_ok=True)
    others = []
    for name in os.listdir(root):
        pid = int(name[4:]) if name.startswith("run-") and name[4:].isdigit() else None
        if pid is None or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            others.append(pid)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except PermissionError:
            others.append(pid)
    if others:
        log(f"warning: another bench run is active (pid {', '.join(map(str, others))}); "
            "figures will be disturbed")
    work = os.path.join(root, f"run-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return work, others


def _guarded(ctx: Context, name: str, measure: Callable[[], list[Row]]) -> list[Row]:
    """A figure that crashes becomes a row saying so; the others still run."""
    try:
        return measure()
    except Exception as error:
        ctx.log(f"{name} failed:\n{traceback.format_exc()}")
        return [Row(name, None, "", None, met=False, note=f"failed: {error!r}"[:400])]


def _phase(ctx: Context, backend: str, wanted: list[str], want_export: bool,
           keep: bool) -> tuple[list[Row], offline.Export | None, bool]:
    """Build one backend's databases, serve them, measure its figures, then tear everything down."""
    sizes, log = ctx.sizes, ctx.log
    ph = Phase(backend)
    key_file = os.path.join(ctx.work, "ledger.key")
    servers: list[Gunicorn] = []
    rows: list[Row] = []
    ex = None
    try:
        if NEEDS_SMALL & set(wanted):
            log(f"{backend}: building the small database")
            ph.small = data.build(backend, "small", ctx.work, key_file, pools=sizes.pools,
                                  queue_lots=sizes.queue_lots, total_lots=None,
                                  total_entries=sizes.small_entries, pool_cases=sizes.pool_cases, log=log)
            create_tables(ph.small.url)
        if NEEDS_BIG & set(wanted) or want_export:
            log(f"{backend}: building the big database "
                f"({sizes.big_entries:,} entries, {sizes.big_lots:,} lots)")
            ph.big = data.build(backend, "big", ctx.work, key_file, pools={"mix": sizes.pools["mix"]},
                                queue_lots=sizes.queue_lots, total_lots=sizes.big_lots,
                                total_entries=sizes.big_entries, pool_cases=sizes.pool_cases, log=log)
        _audit(ctx, ph)
        if ph.small is not None:
            small_url = ph.small.url
            ph.service = Gunicorn(f"service-{backend}-small", SERVICE, small_url, key_file, ctx.work).start()
            ph.baseline = Gunicorn(f"baseline-{backend}-small", BASELINE, small_url, key_file,
                                   ctx.work).start()
            servers += [ph.service, ph.baseline]
        if ph.big is not None:
            ph.big_service = Gunicorn(f"service-{backend}-big", SERVICE, ph.big.url, key_file,
                                      ctx.work).start()
            servers.append(ph.big_service)
            # The bench-built ledger must verify like any other: checked once per backend, before any figure.
            ex = offline.export(ph.big, ph.big_service, ctx.work)
            log(f"{backend}: seizure-ledger verify of the big ledger: {offline.check_export(ex)}")
        built = (("small", ph.small), ("big", ph.big))
        ctx.details[f"datasets/{backend}"] = {name: ds.summary() for name, ds in built if ds is not None}
        for name in wanted:
            log(f"{backend}: {name}")
            rows += _guarded(ctx, f"{name} [{backend}]", lambda: PER_BACKEND[name](ctx, ph))
        return rows, ex if want_export else None, False
    except Exception:
        log(f"{backend} failed:\n{traceback.format_exc()}")
        return rows + [Row(f"{backend} setup", backend, "", None, met=False,
                           note=f"failed: {traceback.format_exc(limit=1).strip()[-300:]}")], None, True
    finally:
        for server in servers:
            server.stop()
        if not keep:
            for ds in (ph.small, ph.big):
                if ds is not None:
                    data.drop_database(ds.url)


def _audit(ctx: Context, ph: Phase) -> None:
    """`seizure-registry audit` (state equals the ledger's replay) on what the bench built.

    On the quick sizes every database; on the full ones the small one only (replaying 10^6 entries takes
    minutes); the big ledger is then checked by `seizure-ledger verify` before the figures.
    """
    for ds in (ph.small, ph.big):
        if ds is None or (ds.name == "big" and not ctx.sizes.quick):
            continue
        differences, size = data.audit(ds)
        if differences:
            raise RuntimeError(f"{ds.backend} {ds.name}: the built state differs from the ledger's replay: "
                               f"{differences[:5]}")
        ctx.log(f"{ds.backend} {ds.name}: audit clean ({size:,} entries replayed)")


if __name__ == "__main__":
    sys.exit(main())
