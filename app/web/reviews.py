"""The review queue (`/reviews/due`, `.csv`) and the calendar feed (`/reviews.ics`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.orm import Session

from app.csvutil import rows_to_csv
from app.http import params
from app.http.deps import SessionDep, SettingsDep, TodayDep
from app.services import review_queue
from app.services.derived import ReviewState
from app.web.feedformats import iter_ics
from app.web.templating import TemplatesDep

router = APIRouter()


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def stream_body(
    request: Request,
    produce: Callable[[Session], Iterable[str] | Iterable[bytes]],
    *,
    media_type: str,
    headers: dict[str, str],
) -> StreamingResponse:
    """Stream a body read in a session of its own.

    The request's session is closed once the route returns, before a
    streamed body is sent, so the rows are read in a session that lives as
    long as the stream. Filters are checked before, so bad input is still a 4xx.
    """
    factory = request.app.state.session_factory

    def body() -> Iterator[str | bytes]:
        with factory() as session:
            yield from produce(session)

    return StreamingResponse(body(), media_type=media_type, headers=headers)


def stream_csv(
    request: Request, filename: str, produce: Callable[[Session], Iterable[str]]
) -> StreamingResponse:
    return stream_body(
        request,
        produce,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reviews/due", response_class=HTMLResponse, summary="Review queue")
def review_queue_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    today: TodayDep,
    actor: params.ActorParam = None,
    role: params.RoleParam = None,
    tag: params.TagParam = None,
    state: params.StateParam = None,
    size: params.SizeParam = None,
    after: params.AfterParam = None,
    before: params.BeforeParam = None,
) -> HTMLResponse:
    """Published commitments whose review is overdue or due within the window, most urgent first.

    Listed a page at a time: `size` rows (1–500, default 100), and the page
    tokens `after`/`before` from the page's own links; the CSV has every row.
    """
    filters, labels = params.queue_filters(session, actor, role, tag)
    window = settings.pledges_review_due_days
    page, next_url, previous_url, first_url = params.queue_page(
        session,
        today=today,
        window_days=window,
        filters=filters,
        state=state,
        size=size,
        after=after,
        before=before,
        secret=settings.pledges_secret_key,
        path="/reviews/due",
        default_size=review_queue.QUEUE_PAGE_SIZE,
    )
    counts = review_queue.queue_counts(session, today=today, window_days=window, filters=filters)
    query = filters.query_string()
    csv_query = "&".join(part for part in (query, f"state={state}" if state else "") if part)
    # The state links keep the filters and a chosen page size, and start at page one.
    size_part = f"size={page.size}" if page.size != review_queue.QUEUE_PAGE_SIZE else ""
    sized = "&".join(part for part in (query, size_part) if part)
    return templates.TemplateResponse(
        request,
        "reviews/due.html",
        {
            "items": page.items,
            "page": page,
            "next_url": next_url,
            "previous_url": previous_url,
            "first_url": first_url,
            "state_query": f"?{sized}" if sized else "",
            "counts": counts,
            "labels": labels,
            "filters": filters,
            "query": f"?{query}" if query else "",
            "csv_query": f"?{csv_query}" if csv_query else "",
            "state": state,
            "today": today,
            "window_days": window,
        },
    )


@router.get("/reviews/due.csv", summary="Review queue as CSV")
def review_queue_csv(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    actor: params.ActorParam = None,
    role: params.RoleParam = None,
    tag: params.TagParam = None,
    state: params.StateParam = None,
) -> StreamingResponse:
    """The review queue with the same filters, every matching row, as CSV."""
    filters, _ = params.queue_filters(session, actor, role, tag)
    review_state = ReviewState(state) if state else None
    window = settings.pledges_review_due_days
    base_url = _base_url(request)

    def produce(read: Session) -> Iterable[str]:
        rows = review_queue.iter_queue_csv(
            read,
            today=today,
            window_days=window,
            base_url=base_url,
            filters=filters,
            state=review_state,
        )
        return rows_to_csv(review_queue.QUEUE_CSV_HEADER, rows)

    return stream_csv(request, "reviews-due.csv", produce)


@router.get("/reviews.ics", summary="Calendar of review dates and deadlines")
def review_calendar(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    actor: params.ActorParam = None,
    role: params.RoleParam = None,
    tag: params.TagParam = None,
) -> StreamingResponse:
    """An iCalendar feed: an all-day event per next review date and per deadline.

    Takes the review queue's filters. Each event's UID is stable
    (`commitment-<id>-review@<host>`, `commitment-<id>-deadline@<host>`), so
    subscribed calendars update events instead of duplicating them.
    """
    filters, labels = params.queue_filters(session, actor, role, tag)
    title = "Pledge Tracker: reviews and deadlines"
    if labels.actor is not None:
        title += f" — {labels.actor.display_name}"
    if labels.tag is not None:
        title += f" — {labels.tag.name}"
    base_url = _base_url(request)
    host = request.url.hostname or "localhost"
    window = settings.pledges_review_due_days

    def produce(read: Session) -> Iterable[bytes]:
        return iter_ics(
            review_queue.iter_dated_commitments(read, filters),
            title=title,
            today=today,
            window_days=window,
            locale=settings.pledges_locale,
            base_url=base_url,
            host=host,
        )

    return stream_body(
        request,
        produce,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="reviews.ics"'},
    )
