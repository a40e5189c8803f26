"""`seizure-registry`: serve, manage units and tokens, audit the ledger, play the demo."""
from __future__ import annotations

import sys

import click

from .services.units import OPERATOR, UNIT_KINDS


def _app():
    from . import create_app
    from .migrate import upgrade
    app = create_app()
    upgrade(app.config["DATABASE_URL"])
    return app


def _session(app):
    return app.extensions["registry.db"].sessions()


@click.group()
def cli() -> None:
    """The seizure registry. Configuration comes from REGISTRY_* environment variables."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Upgrade the database to the newest schema, then serve with gunicorn."""
    from .server import run
    app = _app()
    click.echo(f"database: {app.config['DATABASE_URL'].split('@')[-1]}", err=True)
    run(host, port, workers)


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--grant-to", "grantee", default=None, metavar="ROLE",
              help="PostgreSQL: then grant ROLE the service's privileges (re-run after every upgrade)")
def db_upgrade(grantee: str | None) -> None:
    """Bring the database to the newest schema; with --grant-to, let the service's role use it."""
    from . import create_app
    from .migrate import upgrade
    from .roles import GrantRefused, check_grantee, grant_service_role
    url = create_app().config["DATABASE_URL"]
    try:
        if grantee is not None:
            check_grantee(url, grantee)
        upgrade(url)
        click.echo("database at the newest schema")
        if grantee is not None:
            click.echo(f"{grantee}: {len(grant_service_role(url, grantee))} grants applied")
    except GrantRefused as error:  # a configuration error: one line, nothing migrated or granted
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


@cli.group()
def units() -> None:
    """Units (courts, police units, auditors, operators)."""


@units.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(UNIT_KINDS))
@click.option("--parent", default=None, help="code of the superior unit")
def units_add(code: str, name: str, kind: str, parent: str | None) -> None:
    """Create a unit; its first token is the last line printed."""
    from .services.units import create_unit
    app = _app()
    with app.app_context():
        issued = create_unit(_session(app), OPERATOR, code, name, kind, parent)
    click.echo(f"unit {code} ({kind}) created; token id {issued.token_id}; keep this token secret:")
    click.echo(issued.token)


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
    from .demo import play
    play(database_url)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="seizure-registry", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as error:
        error.show()
        return 2
    except click.ClickException as error:
        error.show()
        return 1
    except click.Abort:
        return 1
    except Exception as error:
        from .rules import DomainError
        if isinstance(error, DomainError):
            click.echo(f"refused: {error}", err=True)
            return 1
        raise
    return 0
