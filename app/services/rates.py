"""Exchange rates: importing published tables, and listing them.

Two file formats are read (the format is recognised from the header):

* The European Central Bank's euro foreign exchange reference rates, as in
  its historical file (``eurofxref-hist.csv``, also accepted inside its zip):
  ``Date,USD,JPY,…`` with one row per day, newest first, rates per 1 EUR,
  ``N/A`` where a currency had no rate that day, and a trailing comma that
  makes an empty last column. The daily file's "27 November 2020" dates and
  spaces after commas are accepted too. Columns of currencies that ISO 4217
  no longer lists (CYP, SIT, EEK…) are skipped and reported, since no money
  flow can be in them.
* A simple table ``date,base,quote,rate,source``: one unit of ``base`` buys
  ``rate`` units of ``quote`` on ``date``, from the named rate table.

Imports are all or nothing: the whole file is checked first and every
problem reported with its row number (row 1 is the header); nothing is
written unless the file is clean. Re-importing the same file changes
nothing; a corrected rate replaces the stored one for the same date,
currency pair and source.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    bindparam,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from app import errors, money
from app.models import ExchangeRate, utcnow
from app.services import changes
from app.vocab import ChangeAction

ECB_SOURCE_NAME: Final = "ECB euro foreign exchange reference rates"
ECB_SOURCE_URL: Final = (
    "https://www.ecb.europa.eu/stats/policy_and_exchange_rates/"
    "euro_reference_exchange_rates/html/index.en.html"
)
SIMPLE_HEADER: Final = ("date", "base", "quote", "rate", "source")
RATE_SCALE: Final = 10  # ExchangeRate.rate keeps ten decimal places
MAX_RATE: Final = Decimal(900_000_000)  # fits the scaled BIGINT with room to spare
MAX_ERRORS_REPORTED: Final = 20
_RATE_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_WRITE_CHUNK: Final = 1000


class RateImportError(errors.Invalid, ValueError):
    """The file was refused; `problems` lists each one with its row number."""

    def __init__(self, filename: str, problems: list[str]) -> None:
        self.filename = filename
        self.problems = problems
        shown = problems[:MAX_ERRORS_REPORTED]
        more = len(problems) - len(shown)
        summary = f"{filename}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
        summary += "; nothing imported"
        if more:
            summary += f" ({more} not shown)"
        super().__init__(summary)
        self.shown = shown


@dataclass(frozen=True)
class ParsedRate:
    row: int
    rate_on: dt.date
    base: str
    quote: str
    rate: Decimal
    source_name: str
    source_url: str | None


@dataclass
class ParsedFile:
    format: str  # "ecb" or "simple"
    rates: list[ParsedRate] = field(default_factory=list)
    skipped_columns: list[str] = field(default_factory=list)
    gaps: int = 0  # N/A cells in an ECB file


@dataclass(frozen=True)
class ImportResult:
    filename: str
    format: str
    inserted: int
    updated: int
    unchanged: int
    gaps: int
    skipped_columns: tuple[str, ...]
    first_on: dt.date | None
    last_on: dt.date | None
    sources: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def message(self) -> str:
        span = f" dated {self.first_on} to {self.last_on}" if self.first_on else ""
        text = (
            f"{self.filename}: {self.total} rates{span} ({self.inserted} new, "
            f"{self.updated} updated, {self.unchanged} unchanged)"
        )
        if self.gaps:
            text += f"; {self.gaps} N/A cells skipped"
        if self.skipped_columns:
            text += "; columns skipped (not current ISO 4217 currencies): " + ", ".join(
                self.skipped_columns
            )
        return text


# ------------------------------------------------------------------ reading


def read_file(path: Path) -> str:
    """The CSV text of `path`, or of the single CSV inside a zip (as the ECB ships it)."""
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise RateImportError(path.name, ["the zip file must hold exactly one .csv file"])
            data = archive.read(names[0])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RateImportError(
            path.name, [f"the file is not UTF-8 text (byte {exc.start})"]
        ) from None


def _parse_date(text: str) -> dt.date:
    text = text.strip()
    if len(text) == 10:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    else:
        try:
            # The ECB's daily file writes "27 November 2020".
            return dt.datetime.strptime(text, "%d %B %Y").date()  # noqa: DTZ007 - a date
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


def _parse_rate(text: str) -> Decimal:
    text = text.strip()
    if not _RATE_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a rate (a positive decimal number such as 0.8951)")
    # Counting digits in the text is exact and much cheaper than Decimal.normalize()
    # on the ~200,000 cells of a full ECB history.
    _whole, _dot, fraction = text.partition(".")
    if len(fraction.rstrip("0")) > RATE_SCALE:
        raise ValueError(f"{text!r} has more than {RATE_SCALE} decimal places")
    value = Decimal(text)
    if not value:
        raise ValueError(f"{text!r}: a rate must be greater than zero")
    if value > MAX_RATE:
        raise ValueError(f"{text!r} is too large for a rate")
    return value


def parse(text: str, filename: str, *, default_source: str | None = None) -> ParsedFile:
    """Check a whole rate file; raise RateImportError listing every problem."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise RateImportError(filename, ["the file is empty"]) from None
    except csv.Error as exc:
        raise RateImportError(filename, [f"row 1: {exc}"]) from None
    cleaned = [h.strip() for h in header]
    if (
        cleaned
        and cleaned[0].lower() == "date"
        and tuple(c.lower() for c in cleaned) != (SIMPLE_HEADER)
    ):
        parsed = _parse_ecb(reader, cleaned, filename, default_source)
    elif tuple(c.lower() for c in cleaned) == SIMPLE_HEADER:
        parsed = _parse_simple(reader, filename, default_source)
    else:
        raise RateImportError(
            filename,
            [
                "row 1: unrecognised header; expected the ECB format (Date,USD,JPY,…) "
                "or date,base,quote,rate,source"
            ],
        )
    if not parsed.rates:
        raise RateImportError(filename, ["the file holds no rates"])
    return parsed


