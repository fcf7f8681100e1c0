"""The commitments list: search, filters, facets, sorts and keyset pages.

One query path (`filtered_ids`) feeds the HTML page and the CSV download, so
both always agree on which commitments match. Parsing lives here too, so the
rules about what a bad parameter means are in one place:

* a malformed value that cannot mean anything (an impossible date, a page
  size that is not a number, a tampered page token) is a `BadQuery` → 400;
* a well-formed value that names nothing we know (`status=bogus`) is dropped
  and reported in `ListQuery.ignored`, so the page says "ignored" instead of
  failing.

Full-text search: the user's text is reduced to words (letters and digits);
every word must appear (as a word prefix) in the title and summary, or in one
of the commitment's quotes. Operators and quotes in the input are therefore
plain text, never query syntax. SQLite uses FTS5 tables, PostgreSQL
`to_tsvector('pledges_search', …)` (`simple` with accents folded) with GIN indexes
(see migrations browse_0001 and search_0001).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from app import errors
from app.csvutil import NEEDS_GUARD, minor_units_cell, text_cell
from app.models import (
    MAX_ID,
    Actor,
    ChangeRecord,
    Citation,
    Commitment,
    CommitmentActor,
    CommitmentTag,
    MoneyFlow,
    Source,
    Tag,
)
from app.services import derived
from app.services.commitments import load_for_list, visible
from app.services.totals import combine, exact_sum_columns, promise_stage, total_qualifier
from app.vocab import (
    AmountQualifier,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    PublicationState,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEARCH_WORDS = 12
FACET_LIMIT = 10
_WORD = re.compile(r"\w+", re.UNICODE)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class BadQuery(errors.BadRequest, ValueError):
    """A parameter that cannot be understood; the message says which and why."""


# ------------------------------------------------------------------ sorts


@dataclass(frozen=True)
class SortSpec:
    key: str
    label: str
    descending: bool


SORTS: dict[str, SortSpec] = {
    spec.key: spec
    for spec in (
        SortSpec("-announced", "Announced, newest first", True),
        SortSpec("announced", "Announced, oldest first", False),
        SortSpec("deadline", "Deadline, soonest first", False),
        SortSpec("-deadline", "Deadline, latest first", True),
        SortSpec("next_review", "Next review, soonest first", False),
        SortSpec("-next_review", "Next review, latest first", True),
        SortSpec("-amount", "Amount pledged, largest first (needs a currency)", True),
        SortSpec("amount", "Amount pledged, smallest first (needs a currency)", False),
        SortSpec("title", "Title, A–Z", False),
        SortSpec("-title", "Title, Z–A", True),
        SortSpec("-changed", "Last changed, newest first", True),
    )
}
DEFAULT_SORT = "-announced"
NULLABLE_SORTS = frozenset({"deadline", "next_review", "amount"})

REVIEW_FILTERS = (
    derived.ReviewState.due,
    derived.ReviewState.overdue,
    derived.ReviewState.never_reviewed,
    derived.ReviewState.scheduled,
    derived.ReviewState.unscheduled,
)


# ------------------------------------------------------------------ query


@dataclass(frozen=True)
class ListQuery:
    """Everything a list URL can say. Empty tuples mean "any"."""

    q: str = ""
    words: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    maker: tuple[int, ...] = ()
    recipient: tuple[int, ...] = ()
    tag: tuple[str, ...] = ()
    currency: tuple[str, ...] = ()
    stage: tuple[str, ...] = ()
    announced_from: dt.date | None = None
    announced_to: dt.date | None = None
    review: tuple[str, ...] = ()
    overdue: bool = False
    unsourced: bool = False
    sort: str = DEFAULT_SORT
    size: int = DEFAULT_PAGE_SIZE
    after: str | None = None
    before: str | None = None
    ignored: tuple[str, ...] = field(default=(), compare=False)

    def is_filtered(self) -> bool:
        return bool(
            self.words
            or self.status
            or self.kind
            or self.maker
            or self.recipient
            or self.tag
            or self.currency
            or self.stage
            or self.announced_from
            or self.announced_to
            or self.review
            or self.overdue
            or self.unsourced
        )

    def params(self, *, paging: bool = False) -> list[tuple[str, str]]:
        """The query as URL parameters (defaults left out), for links and the CSV link."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for name in ("status", "kind", "maker", "recipient", "tag", "currency", "stage", "review"):
            out.extend((name, str(v)) for v in getattr(self, name))
        if self.announced_from:
            out.append(("announced_from", self.announced_from.isoformat()))
        if self.announced_to:
            out.append(("announced_to", self.announced_to.isoformat()))
        if self.overdue:
            out.append(("overdue", "1"))
        if self.unsourced:
            out.append(("unsourced", "1"))
        if self.sort != DEFAULT_SORT:
            out.append(("sort", self.sort))
        if self.size != DEFAULT_PAGE_SIZE:
            out.append(("size", str(self.size)))
        if paging and self.after:
            out.append(("after", self.after))
        if paging and self.before:
            out.append(("before", self.before))
        return out

    def toggled(self, name: str, value: str | int) -> ListQuery:
        """This query with one filter value added, or removed if present; back to page one."""
        current = getattr(self, name)
        if isinstance(current, bool):
            flag: dict[str, Any] = {name: not current}
            return replace(self, **flag, after=None, before=None)
        values = tuple(v for v in current if v != value)
        if len(values) == len(current):
            values = (*current, value)
        change: dict[str, Any] = {name: values}
        return replace(self, **change, after=None, before=None)

    def without(self, *names: str) -> ListQuery:
        defaults = ListQuery()
        changes: dict[str, Any] = {name: getattr(defaults, name) for name in names}
        if "q" in names:
            changes["words"] = ()
        return replace(self, **changes, after=None, before=None)


