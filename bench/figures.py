"""One function per figure of the issue's table; each measures its value and its baseline in the same run.

Value and baseline windows alternate, round by round (the order flips each round so neither always runs
second), and each figure reports the median over rounds. Every row carries the windows it came from in
`details`, so results.json shows the spread and any errors.
"""
from __future__ import annotations

import http.client
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import psutil

from . import load, scripts
from .data import Dataset
from .servers import Gunicorn, call
from .sizes import Sizes, power


@dataclass
class Row:
    figure: str
    backend: str | None
    unit: str
    value: float | None
    baseline: float | None = None
    ratio: float | None = None
    target: str = "—"
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    sizes: Sizes
    work: str
    generator: str
    log: Callable[[str], None]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Phase:
    """One backend: its datasets and the servers in front of them."""

    backend: str
    small: Dataset | None = None
    big: Dataset | None = None
    service: Gunicorn | None = None  # on small
    baseline: Gunicorn | None = None  # on small
    big_service: Gunicorn | None = None


# -- measuring ----------------------------------------------------------------------------------------------
def window(ctx: Context, server: Gunicorn, script: load.Script, ds: Dataset | None = None,
           cursor: str | None = None, seconds: float | None = None, connections: int | None = None,
           generator: str | None = None, request_id: str | None = None) -> load.Window:
    """One load window; with a cursor, starts where the last window on that pool stopped and moves it on."""
    start = ds.cursors.get(cursor, 0) if ds is not None and cursor else 0
    machine, workers = _machine_cpu(), _workers_cpu(server)
    result = load.run(server.url, script, seconds=seconds or ctx.sizes.window,
                      connections=connections or ctx.sizes.connections, start=start,
                      generator=generator or ctx.generator, work=ctx.work, request_id=request_id)
    answered = result.requests - result.errors
    if answered > 0:
        result.machine_cpu_ms = (_machine_cpu() - machine) / answered * 1000
        result.worker_cpu_ms = (_workers_cpu(server) - workers) / answered * 1000
    if ds is not None and cursor:
        ds.cursors[cursor] = result.used
    return result


def _machine_cpu() -> float:
    """Seconds the machine's CPUs have spent busy since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _workers_cpu(server: Gunicorn) -> float:
    """Seconds of CPU the server's workers have used (they live as long as the server)."""
    total = 0.0
    for pid in server.worker_pids():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass
class Series:
    """Windows of one script against one server, continuing a pool cursor if it has one."""

    ctx: Context
    server: Gunicorn
    script: load.Script
    ds: Dataset | None = None
    cursor: str | None = None

    def run(self, seconds: float | None = None) -> load.Window:
        return window(self.ctx, self.server, self.script, self.ds, self.cursor, seconds=seconds)