def _check_duplicates(parsed: ParsedFile, problems: list[str]) -> None:
    seen: dict[tuple[dt.date, str, str, str], int] = {}
    for r in parsed.rates:
        key = (r.rate_on, r.base, r.quote, r.source_name)
        if key in seen:
            problems.append(
                f"row {r.row}: {r.base}/{r.quote} on {r.rate_on} from {r.source_name!r} "
                f"is already given in row {seen[key]}"
            )
        else:
            seen[key] = r.row


def _parse_ecb(
    reader: Iterable[list[str]], header: list[str], filename: str, default_source: str | None
) -> ParsedFile:
    parsed = ParsedFile(format="ecb")
    problems: list[str] = []
    columns: list[tuple[int, str]] = []
    for index, name in enumerate(header[1:], start=1):
        if not name:
            continue  # the trailing comma's empty column
        if not re.fullmatch(r"[A-Z]{3}", name):
            problems.append(f"row 1, column {index + 1}: {name!r} is not a currency code")
        elif name == "EUR":
            problems.append("row 1: EUR cannot be a column; ECB rates are per 1 EUR")
        elif money.is_currency(name):
            columns.append((index, name))
        else:
            parsed.skipped_columns.append(name)
    source = default_source or ECB_SOURCE_NAME
    url = ECB_SOURCE_URL if source == ECB_SOURCE_NAME else None
    row_number = 1
    try:
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                rate_on = _parse_date(row[0])
            except ValueError as exc:
                problems.append(f"row {row_number}, column Date: {exc}")
                continue
            for index, code in columns:
                cell = row[index].strip() if index < len(row) else ""
                if cell in ("N/A", ""):
                    parsed.gaps += 1
                    continue
                try:
                    rate = _parse_rate(cell)
                except ValueError as exc:
                    problems.append(f"row {row_number}, column {code}: {exc}")
                    continue
                parsed.rates.append(ParsedRate(row_number, rate_on, "EUR", code, rate, source, url))
    except csv.Error as exc:
        problems.append(f"row {row_number + 1}: {exc}")
    _check_duplicates(parsed, problems)
    if problems:
        raise RateImportError(filename, problems)
    return parsed


