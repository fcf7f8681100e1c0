"""JSON API, version 1: the same services as the pages, rendered as JSON."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import errors, money
from app.api import schemas
from app.http.deps import RecordId, SessionDep, SettingsDep, TodayDep, currency_filter
from app.models import (
    Actor,
    Citation,
    Commitment,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from app.periods import Period
from app.services import (
    browse,
    catalogue,
    commitments,
    derived,
    inputs,
    rates,
    records,
    tokens,
    totals,
)
from app.services.reviews import EvidenceInput
from app.vocab import AmountQualifier, CommitmentKind, DeliveryStatus, FlowStage

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


def _actor(actor: Actor | None) -> schemas.ActorRef | None:
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


def citation_read(citation: Citation) -> schemas.CitationRead:
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


def stated_equivalent(flow: MoneyFlow) -> schemas.MoneyRead | None:
    """The source's own equivalent of a flow in another currency, if it gave one."""
    equivalent = flow.stated_equivalent
    if equivalent is None or not flow.stated_equivalent_currency:
        return None
    return schemas.MoneyRead(amount=equivalent, currency=flow.stated_equivalent_currency)


def _flow(request: Request, flow: MoneyFlow) -> schemas.MoneyFlowRead:
    return schemas.MoneyFlowRead(
        id=flow.id,
        stage=flow.stage,
        amount=flow.amount,
        currency=flow.currency,
        amount_text=flow.amount_text,
        qualifier=flow.qualifier,
        value_on=flow.value_on,
        period=_period(flow.period, flow.period_text),
        provider=_actor(flow.provider),
        receiver=_actor(flow.receiver),
        stated_equivalent=stated_equivalent(flow),
        stated_equivalent_text=flow.stated_equivalent_text,
        notes=flow.notes,
        version=flow.version,
        citations=[citation_read(c) for c in flow.citations],
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
        evidence=[citation_read(c) for c in review.evidence],
    )


def commitment_read(
    request: Request, session: Session, c: Commitment, *, include_drafts: bool
) -> schemas.CommitmentRead:
    """Everything the commitment's page shows (children and indicators read here)."""
    children = commitments.children_of(session, c, include_drafts=include_drafts)
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
        makers=[ref for a in c.makers if (ref := _actor(a))],
        recipients=[ref for a in c.recipients if (ref := _actor(a))],
        tags=[t.name for t in c.tags],
        parent=_commitment_ref(c.parent),
        tops_up=_commitment_ref(c.tops_up),
        supersedes=_commitment_ref(c.supersedes),
        children=[child_ref for child in children if (child_ref := _commitment_ref(child))],
        indicators=[
            schemas.IndicatorRef(
                id=i.id,
                name=i.name,
                unit=i.unit,
                url=f"/indicators/{i.id}",
                api_url=f"/api/v1/indicators/{i.id}",
            )
            for i in commitments.indicators_of(session, c)
        ],
        money_flows=[_flow(request, f) for f in c.money_flows],
        citations=[citation_read(ci) for ci in c.citations],
        reviews=[_review(r) for r in c.reviews],
        unsourced=derived.is_unsourced(c),
    )


@router.get(
    "/commitments/{commitment_id}", response_model=schemas.CommitmentRead, summary="A commitment"
)
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
    include_drafts = _drafts(caller)
    commitment = commitments.get_commitment(session, commitment_id, include_drafts=include_drafts)
    if commitment is None:
        raise errors.NotFound(f"there is no published commitment {commitment_id}")
    response.headers["ETag"] = f'"{commitment.version}"'
    return commitment_read(request, session, commitment, include_drafts=include_drafts)


# ------------------------------------------------------------------ lists


