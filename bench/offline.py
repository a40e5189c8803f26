"""The figures without HTTP load: the auditor's verifier over an export, Merkle proofs against pymerkle."""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from .data import Dataset
from .figures import Context, Row
from .servers import ROOT, Gunicorn, call
from .sizes import power


@dataclass(frozen=True)
class Export:
    entries: str  # JSON Lines, each line the exact entry bytes
    checkpoint: str
    key: str
    size: int


def export(ds: Dataset, server: Gunicorn, work: str) -> Export:
    """The service's signed checkpoint and key over HTTP, and the entries it covers read from the database."""
    from sqlalchemy import create_engine, text
    token = ds.tokens["AUDITOR"]
    _, note = call(server.url, token, "GET", "/api/v1/ledger/checkpoint")
    _, key = call(server.url, token, "GET", "/api/v1/ledger/key")
    size = int(note.decode().split("\n")[1])
    paths = [os.path.join(work, f"export-{ds.backend}.{ext}") for ext in ("jsonl", "checkpoint", "vkey")]
    with open(paths[1], "wb") as out:
        out.write(note)
    with open(paths[2], "wb") as out:
        out.write(key)
    engine = create_engine(ds.url)
    with engine.connect() as conn, open(paths[0], "wb") as out:
        rows = conn.execution_options(stream_results=True, yield_per=10_000).execute(
            text("SELECT body FROM ledger_entries WHERE seq < :size ORDER BY seq"), {"size": size})
        for (body,) in rows:
            out.write(bytes(body) + b"\n")
    engine.dispose()
    return Export(paths[0], paths[1], paths[2], size)


# A child that runs a command and reports its wall time and the peak RSS of everything it waited for,
# so the bench's own memory (and its other children) never count.
_PROBE = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "returncode": done.returncode, "stdout": done.stdout[-2000:],
                  "stderr": done.stderr[-2000:],
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

# The baseline: one SHA-256 chain over the same lines, h = SHA-256(h_prev || entry), read the same way.
_CHAIN = """
import hashlib, sys
prev, n = bytes(32), 0
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        prev = hashlib.sha256(prev + (line[:-1] if line.endswith(b"\\n") else line)).digest()
        n += 1
print(n, prev.hex())
"""


def _probe(command: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, *command], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    return json.loads(done.stdout)


def verify_command(ex: Export) -> list[str]:
    return [sys.executable, "-m", "ledger.cli", "verify", "--entries", ex.entries,
            "--checkpoint", ex.checkpoint, "--key", f"@{ex.key}", "--no-replay"]


def check_export(ex: Export) -> str:
    """Run `seizure-ledger verify` once; raise unless the bench-built ledger verifies."""
    result = _probe(verify_command(ex))
    if result["returncode"] != 0:
        raise RuntimeError(f"the bench's ledger does not verify: {result['stdout']} {result['stderr']}")
    return result["stdout"].strip()


def verify(ctx: Context, ex: Export) -> list[Row]:
    """`seizure-ledger verify` (canonical form, chain, Merkle root, signed checkpoint) vs a bare chain."""
    runs: dict[str, list[dict]] = {"verify": [], "chain": []}
    for r in range(ctx.sizes.offline_rounds):
        for name in (("verify", "chain") if r % 2 == 0 else ("chain", "verify")):
            command = verify_command(ex) if name == "verify" else [sys.executable, "-c", _CHAIN, ex.entries]
            result = _probe(command)
            if result["returncode"] != 0:
                raise RuntimeError(f"{name} failed: {result['stdout']} {result['stderr']}")
            runs[name].append(result)
    ctx.details["verify"] = {"entries": ex.size, **runs}
    verify_s = statistics.median(r["seconds"] for r in runs["verify"])
    chain_s = statistics.median(r["seconds"] for r in runs["chain"])
    peak = max(r["maxrss_mb"] for r in runs["verify"])
    value, baseline = ex.size / verify_s, ex.size / chain_s
    label = f"seizure-ledger verify, {power(ex.size)} entries"
    return [
        Row(label, None, "entries/s", value, baseline, value / baseline, "≥ 0.2", value / baseline >= 0.2,
            f"whole command incl. interpreter start: {verify_s:.2f} s vs {chain_s:.2f} s"),
        Row(f"{label}, peak RSS", None, "MB", peak, target="< 150 MB", met=peak < 150,
            note=f"chain baseline peak {max(r['maxrss_mb'] for r in runs['chain']):.0f} MB"),
    ]