def _parse_simple(
    reader: Iterable[list[str]], filename: str, default_source: str | None
) -> ParsedFile:
    parsed = ParsedFile(format="simple")
    problems: list[str] = []
    row_number = 1
    try:
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(SIMPLE_HEADER):
                problems.append(
                    f"row {row_number}: expected {len(SIMPLE_HEADER)} columns, found {len(row)}"
                )
                continue
            date_text, base_text, quote_text, rate_text, source_text = (c.strip() for c in row)
            errors: list[str] = []
            rate_on = base = quote = None
            rate: Decimal | None = None
            try:
                rate_on = _parse_date(date_text)
            except ValueError as exc:
                errors.append(f"date: {exc}")
            try:
                base = money.normalise_currency(base_text)
            except money.MoneyError as exc:
                errors.append(f"base: {exc}")
            try:
                quote = money.normalise_currency(quote_text)
            except money.MoneyError as exc:
                errors.append(f"quote: {exc}")
            try:
                rate = _parse_rate(rate_text)
            except ValueError as exc:
                errors.append(f"rate: {exc}")
            if base is not None and base == quote:
                errors.append("base and quote are the same currency")
            source = source_text or default_source
            if not source:
                errors.append("source: name the rate table (or pass a default source)")
            elif len(source) > 300:
                errors.append("source: longer than 300 characters")
            if errors:
                problems.extend(f"row {row_number}, {e}" for e in errors)
                continue
            # Each is set when `errors` is empty; the asserts tell the type checker.
            assert rate_on is not None
            assert base is not None
            assert quote is not None
            assert rate is not None
            assert source
            url = ECB_SOURCE_URL if source == ECB_SOURCE_NAME else None
            parsed.rates.append(ParsedRate(row_number, rate_on, base, quote, rate, source, url))
    except csv.Error as exc:
        problems.append(f"row {row_number + 1}: {exc}")
    _check_duplicates(parsed, problems)
    if problems:
        raise RateImportError(filename, problems)
    return parsed


# ------------------------------------------------------------------ writing

Progress = Callable[[int], None]


