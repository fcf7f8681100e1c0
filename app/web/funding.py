"""The funding report (/funding, /funding.csv) and the public list of exchange rates (/rates)."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from markupsafe import Markup

from app import charts, errors, money
from app.csvutil import rows_to_csv
from app.http import params
from app.http.deps import SessionDep, SettingsDep, currency_filter
from app.services import catalogue, funding, rates
from app.vocab import FlowStage, qualifier_words
from app.web.auth import OptionalAccountDep
from app.web.templating import TemplatesDep

router = APIRouter()


def _prefixes(qualifiers: list[str]) -> list[str]:
    # As the tables' figures say it: "up to €40m".
    return [f"{words} " if (words := qualifier_words(q)) else "" for q in qualifiers]


@functools.lru_cache(maxsize=8192)
def _short_money(value: str, currency: str, locale: str) -> str:
    # Babel's compact format is slow (~0.5 ms) and a report's charts format
    # hundreds of figures, the same ones request after request.
    return money.format_money(
        Decimal(value).quantize(Decimal(1).scaleb(-money.currency_exponent(currency))),
        currency,
        style="short",
        locale=locale,
    )


def _charts(report: funding.FundingReport, locale: str) -> list[tuple[funding.ChartData, Markup]]:
    drawn = []
    for chart in report.charts:
        currency = chart.currency

        def fmt(value: Decimal, currency: str = currency) -> str:
            return _short_money(str(value), currency, locale)

        approx = " (approximate: converted)" if chart.approximate else ""
        svg = charts.bar_chart(
            f"Pledged and paid by year, {currency}{approx}",
            chart.labels,
            [
                charts.Series("Pledged", chart.pledged, _prefixes(chart.pledged_qualifiers)),
                charts.Series("Paid (disbursed)", chart.paid, _prefixes(chart.paid_qualifiers)),
            ],
            description=f"Bars of the amounts pledged and disbursed in {currency} for each "
            "year; the table below the chart gives the same figures.",
            format_value=fmt,
        )
        drawn.append((chart, svg))
    return drawn


@router.get("/funding", response_class=HTMLResponse, summary="Funding report")
def funding_report(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    account: OptionalAccountDep,
) -> HTMLResponse:
    """Money pledged, committed, disbursed and spent, per currency, stage and year.

    Parameters: `provider`, `receiver` (actor id or name; includes the actor's
    sub-units), `stage`, `period` (e.g. 2020, FY2020-21, 2019-01-01/.., 2014/.., ../2020),
    `currency` (flows in this currency only), `by` (calendar-year or
    fiscal-year: the provider's), `convert_to` (a reporting currency; converted
    figures are approximate) and `rates` (one rate table by name).

    The figures and charts count every matching flow; the flows behind them
    are listed a page at a time: `size` flows a page (1–500, default 100), and
    the page tokens `after`/`before` from the page's own links.
    """
    report: funding.FundingReport | None = None
    error: str | None = None
    paging_refused = False
    try:
        query = params.funding_query(request, session, include_drafts=account is not None)
    except errors.BadRequest as exc:
        # A refused filter is shown on the form, with what was typed, not as an error page.
        query, error = funding.FundingQuery(), exc.message
        form = {name: request.query_params.get(name) or "" for name in params.FUNDING_PARAMS}
    else:
        form = {
            **dict.fromkeys(params.FUNDING_PARAMS, ""),
            "by": query.basis.value,
            **query.params(),
        }
        try:
            paging = params.funding_paging(
                request,
                query,
                settings.pledges_secret_key,
                default_size=funding.FLOW_PAGE_SIZE,
            )
        except errors.BadRequest as exc:
            # The filters are fine; the page link is not: say so, and offer page one.
            error, paging_refused = exc.message, True
        else:
            report = funding.funding_report(session, query, paging=paging)
    actors = catalogue.published_actors(session)
    context = {
        "report": report,
        "q": query,
        "actors": actors,
        "stages": list(FlowStage),
        "stage_labels": funding.STAGE_LABELS,
        "currencies": [code for code, _name in money.all_currencies()],
        "rate_tables": [name for name, *_ in rates.list_rates(session, per_page=1).sources],
        "charts": _charts(report, settings.pledges_locale) if report else [],
        "cell_anchor": funding.cell_anchor,
        "groups": report.cell_lines() if report else {},
        "pager": params.funding_pager(report, settings.pledges_secret_key) if report else None,
        # A chosen page size survives a change of filters (a hidden field of the form).
        "page_size": (
            report.page.size
            if report and report.page and report.page.size != funding.FLOW_PAGE_SIZE
            else None
        ),
        "form": form,
        "error": error,
        "error_field": error.split(":", 1)[0] if error else None,
        "paging_refused": paging_refused,
    }
    return templates.TemplateResponse(
        request, "funding/report.html", context, status_code=400 if error else 200
    )


@router.get("/funding.csv", summary="Funding report as CSV")
def funding_report_csv(
    request: Request, session: SessionDep, account: OptionalAccountDep
) -> StreamingResponse:
    """The figures of /funding with the same parameters, one row per year, currency and stage."""
    query = params.funding_query(request, session, include_drafts=account is not None)
    # The figures only: the CSV lists no flows, so none are loaded.
    report = funding.funding_report(session, query, paging=None, flow_ids=True)
    body = rows_to_csv(funding.CSV_HEADER, funding.csv_rows(report))
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="funding.csv"'},
    )


@router.get("/rates", response_class=HTMLResponse, summary="Exchange rates")
def rate_list(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    currency: Annotated[str | None, Query(max_length=3)] = None,
    source: Annotated[str | None, Query(max_length=300)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Imported exchange rates, newest first; filter by `currency` or rate table (`source`)."""
    code = currency_filter(currency)
    listing = rates.list_rates(session, currency=code, source=source or None, page=page)
    return templates.TemplateResponse(
        request,
        "rates/list.html",
        {"listing": listing, "currency": code or "", "source": source or ""},
    )
