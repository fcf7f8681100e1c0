"""The lossless table format: one column spec used by CSV export, import and the data package.

Each exported table is described once here — its URL, its columns in their
stable order, each column's type, code list, whether it is required, what it
refers to, and which columns may be used as equality filters. The CSV export
(`app.services.exporter`), the importer (`app.services.importer`) and the
Frictionless descriptor (`app.services.datapackage`) all read this spec, so
the three cannot drift apart.

Format decisions (documented in the README, "Lossless CSV"):

* Money is `amount` (a plain decimal with exactly the currency's ISO 4217
  number of decimal places: "31400000.00" EUR, "5" JPY) plus `currency` in its
  own column. Minor units are not carried as a second column: the decimal is
  exact and the exponent is a property of the currency, so a second column
  would only add a way for the two to disagree on import.
* Dates are ISO 8601 (`YYYY-MM-DD`); a date people wrote carries its precision
  in the companion `*_precision` column (day, month, quarter, year,
  fiscal_year, range, fuzzy) and its words in `*_text`.
* Timestamps (`published_at`) are ISO 8601 in UTC with the offset.
* Empty cell = no value (NULL). An empty string and no value are the same thing
  in CSV, so the import stores an empty cell as NULL.
* Bookkeeping columns (`created_at`, `updated_at`, `version`) are not exported:
  the history lives in the change records. Soft-deleted records are not
  exported; review `reviewer_account_id` is not exported (accounts are private).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from sqlalchemy import Table

from app import models, periods
from app.vocab import (
    ActorKind,
    AmountQualifier,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    PublicationState,
    SourceKind,
)


class Kind(StrEnum):
    """Column types of the lossless format (mapped to Frictionless types in the data package)."""

    integer = "integer"
    string = "string"  # free text: neutralised on export, restored on import
    code = "code"  # a value from a code list (enum)
    currency = "currency"  # ISO 4217 code with a minor-unit exponent
    country = "country"  # ISO 3166-1 alpha-2
    date = "date"
    datetime = "datetime"
    boolean = "boolean"
    amount = "amount"  # exact decimal in the currency named by `currency_column`
    decimal = "decimal"  # exact decimal of fixed maximum scale (indicator values, rates)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str
    required: bool = False
    # Database column when it differs from `name` (amounts are stored as minor units).
    attr: str | None = None
    enum: tuple[str, ...] | None = None
    max_length: int | None = None
    # Foreign key: (table name, column) it refers to.
    references: tuple[str, str] | None = None
    # For amounts: the column holding their currency.
    currency_column: str | None = None
    # For decimals: the maximum number of decimal places stored.
    scale: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    # Usable as `?name=value` on the CSV URL.
    filter: bool = False

    @property
    def db_column(self) -> str:
        return self.attr or self.name


@dataclass(frozen=True)
class TableSpec:
    name: str  # database table, data package resource and `--table` name
    slug: str  # URL: /<slug>.csv
    title: str
    model: type[models.Base]
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("id",)
    # Unique natural key an import may use in place of an id in references.
    natural_key: str | None = None
    description: str = ""
    column_index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_index", {c.name: c for c in self.columns})

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def table(self) -> Table:
        table: Table = self.model.__table__  # type: ignore[assignment]
        return table

    @property
    def filters(self) -> list[Column]:
        return [c for c in self.columns if c.filter]

    @property
    def has_id(self) -> bool:
        return self.primary_key == ("id",)


def _codes(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


PRECISIONS: Final = _codes(periods.Precision)
STATES: Final = _codes(PublicationState)


def _id(what: str) -> Column:
    return Column("id", Kind.integer, f"Permanent identifier of the {what}.", required=True)


def _state() -> tuple[Column, ...]:
    return (
        Column(
            "state",
            Kind.code,
            "draft or published; readers see only published records.",
            required=True,
            enum=STATES,
            filter=True,
        ),
        Column("published_at", Kind.datetime, "When it was published (UTC)."),
    )


def _period(prefix: str, what: str, *, required_precision: bool = False) -> tuple[Column, ...]:
    return (
        Column(f"{prefix}_text", Kind.string, f"The {what} as written.", max_length=500),
        Column(f"{prefix}_start_on", Kind.date, f"First day of the {what}."),
        Column(f"{prefix}_end_on", Kind.date, f"Last day of the {what}."),
        Column(
            f"{prefix}_precision",
            Kind.code,
            f"How precisely the {what} was stated.",
            enum=PRECISIONS,
            required=required_precision,
        ),
    )


def _ref(name: str, table: str, description: str, *, required: bool = False) -> Column:
    return Column(
        name,
        Kind.integer,
        description,
        references=(table, "id"),
        required=required,
        filter=True,
    )


ACTORS = TableSpec(
    name="actors",
    slug="actors",
    title="Actors",
    model=models.Actor,
    natural_key="name",
    description="Governments, ministries, agencies, organisations and people.",
    columns=(
        _id("actor"),
        Column("name", Kind.string, "Full name (unique).", required=True, max_length=300),
        Column("short_name", Kind.string, "Short name shown in lists.", max_length=100),
        Column("kind", Kind.code, "Kind of actor.", required=True, enum=_codes(ActorKind)),
        Column("country_code", Kind.country, "ISO 3166-1 alpha-2 country code.", filter=True),
        _ref("parent_id", "actors", "The actor it belongs to (a ministry's government)."),
        Column(
            "fiscal_year_start_month",
            Kind.integer,
            "Month its financial year starts (UK 4, France 1); empty: as its parent.",
            minimum=1,
            maximum=12,
        ),
        Column("description", Kind.string, "Description."),
        *_state(),
    ),
)

SOURCES = TableSpec(
    name="sources",
    slug="sources",
    title="Sources",
    model=models.Source,
    natural_key="url",
    description="Published documents that citations quote.",
    columns=(
        _id("source"),
        Column("title", Kind.string, "Title.", required=True, max_length=500),
        Column("publisher", Kind.string, "Publisher as named.", max_length=300),
        _ref("publisher_actor_id", "actors", "Publisher, when it is a recorded actor."),
        Column(
            "kind",
            Kind.code,
            "Kind of document.",
            required=True,
            enum=_codes(SourceKind),
            filter=True,
        ),
        Column("published_on", Kind.date, "Publication date."),
        Column("url", Kind.string, "Address (unique).", max_length=2000),
        Column("accessed_on", Kind.date, "Date the address was last read."),
        Column("licence", Kind.string, "Licence of the document.", max_length=300),
        Column("full_text", Kind.string, "Full text, when kept."),
        Column("content_hash", Kind.string, "SHA-256 (hex) of the full text.", max_length=64),
        *_state(),
    ),
)

COMMITMENTS = TableSpec(
    name="commitments",
    slug="commitments-table",
    title="Commitments (lossless table)",
    model=models.Commitment,
    description="Pledged measures: funding, actions and targets.",
    columns=(
        _id("commitment"),
        Column(
            "kind",
            Kind.code,
            "funding, action or target.",
            required=True,
            enum=_codes(CommitmentKind),
            filter=True,
        ),
        Column("title", Kind.string, "Title.", required=True, max_length=500),
        Column("summary", Kind.string, "Summary."),
        _ref("parent_id", "commitments", "The plan this is a measure of."),
        Column("announced_on", Kind.date, "Date announced.", required=True),
        Column(
            "announced_precision",
            Kind.code,
            "Precision of the announcement date.",
            required=True,
            enum=PRECISIONS,
        ),
        *_period("deadline", "deadline"),
        Column(
            "status",
            Kind.code,
            "Delivery status (from the latest review).",
            required=True,
            enum=_codes(DeliveryStatus),
            filter=True,
        ),
        Column("next_review_on", Kind.date, "Date of the next review."),
        Column("next_review_text", Kind.string, "The next review as written.", max_length=500),
        Column("last_reviewed_on", Kind.date, "Date of the latest review."),
        Column(
            "is_additional",
            Kind.boolean,
            "true for new money on top of earlier pledges ('a further …').",
            required=True,
        ),
        _ref("tops_up_id", "commitments", "The commitment it tops up."),
        _ref("supersedes_id", "commitments", "The commitment it replaces."),
        *_state(),
    ),
)

COMMITMENT_ACTORS = TableSpec(
    name="commitment_actors",
    slug="commitment-actors",
    title="Who made each commitment, and for whom",
    model=models.CommitmentActor,
    primary_key=("commitment_id", "actor_id", "role"),
    columns=(
        _ref("commitment_id", "commitments", "The commitment.", required=True),
        _ref("actor_id", "actors", "The actor.", required=True),
        Column(
            "role",
            Kind.code,
            "maker or recipient.",
            required=True,
            enum=("maker", "recipient"),
            filter=True,
        ),
    ),
)

TAGS = TableSpec(
    name="tags",
    slug="tags",
    title="Tags",
    model=models.Tag,
    natural_key="slug",
    columns=(
        _id("tag"),
        Column("slug", Kind.string, "Identifier in URLs (unique).", required=True, max_length=100),
        Column("name", Kind.string, "Name.", required=True, max_length=100),
    ),
)

COMMITMENT_TAGS = TableSpec(
    name="commitment_tags",
    slug="commitment-tags",
    title="Tags of each commitment",
    model=models.CommitmentTag,
    primary_key=("commitment_id", "tag_id"),
    columns=(
        _ref("commitment_id", "commitments", "The commitment.", required=True),
        _ref("tag_id", "tags", "The tag.", required=True),
    ),
)

MONEY_FLOWS = TableSpec(
    name="money_flows",
    slug="money-flows",
    title="Money flows",
    model=models.MoneyFlow,
    description="One stage of funding each: pledge, commitment, disbursement, expenditure.",
    columns=(
        _id("money flow"),
        _ref("commitment_id", "commitments", "The commitment.", required=True),
        Column(
            "stage",
            Kind.code,
            "pledge, commitment, disbursement or expenditure.",
            required=True,
            enum=_codes(FlowStage),
            filter=True,
        ),
        Column(
            "amount",
            Kind.amount,
            "Exact amount, with the currency's number of decimal places.",
            required=True,
            attr="amount_minor",
            currency_column="currency",
        ),
        Column("currency", Kind.currency, "ISO 4217 code.", required=True, filter=True),
        Column("amount_text", Kind.string, "The amount as written.", max_length=500),
        Column(
            "qualifier",
            Kind.code,
            "exact, approximately, up_to or at_least.",
            required=True,
            enum=_codes(AmountQualifier),
        ),
        Column("value_on", Kind.date, "Date the money is valued at."),
        *_period("period", "period the money is for"),
        Column(
            "period_fiscal_start_month",
            Kind.integer,
            "Start month of the fiscal year, for fiscal_year periods.",
            minimum=1,
            maximum=12,
        ),
        _ref("provider_id", "actors", "Who gives the money."),
        _ref("receiver_id", "actors", "Who receives it."),
        Column(
            "stated_equivalent",
            Kind.amount,
            "The source's own equivalent in another currency.",
            attr="stated_equivalent_minor",
            currency_column="stated_equivalent_currency",
        ),
        Column("stated_equivalent_currency", Kind.currency, "Currency of the stated equivalent."),
        Column("stated_equivalent_text", Kind.string, "The equivalent as written.", max_length=500),
        Column("notes", Kind.string, "Notes."),
    ),
)

REVIEWS = TableSpec(
    name="reviews",
    slug="reviews",
    title="Reviews",
    model=models.Review,
    description="Dated assessments of commitments; their sequence is the status history.",
    columns=(
        _id("review"),
        _ref("commitment_id", "commitments", "The commitment.", required=True),
        Column("reviewed_on", Kind.date, "Date of the review.", required=True),
        Column(
            "status_found",
            Kind.code,
            "Delivery status found.",
            required=True,
            enum=_codes(DeliveryStatus),
            filter=True,
        ),
        Column("progress_percent", Kind.integer, "Progress, 0 to 100.", minimum=0, maximum=100),
        Column("rationale", Kind.string, "Why."),
        Column("reviewer_name", Kind.string, "Who reviewed it.", max_length=300),
        Column("next_review_on", Kind.date, "When it should next be reviewed."),
    ),
)

INDICATORS = TableSpec(
    name="indicators",
    slug="indicators",
    title="Indicators",
    model=models.Indicator,
    columns=(
        _id("indicator"),
        Column("name", Kind.string, "Name.", required=True, max_length=500),
        Column("description", Kind.string, "Description."),
        Column("unit", Kind.string, "Unit of its observations.", required=True, max_length=50),
        *_state(),
    ),
)

INDICATOR_COMMITMENTS = TableSpec(
    name="indicator_commitments",
    slug="indicator-commitments",
    title="Commitments each indicator measures",
    model=models.IndicatorCommitment,
    primary_key=("indicator_id", "commitment_id"),
    columns=(
        _ref("indicator_id", "indicators", "The indicator.", required=True),
        _ref("commitment_id", "commitments", "The commitment.", required=True),
    ),
)

OBSERVATIONS = TableSpec(
    name="observations",
    slug="observations",
    title="Observations",
    model=models.Observation,
    columns=(
        _id("observation"),
        _ref("indicator_id", "indicators", "The indicator.", required=True),
        Column(
            "value",
            Kind.decimal,
            "Exact value (at most 6 decimal places).",
            required=True,
            scale=6,
        ),
        Column("unit", Kind.string, "Unit, when not the indicator's.", max_length=50),
        Column(
            "qualifier",
            Kind.code,
            "exact, approximately, up_to or at_least.",
            required=True,
            enum=_codes(AmountQualifier),
        ),
        Column("value_text", Kind.string, "The value as written.", max_length=500),
        *_period("period", "period observed", required_precision=True),
    ),
)

CITATIONS = TableSpec(
    name="citations",
    slug="citations",
    title="Citations",
    model=models.Citation,
    description="Verbatim quotes; exactly one of the four subject columns is set.",
    columns=(
        _id("citation"),
        _ref("source_id", "sources", "The source quoted.", required=True),
        Column("quote", Kind.string, "The verbatim quote.", required=True),
        Column("locator", Kind.string, "Where in the source ('para 8').", max_length=100),
        _ref("commitment_id", "commitments", "The commitment it supports."),
        _ref("money_flow_id", "money_flows", "The money flow it supports."),
        _ref("review_id", "reviews", "The review it is evidence for."),
        _ref("observation_id", "observations", "The observation it supports."),
    ),
)

EXCHANGE_RATES = TableSpec(
    name="exchange_rates",
    slug="exchange-rates",
    title="Exchange rates",
    model=models.ExchangeRate,
    columns=(
        _id("rate"),
        Column("rate_on", Kind.date, "Date of the rate.", required=True),
        Column("base_currency", Kind.currency, "Currency of one unit.", required=True, filter=True),
        Column(
            "quote_currency",
            Kind.currency,
            "Currency the rate is expressed in.",
            required=True,
            filter=True,
        ),
        Column(
            "rate",
            Kind.decimal,
            "Units of quote currency per unit of base currency.",
            required=True,
            scale=10,
        ),
        Column("source_name", Kind.string, "Rate table it comes from.", required=True),
        Column("source_url", Kind.string, "Address of the rate table.", max_length=2000),
    ),
)

# In dependency order: a table only refers to tables before it (or to itself),
# which is the order to import a data package in.
TABLES: Final[tuple[TableSpec, ...]] = (
    ACTORS,
    SOURCES,
    COMMITMENTS,
    COMMITMENT_ACTORS,
    TAGS,
    COMMITMENT_TAGS,
    MONEY_FLOWS,
    REVIEWS,
    INDICATORS,
    INDICATOR_COMMITMENTS,
    OBSERVATIONS,
    CITATIONS,
    EXCHANGE_RATES,
)
BY_NAME: Final = {spec.name: spec for spec in TABLES}
BY_SLUG: Final = {spec.slug: spec for spec in TABLES}


def get(name: str) -> TableSpec:
    """A table by name, accepting the URL spelling too ("money-flows")."""
    spec = BY_NAME.get(name) or BY_SLUG.get(name) or BY_NAME.get(name.replace("-", "_"))
    if spec is None:
        raise KeyError(name)
    return spec