def _single(params: Mapping[str, Sequence[str]], name: str) -> str:
    values = [v for v in params.get(name, ()) if v.strip()]
    if len(values) > 1:
        raise BadQuery(f"{name}: give it once, not {len(values)} times")
    return values[0].strip() if values else ""


def _date(params: Mapping[str, Sequence[str]], name: str) -> dt.date | None:
    raw = _single(params, name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(
            f"{name}: {raw[:40]!r} is not a date; use YYYY-MM-DD, e.g. 2020-11-28"
        ) from None


def _flag(params: Mapping[str, Sequence[str]], name: str) -> bool:
    raw = _single(params, name).lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise BadQuery(f"{name}: {raw[:40]!r} is not a yes/no value; use 1 or 0")


def parse_query(params: Mapping[str, Sequence[str]]) -> ListQuery:
    """Turn URL parameters into a ListQuery, or raise BadQuery with the reason."""
    ignored: list[str] = []

    def choices(name: str, allowed: set[str]) -> tuple[str, ...]:
        kept: list[str] = []
        for value in params.get(name, ()):
            value = value.strip()
            if not value:
                continue
            if value in allowed:
                if value not in kept:
                    kept.append(value)
            else:
                ignored.append(f"{name}={value[:40]}")
        return tuple(kept)

    def ids(name: str) -> tuple[int, ...]:
        kept: list[int] = []
        for value in params.get(name, ()):
            value = value.strip()
            if not value:
                continue
            if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
                raise BadQuery(f"{name}: {value[:40]!r} is not an actor id (a positive number)")
            if int(value) not in kept:
                kept.append(int(value))
        return tuple(kept)

    q = _single(params, "q")[:500]
    words = tuple(dict.fromkeys(w.lower() for w in _WORD.findall(q)))[:MAX_SEARCH_WORDS]

    currencies: list[str] = []
    for value in params.get("currency", ()):
        value = value.strip().upper()
        if not value:
            continue
        if _CURRENCY.match(value):
            if value not in currencies:
                currencies.append(value)
        else:
            ignored.append(f"currency={value[:40]}")

    tags: list[str] = []
    for value in params.get("tag", ()):
        value = value.strip()
        if value and value not in tags:
            tags.append(value[:100])

    sort = _single(params, "sort") or DEFAULT_SORT
    if sort not in SORTS:
        ignored.append(f"sort={sort[:40]}")
        sort = DEFAULT_SORT
    if sort.lstrip("-") == "amount" and len(currencies) != 1:
        ignored.append(f"sort={sort} (sorting by amount needs exactly one currency filter)")
        sort = DEFAULT_SORT

    raw_size = _single(params, "size")
    size = DEFAULT_PAGE_SIZE
    if raw_size:
        if not (raw_size.isascii() and raw_size.isdigit()) or int(raw_size) < 1:
            raise BadQuery(
                f"size: {raw_size[:40]!r} is not a page size; use a number from 1 to "
                f"{MAX_PAGE_SIZE}"
            )
        size = int(raw_size) if len(raw_size) < 10 else MAX_PAGE_SIZE + 1
        if size > MAX_PAGE_SIZE:
            ignored.append(f"size={raw_size[:40]} (the most is {MAX_PAGE_SIZE} a page)")
            size = MAX_PAGE_SIZE

    announced_from = _date(params, "announced_from")
    announced_to = _date(params, "announced_to")
    if announced_from and announced_to and announced_from > announced_to:
        raise BadQuery(f"announced_from ({announced_from}) is after announced_to ({announced_to})")
    after, before = _single(params, "after") or None, _single(params, "before") or None
    if after and before:
        raise BadQuery("give either after or before, not both")

    return ListQuery(
        q=q,
        words=words,
        status=choices("status", {s.value for s in DeliveryStatus}),
        kind=choices("kind", {k.value for k in CommitmentKind}),
        maker=ids("maker"),
        recipient=ids("recipient"),
        tag=tuple(tags),
        currency=tuple(currencies),
        stage=choices("stage", {s.value for s in FlowStage}),
        announced_from=announced_from,
        announced_to=announced_to,
        review=choices("review", {r.value for r in REVIEW_FILTERS}),
        overdue=_flag(params, "overdue"),
        unsourced=_flag(params, "unsourced"),
        sort=sort,
        size=size,
        after=after,
        before=before,
        ignored=tuple(ignored),
    )


# ---------------------------------------------------------- page tokens


@dataclass(frozen=True)
class Cursor:
    sort: str
    value: Any  # the sort column's value on the boundary row (JSON-safe), or None
    id: int


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"page-token:" + payload, hashlib.sha256).digest()[:12]


