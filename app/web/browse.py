"""Browse pages: the commitments list (HTML and CSV), sources, actors, indicators."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from app import charts, errors
from app.csvutil import text_rows_to_csv
from app.http.deps import RecordId, SessionDep, SettingsDep, TodayDep
from app.services import browse, catalogue, derived
from app.services.browse import ListQuery
from app.web.auth import OptionalAccountDep
from app.web.templating import TemplatesDep

router = APIRouter()


def _parse(request: Request) -> ListQuery:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return browse.parse_query(params)


def _url(path: str, query: ListQuery, *, paging: bool = False, **extra: str) -> str:
    params = query.params(paging=paging) + list(extra.items())
    return f"{path}?{urlencode(params)}" if params else path


@router.get("/commitments", response_class=HTMLResponse, summary="Commitments")
def commitment_list(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    today: TodayDep,
    account: OptionalAccountDep,
) -> HTMLResponse:
    """Search, filter, facet, sort and page through published commitments.

    Parameters: `q` (words, all required), `status`, `kind`, `maker`, `recipient`
    (actor ids), `tag` (slug), `currency`, `stage`, `announced_from`/`announced_to`
    (YYYY-MM-DD), `review` (due, overdue, never_reviewed, scheduled, unscheduled),
    `overdue=1`, `unsourced=1`, `sort`, `size` (at most 200), and the page tokens
    `after`/`before` from the page's own links. Repeat a filter to allow several values.
    """
    query = _parse(request)
    page = browse.list_page(
        session,
        query,
        today=today,
        window_days=settings.pledges_review_due_days,
        secret=settings.pledges_secret_key,
        # Signed-in editors also see drafts, marked as such.
        include_drafts=account is not None,
    )
    context = {
        "page": page,
        "q": query,
        "sorts": browse.SORTS,
        "review_filters": browse.REVIEW_FILTERS,
        "today": today,
        "is_overdue": derived.is_overdue,
        "url": _url,
        "csv_url": _url("/commitments.csv", query),
        "next_url": _url("/commitments", query, after=page.next_token) if page.next_token else None,
        "previous_url": _url("/commitments", query, before=page.previous_token)
        if page.previous_token
        else None,
    }
    return templates.TemplateResponse(request, "commitments/list.html", context)


@router.get("/commitments.csv", summary="Commitments as CSV")
def commitment_csv(request: Request, settings: SettingsDep, today: TodayDep) -> StreamingResponse:
    """Every commitment matching the same parameters as `/commitments`, as CSV (UTF-8 with BOM).

    Columns are listed in the README. Streams in constant memory.
    """
    query = _parse(request)
    base_url = str(request.base_url).rstrip("/")
    factory = request.app.state.session_factory

    def body() -> Iterator[str]:
        # The response outlives the request's session, so the stream reads in
        # its own read-only session, closed when the last row is sent.
        with factory() as session:
            chunks = browse.csv_chunks(
                session,
                query,
                today=today,
                window_days=settings.pledges_review_due_days,
                base_url=base_url,
            )
            yield from text_rows_to_csv(browse.CSV_HEADER, chunks, bom=True)
            session.rollback()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="commitments.csv"'},
    )


# ---------------------------------------------------------------- sources


@router.get("/sources", response_class=HTMLResponse, summary="Sources")
def source_list(request: Request, session: SessionDep, templates: TemplatesDep) -> HTMLResponse:
    """Published sources, newest first, with how many quotes each supplies."""
    rows, total = catalogue.list_sources(session)
    return templates.TemplateResponse(request, "sources/list.html", {"rows": rows, "total": total})


@router.get("/sources/{source_id}", response_class=HTMLResponse, summary="A source")
def source_detail(
    source_id: RecordId, request: Request, session: SessionDep, templates: TemplatesDep
) -> HTMLResponse:
    """A source's details and every published record it supports, with the quotes."""
    detail = catalogue.get_source(session, source_id)
    if detail is None:
        raise errors.NotFound(f"There is no published source {source_id}.")
    return templates.TemplateResponse(request, "sources/detail.html", {"d": detail})


# ----------------------------------------------------------------- actors


@router.get("/actors", response_class=HTMLResponse, summary="Actors")
def actor_list(request: Request, session: SessionDep, templates: TemplatesDep) -> HTMLResponse:
    """Governments, ministries and other actors, with commitments made and received."""
    rows = catalogue.list_actors(session)
    return templates.TemplateResponse(request, "actors/list.html", {"rows": rows})


@router.get("/actors/{actor_id}", response_class=HTMLResponse, summary="An actor")
def actor_detail(
    actor_id: RecordId, request: Request, session: SessionDep, templates: TemplatesDep
) -> HTMLResponse:
    """What an actor pledged and received, with money totals per currency and stage."""
    detail = catalogue.get_actor(session, actor_id)
    if detail is None:
        raise errors.NotFound(f"There is no published actor {actor_id}.")
    return templates.TemplateResponse(request, "actors/detail.html", {"d": detail})


# ------------------------------------------------------------- indicators


@router.get("/indicators/{indicator_id}", response_class=HTMLResponse, summary="An indicator")
def indicator_detail(
    indicator_id: RecordId, request: Request, session: SessionDep, templates: TemplatesDep
) -> HTMLResponse:
    """An indicator's observations as a line chart and a table, with their quotes."""
    indicator = catalogue.get_indicator(session, indicator_id)
    if indicator is None:
        raise errors.NotFound(f"There is no published indicator {indicator_id}.")
    env = templates.env
    points = [
        (o.period_text or env.filters["period"](o.period), Decimal(o.value))
        for o in indicator.observations
    ]
    chart = (
        charts.line_chart(
            indicator.name,
            points,
            description=(
                f"{len(points)} observations of {indicator.name} ({indicator.unit}); "
                "the same values are in the table below."
            ),
        )
        if points
        else None
    )
    return templates.TemplateResponse(
        request,
        "indicators/detail.html",
        {
            "ind": indicator,
            "chart": chart,
            "commitments": catalogue.visible_commitments(indicator.commitments),
        },
    )
