"""`seizure-registry`: serve, manage units and tokens, audit the ledger, play the demo."""
from __future__ import annotations

import sys

import click

from . import __version__
from .services.units import OPERATOR, UNIT_KINDS


def _app(upgrade: bool = False):
    """The app on the configured database: `serve` and `db upgrade` bring its schema to the newest; every other
    command refuses a database that is not there yet, naming `db upgrade`."""
    from . import create_app
    return create_app(upgrade=upgrade)


def _session(app):
    return app.extensions["registry.db"].sessions()


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
def db_upgrade() -> None:
    """Bring the database to the newest schema (and create the ledger key if the ledger is empty and has none)."""
    _app(upgrade=True).extensions["registry.db"].dispose()
    click.echo("database at the newest schema")


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
        from sqlalchemy.exc import DBAPIError

        from .rules import DomainError
        from .startup import StartupError, reason
        if isinstance(error, StartupError):
            click.echo(f"seizure-registry: error: {error}", err=True)
            return 2
        if isinstance(error, DomainError):
            click.echo(f"refused: {error}", err=True)
            return 1
        if isinstance(error, DBAPIError):  # the database went away or refused mid-command
            click.echo(f"seizure-registry: error: the database failed: {reason(error)}", err=True)
            return 1
        raise
    return 0
