"""The request sequences each figure sends: built from a dataset, the same whichever generator sends them."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from .data import CUSTODIAN, OWNER, Dataset, case_number, lot_fields
from .load import Item, Script

API = "/api/v1"


def _json(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _headers(ds: Dataset, unit: str = "COURT-A") -> dict[str, str]:
    return {"Authorization": f"Bearer {ds.tokens[unit]}", "Content-Type": "application/json"}


def _served_at() -> str:
    return (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pool_cases(ds: Dataset) -> list[int]:
    return [ds.cases[name] for name in sorted(ds.cases) if name.startswith("P-")]


def seize_body(ds: Dataset, pool: str, j: int, lots_per_request: int, served_at: str) -> bytes:
    """Request j of a pool: case by case over the pool's lots, so every (case, lot) pair is new."""
    cases, first, count = pool_cases(ds), ds.pools[pool].first, ds.pools[pool].count
    blocks = count // lots_per_request
    case = cases[(j // blocks) % len(cases)]
    start = first + (j % blocks) * lots_per_request
    return _json({"case_id": case, "kind": "seal", "document_no": f"(2026)沪0113执保{pool}{j}号",
                  "served_at": served_at, "lot_ids": list(range(start, start + lots_per_request))})


def capacity(ds: Dataset, pool: str, lots_per_request: int) -> int:
    """Requests a pool can take before a (case, lot) pair repeats and the service rightly answers 409."""
    return ds.pools[pool].count // lots_per_request * len(pool_cases(ds))


def seize(ds: Dataset, pool: str, lots_per_request: int) -> Script:
    served = _served_at()
    items: list[Item] = [("POST", f"{API}/seizures", seize_body(ds, pool, j, lots_per_request, served))
                         for j in range(capacity(ds, pool, lots_per_request))]
    return Script(f"seize{lots_per_request}-{ds.backend}", items, _headers(ds))


def bare_insert(ds: Dataset) -> Script:
    """The bare INSERT + COMMIT gets the same bodies as the 1-lot seizures."""
    served = _served_at()
    items: list[Item] = [("POST", "/bench/insert", seize_body(ds, "seize1", j, 1, served))
                         for j in range(2000)]
    return Script(f"insert-{ds.backend}", items, _headers(ds))


def get_lot(ds: Dataset) -> Script:
    return Script(f"get-{ds.backend}", [("GET", f"{API}/lots/{i}", None) for i in ds.queue_lots],
                  _headers(ds))


def bare_select(ds: Dataset, pad: int) -> Script:
    items: list[Item] = [("GET", f"/bench/select/{i}?pad={pad}", None) for i in ds.queue_lots]
    return Script(f"select-{ds.backend}", items, _headers(ds))


def full_width(text: str) -> str:
    """A card number as a Chinese input method types it: every ASCII character in its full-width form."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def check(ds: Dataset, cards: int, variants: int = 50, seed: int = 1, typed=lambda card: card) -> Script:
    """Checks of `cards` card numbers drawn from the queue lots, each as `typed` gives it: Q-A holds half of
    them first, so about half the answers are clear and half carry conflicts naming their holder."""
    rng = random.Random(seed)
    items: list[Item] = []
    for _ in range(variants):
        chosen = [typed(c) for c in rng.sample(ds.queue_cards, min(cards, len(ds.queue_cards)))]
        items.append(("POST", f"{API}/executions/check",
                      _json({"case_id": ds.cases["Q-A"], "card_nos": chosen, "custodian": CUSTODIAN})))
    return Script(f"check-{ds.backend}", items, _headers(ds))


def write_mix(ds: Dataset, nonce: str) -> Script:
    """The write mix for ledger-size scaling: register one lot, then seize one fresh lot, in turn."""
    served = _served_at()
    items: list[Item] = []
    for j in range(capacity(ds, "mix", 1)):
        items.append(("POST", f"{API}/lots", _json({"lots": [lot_fields(f"W{nonce}-", j)]})))
        items.append(("POST", f"{API}/seizures", seize_body(ds, "mix", j, 1, served)))
    return Script(f"mix-{ds.backend}-{ds.name}", items, _headers(ds))


def proofs(ds: Dataset, size: int, count: int, seed: int = 2) -> tuple[Script, Script]:
    """Inclusion proofs of random entries, and consistency proofs from random older sizes, at `size`."""
    rng = random.Random(seed)
    inclusion = [("GET", f"{API}/ledger/proof/inclusion?index={rng.randrange(size)}&size={size}", None)
                 for _ in range(count)]
    consistency = [("GET", f"{API}/ledger/proof/consistency?old={rng.randrange(1, size)}&new={size}", None)
                   for _ in range(count)]
    return (Script(f"inclusion-{ds.backend}", inclusion, _headers(ds, "AUDITOR")),
            Script(f"consistency-{ds.backend}", consistency, _headers(ds, "AUDITOR")))


def warm_mix(ds: Dataset, size: int, nonce: str, seed: int = 3) -> tuple[Script, list[int]]:
    """Everything a worker serves in a day, against the big database: reads of any lot, checks, proofs,
    checkpoints, searches, ledger pages and writes; the workers' memory is read after it.

    Also returns, per item, how many write-mix items it and the items before it take, so the caller can
    move the mix cursor past the writes a window used.
    """
    from registry.services.lots import encode_cursor
    rng = random.Random(seed)
    check_items = check(ds, 500, variants=10).items
    writes = write_mix(ds, nonce).items[ds.cursors.get("mix", 0):]
    items: list[Item] = []
    taken: list[int] = []  # write-mix items used by items[0..j]
    used = 0
    for j in range(8000):  # more than the fastest worker pair serves in the window: no item repeats
        kind = j % 10
        if kind < 3:
            items.append(("GET", f"{API}/lots/{rng.randrange(1, ds.lots + 1)}", None))
        elif kind == 3:
            items.append(check_items[j % len(check_items)])
        elif kind == 4:
            items.append(("GET", f"{API}/ledger/proof/inclusion?index={rng.randrange(size)}&size={size}",
                          None))
        elif kind == 5:
            items.append(("GET", f"{API}/ledger/proof/consistency?old={rng.randrange(1, size)}&new={size}",
                          None))
        elif kind == 6 and j % 20 < 10:
            items.append(("GET", f"{API}/lots?limit=1000&cursor={encode_cursor(rng.randrange(ds.lots))}",
                          None))
        elif kind == 6:
            items.append(("GET", f"{API}/ledger/checkpoint", None))
        elif kind == 7:
            start = rng.randrange(max(size - 10_000, 1))
            items.append(("GET", f"{API}/ledger/entries?start={start}&end={start + 10_000}", None))
        else:
            if used == len(writes):
                raise RuntimeError(f"the write-mix pool of {ds.name} ran out before the warm-up mix: "
                                   "make Sizes.pools['mix'] larger")
            items.append(writes[used])
            used += 1
        taken.append(used)
    return Script(f"warm-{ds.backend}", items, _headers(ds)), taken


def searches(ds: Dataset, count: int = 2000, seed: int = 4) -> list[Script]:
    """One script per filter of GET /lots and GET /cases on the big database, pages of 100 starting anywhere
    in the list (a random cursor): the database must find the page without reading the lots before it."""
    from registry.services.lots import encode_cursor
    rng = random.Random(seed)
    filler = ds.lots - ds.pools["mix"].count - len(ds.queue_lots)  # the filler lots are F000000, F000001, …

    def card() -> str:
        return lot_fields("F", rng.randrange(filler))["card_no"]

    def near_miss() -> str:
        typed = list(card())
        typed[rng.randrange(1, len(typed))] = "x"
        return "".join(typed)

    cases = list(ds.cases.values())
    numbers = [case_number(n, name) for n, name in enumerate(ds.cases)]
    filters: dict[str, Any] = {
        "card_no": lambda: f"card_no={card()}",
        "custodian": lambda: f"custodian={CUSTODIAN}",
        "owner": lambda: f"owner={OWNER}",
        "location": lambda: f"location={lot_fields('F', rng.randrange(filler))['location']}",
        **{f"status={s}": (lambda s=s: f"status={s}") for s in ("free", "seized", "disposed", "split")},
        "case_id": lambda: f"case_id={rng.choice(cases)}",
        "q": lambda: f"q={near_miss()}",
    }
    scripts = []
    for name, make in filters.items():
        items: list[Item] = []
        for _ in range(count):
            query = quote(make(), safe="=")
            items.append(("GET", f"{API}/lots?{query}&limit=100&cursor={encode_cursor(rng.randrange(ds.lots))}",
                          None))
        scripts.append(Script(f"lots?{name}", items, _headers(ds, "AUDITOR")))
    cases_items: list[Item] = [("GET", f"{API}/cases?{quote('number=' + rng.choice(numbers), safe='=')}", None)
                               for _ in range(count)]
    scripts.append(Script("cases?number", cases_items, _headers(ds, "AUDITOR")))
    return scripts