def _leaves(ex: Export, count: int) -> list[bytes]:
    found = []
    with open(ex.entries, "rb") as lines:
        for line in lines:
            found.append(line[:-1])
            if len(found) == count:
                break
    return found


def _ours(entries: list[bytes], indices: list[int]) -> tuple[dict, bytes, list[list[bytes]]]:
    from ledger.merkle import inclusion_proof
    from ledger.store import MemoryNodeStore
    t0 = time.perf_counter()
    store = MemoryNodeStore()
    for entry in entries:
        store.append_entry(entry)
    t1 = time.perf_counter()
    root = store.range.root()
    t2 = time.perf_counter()
    proofs = [inclusion_proof(i, len(entries), store.fetch) for i in indices]
    t3 = time.perf_counter()
    return {"append": t1 - t0, "root": t2 - t1, "proofs": t3 - t2, "total": t3 - t0}, root, proofs


def _pymerkle(entries: list[bytes], indices: list[int], path: str) -> tuple[dict, bytes, list]:
    from pymerkle import SqliteTree
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    t0 = time.perf_counter()
    tree = SqliteTree(path)
    tree.append_entries(entries)
    t1 = time.perf_counter()
    root = tree.get_root()
    t2 = time.perf_counter()
    proofs = [tree.prove_inclusion(i + 1) for i in indices]  # pymerkle counts leaves from one
    t3 = time.perf_counter()
    tree.close()
    return {"append": t1 - t0, "root": t2 - t1, "proofs": t3 - t2, "total": t3 - t0}, root, proofs


def merkle(ctx: Context, ex: Export) -> list[Row]:
    """Store the same leaves, compute the root and 1,000 inclusion proofs: ledger.merkle vs pymerkle 7."""
    from ledger.merkle import leaf_hash, verify_inclusion
    entries = _leaves(ex, ctx.sizes.merkle_leaves)
    indices = random.Random(4).sample(range(len(entries)), min(ctx.sizes.merkle_proofs, len(entries)))
    runs: dict[str, list[dict]] = {"ours": [], "pymerkle": []}
    for r in range(ctx.sizes.offline_rounds):
        for name in (("ours", "pymerkle") if r % 2 == 0 else ("pymerkle", "ours")):
            if name == "ours":
                times, root, proofs = _ours(entries, indices)
                ours_root = root
                for i, proof in list(zip(indices, proofs))[:50]:  # the proofs are right, not just fast
                    verify_inclusion(leaf_hash(entries[i]), i, len(entries), proof, root)
            else:
                times, root, _ = _pymerkle(entries, indices, os.path.join(ctx.work, "pymerkle.db"))
                theirs_root = root
            runs[name].append(times)
    if ours_root != theirs_root:
        raise RuntimeError("ledger.merkle and pymerkle disagree on the root of the same leaves")
    ctx.details["merkle"] = {"leaves": len(entries), "proofs": len(indices), **runs}
    ours = statistics.median(t["total"] for t in runs["ours"])
    theirs = statistics.median(t["total"] for t in runs["pymerkle"])
    split = lambda t: "/".join(f"{t[k]:.2f}" for k in ("append", "root", "proofs"))  # noqa: E731
    label = f"Merkle: store {power(len(entries))} leaves, root, {len(indices):,} inclusion proofs"
    return [Row(label, None, "s", ours, theirs, theirs / ours, "> 1 (pymerkle time / ours)", theirs > ours,
                f"append/root/proofs s: ours {split(runs['ours'][0])}, "
                f"pymerkle {split(runs['pymerkle'][0])}")]