def import_rates(
    session: Session,
    text: str,
    *,
    filename: str,
    default_source: str | None = None,
    progress_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
    actor_label: str | None = None,
) -> ImportResult:
    """Check and store a rate file in the caller's transaction (flushes, never commits).

    Existing rates with the same date, pair and source are left alone when
    equal and replaced when different, so a re-import is a no-op.
    """
    parsed = parse(text, filename, default_source=default_source)
    table: Table = ExchangeRate.__table__  # type: ignore[assignment]  # a Table, typed as FromClause
    if progress_total:
        progress_total(len(parsed.rates))
    inserted = updated = unchanged = 0
    by_source: dict[str, list[ParsedRate]] = {}
    for r in parsed.rates:
        by_source.setdefault(r.source_name, []).append(r)
    now = utcnow()
    touched_key: tuple[dt.date, str, str, str] | None = None
    for source_name, rates in by_source.items():
        first = min(r.rate_on for r in rates)
        last = max(r.rate_on for r in rates)
        # The stored rate is compared as its raw scaled integer: no Decimal per row.
        existing = {
            (rate_on, base, quote): (rate_id, scaled)
            for rate_id, rate_on, base, quote, scaled in session.execute(
                select(
                    ExchangeRate.id,
                    ExchangeRate.rate_on,
                    ExchangeRate.base_currency,
                    ExchangeRate.quote_currency,
                    type_coerce(ExchangeRate.rate, BigInteger),
                ).where(
                    ExchangeRate.source_name == source_name,
                    ExchangeRate.rate_on >= first,
                    ExchangeRate.rate_on <= last,
                )
            )
        }
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        for r in rates:
            found = existing.get((r.rate_on, r.base, r.quote))
            if found is None:
                new_rows.append(
                    {
                        "rate_on": r.rate_on,
                        "base_currency": r.base,
                        "quote_currency": r.quote,
                        "rate": r.rate,
                        "source_name": source_name,
                        "source_url": r.source_url,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
                touched_key = (r.rate_on, r.base, r.quote, source_name)
            elif found[1] != int(r.rate.scaleb(RATE_SCALE)):
                changed_rows.append({"b_id": found[0], "b_rate": r.rate, "b_now": now})
                touched_key = (r.rate_on, r.base, r.quote, source_name)
            else:
                unchanged += 1
                if progress:
                    progress(1)
        for start in range(0, len(new_rows), _WRITE_CHUNK):
            chunk = new_rows[start : start + _WRITE_CHUNK]
            session.execute(insert(table), chunk)
            inserted += len(chunk)
            if progress:
                progress(len(chunk))
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                rate=bindparam("b_rate", type_=table.c.rate.type),
                updated_at=bindparam("b_now", type_=table.c.updated_at.type),
                version=table.c.version + 1,
            )
        )
        for start in range(0, len(changed_rows), _WRITE_CHUNK):
            chunk = changed_rows[start : start + _WRITE_CHUNK]
            session.connection().execute(statement, chunk)
            updated += len(chunk)
            if progress:
                progress(len(chunk))
    session.flush()
    result = ImportResult(
        filename=filename,
        format=parsed.format,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        gaps=parsed.gaps,
        skipped_columns=tuple(parsed.skipped_columns),
        first_on=min(r.rate_on for r in parsed.rates),
        last_on=max(r.rate_on for r in parsed.rates),
        sources=tuple(by_source),
    )
    if touched_key is not None:
        # One change record per import (not one per rate: a full ECB history
        # is ~200,000 rates). It is attached to the newest rate written and
        # its summary describes the whole import.
        rate_on, base, quote, source_name = touched_key
        entity = session.scalars(
            select(ExchangeRate).where(
                ExchangeRate.rate_on == rate_on,
                ExchangeRate.base_currency == base,
                ExchangeRate.quote_currency == quote,
                ExchangeRate.source_name == source_name,
            )
        ).one()
        changes.record(
            session,
            action=ChangeAction.import_,
            entity=entity,
            summary=f"Imported exchange rates: {result.message}",
            actor_label=actor_label or f"import of {filename}",
            public=True,
        )
        session.flush()
    return result


# ------------------------------------------------------------------ listing


@dataclass(frozen=True)
class RatePage:
    rates: list[ExchangeRate]
    total: int
    page: int
    per_page: int
    sources: list[tuple[str, int, dt.date, dt.date]]  # name, count, first, last
    currencies: list[str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_rates(
    session: Session,
    *,
    currency: str | None = None,
    source: str | None = None,
    page: int = 1,
    per_page: int = 100,
) -> RatePage:
    """Rates newest first, optionally for one currency (as base or quote) or one table."""
    conditions: list[ColumnElement[bool]] = []
    if currency:
        conditions.append(
            (ExchangeRate.base_currency == currency) | (ExchangeRate.quote_currency == currency)
        )
    if source:
        conditions.append(ExchangeRate.source_name == source)
    total = session.scalar(select(func.count()).select_from(ExchangeRate).where(*conditions)) or 0
    rates = list(
        session.scalars(
            select(ExchangeRate)
            .where(*conditions)
            .order_by(
                ExchangeRate.rate_on.desc(),
                ExchangeRate.base_currency,
                ExchangeRate.quote_currency,
                ExchangeRate.source_name,
            )
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    sources = [
        (name, count, first, last)
        for name, count, first, last in session.execute(
            select(
                ExchangeRate.source_name,
                func.count(),
                func.min(ExchangeRate.rate_on),
                func.max(ExchangeRate.rate_on),
            )
            .group_by(ExchangeRate.source_name)
            .order_by(ExchangeRate.source_name)
        )
    ]
    codes = set(session.scalars(select(ExchangeRate.base_currency).distinct())) | set(
        session.scalars(select(ExchangeRate.quote_currency).distinct())
    )
    return RatePage(rates, total, page, per_page, sources, sorted(codes))