def _brief(c: Commitment, unsourced: bool) -> schemas.CommitmentSummary:
    return schemas.CommitmentSummary(
        id=c.id,
        url=f"/commitments/{c.id}",
        api_url=f"/api/v1/commitments/{c.id}",
        kind=c.kind,
        title=c.title,
        state=c.state,
        status=c.status,
        announced_on=c.announced_on,
        next_review_on=c.next_review_on,
        deadline_end_on=c.deadline_end_on,
        makers=[ref for a in c.makers if (ref := _actor(a))],
        recipients=[ref for a in c.recipients if (ref := _actor(a))],
        tags=[t.name for t in c.tags],
        money=[
            schemas.MoneyFlowBrief(
                stage=f.stage,
                amount=f.amount,
                currency=f.currency,
                qualifier=f.qualifier,
                amount_text=f.amount_text,
            )
            for f in c.money_flows
        ],
        unsourced=unsourced,
    )


@router.get("/commitments", response_model=schemas.CommitmentPage, summary="Find commitments")
def list_commitments(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    caller: CallerDep,
    q: Annotated[str | None, Query(max_length=500, description="Words; all must match.")] = None,
    status: Annotated[list[DeliveryStatus] | None, Query(description="Delivery status.")] = None,
    kind: Annotated[list[CommitmentKind] | None, Query()] = None,
    maker: Annotated[list[int] | None, Query(description="Actor id: made by.")] = None,
    recipient: Annotated[list[int] | None, Query(description="Actor id: for.")] = None,
    tag: Annotated[list[str] | None, Query(description="Tag slug.")] = None,
    currency: Annotated[list[str] | None, Query(description="ISO 4217 code of a flow.")] = None,
    stage: Annotated[list[FlowStage] | None, Query(description="A money stage reached.")] = None,
    announced_from: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    announced_to: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    review: Annotated[
        list[str] | None,
        Query(description="due, overdue, never_reviewed, scheduled, unscheduled"),
    ] = None,
    overdue: Annotated[bool, Query(description="Deadline passed, not delivered.")] = False,
    unsourced: Annotated[bool, Query(description="No quote from any source.")] = False,
    sort: Annotated[str | None, Query(description="As on the HTML list, e.g. -announced.")] = None,
    size: Annotated[int | None, Query(ge=1, le=200, description="Page size (max 200).")] = None,
    after: Annotated[str | None, Query(max_length=500, description="Page token.")] = None,
    before: Annotated[str | None, Query(max_length=500, description="Page token.")] = None,
) -> schemas.CommitmentPage:
    """Search, filter, sort and page through commitments: the same query as `/commitments`.

    Anonymous callers and read tokens see published commitments; write tokens
    also see drafts. Follow `next` for further pages (keyset paging: stable
    while data changes). Bad values get a 400 problem with the reason.
    """
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    query = browse.parse_query(params)
    page = browse.list_page(
        session,
        query,
        today=today,
        window_days=settings.pledges_review_due_days,
        secret=settings.pledges_secret_key,
        include_drafts=caller is not None and caller.can_write,
    )

    def link(**extra: str) -> str:
        return "/api/v1/commitments?" + urlencode(query.params() + list(extra.items()))

    return schemas.CommitmentPage(
        items=[_brief(c, c.id in page.unsourced_ids) for c in page.rows],
        total=page.total,
        facets=[
            schemas.FacetRead(
                name=f.name,
                values=[
                    schemas.FacetValueRead(value=v.value, label=v.label, count=v.count)
                    for v in f.values
                ],
            )
            for f in page.facets
        ],
        ignored=list(query.ignored),
        next=link(after=page.next_token) if page.next_token else None,
        previous=link(before=page.previous_token) if page.previous_token else None,
    )


# ----------------------------------------------------------------- writes


def write_caller(caller: CallerDep) -> tokens.Caller:
    """Writes need a token with the write scope: 401 without one, 403 with a read token."""
    if caller is None:
        raise HTTPException(
            401,
            "send 'Authorization: Bearer <token>' with a write token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not caller.can_write:
        raise errors.Forbidden("this token may only read; create a token with scope 'write'")
    return caller


WriterDep = Annotated[tokens.Caller, Depends(write_caller)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=50,
        description="The record's ETag as last read (for money and reviews: the commitment's). "
        "Optional here; a stale one is refused with 412.",
    ),
]


