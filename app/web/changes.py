"""The public change list (`/changes`), its Atom feed and its CSV."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from app.csvutil import rows_to_csv
from app.http import params
from app.http.deps import SessionDep
from app.services import feeds
from app.vocab import ChangeAction
from app.web.feedformats import render_atom
from app.web.reviews import stream_csv
from app.web.templating import TemplatesDep

router = APIRouter()


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/changes", response_class=HTMLResponse, summary="Recent changes")
def change_list(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    entity_type: params.TypeParam = None,
    action: params.ActionParam = None,
    entity_id: params.IdParam = None,
    before: params.ChangeBeforeParam = None,
) -> HTMLResponse:
    """Published changes, newest first, 50 a page (`before` pages by id)."""
    filters = params.change_filters(entity_type, action, entity_id)
    page = feeds.list_changes(session, filters, before_id=before)
    query = filters.query_string()
    return templates.TemplateResponse(
        request,
        "changes/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query,
            "entity_types": feeds.PUBLIC_ENTITY_TYPES,
            "actions": [a.value for a in ChangeAction],
            "first_page": before is None,
        },
    )


@router.get("/changes.atom", summary="Recent changes as an Atom feed")
def change_feed(
    request: Request,
    session: SessionDep,
    entity_type: params.TypeParam = None,
    action: params.ActionParam = None,
    entity_id: params.IdParam = None,
) -> Response:
    """The newest 50 published changes matching the filters, as Atom (RFC 4287)."""
    filters = params.change_filters(entity_type, action, entity_id)
    page = feeds.list_changes(session, filters)
    base_url = _base_url(request)
    query = filters.query_string()
    suffix = f"?{query}" if query else ""
    body = render_atom(
        page.items,
        title="Pledge Tracker: changes" + (f" ({query.replace('&', ', ')})" if query else ""),
        self_url=f"{base_url}/changes.atom{suffix}",
        html_url=f"{base_url}/changes{suffix}",
        base_url=base_url,
        now=request.app.state.clock.now(),
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/changes.csv", summary="Published changes as CSV")
def change_csv(
    request: Request,
    session: SessionDep,
    entity_type: params.TypeParam = None,
    action: params.ActionParam = None,
    entity_id: params.IdParam = None,
) -> StreamingResponse:
    """Every published change matching the filters, newest first, as CSV."""
    filters = params.change_filters(entity_type, action, entity_id)
    base_url = _base_url(request)

    def produce(read: Session) -> Iterable[str]:
        return rows_to_csv(
            feeds.CHANGES_CSV_HEADER,
            (feeds.changes_csv_row(item, base_url) for item in feeds.iter_changes(read, filters)),
        )

    return stream_csv(request, "changes.csv", produce)