def encode_cursor(cursor: Cursor, secret: str) -> str:
    payload = json.dumps([cursor.sort, cursor.value, cursor.id], separators=(",", ":")).encode()
    raw = _mac(secret, payload) + payload
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, secret: str, sort: str) -> Cursor:
    """Check a page token's signature and sort; BadQuery if it was altered or is stale."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise BadQuery("page token is not valid (it was cut short or altered)") from None
    mac, payload = raw[:12], raw[12:]
    if len(token) > 2000 or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise BadQuery("page token is not valid (it was altered); start again from page one")
    try:
        token_sort, value, row_id = json.loads(payload)
    except (ValueError, TypeError):
        raise BadQuery("page token is not valid") from None
    if token_sort != sort:
        raise BadQuery("page token belongs to another sort order; start again from page one")
    if not isinstance(row_id, int):
        raise BadQuery("page token is not valid")
    return Cursor(sort=sort, value=value, id=row_id)


# -------------------------------------------------------------- filtering


def _search_ids_sqlite(words: Sequence[str]) -> ColumnElement[bool]:
    # Each word becomes a quoted prefix term: FTS5 syntax in the input is
    # inert because only \w characters survive, and quoting keeps keywords
    # such as AND/OR/NOT/NEAR plain words.
    match = " ".join(f'"{w}"*' for w in words)
    in_commitment = Commitment.id.in_(
        select(literal_column("rowid"))
        .select_from(text("commitments_fts"))
        .where(text("commitments_fts MATCH :fts_commitments").bindparams(fts_commitments=match))
    )
    in_quote = Commitment.id.in_(
        select(Citation.commitment_id).where(
            Citation.id.in_(
                select(literal_column("rowid"))
                .select_from(text("citations_fts"))
                .where(text("citations_fts MATCH :fts_quotes").bindparams(fts_quotes=match))
            )
        )
    )
    return or_(in_commitment, in_quote)


def _search_ids_postgres(words: Sequence[str]) -> ColumnElement[bool]:
    tsquery = " & ".join(f"{w}:*" for w in words)
    # `simple` with accents folded, like SQLite's remove_diacritics (migration search_0001).
    config: ColumnElement[Any] = literal_column("'pledges_search'::regconfig")
    query = func.to_tsquery(config, tsquery)
    # The expressions must match the GIN indexes in migration search_0001.
    document = func.to_tsvector(
        config,
        func.coalesce(Commitment.title, "") + " " + func.coalesce(Commitment.summary, ""),
    )
    quote_document = func.to_tsvector(config, Citation.quote)
    return or_(
        document.bool_op("@@")(query),
        Commitment.id.in_(
            select(Citation.commitment_id).where(quote_document.bool_op("@@")(query))
        ),
    )


def _search_condition(words: Sequence[str], dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return _search_ids_sqlite(words)
    return _search_ids_postgres(words)


SEARCH_ID_LIMIT = 20000


def _id_in(ids: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """`Commitment.id IN ids` as ONE bound parameter (a JSON array on SQLite, an
    int array on PostgreSQL): thousands of separate parameters cost more to
    bind than the query costs to run."""
    if dialect == "sqlite":
        return Commitment.id.in_(
            select(literal_column("value")).select_from(
                func.json_each(bindparam("search_ids", json.dumps(list(ids))))
            )
        )
    return Commitment.id == any_(bindparam("search_ids", list(ids), type_=ARRAY(BigInteger)))


def _search_once(session: Session, query: ListQuery) -> list[int] | None:
    """Ids matching the text search, if there are few enough to pass as a list.

    The list page runs eight counting queries over the same matches; running
    the full-text match once and passing the ids makes each of them cheap.
    """
    if not query.words:
        return None
    dialect = session.get_bind().dialect.name
    ids = list(
        session.scalars(
            select(Commitment.id)
            .where(_search_condition(query.words, dialect))
            .limit(SEARCH_ID_LIMIT + 1)
        )
    )
    return ids if len(ids) <= SEARCH_ID_LIMIT else None


def conditions(
    query: ListQuery,
    *,
    dialect: str,
    today: dt.date,
    window_days: int,
    include_drafts: bool,
    search_ids: Sequence[int] | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions for a list query (over `Commitment`).

    `search_ids`: the ids the text search matched, when already known (see
    `_search_once`), so the search runs once rather than once per count.
    """
    where = list(visible(include_drafts))
    if query.words:
        if search_ids is not None:
            where.append(_id_in(search_ids, dialect))
        else:
            where.append(_search_condition(query.words, dialect))
    if query.status:
        where.append(Commitment.status.in_(query.status))
    if query.kind:
        where.append(Commitment.kind.in_(query.kind))
    for role, actor_ids in (("maker", query.maker), ("recipient", query.recipient)):
        if actor_ids:
            where.append(
                Commitment.id.in_(
                    select(CommitmentActor.commitment_id).where(
                        CommitmentActor.role == role, CommitmentActor.actor_id.in_(actor_ids)
                    )
                )
            )
    if query.tag:
        where.append(
            Commitment.id.in_(
                select(CommitmentTag.commitment_id)
                .join(Tag, Tag.id == CommitmentTag.tag_id)
                .where(Tag.slug.in_(query.tag))
            )
        )
    if query.currency or query.stage:
        flow_where: list[ColumnElement[bool]] = []
        if query.currency:
            flow_where.append(MoneyFlow.currency.in_(query.currency))
        if query.stage:
            flow_where.append(MoneyFlow.stage.in_(query.stage))
        where.append(Commitment.id.in_(select(MoneyFlow.commitment_id).where(*flow_where)))
    if query.announced_from:
        where.append(Commitment.announced_on >= query.announced_from)
    if query.announced_to:
        where.append(Commitment.announced_on <= query.announced_to)
    if query.review:
        where.append(
            or_(
                *(
                    derived.review_state_sql(derived.ReviewState(r), today, window_days)
                    for r in query.review
                )
            )
        )
    if query.overdue:
        where.append(derived.overdue_sql(today))
    if query.unsourced:
        where.append(derived.unsourced_sql())
    return where


