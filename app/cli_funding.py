"""`pledges rates import` and `pledges report funding`.

The helpers `_settings`, `_engine` and `fail` live in app.cli, which imports
this module to register the commands; they are imported inside each command
to keep the import graph one-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session

from app import db, money

rates_app = typer.Typer(help="Exchange rates: import published tables.", no_args_is_help=True)
report_app = typer.Typer(help="Reports, printed as tables.", no_args_is_help=True)


@rates_app.command("import")
def rates_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="ECB eurofxref-hist.csv (or its .zip), or a date,base,quote,rate,source CSV.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(help="Rate table name for rows that give none (default for ECB files)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Import exchange rates, all or nothing; re-importing the same file changes nothing."""
    from app.cli import _engine, _settings, _upgrade, fail
    from app.services import rates

    settings = _settings()
    engine = _engine(settings)
    _upgrade(engine)
    try:
        text = rates.read_file(file)
    except rates.RateImportError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    err = Console(stderr=True)
    factory = db.make_session_factory(engine)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {file.name}", total=None)
        try:
            with db.unit_of_work(factory) as session:
                result = rates.import_rates(
                    session,
                    text,
                    filename=file.name,
                    default_source=source,
                    progress_total=lambda n: bar.update(task, total=n),
                    progress=lambda n: bar.advance(task, n),
                )
        except rates.RateImportError as exc:
            bar.stop()
            for problem in exc.shown:
                typer.echo(f"  {problem}", err=True)
            fail(str(exc))
    typer.echo(result.message)


@report_app.command("funding")
def report_funding(
    provider: Annotated[
        str | None, typer.Option(help="Actor id or name (includes its sub-units).")
    ] = None,
    receiver: Annotated[
        str | None, typer.Option(help="Actor id or name (includes its sub-units).")
    ] = None,
    stage: Annotated[
        str | None, typer.Option(help="pledge, commitment, disbursement or expenditure.")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="Years within this period: 2020, FY2020-21, 2019-01-01/.., 2014/.., ../2020"
        ),
    ] = None,
    by: Annotated[str, typer.Option(help="calendar-year or fiscal-year (the provider's).")] = (
        "calendar-year"
    ),
    currency: Annotated[
        str | None,
        typer.Option(help="Also convert into this reporting currency (approximate)."),
    ] = None,
    flow_currency: Annotated[str | None, typer.Option(help="Only flows in this currency.")] = None,
    rates_table: Annotated[
        str | None, typer.Option("--rates", help="Convert with this rate table only.")
    ] = None,
) -> None:
    """Print the funding report: the same figures as /funding and /funding.csv."""
    from app.cli import _engine, _settings, fail
    from app.services import funding

    settings = _settings()
    engine = _engine(settings)
    if not db.is_up_to_date(engine):
        fail("the database schema is not up to date; run `pledges db upgrade`")
    factory = db.make_session_factory(engine)
    raw = {
        "provider": provider,
        "receiver": receiver,
        "stage": stage,
        "period": period,
        "by": by,
        "convert_to": currency,
        "currency": flow_currency,
        "rates": rates_table,
    }
    with db.unit_of_work(factory) as session:
        try:
            print_funding_report(session, raw, Console(), settings.pledges_locale)
        except funding.FundingQueryError as exc:
            fail(str(exc), code=2)


def print_funding_report(
    session: Session, raw: Mapping[str, str | None], console: Console, locale: str
) -> None:
    """Print the report for these parameters (as /funding takes them): the command's output.

    FundingQueryError names a parameter that cannot be used.
    """
    from app.services import funding

    # The operator of the command line may name draft actors too.
    query = funding.parse_query(session, raw, include_drafts=True)
    # The figures count every flow; of the listing, only the superseded
    # flows are printed (they explain what the totals leave out).
    report = funding.funding_report(
        session,
        query,
        paging=funding.FlowPaging(size=funding.MAX_FLOW_PAGE_SIZE, after=funding.SUPERSEDED_START),
    )
    if not report.flow_count and not report.excluded_count:
        console.print("No money flows match.")
        return
    year_label = "Fiscal year" if query.basis is funding.Basis.fiscal_year else "Year"
    table = Table(title="Funding by year, currency and stage (exact totals)")
    table.add_column(year_label)
    table.add_column("Currency")
    for stage_ in funding.STAGE_LABELS.values():
        table.add_column(stage_.capitalize(), justify="right")
    for row in [*report.rows, *report.totals]:
        cells = [_figure(cell, locale) for cell in row.cells.values()]
        label = row.bucket.label if row.bucket else "All years"
        end = bool(report.rows) and row is report.rows[-1]
        table.add_row(label, row.currency, *cells, end_section=end)
    console.print(table)
    if query.convert_to and report.converted_total is not None:
        conv = Table(
            title=f"Approximately, in {query.convert_to} (converted here, not by the source)"
        )
        conv.add_column(year_label)
        for stage_ in funding.STAGE_LABELS.values():
            conv.add_column(stage_.capitalize(), justify="right")
        for crow in [*report.converted_rows, report.converted_total]:
            label = crow.bucket.label if crow.bucket else "All years"
            conv.add_row(label, *(_converted(c, locale) for c in crow.cells.values()))
        console.print(conv)
        for leg in report.legs:
            console.print(f"  rate used: {leg.text} on {leg.rate_on} ({leg.source_name})")
    for line in report.excluded:
        f = line.flow
        by_ = f" by commitment {line.superseded_by.id}" if line.superseded_by else ""
        console.print(
            f"  not counted (superseded{by_}): {f.stage} "
            f"{money.format_money(f.amount, f.currency, 'exact', locale)} — "
            f"commitment {f.commitment.id}"
        )
    if report.excluded_count > len(report.excluded):
        console.print(
            f"  … and {report.excluded_count - len(report.excluded)} more superseded flows "
            "not counted: /funding lists them all"
        )


def _figure(cell: object, locale: str) -> str:
    from app.services.totals import Total
    from app.vocab import qualifier_words

    assert isinstance(cell, Total)
    if not cell.flow_count:
        return "—"
    words = qualifier_words(cell.qualifier)
    text = money.format_money(cell.amount, cell.currency, "exact", locale)
    return f"{words} {text}" if words else text


def _converted(cell: object, locale: str) -> str:
    from app.services.funding import ConvertedCell
    from app.vocab import qualifier_words

    assert isinstance(cell, ConvertedCell)
    if not cell.flow_count:
        return "—"
    text = ""
    if cell.converted:
        # "≈" for the conversion, then what the amounts as stated make of it.
        if cell.approximate:
            stated = cell.stated_qualifier
            words = "≈ " + ("" if stated == "approximately" else qualifier_words(stated))
        else:
            words = qualifier_words(cell.qualifier)
        amount = money.format_money(cell.rounded, cell.currency, "exact", locale)
        text = f"{words.strip()} {amount}" if words.strip() else amount
    if cell.missing:
        text += f" ({cell.missing} without a rate)"
    return text.strip()