def etag_matches(if_match: str, version: int) -> bool:
    """Whether an If-Match value names this version ("3", or a list like "2", "3").

    If-Match compares strong tags only (RFC 9110 13.1.1): a weak one, W/"3",
    never matches, and the server never sends weak tags.
    """
    wanted = {tag.strip() for tag in if_match.split(",")}
    return f'"{version}"' in wanted or str(version) in wanted


def editable_commitment(session: Session, commitment_id: int, if_match: str | None) -> Commitment:
    commitment = commitments.get_commitment(session, commitment_id, include_drafts=True)
    if commitment is None:
        raise errors.NotFound(f"there is no commitment {commitment_id}")
    if (
        if_match is not None
        and if_match.strip() != "*"
        and not etag_matches(if_match, commitment.version)
    ):
        raise errors.PreconditionFailed(
            f"the commitment is at version {commitment.version}, not {if_match}: "
            "someone else changed it; fetch it again",
        )
    return commitment


WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: PROBLEM,
    409: PROBLEM,
    412: PROBLEM,
    422: PROBLEM,
}


@router.post(
    "/commitments/{commitment_id}/reviews",
    summary="Record a review",
    status_code=201,
    response_model=schemas.ReviewRead,
    responses=WRITE_ERRORS,
)
def create_review(
    commitment_id: RecordId,
    body: schemas.ReviewCreate,
    request: Request,
    session: SessionDep,
    caller: WriterDep,
    today: TodayDep,
    if_match: IfMatch = None,
) -> schemas.ReviewRead:
    """Record a review: its verdict becomes the commitment's status if it is the latest.

    The same rules as the form: evidence is required for any verdict but
    not_yet_assessed, no future dates, the next review after this one. The
    change is recorded in the history like an edit made in the browser.
    """
    commitment = editable_commitment(session, commitment_id, if_match)
    review = records.record_review(
        session,
        commitment,
        today=today,
        values=body.model_dump(exclude={"evidence"}),
        evidence=[EvidenceInput(e.source_id, e.quote, e.locator) for e in body.evidence],
        account_id=caller.account.id,
    )
    session.flush()
    session.refresh(review, attribute_names=["evidence"])
    for citation in review.evidence:
        session.refresh(citation, attribute_names=["source"])
    return _review(review)


@router.post(
    "/commitments/{commitment_id}/money-flows",
    summary="Add money (a pledge, commitment, payment or spending)",
    status_code=201,
    response_model=schemas.MoneyFlowRead,
    responses=WRITE_ERRORS,
)
def create_money_flow(
    commitment_id: RecordId,
    body: schemas.MoneyFlowCreate,
    request: Request,
    session: SessionDep,
    caller: WriterDep,
    if_match: IfMatch = None,
) -> schemas.MoneyFlowRead:
    """Add one stage of money (a pledge, a binding commitment, a payment, spending).

    Earlier stages are never overwritten: a payment is a new flow. The amount
    is an exact decimal string in the currency's minor units at most.
    """
    commitment = editable_commitment(session, commitment_id, if_match)
    flow = _write_flow(
        request, session, caller, commitment, None, _flow_text(body.model_dump()), version=None
    )
    session.flush()
    loaded = _loaded_flow(session, flow.id)
    assert loaded is not None
    return _flow(request, loaded)


# Where the API's money fields differ in name from the money form's.
FLOW_FORM_NAMES = {"stated_equivalent_amount": "stated_equivalent"}


def _flow_text(body: dict[str, Any]) -> dict[str, list[str]]:
    """A money-flow body as the money form's text, so the form's checks apply unchanged."""
    return {
        FLOW_FORM_NAMES.get(name, name): [] if value is None else [str(value)]
        for name, value in body.items()
    }


