"""`pledges export …` and `pledges import …`: the lossless CSV format on the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from app import db
from app.cli import _engine, _settings, fail
from app.services import datapackage, exporter, importer, tables

export_app = typer.Typer(
    help="Export tables as lossless CSV, or everything as a data package.", no_args_is_help=True
)

_TABLE_NAMES = ", ".join(spec.name for spec in tables.TABLES)


def _spec(name: str) -> tables.TableSpec:
    try:
        return tables.get(name)
    except KeyError:
        fail(f"unknown table {name!r}; tables: {_TABLE_NAMES}", code=2)


@export_app.command("csv")
def export_csv(
    table: Annotated[str, typer.Option("--table", help=f"One of: {_TABLE_NAMES}.")],
    file: Annotated[
        Path | None, typer.Argument(help="Where to write (default: standard output).")
    ] = None,
    published_only: Annotated[
        bool, typer.Option("--published-only", help="Leave drafts out, as the web export does.")
    ] = False,
) -> None:
    """Write one table as lossless CSV (UTF-8, no BOM, CRLF), drafts included by default."""
    spec = _spec(table)
    engine = _engine(_settings())
    factory = db.make_session_factory(engine)
    chunks = exporter.stream_csv(factory, spec, include_drafts=not published_only)
    if file is None:
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk.encode())
        out.flush()
        return
    partial = file.with_name(file.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"cannot write {file}: {exc.strerror}")
    # Renamed only when complete: a failed export never leaves a file that looks whole.
    partial.replace(file)
    typer.echo(f"wrote {file}", err=True)


@export_app.command("datapackage")
def export_datapackage(
    directory: Annotated[Path, typer.Argument(help="Directory to write into (created).")],
    published_only: Annotated[
        bool, typer.Option("--published-only", help="Leave drafts out, as the web export does.")
    ] = False,
) -> None:
    """Write datapackage.json and data/<table>.csv for every table."""
    import datetime as dt

    engine = _engine(_settings())
    factory = db.make_session_factory(engine)
    try:
        written = datapackage.write_dir(
            factory,
            directory,
            created=dt.datetime.now(dt.UTC),
            include_drafts=not published_only,
        )
    except OSError as exc:
        fail(f"cannot write to {directory}: {exc.strerror}")
    typer.echo(f"wrote {len(written)} files to {directory}", err=True)


def import_command(
    file: Annotated[Path, typer.Argument(help="The CSV file, in the lossless export format.")],
    table: Annotated[str, typer.Option("--table", help=f"One of: {_TABLE_NAMES}.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every row's change.")
    ] = False,
) -> None:
    """Import a CSV: rows with an existing id are updated, others created. All or nothing."""
    spec = _spec(table)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    engine = _engine(_settings())
    factory = db.make_session_factory(engine)
    with db.unit_of_work(factory) as session, _progress(len(data)) as progress:
        report = importer.import_csv(
            session,
            spec,
            data,
            dry_run=dry_run,
            label=f"import of {file.name}",
            progress=progress,
        )
        if not report.ok:
            session.rollback()
    if not report.ok:
        for problem in importer.sort_problems(report.problems):
            typer.echo(f"pledges: {file.name}: {problem}", err=True)
        typer.echo(
            f"pledges: nothing imported ({len(report.problems)} problem"
            f"{'' if len(report.problems) == 1 else 's'})",
            err=True,
        )
        raise typer.Exit(1)
    if dry_run or verbose:
        for change in report.rows:
            if change.action != "unchanged" or verbose:
                typer.echo(change.describe())
    typer.echo(report.summary + (" (dry run: nothing saved)" if dry_run else ""))


class _progress:
    """A Rich progress bar on a terminal for big files; silent otherwise."""

    def __init__(self, size: int) -> None:
        self.enabled = size > 1_000_000 and sys.stderr.isatty()
        self.bar: object | None = None

    def __enter__(self) -> importer.Progress | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(stderr=True), transient=True)
        bar.start()
        task = bar.add_task("importing", total=None)
        self.bar = bar

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()  # type: ignore[attr-defined]
