"""`seizure-registry`: serve, manage units and tokens, audit the ledger, play the demo."""
from __future__ import annotations

import sys
import tempfile

import click

from . import __version__
from .rules.units import UNIT_KINDS, code_problem, name_problem
from .services.units import OPERATOR


def _app(upgrade: bool = False):
    """The app on the configured database: `serve` and `db upgrade` bring its schema to the newest; every other
    command refuses a database that is not there yet, naming `db upgrade`."""
    from . import create_app
    return create_app(upgrade=upgrade)


def _session(app):
    return app.extensions["registry.db"].sessions()


def _say_error(message: str) -> None:
    """An operator's error: one line on stderr."""
    click.echo(f"seizure-registry: error: {message}", err=True)


@click.group()
@click.version_option(__version__, prog_name="seizure-registry", message="%(prog)s %(version)s")
def cli() -> None:
    """The seizure registry. Configuration comes from REGISTRY_* environment variables."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1))
def serve(host: str, port: int, workers: int) -> None:
    """Upgrade the database to the newest schema, then serve with gunicorn."""
    from .server import run
    from .startup import check_can_listen
    check_can_listen(host, port)
    app = _app(upgrade=True)
    click.echo(f"database: {app.config['DATABASE_URL'].split('@')[-1]}", err=True)
    app.extensions["registry.db"].dispose()  # the workers open connections of their own
    run(host, port, workers)


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--grant-to", "grantee", default=None, metavar="ROLE",
              help="PostgreSQL: then grant ROLE the service's privileges (re-run after every upgrade)")
def db_upgrade(grantee: str | None) -> None:
    """Bring the database to the newest schema (and create the ledger key if the ledger is empty and has none);
    with --grant-to, let the service's role use it."""
    from . import configured_app
    from .roles import GrantRefused, check_grantee, grant_service_role
    url = configured_app().config["DATABASE_URL"]
    try:
        if grantee is not None:
            check_grantee(url, grantee)  # before anything is migrated
        _app(upgrade=True).extensions["registry.db"].dispose()
        click.echo("database at the newest schema")
        if grantee is not None:
            click.echo(f"{grantee}: {len(grant_service_role(url, grantee))} grants applied")
    except GrantRefused as error:  # a configuration error: one line, nothing migrated or granted
        _say_error(str(error))
        sys.exit(2)


def _overrides(ctx, param, given):
    """--set KIND ID FIELD VALUE, as {(kind, id, field): value}."""
    overrides = {}
    for kind, record_id, name, value in given:
        if kind not in ("lot", "case") or not record_id.isdigit():
            _usage_error(f"--set {kind} {record_id} {name} …: give lot ID FIELD VALUE or case ID FIELD VALUE")
        overrides[(kind, int(record_id), name)] = value
    return overrides


@db.command("canonicalize")
@click.option("--dry-run", is_flag=True, help="list what would change and what blocks it; change nothing")
@click.option("--set", "overrides", nargs=4, multiple=True, callback=_overrides, metavar="KIND ID FIELD VALUE",
              help="the form one record takes where two would become one or a stored value cannot be an "
                   "identifier: lot ID card_no|custodian|owner VALUE, or case ID number|previous_number VALUE")
def db_canonicalize(dry_run: bool, overrides: dict) -> None:
    """Write every lot's and case's identifiers in canonical form, each change one ledger entry; while two
    records would become one, or a value cannot be an identifier, list them and change nothing (exit 1)."""
    from .services import canonical
    app = _app()
    try:
        with app.app_context(), _session(app) as session:
            found = canonical.plan(session, overrides)
            session.rollback()  # the plan's snapshot ends here; each change is a write of its own
            if found.blockers or dry_run:
                for change in found.changes:
                    click.echo(f"would change {_described(change)}")
            if found.blockers:
                for line in found.blockers:
                    click.echo(f"BLOCKED: {line}")
                click.echo(f"nothing was changed: {len(found.blockers)} problem(s) block the conversion "
                           "(docs/deploy.md, \"Identifiers in canonical form\")")
                raise click.exceptions.Exit(1)
            if not found.changes:
                click.echo("every identifier is in canonical form; nothing to change")
            elif dry_run:
                click.echo(f"{len(found.changes)} record(s) would change; nothing was changed (--dry-run)")
            else:
                written = canonical.apply(session, OPERATOR, found.changes,
                                          lambda change: click.echo(f"changed {_described(change)}"))
                click.echo(f"canonical forms written: {written} record(s), one ledger entry each")
    finally:
        app.extensions["registry.db"].dispose()