def _write_flow(
    request: Request,
    session: Session,
    caller: tokens.Caller,
    commitment: Commitment,
    flow: MoneyFlow | None,
    raw: dict[str, list[str]],
    *,
    version: int | None,
) -> MoneyFlow:
    state, reading = records.check_flow(session, raw, request.app.state.settings.pledges_locale)
    if reading is None:
        names = {form: api for api, form in FLOW_FORM_NAMES.items()}
        problems = {names.get(field, field): message for field, message in state.errors.items()}
        # The form offers currencies in a list; a script deserves the code it got wrong.
        for name in ("currency", "stated_equivalent_currency"):
            code = (raw.get(name) or [""])[0]
            if name in problems and code:
                problems[name] = _currency_problem(code) or problems[name]
        raise errors.Invalid(
            "; ".join(f"{field}: {message}" for field, message in problems.items()),
            fields=problems,
        )
    return records.write_flow(
        session, commitment, flow, reading, account_id=caller.account.id, version=version
    )


def _currency_problem(code: str) -> str | None:
    try:
        money.normalise_currency(code)
    except money.MoneyError as exc:
        return str(exc)
    return None


def _loaded_flow(session: Session, flow_id: int) -> MoneyFlow | None:
    return session.scalars(
        select(MoneyFlow)
        .where(MoneyFlow.id == flow_id)
        .options(
            selectinload(MoneyFlow.provider),
            selectinload(MoneyFlow.receiver),
            selectinload(MoneyFlow.citations).selectinload(Citation.source),
        )
        .execution_options(populate_existing=True)
    ).one_or_none()


@router.patch(
    "/money-flows/{money_flow_id}",
    response_model=schemas.MoneyFlowRead,
    responses={**WRITE_ERRORS, 428: PROBLEM},
    summary="Correct a money flow",
)
def change_money_flow(
    money_flow_id: RecordId,
    body: schemas.MoneyFlowChanges,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: WriterDep,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=50,
            description="The flow's version (its `version` field). Required, not *; stale: 412.",
        ),
    ] = None,
) -> schemas.MoneyFlowRead:
    """Correct a money flow entered wrongly: the fields named are set, the rest kept.

    A later stage of money (a payment after a pledge) is a new flow, not a
    correction. The same checks as the money form apply.
    """
    flow, commitment = records.editable_flow(session, money_flow_id)
    if if_match is None or if_match.strip() == "*":
        raise errors.PreconditionRequired(
            "send 'If-Match' with the flow's version, from GET (not *)"
        )
    if not etag_matches(if_match, flow.version):
        raise errors.PreconditionFailed(
            f"the money flow is at version {flow.version}, not {if_match}; fetch it again"
        )
    raw = inputs.flow_typed(flow)
    raw.update(_flow_text(body.model_dump(exclude_unset=True)))
    _write_flow(request, session, caller, commitment, flow, raw, version=flow.version)
    session.flush()
    loaded = _loaded_flow(session, money_flow_id)
    assert loaded is not None
    response.headers["ETag"] = f'"{loaded.version}"'
    return _flow(request, loaded)


# ------------------------------------------- sources, actors, indicators


def _source_read(source: Source, citation_count: int) -> schemas.SourceRead:
    return schemas.SourceRead(
        id=source.id,
        url=f"/sources/{source.id}",
        title=source.title,
        publisher=source.publisher,
        kind=source.kind,
        published_on=source.published_on,
        source_url=source.url,
        accessed_on=source.accessed_on,
        licence=source.licence,
        content_hash=source.content_hash,
        citation_count=citation_count,
        # Loaded only when the reader may see it (catalogue): never a draft's id.
        publisher_actor_id=source.publisher_actor.id if source.publisher_actor else None,
        state=source.state,
        version=source.version,
    )