def _sort_column(query: ListQuery) -> Any:
    match query.sort.lstrip("-"):
        case "announced":
            return Commitment.announced_on
        case "deadline":
            return Commitment.deadline_end_on
        case "next_review":
            return Commitment.next_review_on
        case "title":
            return Commitment.title
        case "changed":
            return Commitment.updated_at
        case "amount":
            # Headline pledged amount in the chosen currency (one currency only,
            # so amounts in different currencies are never compared).
            return (
                select(func.sum(MoneyFlow.amount_minor))
                .where(
                    MoneyFlow.commitment_id == Commitment.id,
                    MoneyFlow.currency == query.currency[0],
                    MoneyFlow.stage == FlowStage.pledge,
                )
                .correlate(Commitment)
                .scalar_subquery()
            )
    raise AssertionError(query.sort)  # pragma: no cover - parse_query only lets known sorts in


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _from_json(sort: str, value: Any) -> Any:
    if value is None:
        return None
    key = sort.lstrip("-")
    try:
        if key in ("announced", "deadline", "next_review"):
            return dt.date.fromisoformat(value)
        if key == "changed":
            return dt.datetime.fromisoformat(value)
        if key == "amount":
            return int(value)
        return str(value)
    except (TypeError, ValueError):
        raise BadQuery("page token is not valid") from None


def _keyset(
    column: ColumnElement[Any],
    descending: bool,
    cursor: Cursor,
    *,
    backwards: bool,
    nullable: bool = True,
) -> ColumnElement[bool]:
    """Rows strictly after (or, backwards, before) the cursor in (column NULLS LAST, id) order."""
    value = _from_json(cursor.sort, cursor.value)
    id_ahead = (Commitment.id < cursor.id) if descending else (Commitment.id > cursor.id)
    id_behind = (Commitment.id > cursor.id) if descending else (Commitment.id < cursor.id)
    if value is None:
        if backwards:
            return or_(column.is_not(None), and_(column.is_(None), id_behind))
        return and_(column.is_(None), id_ahead)
    ahead = (column < value) if descending else (column > value)
    behind = (column > value) if descending else (column < value)
    if not backwards:
        if not nullable:
            return or_(ahead, and_(column == value, id_ahead))
        return or_(ahead, and_(column == value, id_ahead), column.is_(None))
    return or_(behind, and_(column == value, id_behind))


# ------------------------------------------------------------------ pages


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: list[FacetValue]


@dataclass(frozen=True)
class ListPage:
    query: ListQuery
    rows: list[Commitment]
    unsourced_ids: set[int]
    total: int
    next_token: str | None
    previous_token: str | None
    facets: list[Facet]
    actor_names: dict[int, str]


def _apply(select_: Select[Any], where: list[ColumnElement[bool]]) -> Select[Any]:
    return select_.where(*where) if where else select_


def _matching(
    session: Session,
    query: ListQuery,
    today: dt.date,
    window_days: int,
    include_drafts: bool,
) -> list[ColumnElement[bool]]:
    """The conditions of the commitments a list query matches (search run once)."""
    return conditions(
        query,
        dialect=session.get_bind().dialect.name,
        today=today,
        window_days=window_days,
        include_drafts=include_drafts,
        search_ids=_search_once(session, query),
    )


