"""How big and how long: the full run the issue asks for, and the quick smoke check CI can afford."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Sizes:
    quick: bool = False
    small_entries: int = 1_000  # the ledger the scaling figure compares with
    big_entries: int = 1_000_000
    big_lots: int = 100_000
    queue_lots: int = 1_000  # lots with a 3-deep queue: read by GET /lots/{id}, checked by card number
    check_cards: int = 500
    # Fresh lots per pool; each request takes a new (case, lot) pair, `pool_cases` cases per lot. Sized so
    # that even a fast machine seizes each lot only a few times in a run (queues stay short, as in the
    # figures' names); a pool that runs out shows as 409 errors in the table.
    pools: dict[str, int] = field(default_factory=lambda: {"seize1": 20_000, "seize100": 300_000,
                                                           "mix": 6_000})
    pool_cases: int = 5
    window: float = 8.0  # seconds per measured window
    rounds: int = 5  # odd, for a true median; the machine is shared, so single windows swing ±30%
    warmup: float = 1.0
    connections: int = 8  # closed loops against 2 sync workers, as the design notes measured with wrk -c16/2
    check_seconds: float = 15.0  # the check runs at ~10 req/s: enough samples for a p99
    proof_seconds: float = 10.0
    search_seconds: float = 5.0  # per filter of the lot and case lists
    memory_seconds: float = 20.0
    merkle_leaves: int = 100_000
    merkle_proofs: int = 1_000
    offline_rounds: int = 3

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Sizes()
# Under two minutes on 2 cores: the same figures on 10^4-entry ledgers and 2 s windows, one round.
QUICK = Sizes(quick=True, big_entries=10_000, big_lots=3_000, queue_lots=600,
              pools={"seize1": 1_500, "seize100": 12_000, "mix": 1_000}, window=2.0, rounds=1, warmup=0.0,
              check_seconds=2.0, proof_seconds=2.0, search_seconds=1.0, memory_seconds=3.0, merkle_leaves=10_000,
              offline_rounds=1)


def power(n: int) -> str:
    """10^6 for a million, 1,234 otherwise: sizes as the issue writes them."""
    exponent = round(math.log10(n)) if n > 0 else 0
    if abs(n - 10 ** exponent) <= max(10 ** exponent // 20, 0):  # within 5%: grown by the figures' writes
        return f"10^{exponent}"
    return f"{n:,}"