def _actor_read(actor: Actor) -> schemas.ActorRead:
    return schemas.ActorRead(
        id=actor.id,
        url=f"/actors/{actor.id}",
        name=actor.name,
        kind=actor.kind,
        country_code=actor.country_code,
        parent_id=actor.parent.id if actor.parent else None,
        short_name=actor.short_name,
        fiscal_year_start_month=actor.fiscal_year_start_month,
        description=actor.description,
        state=actor.state,
        version=actor.version,
    )


def _drafts(caller: tokens.Caller | None) -> bool:
    return caller is not None and caller.can_write


@router.get("/sources", response_model=list[schemas.SourceRead], summary="Sources")
def list_sources(session: SessionDep, caller: CallerDep) -> list[schemas.SourceRead]:
    """Sources, newest publication first (at most 500), with how many quotes cite each."""
    rows, _total = catalogue.list_sources(session, include_drafts=_drafts(caller))
    return [_source_read(row.source, row.citation_count) for row in rows]


@router.get(
    "/sources/{source_id}",
    response_model=schemas.SourceDetailRead,
    summary="A source and its quotes",
)
def get_source(
    source_id: RecordId, response: Response, session: SessionDep, caller: CallerDep
) -> schemas.SourceDetailRead:
    """A source and every quote taken from it, with the record each quote supports."""
    detail = catalogue.get_source(session, source_id, include_drafts=_drafts(caller))
    if detail is None:
        raise errors.NotFound(f"there is no published source {source_id}")
    response.headers["ETag"] = f'"{detail.source.version}"'
    quotes = []
    for c in detail.citations:
        if c.commitment_id is not None:
            supports, commitment = "commitment", c.commitment
        elif c.money_flow_id is not None:
            supports = "money_flow"
            commitment = c.money_flow.commitment if c.money_flow else None
        elif c.review_id is not None:
            supports, commitment = "review", c.review.commitment if c.review else None
        else:
            supports, commitment = "observation", None
        quotes.append(
            schemas.QuoteSupport(
                id=c.id,
                quote=c.quote,
                locator=c.locator,
                supports=supports,
                commitment=_commitment_ref(commitment),
            )
        )
    return schemas.SourceDetailRead(
        source=_source_read(detail.source, detail.citation_count), quotes=quotes
    )


@router.get("/actors", response_model=list[schemas.ActorRead], summary="Actors")
def list_actors(session: SessionDep, caller: CallerDep) -> list[schemas.ActorRead]:
    """Actors by name."""
    return [
        _actor_read(row.actor)
        for row in catalogue.list_actors(session, include_drafts=_drafts(caller))
    ]


def _stage_totals(items: list[totals.Total]) -> list[schemas.StageTotalRead]:
    return [
        schemas.StageTotalRead(
            currency=t.currency,
            stage=t.stage,
            amount=t.amount,
            flow_count=t.flow_count,
            qualifier=t.qualifier,
            approximate=t.approximate,
            up_to_amount=t.part(AmountQualifier.up_to),
            approximately_amount=t.part(AmountQualifier.approximately),
            at_least_amount=t.part(AmountQualifier.at_least),
        )
        for t in items
    ]


@router.get(
    "/actors/{actor_id}", response_model=schemas.ActorDetailRead, summary="An actor and its totals"
)
def get_actor(
    actor_id: RecordId, response: Response, session: SessionDep, caller: CallerDep
) -> schemas.ActorDetailRead:
    """An actor, the commitments it made and received, and exact totals per currency and stage.

    The totals count the actor's sub-units (`includes`), exactly as
    `/api/v1/funding?provider={id}` (and `receiver=`) counts them, with the
    same qualifiers.
    """
    detail = catalogue.get_actor(session, actor_id, include_drafts=_drafts(caller))
    if detail is None:
        raise errors.NotFound(f"there is no published actor {actor_id}")
    response.headers["ETag"] = f'"{detail.actor.version}"'
    return schemas.ActorDetailRead(
        actor=_actor_read(detail.actor),
        made=[ref for c in detail.made if (ref := _commitment_ref(c))],
        made_count=detail.made_count,
        received=[ref for c in detail.received if (ref := _commitment_ref(c))],
        received_count=detail.received_count,
        includes=[actor_ref for a in detail.included if (actor_ref := _actor(a))],
        provided_totals=_stage_totals(detail.provided_totals),
        received_totals=_stage_totals(detail.received_totals),
    )