def _described(change) -> str:
    fields = "; ".join(f"{name} {change.stored[name]!r} -> {value!r}" for name, value in change.values.items())
    return f"{change.kind} {change.id}: {fields}"


@cli.group()
def key() -> None:
    """The ledger signing key (REGISTRY_LEDGER_KEY_FILE); auditors pin its verifier key."""


def _key_settings() -> tuple[str, str]:
    from . import configured_app
    config = configured_app().config
    return config["LEDGER_KEY_FILE"], config["LEDGER_ORIGIN"]


@key.command("init")
def key_init() -> None:
    """Create the signing key (mode 0600); refuses if the key file exists. The verifier key is the last line."""
    from ledger.checkpoint import verifier_key

    from .signing import init_key, key_id_of
    path, origin = _key_settings()
    private_key = init_key(path)
    click.echo(f"ledger signing key created: {path} (mode 0600), key id {key_id_of(private_key, origin)}; "
               f"back it up. Verifier key:")
    click.echo(verifier_key(origin, private_key.public_key()))


@key.command("show")
def key_show() -> None:
    """Print the verifier key of the signing key, for auditors to pin."""
    from ledger.checkpoint import verifier_key

    from .signing import read_key
    path, origin = _key_settings()
    click.echo(verifier_key(origin, read_key(path).public_key()))


@cli.group()
def units() -> None:
    """Units (courts, police units, auditors, operators)."""


# A refusal of what the operator typed (a code, a name, a parent) is a usage error: exit 2.
USAGE_REFUSALS = ("validation_error", "parent_kind_mismatch", "parent_cycle")


class _BadInput(click.UsageError):
    """Bad usage told in one line, without the usage text: exit 2."""

    def show(self, file=None) -> None:
        _say_error(self.message)


def _usage_error(message: str) -> None:
    raise _BadInput(message)


def _checked(problem_of, what: str):
    """A click callback refusing, in one line, a value the registry's own rule refuses."""
    def check(ctx, param, value):
        if value is not None and (problem := problem_of(value)) is not None:
            _usage_error(f"{what} {value!r}: {problem}")
        return value
    return check


def _kind(ctx, param, value):
    if value is not None and value not in UNIT_KINDS:
        _usage_error(f"unknown kind {value!r}: use one of {', '.join(UNIT_KINDS)}")
    return value


CODE = click.argument("code", callback=_checked(code_problem, "unit code"))
KIND_HELP = "|".join(UNIT_KINDS)


def _unit_command(run):
    """Run a service call in the app; a refusal of the input is a one-line usage error (exit 2)."""
    from .rules import DomainError
    app = _app()
    try:
        with app.app_context(), _session(app) as session:
            return run(session)
    except DomainError as error:
        if error.code not in USAGE_REFUSALS:
            raise
        fields = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in error.errors.items())
        _usage_error(f"{error.detail} ({fields})" if error.code == "validation_error" and fields
                     else error.detail)
    finally:
        app.extensions["registry.db"].dispose()  # a command's connections end with it


def _describe(unit) -> str:
    state = "" if unit.active else "  [inactive]"
    return f"{unit.code}  {unit.kind}  {unit.name}" + (f"  (under {unit.parent_code})" if unit.parent_code else "") \
        + state


