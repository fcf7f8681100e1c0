"""The `pledges` command.

Every command reads the settings once, reports a problem in one line on
standard error and exits non-zero; no traceback reaches the user for a
problem they can fix.
"""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from sqlalchemy import Engine

from app import cli_funding, db
from app.config import ConfigError, Settings, load_settings

app = typer.Typer(
    help="Pledge Tracker: a sourced record of public commitments and pledged money.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Database schema: upgrade, downgrade, check, current.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(cli_funding.rates_app, name="rates")
app.add_typer(cli_funding.report_app, name="report")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"pledges: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc), code=2)


def _engine(settings: Settings) -> Engine:
    engine = db.engine_for(settings)
    try:
        db.check_connection(engine)
    except db.DatabaseUnavailable as exc:
        fail(str(exc))
    return engine


def _upgrade(engine: Engine) -> None:
    before = db.current_revision(engine)
    db.upgrade(engine)
    after = db.current_revision(engine)
    if before != after:
        typer.echo(f"database migrated: {before or 'empty'} -> {after}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo data if the database has none.")
    ] = False,
    migrate: Annotated[
        bool, typer.Option(help="Bring the schema up to date before serving.")
    ] = True,
) -> None:
    """Serve the web app (migrating the database first)."""
    import uvicorn

    from app.main import create_app

    settings = _settings()
    engine = _engine(settings)
    if migrate:
        _upgrade(engine)
    elif not db.is_up_to_date(engine):
        fail("the database schema is not up to date; run `pledges db upgrade`")
    if demo:
        _load_demo(engine, only_if_empty=True)
    typer.echo(f"Pledge Tracker at http://{host}:{port}/", err=True)
    uvicorn.run(create_app(settings, engine=engine), host=host, port=port, log_level="info")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    engine = _engine(_settings())
    db.upgrade(engine, revision)
    typer.echo(f"at revision {db.current_revision(engine) or 'base (empty)'}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops tables.")] = False,
) -> None:
    """Revert migrations down to REVISION. Dropping tables loses their data."""
    if not yes:
        fail("downgrade drops tables and their data; repeat with --yes to confirm", code=2)
    engine = _engine(_settings())
    db.downgrade(engine, revision)
    typer.echo(f"at revision {db.current_revision(engine) or 'base (empty)'}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the newest one."""
    engine = _engine(_settings())
    typer.echo(f"current: {db.current_revision(engine) or 'base (empty)'}")
    typer.echo(f"head:    {db.head_revision()}")


@db_app.command("check")
def db_check() -> None:
    """Exit 0 if the database is reachable and its schema is up to date, else 1."""
    engine = _engine(_settings())
    current, head = db.current_revision(engine), db.head_revision()
    if current != head:
        fail(
            f"schema is at {current or 'base (empty)'}, newest is {head}; run `pledges db upgrade`"
        )
    typer.echo(f"ok: database reachable, schema at {head}")


def _load_demo(engine: Engine, *, only_if_empty: bool) -> None:
    from sqlalchemy import func, select

    from app.models import Commitment
    from app.services.demo import load_demo

    factory = db.make_session_factory(engine)
    with db.unit_of_work(factory) as session:
        if only_if_empty and session.scalar(select(func.count()).select_from(Commitment)):
            typer.echo("database has data already; demo not loaded", err=True)
            return
        result = load_demo(session)
    typer.echo(result.message, err=True)


@demo_app.command("load")
def demo_load() -> None:
    """Load the UK–France joint statement of 28 November 2020 (does nothing if loaded)."""
    settings = _settings()
    engine = _engine(settings)
    _upgrade(engine)
    _load_demo(engine, only_if_empty=False)


def _register_subcommands() -> None:
    # Imported here, after this module's helpers exist: the command modules
    # import `fail`, `_settings` and `_engine` from app.cli.
    from app.cli_api import token_app
    from app.cli_browse import synth
    from app.cli_editing import user_app
    from app.cli_export import export_app, import_command

    demo_app.command("synth")(synth)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(export_app, name="export")
    app.command("import")(import_command)


_register_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