def alternate(ctx: Context, named: dict[str, Series]) -> dict[str, list[load.Window]]:
    """Warm every series up once, then run them in turn for the configured rounds, flipping the order."""
    if ctx.sizes.warmup:
        for one in named.values():
            one.run(ctx.sizes.warmup)
    found: dict[str, list[load.Window]] = {name: [] for name in named}
    names = list(named)
    for r in range(ctx.sizes.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            found[name].append(named[name].run())
            ctx.log(f"    {name}: {found[name][-1].rate:,.1f} req/s, p99 {found[name][-1].p99_ms:.1f} ms"
                    + (f", {found[name][-1].errors} errors" if found[name][-1].errors else ""))
    return found


def rate(w: load.Window) -> float:
    return w.rate


def p99(w: load.Window) -> float:
    return w.p99_ms


def errors(*groups: list[load.Window]) -> int:
    return sum(w.errors for g in groups for w in g)


def trouble(*groups: list[load.Window]) -> str:
    """A note naming the errors of any window, or ''."""
    failed = [w for g in groups for w in g if w.errors]
    if not failed:
        return ""
    return f"{errors(*groups)} errors, first: {failed[0].first_error}"[:400]


def ratio_row(figure: str, backend: str, unit: str, values: list[load.Window], baselines: list[load.Window],
              measure: Callable[[load.Window], float], target: float, note: str = "",
              higher_is_better: bool = True, scale: float = 1.0) -> Row:
    """A row whose ratio must reach `target`: value/baseline, or baseline/value for latencies.

    Value and baseline are medians over rounds; the ratio is the median of each round's own ratio, since a
    round's two windows ran back to back and the load of a shared machine drifts between rounds. A figure
    measured with errors is never met: the errors, not the speed, are then the finding.
    """
    value = [scale * measure(w) for w in values]
    baseline = [measure(w) for w in baselines]
    rounds = [(v / b if higher_is_better else b / v) for v, b in zip(value, baseline) if v and b]
    ratio = statistics.median(rounds) if rounds else None
    met = ratio is not None and ratio >= target and not errors(values, baselines)
    shown = f"≥ {target:g}" if higher_is_better else f"baseline/value ≥ {target:g}"
    return Row(figure, backend, unit, statistics.median(value), statistics.median(baseline), ratio, shown, met,
               trouble(values, baselines) or note)


def cpu_note(values: list[load.Window], baselines: list[load.Window]) -> str:
    """CPU per request of value and baseline: while both keep the machine as busy, the rates' ratio is theirs."""
    def median(windows: list[load.Window], name: str) -> float | None:
        found = [getattr(w, name) for w in windows if getattr(w, name) is not None]
        return statistics.median(found) if found else None
    machine = median(values, "machine_cpu_ms"), median(baselines, "machine_cpu_ms")
    workers = median(values, "worker_cpu_ms"), median(baselines, "worker_cpu_ms")
    if None in machine or None in workers or not machine[1]:
        return ""
    return (f"CPU per request, whole machine {machine[0]:.2f} vs {machine[1]:.2f} ms "
            f"({machine[0] / machine[1]:.1f}×), server workers {workers[0]:.2f} vs {workers[1]:.2f} ms")


def record(ctx: Context, key: str, windows: dict[str, list[load.Window]], **extra: Any) -> None:
    ctx.details[key] = {**extra, **{name: [w.summary() for w in ws] for name, ws in windows.items()}}


# -- the figures -------------------------------------------------------------------------------------------
def get_lot(ctx: Context, ph: Phase) -> list[Row]:
    """GET /lots/{id} on lots with a 3-deep queue vs one SELECT by key returning JSON of the same size."""
    ds = ph.small
    lot = ds.queue_lots[0]
    _, real = call(ph.service.url, ds.tokens["COURT-A"], "GET", f"/api/v1/lots/{lot}")
    _, bare = call(ph.baseline.url, None, "GET", f"/bench/select/{lot}")
    pad = max(len(real) - len(bare) - len(',"pad":""'), 0)
    found = alternate(ctx, {
        "value": Series(ctx, ph.service, scripts.get_lot(ds)),
        "baseline": Series(ctx, ph.baseline, scripts.bare_select(ds, pad)),
    })
    record(ctx, f"get_lot/{ph.backend}", found, response_bytes=len(real), baseline_bytes=len(bare) + pad)
    return [ratio_row("GET /lots/{id}, 3-deep queue", ph.backend, "req/s", found["value"], found["baseline"],
                      rate, 0.5, f"responses {len(real)} B vs {len(bare) + pad} B")]


def seize(ctx: Context, ph: Phase) -> list[Row]:
    """POST /seizures on 1 and on 100 fresh lots vs one bare INSERT + COMMIT, all alternating."""
    ds = ph.small
    found = alternate(ctx, {
        "one_lot": Series(ctx, ph.service, scripts.seize(ds, "seize1", 1), ds, "seize1"),
        "bare_insert": Series(ctx, ph.baseline, scripts.bare_insert(ds)),
        "hundred_lots": Series(ctx, ph.service, scripts.seize(ds, "seize100", 100), ds, "seize100"),
    })
    # Requests taken from a pool / requests per pass over it = how deep its lots' queues got.
    depth = {pool: -(-ds.cursors[pool] // (ds.pools[pool].count // n))
             for pool, n in (("seize1", 1), ("seize100", 100))}
    record(ctx, f"seize/{ph.backend}", found,
           capacity={"seize1": scripts.capacity(ds, "seize1", 1),
                     "seize100": scripts.capacity(ds, "seize100", 100)},
           used=dict(ds.cursors), seizures_per_lot=depth)
    one, bare, hundred = found["one_lot"], found["bare_insert"], found["hundred_lots"]
    deep = (f"by the end each pool lot held up to {depth['seize1']} (1-lot) / {depth['seize100']} (100-lot) "
            "seizures")
    return [
        ratio_row("POST /seizures, 1 lot", ph.backend, "req/s", one, bare, rate, 0.5,
                  "; ".join(note for note in (cpu_note(one, bare), deep) if note)),
        ratio_row("POST /seizures, 1 lot, p99", ph.backend, "ms", one, bare, p99, 0.5, higher_is_better=False),
        ratio_row("POST /seizures, 100 lots, per lot", ph.backend, "lots/s", hundred, one, rate, 5,
                  f"baseline: the 1-lot rate in lots/s; {deep}", scale=100),
    ]


def check(ctx: Context, ph: Phase) -> list[Row]:
    """POST /executions/check of 500 card numbers, as stored and as typed in full width (canonicalised on the
    way in); as many clients as workers, so no request queues."""
    ds, rows = ph.small, []
    for name, typed, how in (("", lambda card: card, ""),
                             ("/full-width", scripts.full_width, " typed in full width")):
        script = scripts.check(ds, ctx.sizes.check_cards, typed=typed)
        window(ctx, ph.service, script, seconds=ctx.sizes.warmup or 0.5, connections=2)
        found = {"value": [window(ctx, ph.service, script, connections=2, seconds=ctx.sizes.check_seconds)]}
        record(ctx, f"check{name}/{ph.backend}", found)
        w = found["value"][0]
        note = trouble(found["value"]) or f"{w.requests} requests from 2 clients"
        label = f"POST /executions/check, {ctx.sizes.check_cards} cards{how}"
        rows += [Row(f"{label}, p50", ph.backend, "ms", w.p50_ms, note=note),
                 Row(f"{label}, p99", ph.backend, "ms", w.p99_ms, target="< 100 ms",
                     met=w.p99_ms < 100 and not w.errors, note=note)]
    return rows


def scaling(ctx: Context, ph: Phase) -> list[Row]:
    """The same write mix (register a lot, seize a fresh lot) on the big and on the small ledger."""
    small, big = ph.small, ph.big
    sizes = {"small_start": _ledger_size(ph.service, small), "big_start": _ledger_size(ph.big_service, big)}
    found = alternate(ctx, {
        "big": Series(ctx, ph.big_service, scripts.write_mix(big, "S"), big, "mix"),
        "small": Series(ctx, ph.service, scripts.write_mix(small, "S"), small, "mix"),
    })
    sizes.update(small_end=_ledger_size(ph.service, small), big_end=_ledger_size(ph.big_service, big))
    record(ctx, f"scaling/{ph.backend}", found, ledger_sizes=sizes)
    figure = f"write mix at ledger {power(ctx.sizes.big_entries)} vs {power(ctx.sizes.small_entries)}"
    return [ratio_row(figure, ph.backend, "req/s", found["big"], found["small"], rate, 0.9,
                      f"ledgers grew {sizes['small_start']:,} → {sizes['small_end']:,} and "
                      f"{sizes['big_start']:,} → {sizes['big_end']:,} while measured")]


def _ledger_size(server: Gunicorn, ds: Dataset) -> int:
    status, note = call(server.url, ds.tokens["AUDITOR"], "GET", "/api/v1/ledger/checkpoint")
    if status != 200:
        raise RuntimeError(f"checkpoint: {status} {note[:300]!r}")
    return int(note.decode().split("\n")[1])


def proofs(ctx: Context, ph: Phase) -> list[Row]:
    """Inclusion and consistency proofs on the big ledger, one request at a time; server-side time is the
    `ms` the service logs per request (from before the token check to after the response is built)."""
    ds, server = ph.big, ph.big_service
    size = _ledger_size(server, ds)
    rows = []
    for script in scripts.proofs(ds, size, 5000):
        kind = script.name.split("-")[0]
        tag = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
        # The cursor moves the measured window past the warm-up's requests (their nodes are cached).
        window(ctx, server, script, ds, f"proof-{kind}", seconds=ctx.sizes.warmup or 0.5, connections=1,
               generator="python")
        w = window(ctx, server, script, ds, f"proof-{kind}", seconds=ctx.sizes.proof_seconds, connections=1,
                   generator="python", request_id=tag)
        logged = [line["ms"] for line in server.requests_logged(tag) if line["status"] == 200]
        server_p50, server_p99 = load.percentile(logged, 50), load.percentile(logged, 99)
        ctx.details[f"proofs/{kind}/{ph.backend}"] = {
            "ledger_size": size, "requests": len(logged), "server_p50_ms": server_p50,
            "server_p99_ms": server_p99, "client": w.summary()}
        note = trouble([w]) or (f"{len(logged)} requests; client-side p50 {w.p50_ms:.1f} / "
                                f"p99 {w.p99_ms:.1f} ms")
        rows.append(Row(f"{kind} proof at {power(size)} entries, server p99", ph.backend, "ms", server_p99,
                        target="< 5 ms", met=server_p99 < 5 and not w.errors, note=note))
    return rows


def search(ctx: Context, ph: Phase) -> list[Row]:
    """Every filter of GET /lots and GET /cases on the big database, a page from a random cursor each time;
    as many clients as workers, so no request queues."""
    ds, server = ph.big, ph.big_service
    rows = []
    for script in scripts.searches(ds):
        cursor = f"search-{script.name}"
        window(ctx, server, script, ds, cursor, seconds=ctx.sizes.warmup or 0.5, connections=2)
        w = window(ctx, server, script, ds, cursor, seconds=ctx.sizes.search_seconds, connections=2)
        ctx.details[f"search/{script.name}/{ph.backend}"] = {"lots": ds.lots, "load": w.summary()}
        note = trouble([w]) or f"{w.requests} requests from 2 clients; p50 {w.p50_ms:.1f} ms"
        page = "a page of 100 from a random cursor" if script.name.startswith("lots") else "one case"
        rows.append(Row(f"GET /{script.name}, {page}, {power(ds.lots)} lots, p99", ph.backend, "ms", w.p99_ms,
                        target="< 100 ms", met=w.p99_ms < 100 and not w.errors, note=note))
    return rows


def memory(ctx: Context, ph: Phase) -> list[Row]:
    """RSS of each worker of the service on the big database, after a warm-up mix of every kind of request."""
    ds, server = ph.big, ph.big_service
    before = server.worker_rss_mb()
    script, taken = scripts.warm_mix(ds, _ledger_size(server, ds), "M")
    w = load.run(server.url, script, seconds=ctx.sizes.memory_seconds, connections=ctx.sizes.connections,
                 generator=ctx.generator, work=ctx.work)
    ds.cursors["mix"] = ds.cursors.get("mix", 0) + taken[min(w.used, len(taken)) - 1]
    after = server.worker_rss_mb()
    ctx.details[f"memory/{ph.backend}"] = {"rss_mb_before": before, "rss_mb_after": after,
                                           "lots": ds.lots, "load": w.summary()}
    note = trouble([w]) or (f"workers {', '.join(f'{m:.0f}' for m in after)} MB after {w.requests} mixed "
                            f"requests (before: {', '.join(f'{m:.0f}' for m in before)})")
    label = f"worker RSS, {power(ds.lots)} lots, {power(ds.entries)} entries"
    return [Row(label, ph.backend, "MB", max(after), target="< 150 MB", met=max(after) < 150 and not w.errors,
                note=note), _state_export(ctx, ph)]


def _state_export(ctx: Context, ph: Phase) -> Row:
    """GET /ledger/state, what `seizure-ledger verify --url` compares its replay with: the worker's peak RSS
    while it answers (sampled every 50 ms), and how long it takes (gunicorn's default timeout is 30 s). The
    body is read as a client reads it, streamed and counted, not kept."""
    server, peak, done = ph.big_service, [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max([peak[0], *server.worker_rss_mb()])
            done.wait(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    status, size, lines, error = _read_state(server.url, ph.big.tokens["AUDITOR"])
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = server.worker_rss_mb()
    ctx.details[f"memory/state/{ph.backend}"] = {"status": status, "bytes": size, "lines": lines,
                                                 "seconds": seconds, "peak_rss_mb": peak[0], "rss_mb_after": after}
    note = (f"one GET /ledger/state ({size / 2**20:.0f} MB of JSON Lines, {lines:,} lines) took {seconds:.1f} s; "
            f"workers after: {', '.join(f'{m:.0f}' for m in after)} MB")
    return Row(f"GET /ledger/state at {power(ph.big.entries)} entries, worker peak RSS", ph.backend, "MB",
               peak[0], target="< 150 MB", met=peak[0] < 150 and status == 200 and not error,
               note=note if status == 200 and not error else f"{status}: {error}")


def _read_state(base: str, token: str) -> tuple[int, int, int, str]:
    """Status, bytes, lines and any error of one GET /ledger/state, read in 1 MB pieces."""
    request = urllib.request.Request(f"{base}/api/v1/ledger/state", headers={"Authorization": f"Bearer {token}"})
    size = lines = 0
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            while piece := response.read(1 << 20):
                size, lines = size + len(piece), lines + piece.count(b"\n")
            return response.status, size, lines, ""
    except urllib.error.HTTPError as error:
        return error.code, size, lines, repr(error.read()[:200])
    except (OSError, http.client.HTTPException) as error:  # e.g. the worker killed mid-export: a cut body
        return 200, size, lines, f"after {size:,} bytes: {error!r}"
