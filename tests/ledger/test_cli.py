"""seizure-ledger verify, over exported files and over HTTP (a stdlib server, not the registry)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sample_log import ORIGIN, Log, make_log
from ledger import cli, remote
from ledger.chain import Entry, entry_hash
from ledger.checkpoint import verifier_key
from ledger.encoding import ZERO_HASH
from ledger.merkle import consistency_proof
from ledger.replay import Replay
from ledger.store import MemoryNodeStore

TOKEN = "s3cret"
OK = re.compile(rf"^ok: (\d+) entries, root [A-Za-z0-9+/]{{43}}=, checkpoint verified with key {ORIGIN}$",
                re.M)


@pytest.fixture(autouse=True)
def token_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake registry's token, as an auditor's environment would hold it."""
    monkeypatch.setenv("SEIZURE_LEDGER_TOKEN", TOKEN)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def export(tmp_path: Path, log: Log, size: int | None = None, lines: list[bytes] | None = None) -> list[str]:
    """Write entries and checkpoint as an export would; return the matching command line arguments."""
    lines = log.lines if lines is None else lines
    (tmp_path / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    (tmp_path / "checkpoint").write_text(log.note(size), encoding="utf-8")
    return ["verify", "--entries", str(tmp_path / "entries.jsonl"),
            "--checkpoint", str(tmp_path / "checkpoint"), "--key", log.vkey]


def test_files_verify(tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *export(tmp_path, log))
    assert code == 0 and OK.search(out) and OK.search(out).group(1) == "50"  # type: ignore[union-attr]


def test_key_from_file(tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "key.txt").write_text(log.vkey + "\n")
    args = export(tmp_path, log)
    args[-1] = f"@{tmp_path / 'key.txt'}"
    assert run(capsys, *args)[0] == 0


def test_tampered_entry_fails(tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    lines = list(log.lines)
    lines[7] = lines[7].replace(b"KH-", b"KX-")
    code, out, _ = run(capsys, *export(tmp_path, log, lines=lines))
    assert code == 1 and re.search(r"^FAILED: .*\bentry 7\b", out, re.M)


def test_checkpoint_from_another_key_fails(tmp_path: Path, log: Log,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = export(tmp_path, make_log(50))
    args[-1] = log.vkey
    code, out, _ = run(capsys, *args)
    assert code == 1 and out.startswith("FAILED: note is not signed by key")


def test_checkpoint_that_is_not_utf8_fails(tmp_path: Path, log: Log,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = export(tmp_path, log)
    (tmp_path / "checkpoint").write_bytes(b"\xff" + log.note().encode())
    code, out, _ = run(capsys, *args)
    assert code == 1 and out.startswith("FAILED: malformed note")


@pytest.mark.parametrize("change, message", [
    (lambda a: [], "required"),
    (lambda a: a[:-2], "--key"),
    (lambda a: a[:-1] + ["registry+0000+AAAA"], "bad verifier key"),
    (lambda a: a[:-1] + ["@/nonexistent/key"], "cannot read key file"),
    (lambda a: ["verify", "--entries", "/nonexistent/entries"] + a[3:], "cannot read entries"),
    (lambda a: a[:3] + a[5:], "--entries needs --checkpoint"),
    (lambda a: a[:4] + ["/nonexistent/checkpoint"] + a[5:], "cannot read checkpoint file"),
    (lambda a: a + ["--url", "http://127.0.0.1:9"], "not allowed with"),
    (lambda a: ["verify", "--url", "http://127.0.0.1:9", "--key", a[-1]], "--url needs a token: no token"),
    (lambda a: ["verify", "--url", "http://127.0.0.1:9", "--token-file", "/nonexistent/token", "--key", a[-1]],
     "cannot read token file /nonexistent/token"),
    (lambda a: ["verify", "--url", "http://127.0.0.1:9", "--token", TOKEN, "--key", a[-1]],
     "--token is not accepted"),
    (lambda a: ["verify", "--url", "http://127.0.0.1:9", f"--token={TOKEN}", "--key", a[-1]],
     "use --token-file FILE or $SEIZURE_LEDGER_TOKEN"),
])
def test_bad_usage_exits_2(tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch, change: Any, message: str) -> None:
    monkeypatch.delenv("SEIZURE_LEDGER_TOKEN", raising=False)
    code, out, err = run(capsys, *change(export(tmp_path, log)))
    assert code == 2 and message in err and not out
    assert len(err.splitlines()) == 1 and err.startswith("seizure-ledger"), err  # one line, no usage text


def test_state_requires_the_ledger_to_extend_what_was_seen(tmp_path: Path, log: Log,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    code, out, _ = run(capsys, *export(tmp_path, log, size=30), "--state", str(state))
    assert code == 0 and OK.search(out).group(1) == "30"  # type: ignore[union-attr]
    assert (state / "checkpoint").read_text(encoding="utf-8") == log.note(30)

    code, out, _ = run(capsys, *export(tmp_path, log), "--state", str(state))
    assert code == 0 and "consistent with the checkpoint seen before (30 entries)" in out
    seen = (state / "checkpoint").read_text(encoding="utf-8")

    forged = make_log(50, actor="FORGER", key=log.key)  # a rewritten history, signed by the log's own key
    code, out, _ = run(capsys, *export(tmp_path, forged), "--state", str(state))
    assert code == 1 and out.startswith("FAILED: inconsistent with the checkpoint seen before")
    assert (state / "checkpoint").read_text(encoding="utf-8") == seen


def test_state_signed_by_another_key_is_bad_usage(tmp_path: Path, log: Log,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "checkpoint").write_text(make_log(3).note(), encoding="utf-8")
    code, _, err = run(capsys, *export(tmp_path, log), "--state", str(tmp_path / "state"))
    assert code == 2 and "does not verify with this key" in err


def test_progress(tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *export(tmp_path, log), "--progress")
    assert code == 0 and "verified 50 entries" in err


def test_module_entry_point(tmp_path: Path, log: Log) -> None:
    args = export(tmp_path, log)
    lines = list(log.lines)
    done = subprocess.run([sys.executable, "-m", "ledger.cli", *args], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=60)
    assert done.returncode == 0 and OK.search(done.stdout), done.stderr
    (tmp_path / "entries.jsonl").write_bytes(b"\n".join(lines[:-1]) + b"\n")
    done = subprocess.run([sys.executable, "-m", "ledger.cli", *args], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=60)
    assert done.returncode == 1 and "ledger truncated: 49 entries, checkpoint says 50" in done.stdout


class FakeRegistry:
    """The ledger endpoints of SPEC §6, served from memory."""

    def __init__(self, log: Log, size: int | None = None) -> None:
        self.lines, self.note = log.lines, log.note(size)
        self.nodes = MemoryNodeStore()
        for line in log.lines:
            self.nodes.append_entry(line)
        self.requests: list[str] = []
        self.bad_proof = False
        self.state: bytes | None = None  # GET /ledger/state, JSON Lines; 404 while None
        self.state_type = "application/jsonl"

    def answer(self, path: str, query: dict[str, int]) -> tuple[int, str, bytes]:
        if path == "/api/v1/ledger/checkpoint":
            return 200, "text/plain; charset=utf-8", self.note.encode()
        if path == "/api/v1/ledger/entries":
            chunk = self.lines[query["start"]:query["end"]]
            return 200, "application/jsonl", b"".join(line + b"\n" for line in chunk)
        if path == "/api/v1/ledger/proof/consistency":
            hashes = consistency_proof(query["old"], query["new"], self.nodes.fetch)
            hashes = [bytes(32) for _ in hashes] if self.bad_proof else hashes
            body = {"old": query["old"], "new": query["new"], "hashes": [h.hex() for h in hashes]}
            return 200, "application/json", json.dumps(body).encode()
        if path == "/api/v1/ledger/state" and self.state is not None:
            return 200, self.state_type, self.state
        return 404, "text/plain", b"not found"


@contextlib.contextmanager
def serve(registry: FakeRegistry) -> Iterator[tuple[str, FakeRegistry]]:
    """Serve ``registry`` over HTTP on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            registry.requests.append(self.path)
            query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, kind, body = 401, "text/plain", b"unauthorized"
            else:
                status, kind, body = registry.answer(url.path, query)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", registry
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def server(log: Log) -> Iterator[tuple[str, FakeRegistry]]:
    with serve(FakeRegistry(log)) as served:
        yield served


def url_args(url: str, log: Log, *extra: str) -> list[str]:
    """The fake registry serves the ledger only, not a state to compare a replay with."""
    return ["verify", "--url", url, "--key", log.vkey, "--no-replay", *extra]


def test_url_verify_in_chunks(server: tuple[str, FakeRegistry], log: Log, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, registry = server
    monkeypatch.setattr(remote, "CHUNK", 7)
    code, out, _ = run(capsys, *url_args(url, log))
    assert code == 0 and OK.search(out).group(1) == "50"  # type: ignore[union-attr]
    entries = [r for r in registry.requests if r.startswith("/api/v1/ledger/entries")]
    assert entries[0] == "/api/v1/ledger/entries?start=0&end=7" and len(entries) == 8
    assert entries[-1] == "/api/v1/ledger/entries?start=49&end=50"


def test_url_with_state_checks_a_consistency_proof(tmp_path: Path, server: tuple[str, FakeRegistry], log: Log,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url, registry = server
    registry.note = log.note(20)
    assert run(capsys, *url_args(url, log, "--state", str(tmp_path)))[0] == 0
    assert not any("proof" in r for r in registry.requests)

    registry.note = log.note(45)
    code, out, _ = run(capsys, *url_args(url, log, "--state", str(tmp_path)))
    assert code == 0 and "consistent with the checkpoint seen before (20 entries)" in out
    assert "/api/v1/ledger/proof/consistency?old=20&new=45" in registry.requests

    registry.note, registry.bad_proof = log.note(), True
    code, out, _ = run(capsys, *url_args(url, log, "--state", str(tmp_path)))
    assert code == 1 and out.startswith("FAILED: inconsistent with the checkpoint seen before: consistency")


def test_url_serving_fewer_entries_fails(server: tuple[str, FakeRegistry], log: Log,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    url, registry = server
    registry.lines = log.lines[:40]
    code, out, _ = run(capsys, *url_args(url, log))
    assert code == 1 and "FAILED: ledger truncated: 40 entries, checkpoint says 50" in out


@pytest.mark.parametrize("token, message", [("wrong", "HTTP 401"), (TOKEN, "HTTP 404")])
def test_url_http_errors_exit_2(server: tuple[str, FakeRegistry], log: Log, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str], token: str, message: str) -> None:
    url, _ = server
    url = url if token != TOKEN else url + "nowhere/"
    (tmp_path / "token").write_text(token + "\n")
    code, out, err = run(capsys, "verify", "--url", url, "--token-file", str(tmp_path / "token"), "--key", log.vkey)
    assert code == 2 and message in err and not out


def test_token_file_wins_over_the_environment(server: tuple[str, FakeRegistry], log: Log, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, registry = server
    monkeypatch.setenv("SEIZURE_LEDGER_TOKEN", "wrong")
    (tmp_path / "token").write_text(f"  {TOKEN}\n")
    code, out, _ = run(capsys, *url_args(url, log, "--token-file", str(tmp_path / "token")))
    assert code == 0 and OK.search(out), out


def test_an_empty_token_file_is_a_usage_error(log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "token").write_text("\n")
    code, out, err = run(capsys, *url_args("http://127.0.0.1:9", log, "--token-file", str(tmp_path / "token")))
    assert code == 2 and f"token file {tmp_path / 'token'} is empty" in err and not out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from registry import __version__
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"seizure-ledger {__version__}\n"


def test_unreachable_url_exits_2(log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *url_args("http://127.0.0.1:9", log))
    assert code == 2 and "cannot reach" in err


# -- the service's state compared with the replay (verify --url without --no-replay) ---------------------------
def replayable_log(lots: int) -> Log:
    """A signed log the replay can apply: a unit created, then one lot registered per entry."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("unit.created", {"code": "SH-COURT", "name": "上海法院", "kind": "court", "parent": None, "token_id": "t1"})]
    events += [("lot.registered", {"lots": [{"id": i, "card_no": f"KH-{i:04d}", "custodian": "货场",
                                             "commodity": "铝锭", "weight_t": f"{i}.5000", "location": "",
                                             "owner": "", "property_class": "movable", "parent_id": None}]})
               for i in range(1, lots + 1)]
    lines, prev = [], ZERO_HASH
    for seq, (kind, data) in enumerate(events):
        body = Entry(seq, f"2026-03-02T01:00:{seq:02d}.000000Z", "SH-COURT", kind, data, prev).to_bytes()
        lines.append(body)
        prev = entry_hash(body)
    key = Ed25519PrivateKey.generate()
    return Log(lines, key, verifier_key(ORIGIN, key.public_key()))


def state_lines(log: Log, size: int | None = None) -> list[bytes]:
    """The export an honest service would stream: its size, then every record of the replay."""
    replay = Replay()
    for entry in log.lines[:size]:
        replay.apply(Entry.from_bytes(entry))
    records = [as_line([table, key, record]) for table, rows in replay.state.items() for key, record in rows.items()]
    return [as_line({"size": replay.size}), *records]


def as_line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def stateful() -> Iterator[tuple[str, FakeRegistry, Log]]:
    """A fake registry whose ledger replays, serving the state export of all its entries."""
    log = replayable_log(12)
    with serve(FakeRegistry(log)) as (url, registry):
        registry.state = b"\n".join(state_lines(log)) + b"\n"
        yield url, registry, log


def verify_url(capsys: pytest.CaptureFixture[str], url: str, log: Log) -> tuple[int, str]:
    code, out, err = run(capsys, "verify", "--url", url, "--key", log.vkey)
    return code, out + err


def test_url_state_equal_to_the_replay_verifies(stateful: tuple[str, FakeRegistry, Log],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url, _, log = stateful
    code, out = verify_url(capsys, url, log)
    assert code == 0 and "replayed 13 entries: the service's state equals the replay" in out, out


def test_url_state_of_a_prefix_is_compared_with_that_prefix(stateful: tuple[str, FakeRegistry, Log],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    url, registry, log = stateful
    registry.state = b"\n".join(state_lines(log, 7)) + b"\n"  # read before the checkpoint, which moved on
    code, out = verify_url(capsys, url, log)
    assert code == 0 and OK.search(out).group(1) == "13"  # type: ignore[union-attr]
    assert "replayed 7 entries: the service's state equals the replay" in out, out


def _changed(line: bytes) -> bytes:
    table, key, record = json.loads(line)
    return as_line([table, key, {**record, "weight_t": "99.0000"}])


def _extra(lines: list[bytes]) -> list[bytes]:
    ghost = ["units", "GHOST", {"name": "幽灵", "kind": "court", "parent": None, "created_at": None}]
    return [*lines, as_line(ghost)]


@pytest.mark.parametrize("tamper, named", [
    (lambda lines: [_changed(x) if x.startswith(b'["lots","5",') else x for x in lines],
     "lots 5: weight_t is '99.0000' in the registry, '5.5000' by the ledger"),
    (lambda lines: [x for x in lines if not x.startswith(b'["lots","5",')],
     "lots 5: in the ledger, missing from the registry"),
    (_extra, "units GHOST: in the registry, not in the ledger"),
    (lambda lines: [*lines, next(x for x in lines if x.startswith(b'["lots","5",'))],
     "lots 5: in the registry, not in the ledger"),  # shown twice
], ids=["differs", "missing", "extra", "twice"])
def test_url_state_differences_are_named(stateful: tuple[str, FakeRegistry, Log],
                                         capsys: pytest.CaptureFixture[str], tamper: Any, named: str) -> None:
    url, registry, log = stateful
    registry.state = b"\n".join(tamper(state_lines(log))) + b"\n"
    code, out = verify_url(capsys, url, log)
    assert code == 1, out
    assert out == f"FAILED: the service's state differs from the replay of its ledger: {named}\n"


def test_url_state_differences_beyond_twenty_are_counted(stateful: tuple[str, FakeRegistry, Log],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url, registry, log = stateful
    head, *records = state_lines(log)
    registry.state = b"\n".join([head, *records[:2]]) + b"\n"  # units and tokens only: the 12 lots missing
    registry.state += b"\n".join(_changed(r).replace(b'"lots"', b'"ghosts"') for r in records[2:]) + b"\n"
    code, out = verify_url(capsys, url, log)
    assert code == 1 and out.count("ghosts") == 12 and out.count("missing from the registry") == 8, out
    assert out.endswith("; … 4 more\n"), out


@pytest.mark.parametrize("body, kind, message", [
    (b'{"size": 13}\n["lots", "1"]\n', "application/jsonl", "line 2: not enough values to unpack"),
    (b'{"size": 13}\n["lots", 1, {}]\n', "application/jsonl", "line 2: not [table, key, {record}]"),
    (b'{"size": 13}\n["lots", "1", {}\n', "application/jsonl", "line 2: Expecting"),
    (b'{"size": "13"}\n', "application/jsonl", 'line 1: the first line is not {"size": N}'),
    (b'["lots", "1", {}]\n', "application/jsonl", "line 1: 'list' object has no attribute 'get'"),
    (b'{"size": 13, "state": {}}', "application/json", "application/json, not application/jsonl"),
], ids=["short", "key-not-string", "not-json", "size-not-int", "no-head", "old-json-shape"])
def test_url_malformed_state_fails(stateful: tuple[str, FakeRegistry, Log], capsys: pytest.CaptureFixture[str],
                                   body: bytes, kind: str, message: str) -> None:
    url, registry, log = stateful
    registry.state, registry.state_type = body, kind
    code, out = verify_url(capsys, url, log)
    assert code == 1 and out.startswith("FAILED: malformed state from the service: ") and message in out, out


def test_url_state_is_not_kept_in_memory(stateful: tuple[str, FakeRegistry, Log],
                                         capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The download waits in a temporary file (under $TMPDIR), removed when verify is done."""
    url, _, log = stateful
    spooled: list[Any] = []
    temporary_file = remote.tempfile.TemporaryFile

    def spy(*args: Any, **kwargs: Any) -> Any:
        spooled.append(temporary_file(*args, **kwargs))
        return spooled[-1]
    monkeypatch.setattr(remote.tempfile, "TemporaryFile", spy)
    assert verify_url(capsys, url, log)[0] == 0
    assert len(spooled) == 1 and spooled[0].closed