@units.command("add")
@CODE
@click.option("--name", required=True, callback=_checked(name_problem, "name"))
@click.option("--kind", required=True, callback=_kind, help=KIND_HELP)
@click.option("--parent", default=None, callback=_checked(code_problem, "parent"),
              help="code of the superior unit, of the same kind")
def units_add(code: str, name: str, kind: str, parent: str | None) -> None:
    """Create a unit; its first token is the last line printed."""
    from .services.units import create_unit
    issued = _unit_command(lambda session: create_unit(session, OPERATOR, code, name, kind, parent))
    click.echo(f"unit {code} ({kind}) created; token id {issued.token_id}; keep this token secret:")
    click.echo(issued.token)


@units.command("list")
@click.option("--tree", is_flag=True, help="each unit under its parent, indented")
@click.option("--kind", default=None, callback=_kind, help=KIND_HELP)
@click.option("--parent", default=None, callback=_checked(code_problem, "parent"),
              help="only the units under this one")
def units_list(tree: bool, kind: str | None, parent: str | None) -> None:
    """List units in code order: code, kind, name, parent, and whether inactive."""
    from .services.units import get_unit, list_units

    def listed(session):
        if parent is not None:
            get_unit(session, parent)
        return list_units(session, None if tree else parent, kind)
    found = _unit_command(listed)
    lines = _tree(found, parent) if tree else [_describe(unit) for unit in found]
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no unit matches", err=True)


def _tree(found: list, root: str | None) -> list[str]:
    """Each unit under its parent; the top is `root`'s children, or every unit whose parent is not listed."""
    codes = {unit.code for unit in found}
    children: dict[str | None, list] = {}
    for unit in found:
        top = unit.parent_code if unit.parent_code in codes or unit.parent_code == root else None
        children.setdefault(top, []).append(unit)
    lines: list[str] = []

    def walk(code: str | None, depth: int) -> None:
        for unit in children.get(code, []):
            lines.append("  " * depth + _describe(unit))
            walk(unit.code, depth + 1)
    walk(root, 0)
    return lines


@units.command("show")
@CODE
def units_show(code: str) -> None:
    """Show one unit: its name, kind, parent, whether active, the units under it and its live tokens."""
    from .rules import BEIJING
    from .services.units import get_unit, list_units, live_token_ids

    def shown(session):
        unit = get_unit(session, code)
        return unit, [u.code for u in list_units(session, code)], live_token_ids(session, code)
    unit, below, tokens = _unit_command(shown)
    for label, value in (("code", unit.code), ("name", unit.name), ("kind", unit.kind),
                         ("parent", unit.parent_code or "-"), ("active", "yes" if unit.active else "no"),
                         ("created", unit.created_at.astimezone(BEIJING).isoformat(timespec="seconds")),
                         ("under it", " ".join(below) or "-"), ("live tokens", " ".join(tokens) or "-")):
        click.echo(f"{label + ':':13}{value}")


def _update(code: str, changes: dict, done: str) -> None:
    from .services.units import update_unit
    described = _unit_command(lambda session: _describe(update_unit(session, OPERATOR, code, changes)))
    click.echo(f"unit {code} {done}: {described}")


@units.command("rename")
@CODE
@click.option("--name", required=True, callback=_checked(name_problem, "name"))
def units_rename(code: str, name: str) -> None:
    """Give a unit a new name; its code stays."""
    _update(code, {"name": name}, "renamed")


@units.command("move")
@CODE
@click.option("--parent", default=None, callback=_checked(code_problem, "parent"),
              help="the new parent, of the unit's own kind")
@click.option("--no-parent", is_flag=True, help="the unit stands under no other")
def units_move(code: str, parent: str | None, no_parent: bool) -> None:
    """Move a unit under another parent of its kind (never under itself or a unit below it), or under none."""
    if (parent is None) == (not no_parent):
        _usage_error("give --parent CODE or --no-parent")
    _update(code, {"parent": parent}, "moved")


