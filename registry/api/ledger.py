"""The ledger as an auditor reads it: signed checkpoint, verifier key, entries, Merkle proofs."""
from __future__ import annotations

from typing import Iterator

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy.orm import Session

from ledger import merkle

from ..db import StreamedBody, get_session
from ..rules import DomainError
from ..services import ledger_log
from .auth import READERS, allow, reads_by_statement
from .schemas import ConsistencyArgs, ConsistencyOut, EntriesArgs, InclusionArgs, InclusionOut

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger", description="The signed, append-only ledger")
MAX_ENTRIES_PER_REQUEST = 100_000


def _out_of_range(field: str, message: str) -> DomainError:
    return DomainError("validation_error", message, errors={field: [message]})


@blp.get("/checkpoint")
@allow(*READERS)
@blp.response(200, {"type": "string"}, content_type="text/plain")
def checkpoint():
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note); covers every committed entry."""
    note = ledger_log.current_checkpoint(get_session(), current_app.extensions["registry.signer"])
    return Response(note, mimetype="text/plain")


@blp.get("/key")
@allow(*READERS)
@blp.response(200, {"type": "string"}, content_type="text/plain")
def key():
    """The verifier key that checkpoints are signed with (C2SP note verifier key)."""
    return Response(current_app.extensions["registry.verifier_key"] + "\n", mimetype="text/plain")


@blp.get("/entries")
@allow(*READERS)
@blp.arguments(EntriesArgs(), location="query", unknown=RAISE)
@blp.response(200, {"type": "string"}, content_type="application/jsonl")
def entries(args):
    """Entries [start, end) as JSON Lines: each line exactly the bytes that were hashed."""
    session = get_session()
    size = ledger_log.ledger_size(session)
    start, end = args["start"], args.get("end", min(args["start"] + 10_000, size))
    if end > size or start > end:
        raise _out_of_range("end", f"need start <= end <= {size} (the ledger size)")
    if end - start > MAX_ENTRIES_PER_REQUEST:
        raise _out_of_range("end", f"at most {MAX_ENTRIES_PER_REQUEST} entries per request")

    def lines(reader: Session) -> Iterator[bytes]:  # committed entries never change: any snapshot will do
        for first in range(start, end, 5_000):
            yield b"".join(body + b"\n" for body in ledger_log.entries(reader, first, min(first + 5_000, end)))
    return Response(StreamedBody(lines), mimetype="application/jsonl")


@blp.get("/proof/inclusion")
@allow(*READERS)
@reads_by_statement  # its second read is of Merkle nodes, which never change once committed
@blp.arguments(InclusionArgs(), location="query", unknown=RAISE)
@blp.response(200, InclusionOut)
def inclusion(args):
    """RFC 9162 inclusion proof of entry `index` in the tree of the first `size` entries."""
    session = get_session()
    index, size = args["index"], args["size"]
    if size > ledger_log.ledger_size(session) or index >= size:
        raise _out_of_range("size", "need index < size <= the ledger size")
    fetch = ledger_log.fetch_nodes(session, also=[(0, index)])  # the leaf comes with the proof's nodes
    proof = merkle.inclusion_proof(index, size, fetch)
    leaf = fetch([(0, index)])[(0, index)]
    return {"index": index, "size": size, "leaf_hash": leaf.hex(), "hashes": [h.hex() for h in proof]}


@blp.get("/proof/consistency")
@allow(*READERS)
@reads_by_statement  # as the inclusion proof
@blp.arguments(ConsistencyArgs(), location="query", unknown=RAISE)
@blp.response(200, ConsistencyOut)
def consistency(args):
    """RFC 9162 consistency proof between the trees of the first `old` and `new` entries."""
    session = get_session()
    old, new = args["old"], args["new"]
    if new > ledger_log.ledger_size(session) or old > new:
        raise _out_of_range("new", "need old <= new <= the ledger size")
    proof = merkle.consistency_proof(old, new, ledger_log.fetch_nodes(session))
    return {"old": old, "new": new, "hashes": [h.hex() for h in proof]}


@blp.get("/state")
@allow(*READERS)
@blp.response(200, {"type": "string"}, content_type="application/jsonl",
              description='JSON Lines: `{"size": N}`, then one `["table", "key", {record}]` per line')
def state():
    """Every recorded fact and the ledger size it corresponds to, for an auditor's replay to compare.

    JSON Lines (UTF-8), streamed from one read snapshot. The first line is `{"size": N}`: the facts are what
    replaying the first N ledger entries builds. Every other line is one record, `["table", "key", {…}]`:
    table one of units, tokens, lots, cases, seizures, holds, executions, disposal_transfers, objections,
    renewals, case_transfers; key and fields exactly as `seizure-ledger`'s replay (`ledger.replay`) builds
    them, e.g. `["lots","17",{"card_no":"KH-017",…,"weight_t":"12.5000","registered_at":"…Z",…}]`. Records
    come table by table; a client should not rely on their order. `seizure-ledger verify --url` compares them
    with its own replay, one at a time.
    """
    from ..audit import state_lines
    return Response(StreamedBody(state_lines), mimetype="application/jsonl")