def list_page(
    session: Session,
    query: ListQuery,
    *,
    today: dt.date,
    window_days: int,
    secret: str,
    include_drafts: bool = False,
    with_facets: bool = True,
) -> ListPage:
    """One page of commitments with total, facet counts and page tokens."""
    where = _matching(session, query, today, window_days, include_drafts)
    spec = SORTS[query.sort]
    column = _sort_column(query)
    backwards = query.before is not None
    nullable = query.sort.lstrip("-") in NULLABLE_SORTS
    page_where = list(where)
    token = query.before or query.after
    if token:
        cursor = decode_cursor(token, secret, query.sort)
        page_where.append(
            _keyset(column, spec.descending, cursor, backwards=backwards, nullable=nullable)
        )
    descending = spec.descending != backwards
    order = [
        (column.desc() if descending else column.asc()),
        (Commitment.id.desc() if descending else Commitment.id.asc()),
    ]
    # NULLS FIRST/LAST only where the column can be NULL: on the others it
    # would stop SQLite from reading the rows in index order.
    if nullable:
        order[0] = order[0].nulls_first() if backwards else order[0].nulls_last()
    page_select = (
        select(Commitment, column.label("sort_value"))
        .where(*page_where)
        .order_by(*order)
        .limit(query.size + 1)
    )
    fetched = [(row[0], row[1]) for row in session.execute(page_select)]
    more = len(fetched) > query.size
    fetched = fetched[: query.size]
    if backwards:
        fetched.reverse()
    rows = [c for c, _ in fetched]
    load_for_list(session, rows)

    def token_for(index: int) -> str:
        c, value = fetched[index]
        return encode_cursor(Cursor(query.sort, _to_json(value), c.id), secret)

    next_token = previous_token = None
    if fetched:
        if backwards:
            next_token = token_for(-1)
            previous_token = token_for(0) if more else None
        else:
            next_token = token_for(-1) if more else None
            previous_token = token_for(0) if token else None

    ids = [c.id for c in rows]
    sourced = derived.sourced_ids(session, ids)
    total, facets = _counts(
        session, query, where, today=today, include_drafts=include_drafts, facets=with_facets
    )
    named = (*query.maker, *query.recipient)
    names = (
        dict(session.execute(select(Actor.id, Actor.name).where(Actor.id.in_(named))).all())
        if named
        else {}
    )
    return ListPage(
        query=query,
        rows=rows,
        unsourced_ids=set(ids) - sourced,
        total=total,
        next_token=next_token,
        previous_token=previous_token,
        facets=facets,
        actor_names=names,
    )


