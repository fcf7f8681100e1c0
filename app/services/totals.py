"""Money totals, per currency and per stage — never across currencies — in one place.

Every surface that shows a total (the dashboard, actor pages, the funding
report and its CSV, `/api/v1/totals`, `pledges report funding`, a
commitment's pledged-against-paid line) gets it from here:

* `FlowScope` says which flows count (README, "Counting rules for funding
  totals"): money flows of published, undeleted commitments, each flow once,
  superseded promises left out, narrowed by provider or receiver (with their
  sub-units), stage, currency or commitment.
* `grouped_sums` sums them in SQL, exactly, grouped by currency, stage and
  the flows' qualifier (and by whatever else a report groups by: its years).
* `Total` is one stage's total in one currency, with its parts per qualifier;
  its `qualifier` is the one rule of `total_qualifier`.
* `promise_stage` is the one rule of what a commitment promised.

SQLite's SUM() raises on 64-bit overflow and TOTAL() returns a float, so a
column of minor units is summed in two parts that cannot overflow: the
quotient and the remainder by 10**9. Python puts them back together exactly.
The same SQL runs on PostgreSQL, so both databases give the same answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

from sqlalchemy import ColumnElement, String, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.models import Actor, ChangeRecord, Commitment, MoneyFlow
from app.money import from_minor_units
from app.services import derived
from app.services.commitments import visible
from app.vocab import AmountQualifier, FlowStage, PublicationState, combined_qualifier

_SPLIT = 10**9
T = TypeVar("T")
STAGE_ORDER: Final = {stage: i for i, stage in enumerate(FlowStage)}


def exact_sum_columns(
    column: ColumnElement[int] | InstrumentedAttribute[int],
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Two SUM expressions whose results combine (see `combine`) into an exact total.

    `//` is integer division on both databases (amounts are never negative, so
    it agrees with `%`). Plain `/` is true division in SQLAlchemy 2: its
    fractions, summed and truncated, counted the remainders twice.
    """
    high = func.coalesce(func.sum(column // _SPLIT), 0)
    low = func.coalesce(func.sum(column % _SPLIT), 0)
    return high, low


def combine(high: int | Decimal, low: int | Decimal) -> int:
    return int(high) * _SPLIT + int(low)


# ------------------------------------------------------------ the qualifier of a total


def total_qualifier(parts: Mapping[str, int] | Iterable[str], *, converted: bool = False) -> str:
    """What a total is: exact, approximately, up_to (a ceiling), at_least (a floor) or mixed.

    `parts` maps each flow qualifier to the minor units summed under it (a part
    of 0 says nothing about the total: "up to €0" adds no ceiling), or lists
    the qualifiers present. The rule itself is `vocab.combined_qualifier`. A
    total converted at a rate is at least approximate, whatever its flows say.
    """
    present = (
        {q for q, minor in parts.items() if minor} if isinstance(parts, Mapping) else set(parts)
    )
    if converted:
        present.add(AmountQualifier.approximately)
    return combined_qualifier(present)


# ------------------------------------------------------------ one total


@dataclass
class Total:
    """One stage's total in one currency: exact minor units, with its parts per qualifier."""

    currency: str
    stage: FlowStage
    minor: int = 0
    parts: dict[str, int] = field(default_factory=dict)
    flow_count: int = 0
    # The ids of the flows summed, when the caller asked for them (CSV, API).
    flow_ids: list[int] = field(default_factory=list)

    def add(self, qualifier: str, minor: int, count: int, ids: Iterable[int] = ()) -> None:
        self.minor += minor
        self.parts[qualifier] = self.parts.get(qualifier, 0) + minor
        self.flow_count += count
        self.flow_ids.extend(ids)

    def merge(self, other: Total) -> None:
        for qualifier, minor in other.parts.items():
            self.parts[qualifier] = self.parts.get(qualifier, 0) + minor
        self.minor += other.minor
        self.flow_count += other.flow_count
        self.flow_ids.extend(other.flow_ids)

    @property
    def amount(self) -> Decimal:
        return from_minor_units(self.minor, self.currency)

    def part(self, qualifier: str) -> Decimal:
        """The part of the total stated with this qualifier ("up to €10 million of it")."""
        return from_minor_units(self.parts.get(qualifier, 0), self.currency)

    @property
    def qualifier(self) -> str:
        return total_qualifier(self.parts)

    @property
    def approximate(self) -> bool:
        return bool(self.parts.get(AmountQualifier.approximately))

    @property
    def flows(self) -> int:
        """How many flows it sums (truthy when there is any: "has money at this stage")."""
        return self.flow_count


# ------------------------------------------------------------ which flows


@dataclass(frozen=True)
class FlowScope:
    """Which money flows a total counts (README, "Counting rules for funding totals").

    Always: each flow once, of commitments a reader may see (published and not
    deleted; editors' drafts only where `include_drafts`). Superseded promises
    (`derived.counted_in_totals_sql`) are left out unless `with_superseded`,
    which keeps them apart as uncounted (the funding report lists them; a
    commitment's own page shows what it promised). Provider and receiver are
    sets of actor ids: an actor with its sub-units (`actors.ActorTree`).
    """

    provider_ids: Collection[int] | None = None
    receiver_ids: Collection[int] | None = None
    stage: FlowStage | None = None
    currency: str | None = None
    commitment_id: int | None = None
    include_drafts: bool = False
    with_superseded: bool = False
    # Further conditions on MoneyFlow and its Commitment (a report's extra filters).
    extra: tuple[ColumnElement[bool], ...] = ()

    def cache_key(self, session: Session) -> tuple[Any, ...]:
        """What identifies the scope's flows, as a cache key (extra conditions as SQL)."""
        extra = tuple(statement_key(session, condition) for condition in self.extra)
        return (
            tuple(sorted(self.provider_ids)) if self.provider_ids is not None else None,
            tuple(sorted(self.receiver_ids)) if self.receiver_ids is not None else None,
            self.stage, self.currency, self.commitment_id, self.include_drafts,
            self.with_superseded, extra,
        )  # fmt: skip

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE of a query over MoneyFlow joined to its Commitment."""
        where: list[ColumnElement[bool]] = list(visible(self.include_drafts))
        if not self.with_superseded:
            where.append(derived.counted_in_totals_sql())
        if self.provider_ids is not None:
            where.append(MoneyFlow.provider_id.in_(sorted(self.provider_ids)))
        if self.receiver_ids is not None:
            where.append(MoneyFlow.receiver_id.in_(sorted(self.receiver_ids)))
        if self.stage is not None:
            where.append(MoneyFlow.stage == self.stage.value)
        if self.currency is not None:
            where.append(MoneyFlow.currency == self.currency)
        if self.commitment_id is not None:
            where.append(MoneyFlow.commitment_id == self.commitment_id)
        where.extend(self.extra)
        return where


@dataclass(frozen=True, slots=True)
class GroupSum:
    """One row of `grouped_sums`: the flows sharing `keys`, currency, stage and qualifier."""

    keys: tuple[Any, ...]
    counted: bool
    currency: str
    stage: FlowStage
    qualifier: str
    minor: int
    count: int
    ids: tuple[int, ...] = ()


# ------------------------------------------------------------ the cache

# Summing every flow costs a scan of them all (about 0.4 s of CPU at 120,000
# flows on SQLite), and most requests ask for the same sums again. They are
# cached per query and *data version*: a fingerprint of everything a total
# depends on (flows, commitments, actors, change records), read from the
# database on every call, so several workers stay correct and no write ever
# gets a stale answer. Any ORM write moves an `updated_at` (set in Python, to
# the microsecond); hard deletes move a count. Entries also expire.
CACHE_SECONDS = 300
CACHE_ENTRIES = 64
CACHE_MAX_GROUPS = 50_000
_cache: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
_cache_lock = threading.Lock()


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever a flow, commitment or actor is added, changed or removed."""

    def scalar(column: Any) -> Any:
        return select(column).scalar_subquery()

    # Each a lookup in an index (ix_money_flows_updated_at, ix_actors_updated_at,
    # ix_commitments_state_updated per state) or a count of one.
    newest_commitment = [
        select(func.max(Commitment.updated_at)).where(Commitment.state == state).scalar_subquery()
        for state in PublicationState
    ]
    row = session.execute(
        select(
            scalar(func.max(ChangeRecord.id)),
            scalar(func.max(MoneyFlow.updated_at)),
            scalar(func.count(MoneyFlow.id)),
            *newest_commitment,
            scalar(func.count(Commitment.id)),
            scalar(func.max(Actor.updated_at)),
            scalar(func.count(Actor.id)),
        )
    ).one()
    return (str(session.get_bind().engine.url), *row)


def cached(
    version: tuple[Any, ...], key: tuple[Any, ...], compute: Callable[[], T], *, size: int = 1
) -> T:
    """`compute()`, or its answer for the same key at the same data version.

    `size` guards memory: answers of more than CACHE_MAX_GROUPS items are not kept.
    """
    full = (version, *key)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(full)
        if hit and now - hit[0] < CACHE_SECONDS:
            _cache.move_to_end(full)
            return cast(T, hit[1])
    found = compute()
    if (len(found) if isinstance(found, list) else size) <= CACHE_MAX_GROUPS:
        with _cache_lock:
            _cache[full] = (now, found)
            while len(_cache) > CACHE_ENTRIES:
                _cache.popitem(last=False)
    return found


def statement_key(session: Session, statement: Any) -> tuple[Any, ...]:
    """A statement as a cache key: its SQL and its parameters."""
    compiled = statement.compile(dialect=session.get_bind().dialect)
    params = tuple(
        sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in compiled.params.items())
    )
    return (compiled.string, params)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def grouped_sums(
    session: Session,
    scope: FlowScope,
    *,
    keys: Sequence[ColumnElement[Any]] = (),
    ids: bool = False,
    version: tuple[Any, ...] | None = None,
    keys_id: tuple[Any, ...] | None = None,
) -> list[GroupSum]:
    """Exact sums and counts of the scope's flows per currency, stage and qualifier.

    `keys` are further SQL expressions to group by (a report's year); they
    come back in `GroupSum.keys`. With `scope.with_superseded`, whether the
    flows count is a key too (`GroupSum.counted`). With `ids`, each group
    carries the ids of its flows (ascending). Answers are cached per data
    version (`data_version`; pass it when already read for this request),
    under the statement's SQL, or, cheaper, under the scope and `keys_id`:
    what identifies the `keys` expressions (the caller vouches that equal ids
    mean equal expressions at one data version).
    """
    # The keys are computed in a subquery and grouped by name outside it: the
    # same expression written twice would carry its bound values twice, and
    # PostgreSQL would not see that the two are one expression.
    inner_columns: list[ColumnElement[Any]] = [
        *(key.label(f"k{i}") for i, key in enumerate(keys)),
        MoneyFlow.id.label("id"),
        MoneyFlow.amount_minor.label("amount_minor"),
        MoneyFlow.currency.label("currency"),
        MoneyFlow.stage.label("stage"),
        MoneyFlow.qualifier.label("qualifier"),
    ]
    if scope.with_superseded:
        inner_columns.append(derived.counted_in_totals_sql().label("counted"))
    inner = (
        select(*inner_columns)
        .select_from(MoneyFlow)
        .join(Commitment, Commitment.id == MoneyFlow.commitment_id)
        .where(*scope.conditions())
        .subquery("flows")
    )
    c = inner.c
    group: list[Any] = [*(c[f"k{i}"] for i in range(len(keys))), c.currency, c.stage, c.qualifier]
    if scope.with_superseded:
        group.append(c.counted)
    high, low = exact_sum_columns(c.amount_minor)
    columns: list[Any] = [*group, high, low, func.count()]
    if ids:
        columns.append(func.aggregate_strings(sql_cast(c.id, String), " "))
    query = select(*columns).group_by(*group)
    return cached(
        version if version is not None else data_version(session),
        (
            ("scope", scope.cache_key(session), keys_id, ids)
            if keys_id is not None
            else (*statement_key(session, query), ids)
        ),
        lambda: _run(session, query, len(keys), scope.with_superseded, ids),
    )


def _run(session: Session, query: Any, n: int, with_superseded: bool, ids: bool) -> list[GroupSum]:
    stages = {stage.value: stage for stage in FlowStage}
    out = []
    for row in session.execute(query):
        currency, stage, qualifier = row[n], row[n + 1], row[n + 2]
        at = n + 3
        is_counted = True
        if with_superseded:
            is_counted = bool(row[at])
            at += 1
        found_ids: tuple[int, ...] = ()
        if ids:
            found_ids = tuple(sorted(int(i) for i in (row[at + 3] or "").split()))
        out.append(
            GroupSum(
                keys=tuple(row[:n]),
                counted=is_counted,
                currency=currency,
                stage=stages[stage],
                qualifier=qualifier,
                minor=combine(row[at], row[at + 1]),
                count=int(row[at + 2]),
                ids=found_ids,
            )
        )
    return out


def totals_of(groups: Iterable[GroupSum]) -> list[Total]:
    """The counted groups as totals per currency and stage, in currency then stage order."""
    found: dict[tuple[str, FlowStage], Total] = {}
    for g in groups:
        if not g.counted:
            continue
        key = (g.currency, g.stage)
        if key not in found:
            found[key] = Total(g.currency, g.stage)
        found[key].add(g.qualifier, g.minor, g.count, g.ids)
    for total in found.values():
        total.flow_ids.sort()
    return [found[k] for k in sorted(found, key=lambda k: (k[0], STAGE_ORDER[k[1]]))]


def flow_totals(session: Session, scope: FlowScope | None = None) -> list[Total]:
    """Totals per currency and stage of the flows in `scope` (every counted flow if None)."""
    scope = scope or FlowScope()
    return totals_of(grouped_sums(session, scope))


# ------------------------------------------------------------ a commitment's promise


def promise_stage(pledged_minor: int | None, committed_minor: int | None) -> FlowStage | None:
    """Which stage is a commitment's promise in one currency, or None if it has neither.

    The promise is the larger of the pledged and committed totals, not their
    sum: a binding commitment usually confirms a pledge rather than adding to
    it. On a tie, the pledge. The commitment page, its API and the commitments
    CSV all decide with this.
    """
    if pledged_minor is None and committed_minor is None:
        return None
    if pledged_minor is None:
        return FlowStage.commitment
    if committed_minor is not None and committed_minor > pledged_minor:
        return FlowStage.commitment
    return FlowStage.pledge


@dataclass(frozen=True)
class CurrencyProgress:
    """Promised against paid, in one currency, for a commitment's progress bar."""

    currency: str
    by_stage: dict[FlowStage, Total]
    promise: Total | None
    paid: Total | None

    @property
    def paid_percent(self) -> int:
        if self.promise is None or not self.promise.minor:
            return 0
        paid = self.paid.minor if self.paid else 0
        return min(100, paid * 100 // self.promise.minor)


def progress_by_currency(totals: Iterable[Total]) -> list[CurrencyProgress]:
    """Per currency: the promise (`promise_stage`) and what was paid (disbursed)."""
    per_currency: dict[str, dict[FlowStage, Total]] = {}
    for total in totals:
        per_currency.setdefault(total.currency, {})[total.stage] = total
    result = []
    for currency in sorted(per_currency):
        stages = per_currency[currency]
        pledged, committed = stages.get(FlowStage.pledge), stages.get(FlowStage.commitment)
        chosen = promise_stage(
            pledged.minor if pledged else None, committed.minor if committed else None
        )
        result.append(
            CurrencyProgress(
                currency=currency,
                by_stage=stages,
                promise=stages[chosen] if chosen else None,
                paid=stages.get(FlowStage.disbursement),
            )
        )
    return result


def commitment_progress(
    session: Session, commitment_id: int, *, include_drafts: bool = False
) -> list[CurrencyProgress]:
    """A commitment's promise and payments per currency, from the one totals query.

    Its own flows, all of them: a superseded commitment's page still says what
    it promised (the totals elsewhere leave that out).
    """
    scope = FlowScope(
        commitment_id=commitment_id, include_drafts=include_drafts, with_superseded=True
    )
    groups = [
        GroupSum(g.keys, True, g.currency, g.stage, g.qualifier, g.minor, g.count, g.ids)
        for g in grouped_sums(session, scope)
    ]
    return progress_by_currency(totals_of(groups))
