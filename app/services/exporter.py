"""Lossless per-table CSV export: one query per table, streamed in constant memory.

Who sees what: readers (`include_drafts=False`) get published, not deleted
records; children (money flows, reviews, links, citations, observations)
follow their parent's state. An optional reference to a record the reader may
not see (a draft actor as provider, say) is exported empty, so every exported
file is consistent on its own and imports cleanly. Operators exporting from
the command line may include drafts; soft-deleted records are never exported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app import csvutil, errors, money
from app.models import MAX_ID
from app.services import tables, visibility
from app.services.tables import Kind, TableSpec

# Rows fetched from the database at a time: enough for speed, small enough
# that memory stays flat whatever the table's size.
BATCH_SIZE = 2000

_CITATION_SUBJECTS = ("commitment_id", "money_flow_id", "review_id", "observation_id")


class FilterError(errors.BadRequest, ValueError):
    """A filter parameter was unknown or its value unusable; the message says which."""


# ------------------------------------------------------------- visibility


def conditions(spec: TableSpec, include_drafts: bool) -> list[ColumnElement[bool]]:
    """WHERE conditions that keep only the rows this reader may see."""
    table = spec.table
    conds: list[ColumnElement[bool]] = []
    if "state" in table.c:
        conds += visibility.visible_sql(table.c, include_drafts=include_drafts)
    if spec.name == "citations":
        conds.append(
            or_(
                *(
                    table.c[name].in_(_visible_ids(tables.BY_NAME[ref_table], include_drafts))
                    for name in _CITATION_SUBJECTS
                    for ref_table in [_target(spec, name)]
                )
            )
        )
    for column in spec.columns:
        # Tags are visible through their links, so a link's tag needs no check.
        if column.references and column.required and column.references[0] != "tags":
            target = tables.BY_NAME[column.references[0]]
            if conditions(target, include_drafts):
                conds.append(table.c[column.name].in_(_visible_ids(target, include_drafts)))
    if spec.name == "tags" and not include_drafts:
        links = tables.COMMITMENT_TAGS
        conds.append(
            table.c.id.in_(
                select(links.table.c.tag_id).where(*conditions(links, include_drafts)).distinct()
            )
        )
    return conds


def _target(spec: TableSpec, column: str) -> str:
    references = spec.column_index[column].references
    assert references is not None
    return references[0]


def _visible_ids(spec: TableSpec, include_drafts: bool) -> Select[Any]:
    return select(spec.table.c.id).where(*conditions(spec, include_drafts))


def _selected_column(spec: TableSpec, name: str, include_drafts: bool) -> ColumnElement[Any]:
    """The database expression for one exported column (hidden references made empty)."""
    column = spec.column_index[name]
    expression: ColumnElement[Any] = spec.table.c[column.db_column]
    if (
        column.references
        and not column.required
        and not (spec.name == "citations" and name in _CITATION_SUBJECTS)
    ):
        target = tables.BY_NAME[column.references[0]]
        if conditions(target, include_drafts):
            expression = case(
                (expression.in_(_visible_ids(target, include_drafts)), expression), else_=None
            )
    return expression


# ---------------------------------------------------------------- filters


def parse_filters(spec: TableSpec, params: Mapping[str, str]) -> dict[str, Any]:
    """Turn `?name=value` parameters into typed equality filters, or raise FilterError."""
    allowed = {column.name: column for column in spec.filters}
    parsed: dict[str, Any] = {}
    for name, raw in params.items():
        column = allowed.get(name)
        if column is None:
            known = ", ".join(allowed) or "none"
            raise FilterError(f"unknown filter {name!r} for {spec.slug}.csv; filters: {known}")
        parsed[name] = _filter_value(column, raw.strip())
    return parsed


def _filter_value(column: tables.Column, raw: str) -> Any:
    if column.kind is Kind.integer:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise FilterError(f"{column.name} must be a whole number, not {raw!r}")
        if int(raw) > MAX_ID:
            # Every integer column filtered on is an id or a small number.
            raise FilterError(f"{column.name} is at most {MAX_ID}, not {raw}")
        return int(raw)
    if column.kind is Kind.code:
        assert column.enum is not None
        if raw not in column.enum:
            raise FilterError(f"{column.name} must be one of {', '.join(column.enum)}")
        return raw
    if column.kind is Kind.currency:
        try:
            return money.normalise_currency(raw)
        except money.MoneyError as exc:
            raise FilterError(f"{column.name}: {exc}") from None
    if column.kind is Kind.country:
        if len(raw) != 2 or not raw.isascii() or not raw.isalpha():
            raise FilterError(f"{column.name} must be a two-letter country code")
        return raw.upper()
    raise FilterError(f"{column.name} cannot be used as a filter")  # pragma: no cover


# ------------------------------------------------------------------ query


def query(
    spec: TableSpec, *, include_drafts: bool = False, filters: Mapping[str, Any] | None = None
) -> Select[Any]:
    """The one query behind a table's CSV, the data package and the round-trip tests."""
    wanted = {c.db_column for c in spec.columns}
    expressions = {c.name: _selected_column(spec, c.name, include_drafts) for c in spec.columns}
    selected = [expression.label(name) for name, expression in expressions.items()]
    # Amount columns need their currency: it is always among the exported columns.
    assert all(c.currency_column in wanted for c in spec.columns if c.currency_column)
    table = spec.table
    statement = select(*selected).where(*conditions(spec, include_drafts))
    for name, value in (filters or {}).items():
        # On the exported expression: a filter cannot find rows through a hidden reference.
        statement = statement.where(expressions[name] == value)
    return statement.order_by(*(table.c[name] for name in spec.primary_key))