# Facet counts and totals over a large result set cost a scan of the matching
# rows; they are cached per filter state and *data version*, so a cached answer
# is never served after a change. The version is read from the database on
# every request (three index lookups), so several processes stay consistent.
# Only large results are cached (small ones are cheap), and entries expire.
CACHE_MIN_ROWS = 5000
CACHE_SECONDS = 300
CACHE_ENTRIES = 256
_cache: OrderedDict[tuple[Any, ...], tuple[float, int, list[Facet]]] = OrderedDict()
_cache_lock = threading.Lock()


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever commitments are added, edited, published or deleted (change records)."""
    row = session.execute(
        select(
            select(func.max(ChangeRecord.id)).scalar_subquery(),
            select(func.max(Commitment.id)).scalar_subquery(),
            select(func.max(Commitment.updated_at))
            .where(Commitment.state == PublicationState.published)
            .scalar_subquery(),
        )
    ).one()
    return (str(session.get_bind().engine.url), *row)


def _counts(
    session: Session,
    query: ListQuery,
    where: list[ColumnElement[bool]],
    *,
    today: dt.date,
    include_drafts: bool,
    facets: bool,
) -> tuple[int, list[Facet]]:
    key = (
        data_version(session),
        today,
        include_drafts,
        facets,
        tuple(query.without("sort", "size").params()),
    )
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            _cache.move_to_end(key)
            return hit[1], hit[2]
    total = session.scalar(_apply(select(func.count()).select_from(Commitment), where)) or 0
    facet_list = _facets(session, query, where) if facets else []
    if total >= CACHE_MIN_ROWS:
        with _cache_lock:
            _cache[key] = (now, total, facet_list)
            while len(_cache) > CACHE_ENTRIES:
                _cache.popitem(last=False)
    return total, facet_list


def _facets(session: Session, query: ListQuery, where: list[ColumnElement[bool]]) -> list[Facet]:
    """Counts of the matching commitments by status, kind, currency, stage, tag, maker
    and recipient."""
    facets: list[Facet] = []

    def simple(name: str, label: str, column: Any, labels: dict[str, str]) -> None:
        counts: dict[str, int] = dict(
            session.execute(_apply(select(column, func.count()), where).group_by(column)).all()
        )
        selected = set(getattr(query, name))
        values = [
            FacetValue(value, text_, counts.get(value, 0), value in selected)
            for value, text_ in labels.items()
            if counts.get(value) or value in selected
        ]
        facets.append(Facet(name, label, values))

    simple("status", "Status", Commitment.status, {s.value: s.label for s in DeliveryStatus})
    simple("kind", "Kind", Commitment.kind, {k.value: k.value.capitalize() for k in CommitmentKind})

    def joined(*columns: Any, target: Any, on: ColumnElement[bool], distinct: bool) -> Any:
        # Driven from the filtered commitments, joined through the link
        # table's covering index: one index seek per matching commitment.
        counter = func.count(Commitment.id.distinct()) if distinct else func.count()
        return _apply(
            select(*columns, counter.label("n")).select_from(Commitment).join(target, on), where
        ).group_by(*columns)

    currency_rows = session.execute(
        joined(
            MoneyFlow.currency,
            target=MoneyFlow,
            on=MoneyFlow.commitment_id == Commitment.id,
            distinct=True,
        )
        .order_by(literal_column("n").desc(), MoneyFlow.currency)
        .limit(FACET_LIMIT)
    ).all()
    facets.append(
        Facet(
            "currency",
            "Currency",
            [FacetValue(cur, cur, n, cur in query.currency) for cur, n in currency_rows],
        )
    )
    stage_counts: dict[str, int] = dict(
        session.execute(
            joined(
                MoneyFlow.stage,
                target=MoneyFlow,
                on=MoneyFlow.commitment_id == Commitment.id,
                distinct=True,
            )
        ).all()
    )
    facets.append(
        Facet(
            "stage",
            "Stage reached",
            [
                FacetValue(s.value, s.value.capitalize(), stage_counts[s.value], s in query.stage)
                for s in FlowStage
                if stage_counts.get(s.value)
            ],
        )
    )
    tag_rows = session.execute(
        joined(
            CommitmentTag.tag_id,
            target=CommitmentTag,
            on=CommitmentTag.commitment_id == Commitment.id,
            distinct=False,
        )
        .order_by(literal_column("n").desc(), CommitmentTag.tag_id)
        .limit(FACET_LIMIT)
    ).all()
    tag_names = {
        tag.id: tag
        for tag in session.scalars(select(Tag).where(Tag.id.in_([t for t, _ in tag_rows])))
    }
    facets.append(
        Facet(
            "tag",
            "Tag",
            [
                FacetValue(tag_names[t].slug, tag_names[t].name, n, tag_names[t].slug in query.tag)
                for t, n in tag_rows
            ],
        )
    )
    for role, label, selected in (
        ("maker", "Made by", query.maker),
        ("recipient", "For", query.recipient),
    ):
        actor_rows = session.execute(
            joined(
                CommitmentActor.actor_id,
                target=CommitmentActor,
                # coalesce() hides the role from SQLite's planner, which would
                # otherwise walk every link of the role by the role index instead
                # of looking up the (few) matching commitments' links by primary key.
                on=and_(
                    CommitmentActor.commitment_id == Commitment.id,
                    func.coalesce(CommitmentActor.role, "") == role,
                ),
                distinct=False,
            )
            .order_by(literal_column("n").desc(), CommitmentActor.actor_id)
            .limit(FACET_LIMIT)
        ).all()
        names = dict(
            session.execute(
                select(Actor.id, Actor.name).where(Actor.id.in_([a for a, _ in actor_rows]))
            ).all()
        )
        facets.append(
            Facet(
                role,
                label,
                [
                    FacetValue(str(a), names.get(a, f"#{a}"), n, a in selected)
                    for a, n in actor_rows
                ],
            )
        )
    return facets


# -------------------------------------------------------------------- CSV

CSV_CURRENCY_GROUPS = 3
CSV_MONEY_COLUMNS = (
    "currency",
    "pledged_amount",
    "pledged_qualifier",
    "paid_amount",
    "paid_qualifier",
)
CSV_HEADER = [
    "id",
    "permalink",
    "title",
    "kind",
    "status",
    "announced_on",
    "announced_precision",
    "deadline_text",
    "deadline_end_on",
    "deadline_precision",
    "next_review_on",
    "makers",
    "recipients",
    "tags",
    *[f"{name}_{n}" for n in range(1, CSV_CURRENCY_GROUPS + 1) for name in CSV_MONEY_COLUMNS],
    "currency_count",
    "sources",
    "unsourced",
]
_CSV_CHUNK = 1000


def csv_chunks(
    session: Session,
    query: ListQuery,
    *,
    today: dt.date,
    window_days: int,
    base_url: str,
    include_drafts: bool = False,
) -> Iterator[list[list[str]]]:
    """Every matching commitment as one CSV row (see CSV_HEADER), in list order,
    in chunks of rows whose cells are already CSV text (as `csvutil.cell` makes it).

    Reads the matching commitments through a server-side cursor in chunks, and
    looks up actors, tags, money and sources once per chunk, so memory stays
    constant however many rows match.
    """
    where = _matching(session, query, today, window_days, include_drafts)
    spec = SORTS[query.sort]
    column = _sort_column(query)
    order = [
        (column.desc() if spec.descending else column.asc()).nulls_last()
        if query.sort.lstrip("-") in NULLABLE_SORTS
        else (column.desc() if spec.descending else column.asc()),
        Commitment.id.desc() if spec.descending else Commitment.id.asc(),
    ]
    base = (
        select(
            Commitment.id,
            Commitment.title,
            Commitment.kind,
            Commitment.status,
            Commitment.announced_on,
            Commitment.announced_precision,
            Commitment.deadline_text,
            Commitment.deadline_end_on,
            Commitment.deadline_precision,
            Commitment.next_review_on,
        )
        .where(*where)
        .order_by(*order)
    )
    # Every actor's and tag's name, once (about 100 bytes each): the per-chunk
    # lookups then return only ids, which SQLite reads from the link tables'
    # own indexes without joining or sorting (a third less time than
    # joining the names in).
    names = _CsvNames(
        actors=dict(session.execute(select(Actor.id, Actor.name)).all()),
        tags=dict(session.execute(select(Tag.id, Tag.name)).all()),
    )
    for chunk, lookups in _csv_reads(session.connection(), base):
        yield _csv_chunk(chunk, lookups, names, base_url)


@dataclass(frozen=True, slots=True)
class _CsvNames:
    actors: dict[int, str]
    tags: dict[int, str]


def _csv_reads(connection: Connection, base: Executable) -> Generator[tuple[Any, Any], None, None]:
    """The export's database work, chunk by chunk: the matching rows and the
    rows of the lookups for them."""
    if connection.dialect.name == "sqlite":
        # pysqlite steps through the rows as they are fetched, so the DBAPI
        # cursor streams by itself; its raw rows skip SQLAlchemy's per-row
        # work (dates stay the ISO text SQLite stores, which is what the CSV
        # shows: see _iso).
        result = connection.execute(base)
        try:
            while chunk := result.cursor.fetchmany(_CSV_CHUNK):
                yield chunk, _csv_lookup_rows(connection, chunk)
        finally:
            result.close()
        return
    # PostgreSQL: a server-side cursor, read through SQLAlchemy in chunks.
    streamed = connection.execute(base.execution_options(stream_results=True))
    for rows in streamed.partitions(_CSV_CHUNK):
        yield rows, _csv_lookup_rows(connection, rows)


# Which qualifiers the flows summed into one CSV amount carry, as bits, and
# what their sum is for each combination: the rule of `totals.total_qualifier`
# (only flows with an amount say something about the total).
_QUALIFIER_BITS: Final = {
    AmountQualifier.approximately: 1,
    AmountQualifier.at_least: 2,
    AmountQualifier.up_to: 4,
}
_QUALIFIER_OF_BITS: Final = tuple(
    total_qualifier([q for q, bit in _QUALIFIER_BITS.items() if bits & bit])
    for bits in range(2 ** len(_QUALIFIER_BITS))
)


@functools.cache
def _csv_lookups(dialect: str) -> tuple[Executable, ...]:
    """The per-chunk lookups of the CSV export, built once per dialect.

    The chunk's ids go in as ONE bound parameter (a JSON array on SQLite, an
    int array on PostgreSQL, as in `_id_in`): the statement is compiled once
    and reused, where an IN of 1,000 bound values had to be expanded, named
    and bound again for every chunk.
    """

    def among(column: Any) -> ColumnElement[bool]:
        if dialect == "sqlite":
            ids: Select[Any] = select(literal_column("value")).select_from(
                func.json_each(bindparam("chunk_ids", type_=String))
            )
            condition: ColumnElement[bool] = column.in_(ids)
        else:
            condition = column == any_(bindparam("chunk_ids", type_=ARRAY(BigInteger)))
        return condition

    high, low = exact_sum_columns(MoneyFlow.amount_minor)
    # Sources quoted for the commitment itself, and for its money: either
    # makes it sourced (the rule of derived.unsourced_sql).
    quoted = union_all(
        select(Citation.commitment_id.label("cited"), Citation.source_id.label("source_id")).where(
            among(Citation.commitment_id)
        ),
        select(MoneyFlow.commitment_id, Citation.source_id)
        .join(Citation, Citation.money_flow_id == MoneyFlow.id)
        .where(among(MoneyFlow.commitment_id)),
    ).subquery()
    return (
        select(CommitmentActor.commitment_id, CommitmentActor.role, CommitmentActor.actor_id).where(
            among(CommitmentActor.commitment_id)
        ),
        select(CommitmentTag.commitment_id, CommitmentTag.tag_id).where(
            among(CommitmentTag.commitment_id)
        ),
        select(
            MoneyFlow.commitment_id,
            MoneyFlow.currency,
            MoneyFlow.stage,
            high,
            low,
            # The qualifiers of the group's flows that have an amount, as one
            # number: the sum of their distinct bits.
            func.sum(
                distinct(
                    case(
                        (
                            MoneyFlow.amount_minor > 0,
                            case(
                                {q.value: bit for q, bit in _QUALIFIER_BITS.items()},
                                value=MoneyFlow.qualifier,
                                else_=0,
                            ),
                        ),
                        else_=0,
                    )
                )
            ),
        )
        .where(among(MoneyFlow.commitment_id))
        .group_by(MoneyFlow.commitment_id, MoneyFlow.currency, MoneyFlow.stage),
        # Grouped and ordered alike, so one sort does both; the title depends
        # on the source's primary key, which both databases accept.
        select(quoted.c.cited, Source.title)
        .join(Source, Source.id == quoted.c.source_id)
        .group_by(quoted.c.cited, Source.id)
        .order_by(quoted.c.cited, Source.id),
    )


def _raw_rows(connection: Connection, statement: Executable, params: dict[str, Any]) -> Any:
    """The DBAPI's own rows: these lookups return only integers and plain text
    (PostgreSQL's sums are Decimals, which `combine` takes), so there is nothing
    for SQLAlchemy's row objects to convert, and building them cost more than
    the query."""
    result = connection.execute(statement, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


_NO_MONEY: Final = ("",) * (len(CSV_MONEY_COLUMNS) * CSV_CURRENCY_GROUPS)


def _iso(value: dt.date | str | None) -> str:
    """A date cell: a date object, or SQLite's stored ISO text as it is."""
    if value is None:
        return ""
    return value if type(value) is str else value.isoformat()  # type: ignore[union-attr]


def _csv_lookup_rows(connection: Connection, chunk: Sequence[Any]) -> tuple[Any, ...]:
    """The rows of the four lookups (see `_csv_lookups`) for one chunk."""
    dialect = connection.dialect.name
    ids = [row[0] for row in chunk]
    params = {"chunk_ids": json.dumps(ids) if dialect == "sqlite" else ids}
    return tuple(_raw_rows(connection, lookup, params) for lookup in _csv_lookups(dialect))


def _csv_chunk(
    chunk: Sequence[Any], lookups: tuple[Any, ...], names: _CsvNames, base_url: str
) -> list[list[str]]:
    """One chunk of rows as CSV text.

    Each cell is converted here by its column's known type, with exactly the
    rules of `csvutil.cell` (text neutralised, dates ISO, amounts plain with
    the currency's decimals), instead of `cell`'s dispatch on 2.5 million
    values: the export's single largest cost. Kind, status, precision and
    currency cells are written as stored: the database's CHECK constraints
    hold them to lower-case codes and ISO currency letters, none of which can
    start a formula (a test checks every code).
    """
    people_rows, tag_rows, money_rows, source_rows = lookups
    actor_name, tag_name = names.actors, names.tags
    makers: dict[int, list[str]] = {}
    recipients: dict[int, list[str]] = {}
    for commitment_id, role, actor_id in people_rows:
        (makers if role == "maker" else recipients).setdefault(commitment_id, []).append(
            actor_name[actor_id]
        )
    tags: dict[int, list[str]] = {}
    for commitment_id, tag_id in tag_rows:
        tags.setdefault(commitment_id, []).append(tag_name[tag_id])
    # commitment -> currency -> stage -> (total in minor units, qualifier bits)
    money: dict[int, dict[str, dict[str, tuple[int, int]]]] = {}
    for commitment_id, currency, stage, h, lo, bits in money_rows:
        money.setdefault(commitment_id, {}).setdefault(currency, {})[stage] = (
            combine(h, lo),
            int(bits),
        )
    # Unsourced = no quote of the commitment or of its money (no entry here).
    sources: dict[int, list[str]] = {}
    for commitment_id, title in source_rows:
        sources.setdefault(commitment_id, []).append(title)

    permalink = f"{base_url}/commitments/"
    plain_permalinks = permalink[:1] not in NEEDS_GUARD
    out: list[list[str]] = []
    append = out.append
    for cid, title, kind, status, announced, a_prec, d_text, d_end, d_prec, review in chunk:
        per_currency = money.get(cid)
        cited = sources.get(cid)
        append(
            [
                str(cid),
                permalink + str(cid) if plain_permalinks else text_cell(permalink + str(cid)),
                text_cell(title),
                kind,
                status,
                _iso(announced),
                a_prec,
                text_cell(d_text),
                _iso(d_end),
                d_prec or "",
                _iso(review),
                # Names in code-point order, the same on both databases.
                text_cell("; ".join(sorted(makers.get(cid, ())))),
                text_cell("; ".join(sorted(recipients.get(cid, ())))),
                text_cell("; ".join(sorted(tags.get(cid, ())))),
                *(_money_cells(per_currency) if per_currency else _NO_MONEY),
                str(len(per_currency)) if per_currency else "0",
                text_cell("; ".join(cited)) if cited else "",
                "false" if cited else "true",
            ]
        )
    return out


def _money_cells(per_currency: dict[str, dict[str, tuple[int, int]]]) -> list[str]:
    """The money groups of one commitment: per currency (alphabetical, at most
    CSV_CURRENCY_GROUPS), the promise and the payments with their qualifiers.

    The promise is `totals.promise_stage`'s (the larger of the pledged and the
    committed totals), as on the commitment page, with that stage's qualifier.
    A stage with no flow is empty ("none recorded"), not 0.
    """
    cells: list[str] = []
    for currency in sorted(per_currency)[:CSV_CURRENCY_GROUPS]:
        stages = per_currency[currency]
        pledged = stages.get(FlowStage.pledge)
        committed = stages.get(FlowStage.commitment)
        chosen = promise_stage(pledged[0] if pledged else None, committed[0] if committed else None)
        promise = stages[chosen] if chosen else None
        paid = stages.get(FlowStage.disbursement)
        cells += (
            currency,
            minor_units_cell(promise[0], currency) if promise else "",
            _QUALIFIER_OF_BITS[promise[1]] if promise else "",
            minor_units_cell(paid[0], currency) if paid else "",
            _QUALIFIER_OF_BITS[paid[1]] if paid else "",
        )
    cells += _NO_MONEY[len(cells) :]
    return cells