@units.command("deactivate")
@CODE
def units_deactivate(code: str) -> None:
    """Deactivate a unit: its tokens stop at once; its cases and history stay readable."""
    _update(code, {"active": False}, "deactivated")


@units.command("activate")
@CODE
def units_activate(code: str) -> None:
    """Reactivate a deactivated unit: its tokens that were not revoked work again."""
    _update(code, {"active": True}, "reactivated")


@cli.group()
def tokens() -> None:
    """Bearer tokens."""


@tokens.command("issue")
@click.argument("code")
def tokens_issue(code: str) -> None:
    """Issue another token for a unit; the token is the last line printed."""
    from .services.units import issue_token
    app = _app()
    with app.app_context():
        issued = issue_token(_session(app), OPERATOR, code)
    click.echo(f"token id {issued.token_id} for {code}:")
    click.echo(issued.token)


@tokens.command("revoke")
@click.argument("token_ids", nargs=-1)
@click.option("--unit", "unit_code", default=None, help="revoke every live token of this unit")
def tokens_revoke(token_ids: tuple[str, ...], unit_code: str | None) -> None:
    """Revoke tokens by id (the part before the dot), or all of a unit's; effective at once."""
    from .services.units import revoke_tokens
    if bool(token_ids) == bool(unit_code):
        raise click.UsageError("give token ids or --unit, not both")
    app = _app()
    with app.app_context():
        revoked = revoke_tokens(_session(app), OPERATOR, list(token_ids) or None, unit_code)
    click.echo("revoked: " + " ".join(revoked))


@cli.command()
def audit() -> None:
    """Replay the ledger into a fresh state and compare it with the live tables; exit 1 on any difference."""
    from .audit import run_audit
    app = _app()
    with app.app_context():
        differences, size = run_audit(_session(app), progress=lambda n: click.echo(f"  replayed {n}", err=True))
    for line in differences:
        click.echo(f"DIFFERENT: {line}")
    if differences:
        click.echo(f"audit FAILED: {len(differences)} difference(s) over {size} entries")
        sys.exit(1)
    click.echo(f"audit ok: {size} entries replayed; the live tables equal the replay")


@cli.command()
@click.option("--database-url", default=None, help="default: a fresh SQLite file in a temporary folder")
def demo(database_url: str | None) -> None:
    """Play the railway-yard scenario end to end on a fresh database and tell what happened."""
    import logging

    from .demo import play
    logging.getLogger("registry.requests").setLevel(logging.WARNING)  # a line per request would drown the story
    with tempfile.TemporaryDirectory(prefix="seizure-demo-") as folder:  # the demo leaves nothing behind
        play(database_url, folder).extensions["registry.db"].dispose()


def main(argv: list[str] | None = None) -> int:
    try:
        # Without standalone mode, click answers a command's `Exit` with its code instead of raising it.
        code = cli.main(args=argv, prog_name="seizure-registry", standalone_mode=False)
        if isinstance(code, int) and code:
            return code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.NoArgsIsHelpError as error:
        error.show()  # the help text is the answer to a bare command
        return 2
    except click.UsageError as error:
        if isinstance(error, _BadInput):
            error.show()
        else:  # click's own (an unknown option, a value out of range): one line, pointing at the help
            where = error.ctx.command_path if error.ctx else "seizure-registry"
            _say_error(f"{error.format_message().rstrip('.')} (see `{where} --help`)")
        return 2
    except click.ClickException as error:
        error.show()
        return 1
    except click.Abort:
        return 1
    except Exception as error:
        from sqlalchemy.exc import DBAPIError

        from .rules import DomainError
        from .startup import StartupError, reason
        if isinstance(error, StartupError):
            _say_error(str(error))
            return 2
        if isinstance(error, DomainError):
            click.echo(f"refused: {error}", err=True)
            return 1
        if isinstance(error, DBAPIError):  # the database went away or refused mid-command
            _say_error(f"the database failed: {reason(error)}")
            return 1
        raise
    return 0
