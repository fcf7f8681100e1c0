"""JSON API, version 1: the review queue, changes and history, the funding report, the totals.

Each endpoint calls the same service — and parses its parameters with the
same code — as its HTML page, so the two cannot disagree: `/reviews/due`
(app.services.review_queue), `/changes` (app.services.feeds), a record's
history (app.services.editing.history), `/funding` (app.services.funding)
and the dashboard (app.services.totals and friends).

Every endpoint takes `CallerDep` even where published data is all it shows:
a token that is unknown, expired or revoked is a 401, never silently
anonymous, so a script notices that its token stopped working.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api import report_schemas as rs
from app.api import schemas
from app.api.records import with_article
from app.api.v1 import (
    ERRORS,
    CallerDep,
    _actor,
    _commitment_ref,
    _period,
    _stage_totals,
    citation_read,
    stated_equivalent,
)
from app.http import params
from app.http.deps import RecordId, SessionDep, SettingsDep, TodayDep
from app.models import Account, Actor, ChangeRecord, Commitment, Indicator, Source, Tag
from app.services import changes, commitments, editing, feeds, funding, review_queue, totals
from app.services.conversion import RateUsed
from app.services.derived import ReviewState
from app.vocab import FlowStage

# The page tokens of the paged reports (funding, review queue): the same
# tokens as the HTML pages' links.
AfterParam = Annotated[
    str | None,
    Query(max_length=300, description="Page token: take it from `page.next_url`."),
]
BeforeParam = Annotated[
    str | None,
    Query(max_length=300, description="Page token: take it from `page.previous_url`."),
]

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERRORS)


# ------------------------------------------------------------ pages


def _page(
    page: funding.FlowPage | review_queue.QueuePage,
    next_url: str | None,
    previous_url: str | None,
) -> rs.PageRead:
    return rs.PageRead(
        first=page.first,
        last=page.last,
        total=page.total,
        size=page.size,
        next_url=next_url,
        previous_url=previous_url,
    )


# ------------------------------------------------------------ review queue


def _tag(tag: Tag | None) -> rs.TagRef | None:
    return rs.TagRef(slug=tag.slug, name=tag.name) if tag is not None else None


def _counts(counts: review_queue.QueueCounts) -> rs.QueueCountsRead:
    return rs.QueueCountsRead(
        review_overdue=counts.review_overdue,
        review_due=counts.review_due,
        needing_attention=counts.needing_attention,
        never_reviewed=counts.never_reviewed,
        deadline_overdue=counts.deadline_overdue,
        window_days=counts.window_days,
    )


def _queue_item(item: review_queue.QueueItem) -> rs.QueueItemRead:
    c = item.commitment
    return rs.QueueItemRead(
        state="overdue" if item.state is ReviewState.overdue else "due",
        due_on=item.due_on,
        days=item.days,
        deadline_overdue=item.deadline_overdue,
        commitment=rs.QueueCommitment(
            id=c.id,
            title=c.title,
            url=f"/commitments/{c.id}",
            api_url=f"/api/v1/commitments/{c.id}",
            status=c.status,
            next_review_text=c.next_review_text,
            deadline_text=c.deadline_text,
            deadline=_period(c.deadline, c.deadline_text),
            makers=[ref for a in c.makers if (ref := _actor(a))],
            recipients=[ref for a in c.recipients if (ref := _actor(a))],
            tags=[rs.TagRef(slug=t.slug, name=t.name) for t in c.tags],
        ),
    )


@router.get("/reviews/due", response_model=rs.ReviewQueueRead, summary="Reviews due")
def review_queue_json(
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    today: TodayDep,
    actor: params.ActorParam = None,
    role: params.RoleParam = None,
    tag: params.TagParam = None,
    state: params.StateParam = None,
    size: Annotated[
        int | None,
        Query(
            ge=1,
            le=review_queue.MAX_QUEUE_PAGE_SIZE,
            description=f"Rows a page, 1–{review_queue.MAX_QUEUE_PAGE_SIZE} (default "
            f"{review_queue.MAX_QUEUE_PAGE_SIZE}; the HTML page lists "
            f"{review_queue.QUEUE_PAGE_SIZE}).",
        ),
    ] = None,
    after: AfterParam = None,
    before: BeforeParam = None,
) -> rs.ReviewQueueRead:
    """The review queue of `/reviews/due`: published commitments whose review is overdue or due.

    Due means the next review date is today or within `PLEDGES_REVIEW_DUE_DAYS`
    (`counts.window_days`); overdue means it has passed. Most urgent first, a
    page at a time like the page: at most `size` rows (default 500, so a
    queue of up to 500 rows comes whole, as before paging). `page` says which
    rows these are (`first`–`last` of `total`) and links the next and previous
    pages with the same filters (`truncated` is true when other pages exist);
    the CSV at `csv_url` has every row. The page tokens are signed and are the
    page's own: a link cut from `/reviews/due` works here too. `counts` always
    count every matching commitment. An actor or tag that does not exist,
    `role` without `actor`, a page size outside 1–500 or an altered page
    token is a 400.
    """
    filters, labels = params.queue_filters(session, actor, role, tag)
    window = settings.pledges_review_due_days
    page, next_url, previous_url, _ = params.queue_page(
        session,
        today=today,
        window_days=window,
        filters=filters,
        state=state,
        size=size,
        after=after,
        before=before,
        secret=settings.pledges_secret_key,
        path="/api/v1/reviews/due",
        default_size=review_queue.MAX_QUEUE_PAGE_SIZE,
    )
    counts = review_queue.queue_counts(session, today=today, window_days=window, filters=filters)
    csv_query = "&".join(
        part for part in (filters.query_string(), f"state={state}" if state else "") if part
    )
    return rs.ReviewQueueRead(
        today=today,
        filters=rs.QueueFiltersRead(
            actor=_actor(labels.actor), role=role, tag=_tag(labels.tag), state=state
        ),
        counts=_counts(counts),
        items=[_queue_item(item) for item in page.items],
        limit=page.size,
        truncated=len(page.items) < page.total,
        page=_page(page, next_url, previous_url),
        csv_url="/reviews/due.csv" + (f"?{csv_query}" if csv_query else ""),
    )


# ------------------------------------------------------------ changes


def _change(
    item: feeds.ChangeItem, *, fields: list[rs.FieldChangeRead] | None = None
) -> rs.ChangeRead:
    """A change as JSON; `fields` replaces the feed's field list (a history's differences)."""
    record = item.record
    return rs.ChangeRead(
        id=record.id,
        occurred_at=record.occurred_at,
        action=record.action,
        entity_type=record.entity_type,
        entity_id=record.entity_id,
        summary=record.summary,
        who=item.who,
        url=item.path,
        fields=fields
        if fields is not None
        else [
            rs.FieldChangeRead(field=f.field, before=f.before, after=f.after) for f in item.fields
        ],
    )


@router.get("/changes", response_model=rs.ChangePageRead, summary="Changes")
def change_list_json(
    session: SessionDep,
    caller: CallerDep,
    entity_type: params.TypeParam = None,
    action: params.ActionParam = None,
    entity_id: params.IdParam = None,
    before: params.ChangeBeforeParam = None,
    size: Annotated[
        int, Query(ge=1, le=200, description="Changes per page, 1–200 (the page shows 50).")
    ] = feeds.PAGE_SIZE,
) -> rs.ChangePageRead:
    """Published changes, newest first: the list of `/changes`, with the same filters.

    Only changes readers may see are listed, whoever calls: changes made while
    a record was a draft, changes to records now unpublished or deleted, and
    changes to accounts and tokens never appear (a record's full history, with
    a write token, is at `/api/v1/{kind}/{id}/history`). Keyset paging: follow
    `next` (it passes `before`, the id of the last change shown). An unknown
    `type` or `action`, or `id` without `type`, is a 400.
    """
    filters = params.change_filters(entity_type, action, entity_id)
    page = feeds.list_changes(session, filters, before_id=before, limit=size)
    next_url = None
    if page.next_before is not None:
        kept = filters.query_string()
        extra = urlencode({"before": page.next_before, "size": size})
        next_url = f"/api/v1/changes?{kept + '&' if kept else ''}{extra}"
    return rs.ChangePageRead(items=[_change(item) for item in page.items], next=next_url)


_HISTORY_MODELS: dict[str, Any] = {
    "commitments": Commitment,
    "sources": Source,
    "actors": Actor,
    "indicators": Indicator,
}


def _history_route(key: str, model: Any) -> None:
    label = key.removesuffix("s")

    @router.get(
        f"/{key}/{{record_id}}/history",
        response_model=rs.HistoryRead,
        name=f"{label}_history_json",
        summary=f"History of {with_article(label)}",
    )
    def history(record_id: RecordId, session: SessionDep, caller: CallerDep) -> rs.HistoryRead:
        """Every recorded change of this record, newest first, with the values before and after.

        The same entries as the record's history page. Anonymous callers and
        read tokens see public changes of published records only (a draft or
        deleted record is a 404); write tokens also see changes made while it
        was a draft. For a commitment, changes to its money flows and quotes
        are included. `who` is the editor's display name, never an e-mail.
        """
        _entity, entries = editing.record_history(
            session, key, model, record_id, private=caller is not None and caller.can_write
        )
        names = _display_names(session, {e.change.account_id for e in entries})
        return rs.HistoryRead(
            entity_type=key,
            entity_id=record_id,
            url=f"/{key}/{record_id}/history",
            items=[_history_entry(e, names) for e in entries],
        )


def _display_names(session: Session, ids: set[int | None]) -> dict[int, str | None]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(Account.id, Account.display_name).where(Account.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def _history_entry(entry: editing.HistoryEntry, names: dict[int, str | None]) -> rs.ChangeRead:
    record: ChangeRecord = entry.change
    # The history page shows editors' e-mail addresses; the API names them as
    # the public change list does (feeds), so a script never collects e-mails.
    name = names.get(record.account_id) if record.account_id is not None else None
    fields = [
        rs.FieldChangeRead(field=d.field, before=d.before, after=d.after) for d in entry.differences
    ]
    return _change(feeds._item(record, name), fields=fields)


for _key, _model in _HISTORY_MODELS.items():
    _history_route(_key, _model)


# ------------------------------------------------------------ funding


def _bucket(bucket: funding.Bucket) -> rs.BucketRead:
    return rs.BucketRead(label=bucket.label, start=bucket.start, end=bucket.end, spans=bucket.spans)


def _rate(leg: RateUsed) -> rs.RateRead:
    return rs.RateRead(
        rate_on=leg.rate_on,
        base=leg.base,
        quote=leg.quote,
        rate=leg.rate.normalize(),
        source_name=leg.source_name,
    )


def _funding_row(row: funding.Row) -> rs.FundingRowRead:
    return rs.FundingRowRead(
        period=_bucket(row.bucket) if row.bucket else None,
        currency=row.currency,
        cells=[
            rs.FundingCellRead(
                stage=stage,
                currency=cell.currency,
                amount=cell.amount,
                qualifier=cell.qualifier,
                approximate=cell.approximate,
                up_to_amount=cell.part("up_to"),
                approximately_amount=cell.part("approximately"),
                at_least_amount=cell.part("at_least"),
                flow_count=cell.flow_count,
                flow_ids=cell.flow_ids,
            )
            for stage in FlowStage
            if (cell := row.cells[stage]).flow_count
        ],
    )


def _converted_row(row: funding.ConvertedRow) -> rs.ConvertedRowRead:
    return rs.ConvertedRowRead(
        period=_bucket(row.bucket) if row.bucket else None,
        cells=[
            rs.ConvertedCellRead(
                stage=stage,
                currency=cell.currency,
                # As on the page: no figure when no flow had a rate.
                amount=cell.rounded if cell.converted else None,
                approximate=cell.approximate,
                converted_count=cell.converted,
                qualifier=cell.qualifier,
                flow_count=cell.flow_count,
                flow_ids=cell.flow_ids,
                missing_rate_count=cell.missing,
                rates=[_rate(leg) for leg in sorted(cell.legs)],
            )
            for stage in FlowStage
            if (cell := row.cells[stage]).flow_count
        ],
    )


def _funding_flow(line: funding.FlowLine) -> rs.FundingFlowRead:
    f = line.flow
    c = f.commitment
    # As on the page: the flow's own quotes, else its commitment's.
    citations = f.citations or c.citations
    conversion = line.conversion
    return rs.FundingFlowRead(
        id=f.id,
        commitment=schemas.CommitmentRef(id=c.id, title=c.title, url=f"/commitments/{c.id}"),
        is_additional=c.is_additional,
        is_top_up=c.tops_up_id is not None,
        stage=f.stage,
        amount=f.amount,
        currency=f.currency,
        qualifier=f.qualifier,
        amount_text=f.amount_text,
        value_on=f.value_on,
        period=_period(f.period, f.period_text),
        counted_in=_bucket(line.bucket),
        counted_by=line.attributed_by,
        provider=_actor(f.provider),
        receiver=_actor(f.receiver),
        stated_equivalent=stated_equivalent(f),
        stated_equivalent_text=f.stated_equivalent_text,
        converted=(
            rs.ConversionRead(
                amount=conversion.rounded,
                currency=conversion.currency,
                approximate=conversion.approximate,
                rates=[_rate(leg) for leg in conversion.legs],
            )
            if conversion is not None
            else None
        ),
        citations=[citation_read(ci) for ci in citations],
        quoted_from="flow" if f.citations else ("commitment" if c.citations else "none"),
        superseded_by=_commitment_ref(line.superseded_by),
    )


@router.get("/funding", response_model=rs.FundingReportRead, summary="Funding report")
def funding_json(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    provider: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Actor id or exact name; includes its sub-units (a ministry "
            "under its government).",
        ),
    ] = None,
    receiver: Annotated[
        str | None, Query(max_length=300, description="Actor id or exact name, as `provider`.")
    ] = None,
    stage: Annotated[
        str | None,
        Query(max_length=300, description="pledge, commitment, disbursement or expenditure."),
    ] = None,
    period: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Keep the years within it: 2020, FY2020-21 (needs a provider), "
            "2019-01-01/..",
        ),
    ] = None,
    currency: Annotated[
        str | None, Query(max_length=300, description="Only flows in this ISO 4217 currency.")
    ] = None,
    by: Annotated[
        str | None,
        Query(
            max_length=300,
            description="calendar-year (default) or fiscal-year (the provider's).",
        ),
    ] = None,
    convert_to: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Also give approximate totals in this reporting currency.",
        ),
    ] = None,
    rates: Annotated[
        str | None, Query(max_length=300, description="Convert with this rate table only.")
    ] = None,
    size: Annotated[
        int | None,
        Query(
            ge=1,
            le=funding.MAX_FLOW_PAGE_SIZE,
            description=f"Flows a page, 1–{funding.MAX_FLOW_PAGE_SIZE} "
            f"(default {funding.MAX_FLOW_PAGE_SIZE}; the HTML page lists "
            f"{funding.FLOW_PAGE_SIZE}).",
        ),
    ] = None,
    after: AfterParam = None,
    before: BeforeParam = None,
) -> rs.FundingReportRead:
    """The funding report of `/funding`: money per currency, stage and year, exactly.

    The same parameters, counting rules and figures as the page and
    `/funding.csv` (see the README, "Counting rules for funding totals"):
    published commitments only; each flow once; currencies and stages never
    added together; superseded promises left out and listed in `excluded`.
    Converted figures are approximate and name their rates. The totals,
    counts and rows always cover every matching flow. The flows behind them
    are listed a page at a time, as on the page: counted flows (`flows`) in
    the order of the figures, then the superseded ones (`excluded`), at most
    `size` a page (default 500, so a report of up to 500 flows comes whole);
    `page` says which ones (`first`–`last` of `total`) and links the next and
    previous pages with the same parameters. The page tokens are signed, and
    are the page's own: a link cut from `/funding` works here too. A
    parameter that cannot be read, an actor that does not exist, a page
    size outside 1–500 or an altered page token is a 400 naming it.
    """
    # The page's own parsing: reads the same names from the query string.
    # Write tokens may name draft actors; readers only published ones.
    query = params.funding_query(
        request, session, include_drafts=caller is not None and caller.can_write
    )
    secret = settings.pledges_secret_key
    default_size = funding.MAX_FLOW_PAGE_SIZE
    paging = params.funding_paging(request, query, secret, default_size=default_size)
    report = funding.funding_report(session, query, paging=paging, flow_ids=True)
    pager = params.funding_pager(report, secret, path="/api/v1/funding", default_size=default_size)
    suffix = f"?{query.query_string}" if query.query_string else ""
    return rs.FundingReportRead(
        query=rs.FundingQueryRead(
            provider=_actor(query.provider),
            receiver=_actor(query.receiver),
            stage=query.stage,
            period=_period(query.period),
            currency=query.currency,
            by=query.basis.value,
            convert_to=query.convert_to,
            rates=query.rate_source,
        ),
        totals=[_funding_row(row) for row in report.totals],
        rows=[_funding_row(row) for row in report.rows],
        converted_rows=[_converted_row(row) for row in report.converted_rows],
        converted_total=(
            _converted_row(report.converted_total) if report.converted_total else None
        ),
        flow_count=report.flow_count,
        flows=[_funding_flow(line) for line in report.lines],
        excluded_count=report.excluded_count,
        excluded=[_funding_flow(line) for line in report.excluded],
        rates_used=[_rate(leg) for leg in report.legs],
        limit=paging.size,
        page=_page(pager.page, pager.next_url, pager.previous_url),
        html_url=f"/funding{suffix}",
        csv_url=f"/funding.csv{suffix}",
    )


# ------------------------------------------------------------ dashboard


@router.get("/totals", response_model=rs.TotalsRead, summary="Dashboard totals")
def totals_json(
    session: SessionDep, settings: SettingsDep, today: TodayDep, caller: CallerDep
) -> rs.TotalsRead:
    """What the dashboard (`/`) shows, from the same services.

    Exact totals of published commitments' money flows per currency and
    stage — different currencies and stages are never added together,
    and pledges and commitments of superseded commitments are left out, as in
    `/funding` — with how many flows each; commitments per delivery status; the review
    queue's counts; the reviews coming due; the latest public changes.
    """
    window = settings.pledges_review_due_days
    return rs.TotalsRead(
        totals=_stage_totals(totals.flow_totals(session)),
        statuses=[
            rs.StatusCountRead(status=status, label=status.label, count=count)
            for status, count in commitments.status_breakdown(session)
        ],
        review_queue=_counts(review_queue.queue_counts(session, today=today, window_days=window)),
        reviews_coming_due=[
            rs.ReviewDueRead(
                commitment=schemas.CommitmentRef(
                    id=r.commitment.id,
                    title=r.commitment.title,
                    url=f"/commitments/{r.commitment.id}",
                ),
                due_on=r.due_on,
                overdue=r.overdue,
            )
            for r in commitments.reviews_coming_due(session, today=today, window_days=window)
        ],
        recent_changes=[
            rs.RecentChangeRead(
                id=ch.id, occurred_at=ch.occurred_at, summary=ch.summary, who=ch.actor_label
            )
            for ch in changes.recent_public(session, limit=8)
        ],
    )
