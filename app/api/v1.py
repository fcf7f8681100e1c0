"""JSON API, version 1: the same services as the pages, rendered as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from app.api import schemas
from app.models import Actor, Citation, Commitment, MoneyFlow, Review, Source
from app.periods import Period
from app.services import commitments, tokens
from app.web.deps import RecordId, SessionDep

PROBLEM: dict[str, Any] = {
    "model": schemas.Problem,
    "content": {"application/problem+json": {}},
}
ERRORS: dict[int | str, dict[str, Any]] = {400: PROBLEM, 401: PROBLEM, 404: PROBLEM}


def bearer_token(request: Request, session: SessionDep) -> tokens.Caller | None:
    """The caller of an API request: None for anonymous, or the token's account and scope.

    A token that is present but unknown, expired or revoked is refused with 401,
    never treated as anonymous, so a script notices its token stopped working.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, "use 'Authorization: Bearer <token>'")
    caller = tokens.authenticate(session, secret.strip(), now=request.app.state.clock.now())
    if caller is None:
        raise HTTPException(401, "the API token is unknown, expired or revoked")
    return caller


CallerDep = Annotated[tokens.Caller | None, Depends(bearer_token)]

router = APIRouter(prefix="/api/v1", tags=["v1"], responses=ERRORS)


def _actor(request: Request, actor: Actor | None) -> schemas.ActorRef | None:
    if actor is None:
        return None
    return schemas.ActorRef(id=actor.id, name=actor.name, url=f"/actors/{actor.id}")


def _source(source: Source) -> schemas.SourceRef:
    return schemas.SourceRef(
        id=source.id,
        title=source.title,
        publisher=source.publisher,
        published_on=source.published_on,
        url=f"/sources/{source.id}",
    )


def _citation(citation: Citation) -> schemas.CitationRead:
    return schemas.CitationRead(
        id=citation.id,
        quote=citation.quote,
        locator=citation.locator,
        source=_source(citation.source),
    )


def _period(period: Period | None, text: str | None = None) -> schemas.PeriodRead | None:
    if period is None:
        return None
    return schemas.PeriodRead(
        start=period.start,
        end=period.end,
        precision=period.precision.value,
        label=period.label,
        text=text,
    )


def _commitment_ref(commitment: Commitment | None) -> schemas.CommitmentRef | None:
    if commitment is None:
        return None
    return schemas.CommitmentRef(
        id=commitment.id, title=commitment.title, url=f"/commitments/{commitment.id}"
    )


def _flow(request: Request, flow: MoneyFlow) -> schemas.MoneyFlowRead:
    equivalent = flow.stated_equivalent
    return schemas.MoneyFlowRead(
        id=flow.id,
        stage=flow.stage,
        amount=flow.amount,
        currency=flow.currency,
        amount_text=flow.amount_text,
        qualifier=flow.qualifier,
        value_on=flow.value_on,
        period=_period(flow.period, flow.period_text),
        provider=_actor(request, flow.provider),
        receiver=_actor(request, flow.receiver),
        stated_equivalent=(
            schemas.MoneyRead(amount=equivalent, currency=flow.stated_equivalent_currency)
            if equivalent is not None and flow.stated_equivalent_currency
            else None
        ),
        stated_equivalent_text=flow.stated_equivalent_text,
        citations=[_citation(c) for c in flow.citations],
    )


def _review(review: Review) -> schemas.ReviewRead:
    return schemas.ReviewRead(
        id=review.id,
        reviewed_on=review.reviewed_on,
        status_found=review.status_found,
        progress_percent=review.progress_percent,
        rationale=review.rationale,
        reviewer_name=review.reviewer_name,
        next_review_on=review.next_review_on,
        evidence=[_citation(c) for c in review.evidence],
    )


def commitment_read(request: Request, c: Commitment) -> schemas.CommitmentRead:
    return schemas.CommitmentRead(
        id=c.id,
        url=f"/commitments/{c.id}",
        api_url=f"/api/v1/commitments/{c.id}",
        kind=c.kind,
        title=c.title,
        summary=c.summary,
        state=c.state,
        status=c.status,
        announced_on=c.announced_on,
        announced_precision=c.announced_precision,
        deadline_text=c.deadline_text,
        deadline=_period(c.deadline, c.deadline_text),
        next_review_on=c.next_review_on,
        next_review_text=c.next_review_text,
        last_reviewed_on=c.last_reviewed_on,
        is_additional=c.is_additional,
        version=c.version,
        makers=[ref for a in c.makers if (ref := _actor(request, a))],
        recipients=[ref for a in c.recipients if (ref := _actor(request, a))],
        tags=[t.name for t in c.tags],
        parent=_commitment_ref(c.parent),
        tops_up=_commitment_ref(c.tops_up),
        supersedes=_commitment_ref(c.supersedes),
        money_flows=[_flow(request, f) for f in c.money_flows],
        citations=[_citation(ci) for ci in c.citations],
        reviews=[_review(r) for r in c.reviews],
        unsourced=not c.citations,
    )


@router.get("/commitments/{commitment_id}", response_model=schemas.CommitmentRead)
def get_commitment(
    commitment_id: RecordId,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
) -> schemas.CommitmentRead:
    """One commitment with its quotes, money flows (exact amounts and as written) and reviews.

    Anonymous callers and read tokens see published commitments; write tokens
    also see drafts. The `ETag` header carries the version for `If-Match`.
    """
    commitment = commitments.get_commitment(
        session, commitment_id, include_drafts=caller is not None and caller.can_write
    )
    if commitment is None:
        raise HTTPException(404, f"there is no published commitment {commitment_id}")
    response.headers["ETag"] = f'"{commitment.version}"'
    return commitment_read(request, commitment)