@functools.cache
def _exponent(currency: str) -> int:
    return money.currency_exponent(currency)


def minor_to_text(minor: int, currency: str) -> str:
    """Minor units as a plain decimal in the currency's places: (3140000000, EUR) → 31400000.00."""
    exponent = _exponent(currency)
    if exponent == 0:
        return str(minor)
    digits = str(minor).rjust(exponent + 1, "0")
    return f"{digits[:-exponent]}.{digits[-exponent:]}"


def decimal_to_text(value: Decimal) -> str:
    """An exact decimal without trailing zeros: 140.000000 → 140, 0.600000 → 0.6."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _amount_text(value: int | None, row: Sequence[Any], *, at: int) -> str | None:
    return None if value is None else minor_to_text(value, row[at])


def _decimal_text(value: Decimal | None, row: Sequence[Any]) -> Decimal | None:
    # A Decimal, not text: csvutil writes numbers as they are ("-0.5" stays a
    # number) and only neutralises text.
    return None if value is None else Decimal(decimal_to_text(value))


def _row_converter(spec: TableSpec) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """A function fixing up the columns that are not exported as the database holds them."""
    positions = {c.name: i for i, c in enumerate(spec.columns)}
    fixes: list[tuple[int, Callable[[Any, Sequence[Any]], Any]]] = []
    for i, column in enumerate(spec.columns):
        if column.kind is Kind.amount:
            assert column.currency_column is not None
            at = positions[column.currency_column]
            fixes.append((i, functools.partial(_amount_text, at=at)))
        elif column.kind is Kind.decimal:
            fixes.append((i, _decimal_text))
    if not fixes:
        return None

    def convert(row: Sequence[Any]) -> Sequence[Any]:
        values = list(row)
        for i, fix in fixes:
            values[i] = fix(row[i], row)
        return values

    return convert


def iter_rows(
    session: Session,
    spec: TableSpec,
    *,
    include_drafts: bool = False,
    filters: Mapping[str, Any] | None = None,
) -> Iterator[Sequence[Any]]:
    """Rows of the lossless table, fetched in batches (server-side cursor on PostgreSQL)."""
    statement = query(spec, include_drafts=include_drafts, filters=filters)
    result = session.execute(statement, execution_options={"yield_per": BATCH_SIZE})
    convert = _row_converter(spec)
    if convert is None:
        yield from result
    else:
        for row in result:
            yield convert(row)


def stream_csv(
    factory: sessionmaker[Session],
    spec: TableSpec,
    *,
    include_drafts: bool = False,
    filters: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """The table as CSV text chunks (no BOM), reading in its own session.

    The session lives as long as the stream, not the request: a streamed
    response is sent after the route has returned. Any error propagates, so
    the server aborts the response instead of ending a truncated file cleanly.
    """
    with factory() as session:
        yield from csv_chunks(session, spec, include_drafts=include_drafts, filters=filters)


def csv_chunks(
    session: Session,
    spec: TableSpec,
    *,
    include_drafts: bool = False,
    filters: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """The table as CSV text chunks (no BOM) from an open session."""
    rows = iter_rows(session, spec, include_drafts=include_drafts, filters=filters)
    yield from csvutil.rows_to_csv(spec.header, rows)
