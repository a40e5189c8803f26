"""``seizure-ledger``: the auditor's command line (SPEC §6, §7).

Exit codes: 0 verified, 1 a check failed, 2 bad usage (bad arguments, unreadable files,
malformed key, unreachable service).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, NoReturn, Sequence

from ledger.chain import Entry
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import VerificationError
from ledger.note import parse_verifier_key
from ledger.remote import LedgerClient, RemoteError, StateExport
from ledger.replay import Replay, compare_records
from ledger.verify import VerifyReport, verify_entries

STATE_FILE = "checkpoint"


class UsageError(Exception):
    """Bad arguments or an unusable environment: exit 2."""


class _RefuseToken(argparse.Action):
    """`--token` is refused with the way to pass a token instead."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        parser.error("--token is not accepted (a command line shows in ps and shell history): "
                     "use --token-file FILE or $SEIZURE_LEDGER_TOKEN")


class _OneLineParser(argparse.ArgumentParser):
    """A usage error is one line on stderr, pointing at the help, with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("seizure-registry")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="seizure-ledger", description="Verify a seizure registry's ledger.")
    parser.add_argument("--version", action="version", version=f"seizure-ledger {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify", help="verify the ledger against a checkpoint signed by a pinned key",
        description="Verify every entry's form and chain link, the Merkle root against the signed checkpoint "
                    "and, with --state, consistency with the checkpoint verified last time.")
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--entries", metavar="FILE", help="exported entries, JSON Lines")
    source.add_argument("--url", help="base URL of a running registry")
    verify.add_argument("--checkpoint", metavar="FILE", help="signed checkpoint note (with --entries)")
    # The token is never an argument: a command line shows in `ps` and in the shell's history.
    verify.add_argument("--token-file", metavar="FILE",
                        help="file holding the API token (with --url; default: $SEIZURE_LEDGER_TOKEN)")
    verify.add_argument("--token", action=_RefuseToken, nargs="?", help=argparse.SUPPRESS)
    verify.add_argument("--key", required=True, metavar="VKEY",
                        help="verifier key name+keyid+base64, or @FILE to read it from a file")
    verify.add_argument("--state", metavar="DIR",
                        help="keep the last verified checkpoint in DIR/checkpoint and require the ledger to "
                             "extend it (no state is kept without this option)")
    verify.add_argument("--no-replay", action="store_true",
                        help="skip replaying entries into a fresh state (and, with --url, comparing it with the "
                             "state the service shows)")
    verify.add_argument("--progress", action="store_true",
                        help="show progress on stderr even when it is not a terminal")
    verify.set_defaults(run=_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed why
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args.run(args))
    except (UsageError, RemoteError) as exc:
        print(f"seizure-ledger: error: {exc}", file=sys.stderr)
        return 2
    except VerificationError as exc:
        print(f"FAILED: {exc}")
        return 1


class _StateCheck:
    """Replays verified entries into a fresh state and compares it with the state the service shows.

    The service's state is read before its checkpoint, so it covers a prefix of what the checkpoint signs;
    only that prefix is replayed for the comparison, and every entry is still verified. The comparison reads
    the downloaded state one record at a time, so only the replay is held in memory.
    """

    LISTED = 20

    def __init__(self, shown: StateExport) -> None:
        self.replay = Replay()
        self.shown = shown
        self.until = shown.size

    def __call__(self, entry: Entry) -> None:
        if entry.seq < self.until:
            try:
                self.replay.apply(entry)
            except (KeyError, ValueError, TypeError) as exc:
                raise VerificationError(f"entry {entry.seq} ({entry.type}) cannot be replayed: {exc!r}",
                                        seq=entry.seq) from None

    def compare(self) -> str:
        if self.replay.size != self.until:
            raise VerificationError(f"the service shows its state at {self.until} entries; only "
                                    f"{self.replay.size} were replayed")
        found = compare_records(self.replay.state, self.shown.records())
        listed = list(itertools.islice(found, self.LISTED))
        if listed:
            more = sum(1 for _ in found)  # counted, not kept: a wholly different state is as big as the export
            listed_text = "; ".join(listed) + (f"; … {more} more" if more else "")
            raise VerificationError(f"the service's state differs from the replay of its ledger: {listed_text}")
        return f"replayed {self.until} entries: the service's state equals the replay"


def _verify(args: argparse.Namespace) -> int:
    key = _read_key(args.key)
    source = _Files(args) if args.entries else _Remote(args)
    shown = None if args.no_replay else source.state()
    try:
        return _verify_against(args, key, source, _StateCheck(shown) if shown is not None else None)
    finally:
        if shown is not None:
            shown.close()  # the downloaded state's temporary file


def _verify_against(args: argparse.Namespace, key: str, source: _Files | _Remote,
                    state_check: _StateCheck | None) -> int:
    key_name = parse_verifier_key(key)[0]
    note = source.checkpoint()
    checkpoint = open_checkpoint(note, key)
    previous = _load_state(args.state, key)
    progress = _Progress() if args.progress or sys.stderr.isatty() else None
    try:
        report = verify_entries(source.entries(checkpoint.size), checkpoint, previous=previous,
                                consistency_proof_fetch=source.proof_fetch(), progress=progress,
                                entry_callback=state_check)
        compared = state_check.compare() if state_check is not None else None
    finally:
        if progress is not None:
            progress.finish()
    if args.state:
        _save_state(args.state, note)
    _print_report(report, key_name)
    if compared:
        print(compared)
    return 0


def _print_report(report: VerifyReport, key_name: str) -> None:
    root = base64.b64encode(report.root).decode()
    print(f"ok: {report.size} entries, root {root}, checkpoint verified with key {key_name}")
    if report.previous_size is not None:
        print(f"consistent with the checkpoint seen before ({report.previous_size} entries)")
    if report.extra:
        print(f"note: {report.extra} entries after the checkpoint are not covered by it", file=sys.stderr)


def _read_key(value: str) -> str:
    text = _read_text(value[1:], "key file") if value.startswith("@") else value
    try:
        parse_verifier_key(text)
    except ValueError as exc:
        raise UsageError(f"bad verifier key: {exc}") from None
    return text.strip()


def _read_text(path: str | Path, what: str) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8") from None


def _read_token(path: str | None) -> str:
    token = _read_text(path, "token file").strip() if path else os.environ.get("SEIZURE_LEDGER_TOKEN", "").strip()
    if not token:
        where = f"token file {path} is empty" if path else "no token"
        raise UsageError(f"--url needs a token: {where}; use --token-file FILE or $SEIZURE_LEDGER_TOKEN")
    return token


class _Files:
    """Entries and checkpoint exported to files."""

    def __init__(self, args: argparse.Namespace) -> None:
        if not args.checkpoint:
            raise UsageError("--entries needs --checkpoint")
        self.entries_path, self.checkpoint_path = Path(args.entries), args.checkpoint
        if not self.entries_path.is_file():
            raise UsageError(f"cannot read entries file {args.entries}")

    def checkpoint(self) -> str:
        try:
            return Path(self.checkpoint_path).read_bytes().decode("utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read checkpoint file {self.checkpoint_path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise VerificationError("malformed note: checkpoint is not UTF-8") from None

    def entries(self, size: int) -> Iterator[bytes]:
        with self.entries_path.open("rb") as lines:
            for line in lines:
                yield line[:-1] if line.endswith(b"\n") else line

    def proof_fetch(self) -> None:
        return None  # the streamed entries alone prove consistency with an earlier checkpoint

    def state(self) -> None:
        return None  # exported files carry no service state to compare a replay with


class _Remote:
    """A running registry, read over HTTP."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.client = LedgerClient(args.url, _read_token(args.token_file))

    def checkpoint(self) -> str:
        return self.client.checkpoint()

    def entries(self, size: int) -> Iterator[bytes]:
        return self.client.entries(size)

    def proof_fetch(self) -> Callable[[int, int], list[bytes]]:
        return self.client.consistency_proof

    def state(self) -> StateExport:
        return self.client.state()


def _load_state(state: str | None, key: str) -> Checkpoint | None:
    path = Path(state, STATE_FILE) if state else None
    if path is None or not path.exists():
        return None
    try:
        return open_checkpoint(_read_text(path, "state file"), key)
    except VerificationError as exc:
        raise UsageError(f"state file {path} does not verify with this key: {exc}") from None


def _save_state(state: str, note: str) -> None:
    directory = Path(state)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{STATE_FILE}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(note)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, directory / STATE_FILE)  # atomic: a crash leaves the old or the new state
    except OSError as exc:
        raise UsageError(f"cannot save state in {directory}: {exc.strerror}") from None


class _Progress:
    """Counts verified entries on stderr."""

    shown = False

    def __call__(self, count: int) -> None:
        print(f"\rverified {count:,} entries", end="", file=sys.stderr, flush=True)
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr)  # end the progress line


if __name__ == "__main__":
    sys.exit(main())
