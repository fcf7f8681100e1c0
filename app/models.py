"""The data model: typed SQLAlchemy models with named constraints.

Design notes (the reasons are in the project's closing notes too):

* Money is an integer of minor units (`amount_minor`) plus an ISO 4217 code.
  SQLite has no decimal type; an integer is exact on both databases.
* Rates and indicator values are decimals of unknown scale; they are stored as
  integers scaled by a fixed power of ten (`ScaledDecimal`), again exact on
  both databases and still sortable and comparable in SQL.
* Every date that a person wrote carries a precision and the words used:
  "in the coming days" is a fuzzy range, "2019" is a year, "2022-23" a fiscal
  year. See `app.periods`.
* Relationships default to `lazy="raise"`: a template cannot trigger a query,
  so every page states what it loads.
* Constraint names come from one naming convention, which SQLite batch
  migrations need to find them again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from app import periods
from app.vocab import (
    ActorKind,
    AmountQualifier,
    ChangeAction,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    PublicationState,
    Role,
    SourceKind,
    TokenScope,
    sql_in,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Record ids are INTEGER columns: 32-bit on PostgreSQL. Every id that comes
# from outside (URL, query string, CSV, JSON) is checked against this first,
# so an out-of-range id is a 400, never a database error.
MAX_ID = 2**31 - 1

# Column sizes. Long enough for real documents, short enough to refuse abuse.
TITLE_MAX = 500
NAME_MAX = 300
URL_MAX = 2000
TEXT_AS_WRITTEN_MAX = 500


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on both databases.

    SQLite hands back naive datetimes; PostgreSQL aware ones. This is the one
    place that normalises them, and it refuses naive input so that local
    times cannot sneak in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal stored as a BIGINT scaled by 10**scale.

    Used where values are decimals of no fixed currency exponent (exchange
    rates, indicator values). Values with more decimal places than `scale`
    are refused rather than rounded.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"{value!r} is not a finite Decimal")
        scaled = value.scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return Decimal(value).scaleb(-self.scale)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """Creation and change times, plus a version counter for optimistic locking."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Incremented on every UPDATE by SQLAlchemy (version_id_col); a stale
    # write raises StaleDataError instead of silently overwriting.
    version: Mapped[int] = mapped_column(Integer)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class Publishable(Timestamped):
    """Top-level records start as drafts; readers see only published ones."""

    state: Mapped[str] = mapped_column(String(16), default=PublicationState.draft)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Soft delete: admins can restore; nothing is lost.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def _state_check() -> CheckConstraint:
    return CheckConstraint(f"state IN ({sql_in(PublicationState)})", name="state")


def _period_checks(prefix: str) -> list[CheckConstraint]:
    return [
        CheckConstraint(
            f"{prefix}_precision IS NULL OR {prefix}_precision IN ({sql_in(periods.Precision)})",
            name=f"{prefix}_precision",
        ),
        CheckConstraint(
            f"{prefix}_start_on IS NULL OR {prefix}_end_on IS NULL "
            f"OR {prefix}_start_on <= {prefix}_end_on",
            name=f"{prefix}_ordered",
        ),
    ]


def _currency_check(column: str, name: str) -> CheckConstraint:
    # Shape only (three capital letters); membership of ISO 4217 is checked by
    # app.money, whose list changes with the standard.
    letters = " AND ".join(f"substr({column}, {i}, 1) BETWEEN 'A' AND 'Z'" for i in (1, 2, 3))
    return CheckConstraint(
        f"{column} IS NULL OR (length({column}) = 3 AND upper({column}) = {column} AND {letters})",
        name=name,
    )


# ---------------------------------------------------------------- actors


class Actor(Publishable, Base):
    """A government, ministry, agency, organisation or person."""

    __tablename__ = "actors"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(ActorKind)})", name="kind"),
        CheckConstraint(
            "country_code IS NULL OR length(country_code) = 2", name="country_code_shape"
        ),
        CheckConstraint(
            "fiscal_year_start_month IS NULL OR fiscal_year_start_month BETWEEN 1 AND 12",
            name="fiscal_year_start_month",
        ),
        _state_check(),
        # The newest change in one lookup: money totals' data version (services.totals).
        Index("ix_actors_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    country_code: Mapped[str | None] = mapped_column(String(2), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"), index=True)
    # Month in which the actor's financial year starts: 4 for the UK government
    # (1 April), 1 for France. NULL means "as its parent, else calendar year".
    fiscal_year_start_month: Mapped[int | None] = mapped_column(SmallInteger)
    description: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Actor | None] = relationship(remote_side="Actor.id", lazy="raise")

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


