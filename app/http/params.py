"""Query parameters of the reports, read the same way by the pages and the API.

The funding report, the review queue and the change list each take the same
filters on their HTML page, their CSV and their `/api/v1/` form; parsing them
here (one place) keeps a filter from meaning two things on two surfaces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import Query, Request
from sqlalchemy.orm import Session

from app import errors
from app.models import MAX_ID
from app.services import funding, review_queue
from app.services.derived import ReviewState
from app.services.feeds import ChangeFilters
from app.services.review_queue import DueFilters, FilterLabels
from app.vocab import FlowStage

# ------------------------------------------------------------ funding report

FUNDING_PARAMS = (
    "provider",
    "receiver",
    "stage",
    "period",
    "currency",
    "by",
    "convert_to",
    "rates",
)
# The listing's page: its size, and a signed place in the list (the page's own links).
FUNDING_PAGING = ("size", "after", "before")


def funding_query(
    request: Request, session: Session, *, include_drafts: bool
) -> funding.FundingQuery:
    """The report's parameters; readers (not signed in) may name published actors only."""
    raw = {name: request.query_params.get(name) for name in FUNDING_PARAMS}
    for name, value in raw.items():
        if value is not None and len(value) > 300:
            raise errors.BadRequest(f"{name}: too long")
    return funding.parse_query(session, raw, include_drafts=include_drafts)


def funding_paging(
    request: Request, query: funding.FundingQuery, secret: str, *, default_size: int
) -> funding.FlowPaging:
    """Which page of flows to list; 400 for a bad page size or a tampered page token."""
    raw = {name: request.query_params.get(name) for name in FUNDING_PAGING}
    for name, value in raw.items():
        if value is not None and len(value) > 300:
            raise errors.BadRequest(f"{name}: too long")
    return funding.parse_paging(raw, secret=secret, basis=query.basis, default_size=default_size)


@dataclass(frozen=True)
class Pager:
    """The listing's links: each keeps the report's filters and the page size."""

    page: funding.FlowPage
    next_url: str | None
    previous_url: str | None
    first_url: str | None
    superseded_url: str | None  # the superseded flows, when none are on this page
    cell_href: Callable[[funding.Bucket, str, FlowStage], str]


def funding_pager(
    report: funding.FundingReport,
    secret: str,
    *,
    path: str = "/funding",
    default_size: int = funding.FLOW_PAGE_SIZE,
) -> Pager:
    """The links of the listing at `path` (the page, or the API with its own default size)."""
    assert report.page is not None
    page, q = report.page, report.query
    keep = {"size": str(page.size)} if page.size != default_size else {}

    # The filters once; each link adds its page token (URL-safe base64: no quoting).
    base = urlencode({**q.params(), **keep})

    def at(fragment: str, **place: funding.FlowKey) -> str:
        tokens = "&".join(
            f"{name}={funding.page_token(key, secret=secret, basis=q.basis)}"
            for name, key in place.items()
        )
        params = "&".join(part for part in (base, tokens) if part)
        return f"{path}?{params}{fragment}" if params else f"{path}{fragment}"

    # A figure's link goes to its flows: on this page when they start here,
    # else to the page that starts with them.
    here = {line.anchor for line in report.lines}
    if page.continued and report.lines:
        here.discard(report.lines[0].anchor)

    def cell_href(bucket: funding.Bucket, currency: str, stage: FlowStage) -> str:
        anchor = funding.cell_anchor(bucket, currency, stage)
        if anchor in here:
            return f"#{anchor}"
        return at(f"#{anchor}", after=funding.group_start(bucket, currency, stage))

    fragment = "#flows" if path == "/funding" else ""
    return Pager(
        page=page,
        next_url=at(fragment, after=page.next_key) if page.next_key else None,
        previous_url=at(fragment, before=page.previous_key) if page.previous_key else None,
        first_url=at(fragment) if page.first != 1 else None,
        superseded_url=(
            at("#excluded", after=funding.SUPERSEDED_START)
            if report.excluded_count and not report.excluded
            else None
        ),
        cell_href=cell_href,
    )


# ------------------------------------------------------------ review queue

ActorParam = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="Only commitments this actor made or receives."),
]
RoleParam = Annotated[
    Literal["maker", "recipient"] | None,
    Query(description="With `actor`: only where the actor has this role."),
]
StateParam = Annotated[
    Literal["overdue", "due"] | None,
    Query(description="Only reviews overdue, or only those due (not yet overdue)."),
]
TagParam = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="Only commitments with this tag (slug)."),
]
SizeParam = Annotated[
    int | None,
    Query(
        ge=1,
        le=review_queue.MAX_QUEUE_PAGE_SIZE,
        description=f"Rows a page, 1–{review_queue.MAX_QUEUE_PAGE_SIZE}.",
    ),
]
AfterParam = Annotated[
    str | None,
    Query(max_length=300, description="Page token from the next-page link: the rows after it."),
]
BeforeParam = Annotated[
    str | None,
    Query(
        max_length=300,
        description="Page token from the previous-page link: the rows before it.",
    ),
]


def queue_filters(
    session: Session, actor: int | None, role: str | None, tag: str | None
) -> tuple[DueFilters, FilterLabels]:
    if role is not None and actor is None:
        raise errors.BadRequest("role needs an actor (e.g. actor=1&role=maker).")
    filters = DueFilters(actor_id=actor, role=role, tag=tag)
    # A filter naming nothing is a bad request (FilterError is a BadRequest), not a 404.
    return filters, review_queue.resolve_filters(session, filters)


def queue_page(
    session: Session,
    *,
    today: dt.date,
    window_days: int,
    filters: DueFilters,
    state: str | None,
    size: int | None,
    after: str | None,
    before: str | None,
    secret: str,
    path: str,
    default_size: int,
) -> tuple[review_queue.QueuePage, str | None, str | None, str | None]:
    """One page of the queue and its next, previous and first-page links (at `path`).

    The links keep the filters, the state and the page size; a bad page size
    or an altered page token is a 400.
    """
    paging = review_queue.parse_paging(
        size=size if size is not None else default_size,
        after=after,
        before=before,
        secret=secret,
    )
    page = review_queue.queue_page(
        session,
        today=today,
        window_days=window_days,
        filters=filters,
        state=ReviewState(state) if state else None,
        paging=paging,
    )
    keep = list(parse_qsl(filters.query_string()))
    if state:
        keep.append(("state", state))
    if paging.size != default_size:
        keep.append(("size", str(paging.size)))

    def url(*token: tuple[str, str]) -> str:
        params = urlencode([*keep, *token])
        return f"{path}?{params}" if params else path

    next_url = (
        url(("after", review_queue.page_token(page.next_key, secret))) if page.next_key else None
    )
    previous_url = (
        url(("before", review_queue.page_token(page.previous_key, secret)))
        if page.previous_key
        else None
    )
    first_url = url() if page.first != 1 else None
    return page, next_url, previous_url, first_url


# ------------------------------------------------------------ changes

TypeParam = Annotated[
    str | None,
    Query(alias="type", max_length=32, description="Kind of record: commitments, actors, …"),
]
ActionParam = Annotated[
    str | None, Query(max_length=16, description="create, update, review, publish, …")
]
IdParam = Annotated[
    int | None, Query(alias="id", ge=1, le=MAX_ID, description="With type: one record.")
]
ChangeBeforeParam = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="Keyset paging: changes with a smaller id."),
]


def change_filters(
    entity_type: str | None, action: str | None, entity_id: int | None
) -> ChangeFilters:
    return ChangeFilters(entity_type=entity_type, action=action, entity_id=entity_id).validate()
