"""HTML pages: parse the request, call a service, render a template."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from markupsafe import Markup
from sqlalchemy import text

from app import charts, errors
from app.http.deps import RecordId, SessionDep, SettingsDep, TodayDep
from app.services import changes, commitments, derived, review_queue, totals
from app.vocab import DeliveryStatus
from app.web.auth import OptionalAccountDep
from app.web.templating import TemplatesDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse, summary="Dashboard")
def dashboard(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    today: TodayDep,
) -> HTMLResponse:
    """Totals per currency and stage, status breakdown, reviews coming due, recent changes."""
    statuses = commitments.status_breakdown(session)
    context = {
        "totals": totals.flow_totals(session),
        "statuses": statuses,
        "status_chart": _status_chart(statuses),
        "reviews_due": commitments.reviews_coming_due(
            session, today=today, window_days=settings.pledges_review_due_days
        ),
        "recent_changes": changes.recent_public(session, limit=8),
        "review_panel": review_queue.queue_counts(
            session, today=today, window_days=settings.pledges_review_due_days
        ),
        "today": today,
    }
    return templates.TemplateResponse(request, "dashboard.html", context)


def _status_chart(statuses: list[tuple[DeliveryStatus, int]]) -> Markup | None:
    if not statuses:
        return None
    return charts.bar_chart(
        "Published commitments by delivery status",
        [status.label for status, _ in statuses],
        [charts.Series("Commitments", [Decimal(n) for _, n in statuses])],
        description="; ".join(f"{status.label}: {n}" for status, n in statuses)
        + ". The same counts are in the table beside the chart.",
        format_value=lambda v: f"{v:,.0f}",
    )


@router.get("/commitments/{commitment_id}", response_class=HTMLResponse, summary="A commitment")
def commitment_detail(
    commitment_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    today: TodayDep,
    account: OptionalAccountDep,
) -> HTMLResponse:
    """Everything about one commitment: quotes, money flows, reviews, indicators.

    Readers see published commitments; signed-in editors also see drafts.
    """
    editor = account is not None
    page = commitments.commitment_page(session, commitment_id, include_drafts=editor)
    if page is None:
        raise errors.NotFound(f"There is no published commitment {commitment_id}.")
    commitment = page.commitment
    context = {
        "c": commitment,
        "children": page.children,
        "indicators": page.indicators,
        # Pledged against paid per currency: the one totals query (none without money).
        "progress": (
            totals.commitment_progress(session, commitment.id, include_drafts=editor)
            if commitment.money_flows
            else []
        ),
        "overdue": derived.is_overdue(commitment, today),
        "unsourced": derived.is_unsourced(commitment),
        "today": today,
    }
    return templates.TemplateResponse(request, "commitments/detail.html", context)


@router.get("/healthz", summary="Liveness and database check")
def healthz(session: SessionDep) -> JSONResponse:
    """200 with {"status": "ok"} when the database answers; 503 otherwise."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy", not a 500
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