# --------------------------------------------------------------- sources


class Source(Publishable, Base):
    """A published document that citations quote from."""

    __tablename__ = "sources"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(SourceKind)})", name="kind"),
        CheckConstraint(
            "content_hash IS NULL OR length(content_hash) = 64", name="content_hash_sha256"
        ),
        _state_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    publisher: Mapped[str | None] = mapped_column(String(NAME_MAX))
    publisher_actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    published_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    url: Mapped[str | None] = mapped_column(String(URL_MAX), unique=True)
    accessed_on: Mapped[dt.date | None] = mapped_column(Date)
    licence: Mapped[str | None] = mapped_column(String(NAME_MAX))
    full_text: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of full_text (UTF-8), so a later copy can be checked unchanged.
    content_hash: Mapped[str | None] = mapped_column(String(64))

    publisher_actor: Mapped[Actor | None] = relationship(lazy="raise")
    citations: Mapped[list[Citation]] = relationship(back_populates="source", lazy="raise")


# ------------------------------------------------------------ commitments


class CommitmentActor(Base):
    """Who made a commitment (maker) and for whom (recipient)."""

    __tablename__ = "commitment_actors"
    __table_args__ = (
        CheckConstraint("role IN ('maker', 'recipient')", name="role"),
        # Browse: "made by X" / "receiving X" filters and the actor facet.
        Index("ix_commitment_actors_role_actor", "role", "actor_id", "commitment_id"),
    )

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    actor: Mapped[Actor] = relationship(lazy="raise")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class CommitmentTag(Base):
    __tablename__ = "commitment_tags"

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True, index=True)