def observation_read(o: Observation, indicator: Indicator) -> schemas.ObservationRead:
    return schemas.ObservationRead(
        id=o.id,
        # Stored with six decimals; shown as written (41, not 41.000000).
        value=o.value.normalize(),
        unit=o.unit or indicator.unit,
        qualifier=o.qualifier,
        value_text=o.value_text,
        period=_period(o.period, o.period_text),
        citations=[citation_read(c) for c in o.citations],
    )


@router.get(
    "/indicators/{indicator_id}",
    response_model=schemas.IndicatorRead,
    summary="An indicator and its observations",
)
def get_indicator(
    indicator_id: RecordId, response: Response, session: SessionDep, caller: CallerDep
) -> schemas.IndicatorRead:
    """An indicator and its dated observations, each with its wording, qualifier and quote."""
    include_drafts = _drafts(caller)
    indicator = catalogue.get_indicator(session, indicator_id, include_drafts=include_drafts)
    if indicator is None:
        raise errors.NotFound(f"there is no published indicator {indicator_id}")
    response.headers["ETag"] = f'"{indicator.version}"'
    return schemas.IndicatorRead(
        id=indicator.id,
        url=f"/indicators/{indicator.id}",
        name=indicator.name,
        description=indicator.description,
        unit=indicator.unit,
        state=indicator.state,
        version=indicator.version,
        observations=[observation_read(o, indicator) for o in indicator.observations],
        commitments=[
            ref
            for c in catalogue.visible_commitments(
                indicator.commitments, include_drafts=include_drafts
            )
            if (ref := _commitment_ref(c))
        ],
    )


@router.get("/indicators", response_model=list[schemas.IndicatorBrief], summary="Indicators")
def list_indicators(session: SessionDep, caller: CallerDep) -> list[schemas.IndicatorBrief]:
    """Indicators by name (at most 500), with how many observations each has."""
    return [
        schemas.IndicatorBrief(
            id=row.indicator.id,
            url=f"/indicators/{row.indicator.id}",
            api_url=f"/api/v1/indicators/{row.indicator.id}",
            name=row.indicator.name,
            unit=row.indicator.unit,
            state=row.indicator.state,
            version=row.indicator.version,
            observation_count=row.observation_count,
        )
        for row in catalogue.list_indicators(session, include_drafts=_drafts(caller))
    ]


@router.get("/exchange-rates", response_model=schemas.ExchangeRatePage, summary="Exchange rates")
def list_exchange_rates(
    request: Request,
    session: SessionDep,
    currency: Annotated[
        str | None,
        Query(max_length=3, description="Only rates with this currency on either side (EUR)."),
    ] = None,
    source: Annotated[
        str | None, Query(max_length=300, description="Only rates from this rate table.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
) -> schemas.ExchangeRatePage:
    """The exchange rates used to convert totals (the /rates page), newest first, 100 a page."""
    code = currency_filter(currency)
    listing = rates.list_rates(session, currency=code, source=source or None, page=page)
    following = None
    if page < listing.pages:
        query = {"currency": code, "source": source, "page": page + 1}
        following = f"{request.url.path}?" + urlencode({k: v for k, v in query.items() if v})
    return schemas.ExchangeRatePage(
        rates=[
            schemas.ExchangeRateRead(
                rate_on=r.rate_on,
                base_currency=r.base_currency,
                quote_currency=r.quote_currency,
                rate=r.rate.normalize(),
                source_name=r.source_name,
                source_url=r.source_url,
            )
            for r in listing.rates
        ],
        total=listing.total,
        page=listing.page,
        pages=listing.pages,
        next=following,
    )