class Commitment(Publishable, Base):
    """A pledged measure: funding, an action, or a target."""

    __tablename__ = "commitments"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(CommitmentKind)})", name="kind"),
        CheckConstraint(f"status IN ({sql_in(DeliveryStatus)})", name="status"),
        CheckConstraint(
            f"announced_precision IN ({sql_in(periods.Precision)})", name="announced_precision"
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint("tops_up_id IS NULL OR tops_up_id <> id", name="not_own_top_up"),
        CheckConstraint(
            "supersedes_id IS NULL OR supersedes_id <> id", name="not_self_superseding"
        ),
        *_period_checks("deadline"),
        _state_check(),
        Index("ix_commitments_state_announced", "state", "announced_on", "id"),
        # Browse (issue 3): covering indexes for facet counts and keyset sorts.
        Index("ix_commitments_state_status", "state", "status", "deleted_at"),
        Index("ix_commitments_state_kind", "state", "kind", "deleted_at"),
        Index("ix_commitments_state_title", "state", "title", "id"),
        Index("ix_commitments_state_updated", "state", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id"), index=True)

    announced_on: Mapped[dt.date] = mapped_column(Date)
    announced_precision: Mapped[str] = mapped_column(String(16), default=periods.Precision.DAY)

    # The deadline as written ("effective in the coming days") and as a dated
    # range with a precision; the end date is what "overdue" is measured from.
    deadline_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    deadline_start_on: Mapped[dt.date | None] = mapped_column(Date)
    deadline_end_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    deadline_precision: Mapped[str | None] = mapped_column(String(16))

    # Current delivery status: a copy of the latest review's finding, kept in
    # the same transaction as the review so lists and facets can filter on it.
    status: Mapped[str] = mapped_column(
        String(24), default=DeliveryStatus.not_yet_assessed, index=True
    )
    # When this commitment is next due for review, and how the source put it.
    next_review_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    next_review_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    # Date of the latest review (NULL: never reviewed), kept with `status`.
    last_reviewed_on: Mapped[dt.date | None] = mapped_column(Date, index=True)

    # "a further €31.4 million": new money on top of earlier pledges. The link
    # says what it tops up, so totals never count re-announced money twice.
    is_additional: Mapped[bool] = mapped_column(Boolean, default=False)
    tops_up_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id"), index=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("commitments.id"), index=True)

    parent: Mapped[Commitment | None] = relationship(
        foreign_keys=[parent_id], remote_side="Commitment.id", lazy="raise"
    )
    tops_up: Mapped[Commitment | None] = relationship(
        foreign_keys=[tops_up_id], remote_side="Commitment.id", lazy="raise"
    )
    supersedes: Mapped[Commitment | None] = relationship(
        foreign_keys=[supersedes_id], remote_side="Commitment.id", lazy="raise"
    )
    actor_links: Mapped[list[CommitmentActor]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary="commitment_tags", lazy="raise")
    money_flows: Mapped[list[MoneyFlow]] = relationship(
        back_populates="commitment",
        lazy="raise",
        order_by="(MoneyFlow.value_on, MoneyFlow.id)",
        cascade="all, delete-orphan",
    )
    citations: Mapped[list[Citation]] = relationship(
        back_populates="commitment",
        lazy="raise",
        order_by="Citation.id",
        foreign_keys="Citation.commitment_id",
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="commitment",
        lazy="raise",
        order_by="(Review.reviewed_on, Review.id)",
        cascade="all, delete-orphan",
    )

    def actors_in_role(self, role: str) -> list[Actor]:
        return [link.actor for link in self.actor_links if link.role == role]

    @property
    def makers(self) -> list[Actor]:
        return self.actors_in_role("maker")

    @property
    def recipients(self) -> list[Actor]:
        return self.actors_in_role("recipient")

    @property
    def deadline(self) -> periods.Period | None:
        # A fiscal-year deadline is the makers' financial year: it starts in its own month.
        return _period(
            self.deadline_start_on,
            self.deadline_end_on,
            self.deadline_precision,
            deadline_fiscal_month(self.deadline_start_on, self.deadline_precision),
        )

    @property
    def delivery_status(self) -> DeliveryStatus:
        return DeliveryStatus(self.status)


def deadline_fiscal_month(start: dt.date | None, precision: str | None) -> int:
    """The month a fiscal-year deadline's year starts in (read from its start date)."""
    if precision == periods.Precision.FISCAL_YEAR.value and start is not None:
        return start.month
    return 1


def _period(
    start: dt.date | None, end: dt.date | None, precision: str | None, fiscal_start_month: int = 1
) -> periods.Period | None:
    if precision is None:
        return None
    return periods.Period(
        start=start,
        end=end,
        precision=periods.Precision(precision),
        fiscal_start_month=fiscal_start_month,
    )


# ------------------------------------------------------------ money flows


class MoneyFlow(Timestamped, Base):
    """One stage of funding. A payment is a new flow, never an edit of the pledge."""

    __tablename__ = "money_flows"
    __table_args__ = (
        CheckConstraint(f"stage IN ({sql_in(FlowStage)})", name="stage"),
        CheckConstraint(f"qualifier IN ({sql_in(AmountQualifier)})", name="qualifier"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        _currency_check("currency", "currency_shape"),
        CheckConstraint(
            "stated_equivalent_minor IS NULL OR stated_equivalent_minor >= 0",
            name="stated_equivalent_not_negative",
        ),
        _currency_check("stated_equivalent_currency", "stated_equivalent_currency_shape"),
        CheckConstraint(
            "(stated_equivalent_minor IS NULL) = (stated_equivalent_currency IS NULL)",
            name="stated_equivalent_complete",
        ),
        CheckConstraint(
            "period_fiscal_start_month IS NULL OR period_fiscal_start_month BETWEEN 1 AND 12",
            name="period_fiscal_start_month",
        ),
        *_period_checks("period"),
        Index("ix_money_flows_currency_stage", "currency", "stage"),
        # The newest change in one lookup: money totals' data version (services.totals).
        Index("ix_money_flows_updated_at", "updated_at"),
        # Browse: currency / stage filters and facets per commitment; with the
        # amount and qualifier in the index, the commitments CSV sums a
        # thousand commitments' money at a time from the index alone.
        Index(
            "ix_money_flows_commitment_totals",
            "commitment_id",
            "currency",
            "stage",
            "amount_minor",
            "qualifier",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Exactly as the source wrote it: "a further €31.4 million".
    amount_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    qualifier: Mapped[str] = mapped_column(String(16), default=AmountQualifier.exact)
    # The date the money is valued at (announcement, payment): used to pick
    # an exchange rate. The period is what the money is *for*.
    value_on: Mapped[dt.date | None] = mapped_column(Date)
    period_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    period_start_on: Mapped[dt.date | None] = mapped_column(Date)
    period_end_on: Mapped[dt.date | None] = mapped_column(Date)
    period_precision: Mapped[str | None] = mapped_column(String(16))
    period_fiscal_start_month: Mapped[int | None] = mapped_column(SmallInteger)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"), index=True)
    receiver_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"), index=True)
    # The source's own equivalent ("(roughly £28.1 million)"), never computed.
    stated_equivalent_minor: Mapped[int | None] = mapped_column(BigInteger)
    stated_equivalent_currency: Mapped[str | None] = mapped_column(String(3))
    stated_equivalent_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    notes: Mapped[str | None] = mapped_column(Text)

    commitment: Mapped[Commitment] = relationship(back_populates="money_flows", lazy="raise")
    provider: Mapped[Actor | None] = relationship(foreign_keys=[provider_id], lazy="raise")
    receiver: Mapped[Actor | None] = relationship(foreign_keys=[receiver_id], lazy="raise")
    citations: Mapped[list[Citation]] = relationship(
        back_populates="money_flow", lazy="raise", order_by="Citation.id"
    )

    @property
    def amount(self) -> Decimal:
        from app.money import from_minor_units

        return from_minor_units(self.amount_minor, self.currency)

    @property
    def stated_equivalent(self) -> Decimal | None:
        from app.money import from_minor_units

        if self.stated_equivalent_minor is None or self.stated_equivalent_currency is None:
            return None
        return from_minor_units(self.stated_equivalent_minor, self.stated_equivalent_currency)

    @property
    def period(self) -> periods.Period | None:
        return _period(
            self.period_start_on,
            self.period_end_on,
            self.period_precision,
            self.period_fiscal_start_month or 1,
        )


# --------------------------------------------------------------- reviews


class Review(Timestamped, Base):
    """A dated assessment of a commitment. The sequence is its status history."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(f"status_found IN ({sql_in(DeliveryStatus)})", name="status_found"),
        CheckConstraint(
            "progress_percent IS NULL OR progress_percent BETWEEN 0 AND 100", name="progress"
        ),
        Index("ix_reviews_commitment_reviewed", "commitment_id", "reviewed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    reviewed_on: Mapped[dt.date] = mapped_column(Date)
    status_found: Mapped[str] = mapped_column(String(24))
    progress_percent: Mapped[int | None] = mapped_column(SmallInteger)
    rationale: Mapped[str | None] = mapped_column(Text)
    # A signed-in reviewer, or the name of an outside one (an audit office).
    reviewer_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    reviewer_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    next_review_on: Mapped[dt.date | None] = mapped_column(Date)

    commitment: Mapped[Commitment] = relationship(back_populates="reviews", lazy="raise")
    evidence: Mapped[list[Citation]] = relationship(
        back_populates="review", lazy="raise", order_by="Citation.id"
    )


# ------------------------------------------------------------- indicators


class IndicatorCommitment(Base):
    __tablename__ = "indicator_commitments"

    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True
    )
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Indicator(Publishable, Base):
    """A measured quantity tied to commitments ("intervention success rate")."""

    __tablename__ = "indicators"
    __table_args__ = (_state_check(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(50))

    observations: Mapped[list[Observation]] = relationship(
        back_populates="indicator",
        lazy="raise",
        order_by="(Observation.period_end_on, Observation.id)",
        cascade="all, delete-orphan",
    )
    commitments: Mapped[list[Commitment]] = relationship(
        secondary="indicator_commitments", lazy="raise"
    )


class Observation(Timestamped, Base):
    """One dated value of an indicator, with the words the source used."""

    __tablename__ = "observations"
    __table_args__ = (
        CheckConstraint(f"qualifier IN ({sql_in(AmountQualifier)})", name="qualifier"),
        *_period_checks("period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicators.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[Decimal] = mapped_column(ScaledDecimal(6))
    # Overrides the indicator's unit when the source used another one.
    unit: Mapped[str | None] = mapped_column(String(50))
    qualifier: Mapped[str] = mapped_column(String(16), default=AmountQualifier.exact)
    value_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    period_text: Mapped[str | None] = mapped_column(String(TEXT_AS_WRITTEN_MAX))
    period_start_on: Mapped[dt.date | None] = mapped_column(Date)
    period_end_on: Mapped[dt.date | None] = mapped_column(Date)
    period_precision: Mapped[str] = mapped_column(String(16))

    indicator: Mapped[Indicator] = relationship(back_populates="observations", lazy="raise")
    citations: Mapped[list[Citation]] = relationship(
        back_populates="observation", lazy="raise", order_by="Citation.id"
    )

    @property
    def period(self) -> periods.Period | None:
        return _period(self.period_start_on, self.period_end_on, self.period_precision)


# -------------------------------------------------------------- citations


class Citation(Timestamped, Base):
    """A verbatim quote from a source, supporting exactly one record.

    One nullable foreign key per kind of record, with a CHECK that exactly one
    is set: real foreign keys (unlike a polymorphic type/id pair), so the
    database itself refuses a citation of a record that does not exist.
    """

    __tablename__ = "citations"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN commitment_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN money_flow_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN review_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN observation_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_subject",
        ),
        CheckConstraint("length(quote) > 0", name="quote_not_empty"),
        # A subject's quotes, with their source in the index itself: the
        # commitments CSV looks up the sources of a thousand commitments' (and
        # their flows') quotes at a time without reading the quotes' text.
        Index("ix_citations_commitment_source", "commitment_id", "source_id"),
        Index("ix_citations_money_flow_source", "money_flow_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    quote: Mapped[str] = mapped_column(Text)
    # Where in the source: "para 8", "p. 12", "col. 345".
    locator: Mapped[str | None] = mapped_column(String(100))
    commitment_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE")
    )
    money_flow_id: Mapped[int | None] = mapped_column(
        ForeignKey("money_flows.id", ondelete="CASCADE")
    )
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), index=True
    )
    observation_id: Mapped[int | None] = mapped_column(
        ForeignKey("observations.id", ondelete="CASCADE"), index=True
    )

    source: Mapped[Source] = relationship(back_populates="citations", lazy="raise")
    commitment: Mapped[Commitment | None] = relationship(
        back_populates="citations", lazy="raise", foreign_keys=[commitment_id]
    )
    money_flow: Mapped[MoneyFlow | None] = relationship(back_populates="citations", lazy="raise")
    review: Mapped[Review | None] = relationship(back_populates="evidence", lazy="raise")
    observation: Mapped[Observation | None] = relationship(back_populates="citations", lazy="raise")


# --------------------------------------------------------- exchange rates


class ExchangeRate(Timestamped, Base):
    """How many units of `quote_currency` one unit of `base_currency` bought on a date."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        UniqueConstraint(
            "rate_on",
            "base_currency",
            "quote_currency",
            "source_name",
            name="uq_exchange_rates_key",
        ),
        _currency_check("base_currency", "base_currency_shape"),
        _currency_check("quote_currency", "quote_currency_shape"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("base_currency <> quote_currency", name="distinct_currencies"),
        Index("ix_exchange_rates_pair_date", "base_currency", "quote_currency", "rate_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rate_on: Mapped[dt.date] = mapped_column(Date)
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    # Ten decimal places: ECB rates have at most six significant decimals.
    rate: Mapped[Decimal] = mapped_column(ScaledDecimal(10))
    source_name: Mapped[str] = mapped_column(String(NAME_MAX))
    source_url: Mapped[str | None] = mapped_column(String(URL_MAX))


# ------------------------------------------------ accounts and the record


class Account(Timestamped, Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(f"role IN ({sql_in(Role)})", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased so that uniqueness is case-insensitive on both databases.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.editor)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(f"scope IN ({sql_in(TokenScope)})", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Only a hash is kept; the token itself is shown once at creation.
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ChangeRecord(Base):
    """Who changed what, when, with the values before and after. Append-only."""

    __tablename__ = "change_records"
    __table_args__ = (
        CheckConstraint(f"action IN ({sql_in(ChangeAction)})", name="action"),
        Index("ix_change_records_entity", "entity_type", "entity_id", "id"),
        Index("ix_change_records_public_occurred", "is_public", "occurred_at"),
        # The public change list pages by id, newest first (/changes, .atom, .csv).
        Index("ix_change_records_public_id", "is_public", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    # Who, when no account did it: "demo loader", "import of rates.csv".
    actor_label: Mapped[str | None] = mapped_column(String(NAME_MAX))
    action: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(TITLE_MAX))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Whether readers may see it: changes to drafts stay private.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginThrottle(Base):
    """Failed sign-ins per account (e-mail) and per client address.

    Kept in the database, not in process memory, so every web process behind
    a load balancer sees the same count and slows the same attacker down.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (
        CheckConstraint("kind IN ('account', 'address')", name="kind"),
        UniqueConstraint("kind", "key", name="uq_login_throttles_kind_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(320))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
