"""CSV import in the lossless export format: validate everything, then write all or nothing.

Used by `pledges import` and (later) the editors' upload page: both hand a
binary file object to `import_csv` and get an `ImportReport` back.

* Columns are those of the lossless export (`app.services.tables`), in any order.
* A row whose id exists is an update; any other row is created (with its id
  when it gives one, so a data package restores with the same ids).
* References may be ids or natural keys: an actor's name, a source's URL, a
  tag's slug.
* Every cell is checked before anything is written; the problems are listed by
  row (the header is row 1, as in a spreadsheet) and column.
* The writes happen inside a SAVEPOINT: a dry run rolls it back after
  reporting exactly what would change; a refused import changes nothing.
* Real spreadsheet output is accepted: a byte-order mark, CRLF, semicolon (or
  tab) delimiters, quoted newlines, TRUE/FALSE, cells neutralised against
  formula injection (the leading ' is removed again).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Final

import pycountry
from sqlalchemy import func, select, text, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import csvutil, models, money, periods
from app.models import MAX_ID
from app.services import changes, rules, tables, visibility
from app.services.tables import Column, Kind, TableSpec
from app.vocab import ChangeAction

MAX_PROBLEMS: Final = 200
_CHUNK: Final = 500
_INT_RE: Final = re.compile(r"-?[0-9]+", re.ASCII)
_DATE_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DECIMAL_RE: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_MAX_ID: Final = MAX_ID

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """One reason a file was refused: where, and why."""

    reason: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


@dataclass
class RowChange:
    row: int
    action: str  # create, update or unchanged
    key: tuple[Any, ...]
    # Changed columns: name -> (before, after), as CSV text.
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def describe(self) -> str:
        key = ", ".join(str(k) for k in self.key)
        if self.action == "create":
            return f"row {self.row}: create {key}"
        if self.action == "unchanged":
            return f"row {self.row}: {key} unchanged"
        diffs = "; ".join(f"{name}: {b!r} -> {a!r}" for name, (b, a) in self.changes.items())
        return f"row {self.row}: update {key}: {diffs}"


@dataclass
class ImportReport:
    table: str
    dry_run: bool
    rows: list[RowChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        upd = "would update" if self.dry_run else "updated"
        return (
            f"{self.table}: {verb} {self.count('create')}, {upd} {self.count('update')}, "
            f"{self.count('unchanged')} unchanged"
        )


class _Refused(Exception):
    pass


# ------------------------------------------------------------------ reading


def _decode(data: bytes) -> str:
    try:
        text_ = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(
            f"the file is not UTF-8 (byte {exc.start + 1} is not valid); "
            "save it as 'CSV UTF-8' and try again"
        ) from None
    return text_.removeprefix(csvutil.BOM)


def _delimiter(text_: str) -> str:
    """Comma, unless the header line is clearly semicolon- or tab-separated."""
    first_line = text_.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_rows(
    data: bytes, spec: TableSpec, problems: list[Problem]
) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (spreadsheet row number, {column: cell}); problems appended."""
    text_ = _decode(data)
    reader = csv.reader(io.StringIO(text_, newline=""), delimiter=_delimiter(text_), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _Refused(f"row 1: the header is not valid CSV ({exc})") from None
    if header is None or not any(h.strip() for h in header):
        raise _Refused("the file is empty: it needs a header row with the column names")
    names = [h.strip() for h in header]
    known = set(spec.header)
    header_problems = [
        Problem(f"unknown column {name!r}; this table's columns are: {', '.join(spec.header)}")
        for name in names
        if name not in known
    ]
    header_problems += [
        Problem(f"missing column {name!r}") for name in spec.header if name not in names
    ]
    header_problems += [
        Problem(f"column {name!r} appears more than once")
        for name in sorted({n for n in names if names.count(n) > 1})
    ]
    if header_problems:
        problems.extend(header_problems)
        return []
    rows: list[tuple[int, dict[str, str]]] = []
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(f"not valid CSV ({exc})", row=number))
            break
        if not any(c.strip() for c in cells):
            continue  # spreadsheets leave blank lines at the end
        if len(cells) != len(names):
            problems.append(
                Problem(f"has {len(cells)} cells, the header has {len(names)}", row=number)
            )
            continue
        rows.append((number, dict(zip(names, cells, strict=True))))
    return rows


# ------------------------------------------------------------------ cells


class _CellError(ValueError):
    pass


def _parse_int(raw: str, column: Column) -> int:
    if not _INT_RE.fullmatch(raw):
        raise _CellError(f"{raw!r} is not a whole number")
    value = int(raw)
    low = 1 if column.references or column.name == "id" else column.minimum
    if low is not None and value < low:
        raise _CellError(f"{value} is below the minimum {low}")
    high = column.maximum if column.maximum is not None else _MAX_ID
    if value > high:
        raise _CellError(f"{value} is above the maximum {high}")
    return value


def _parse_date(raw: str) -> dt.date:
    m = _DATE_RE.fullmatch(raw)
    if not m:
        raise _CellError(f"{raw!r} is not a date in the form YYYY-MM-DD")
    try:
        value = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _CellError(f"{raw} is not a real date") from None
    if not periods.MIN_YEAR <= value.year <= periods.MAX_YEAR:
        raise _CellError(f"{raw}: years must be between {periods.MIN_YEAR} and {periods.MAX_YEAR}")
    return value


def _parse_datetime(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _CellError(f"{raw!r} is not an ISO 8601 date and time") from None
    if value.tzinfo is None:
        raise _CellError(f"{raw!r} needs a UTC offset, e.g. {raw}+00:00")
    return value.astimezone(dt.UTC)


def _parse_decimal(raw: str, column: Column) -> Decimal:
    if not _DECIMAL_RE.fullmatch(raw):
        raise _CellError(f"{raw!r} is not a plain decimal number (like 140 or 0.6)")
    value = Decimal(raw)
    places = -value.normalize().as_tuple().exponent  # type: ignore[operator]
    if column.scale is not None and places > column.scale:
        raise _CellError(f"{raw} has more than {column.scale} decimal places")
    return value


def parse_cell(column: Column, raw: str) -> Any:
    """A CSV cell as the value to store, or _CellError with the reason. Empty is None."""
    if column.kind is Kind.string:
        value = csvutil.restore_text(raw)
        if value == "":
            return None
        if column.max_length is not None and len(value) > column.max_length:
            raise _CellError(f"is {len(value)} characters long; at most {column.max_length}")
        return value
    stripped = raw.strip()
    if stripped == "":
        return None
    match column.kind:
        case Kind.integer:
            return _parse_int(stripped, column)
        case Kind.code:
            assert column.enum is not None
            if stripped not in column.enum:
                raise _CellError(f"{stripped!r} is not one of {', '.join(column.enum)}")
            return stripped
        case Kind.currency:
            try:
                return money.normalise_currency(stripped)
            except money.MoneyError as exc:
                raise _CellError(str(exc)) from None
        case Kind.country:
            if pycountry.countries.get(alpha_2=stripped.upper()) is None:
                raise _CellError(f"{stripped!r} is not an ISO 3166 two-letter country code")
            return stripped.upper()
        case Kind.date:
            return _parse_date(stripped)
        case Kind.datetime:
            return _parse_datetime(stripped)
        case Kind.boolean:
            lowered = stripped.lower()
            if lowered not in ("true", "false"):
                raise _CellError(f"{stripped!r} is not true or false")
            return lowered == "true"
        case Kind.decimal:
            return _parse_decimal(stripped, column)
        case Kind.amount:
            # Checked against its currency in _parse_row; keep the text.
            return stripped
    raise AssertionError(column.kind)  # pragma: no cover


# -------------------------------------------------------------- references


def _natural_key_lookup(session: Session, spec: TableSpec, keys: Iterable[str]) -> dict[str, int]:
    assert spec.natural_key is not None
    table = spec.table
    column = table.c[spec.natural_key]
    found: dict[str, int] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for key, id_ in session.execute(select(column, table.c.id).where(column.in_(chunk))):
            found[key] = id_
    return found


def _existing_ids(session: Session, spec: TableSpec, ids: Iterable[int]) -> set[int]:
    table = spec.table
    wanted = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.update(session.scalars(select(table.c.id).where(table.c.id.in_(chunk))))
    return found


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    # Reference cells written as natural keys: column -> key text.
    named_refs: dict[str, str] = field(default_factory=dict)


def _parse_row(spec: TableSpec, number: int, cells: dict[str, str], out: list[Problem]) -> _Row:
    row = _Row(number, {})
    for column in spec.columns:
        raw = cells[column.name]
        try:
            if column.references and raw.strip() and not _INT_RE.fullmatch(raw.strip()):
                target = tables.BY_NAME[column.references[0]]
                if target.natural_key is None:
                    raise _CellError(f"{raw.strip()!r} is not an id of {target.name}")
                row.named_refs[column.name] = csvutil.restore_text(raw).strip()
                row.values[column.name] = None
                continue
            value = parse_cell(column, raw)
            # An empty id means "create, with the next free id".
            if value is None and column.required and column.name != "id":
                raise _CellError("is required")
            row.values[column.name] = value
        except _CellError as exc:
            out.append(Problem(str(exc), row=number, column=column.name))
    _check_row(spec, row, out)
    return row


def _check_row(spec: TableSpec, row: _Row, out: list[Problem]) -> None:
    values = row.values
    for column in spec.columns:
        if column.kind is not Kind.amount or values.get(column.name) is None:
            continue
        assert column.currency_column is not None
        currency = values.get(column.currency_column)
        if currency is None:
            if column.currency_column not in {p.column for p in out if p.row == row.number}:
                out.append(
                    Problem("an amount needs a currency", row.number, column.currency_column)
                )
            continue
        try:
            values[column.name] = money.to_minor_units(values[column.name], currency)
        except money.MoneyError as exc:
            out.append(Problem(str(exc), row=row.number, column=column.name))
    if not any(p.row == row.number for p in out):
        # The rules the forms and the API apply, on the row's values (rules.*_values).
        check = VALUE_RULES.get(spec.name)
        if check is not None:
            db_values = _db_values(spec, values)
            _report(spec, row.number, check(db_values, values.get("id")), out)


def _report(spec: TableSpec, number: int, problems: rules.Problems, out: list[Problem]) -> None:
    """A rule's problems (keyed by database column) as CSV problems (keyed by CSV column)."""
    csv_names = {c.db_column: c.name for c in spec.columns}
    for column, message in problems.items():
        out.append(Problem(message, row=number, column=csv_names.get(column, column)))


ValueRule = Callable[[dict[str, Any], int | None], rules.Problems]
StateRule = Callable[[Session, dict[str, Any], int | None], rules.Problems]

# Each table's rules, the same functions the edit forms and the API apply:
# value rules before anything is written, state rules (which look at other
# records) after the rows are written inside the import's SAVEPOINT, so a row
# may point at another row of the same file.
VALUE_RULES: Final[dict[str, ValueRule]] = {
    "actors": lambda v, own: rules.actor_values(v, own_id=own),
    "sources": lambda v, _own: rules.source_values(v),
    "commitments": lambda v, own: rules.commitment_values(v, own_id=own),
    "money_flows": lambda v, _own: rules.money_flow_values(v),
    "citations": lambda v, _own: rules.citation_values(v),
    "observations": lambda v, _own: rules.observation_values(v),
    "exchange_rates": lambda v, _own: rules.exchange_rate_values(v),
}
STATE_RULES: Final[dict[str, StateRule]] = {
    "actors": lambda s, v, own: rules.actor_state(s, v, own_id=own),
    "sources": lambda s, v, _own: rules.source_state(s, v),
    "commitments": lambda s, v, own: rules.commitment_state(s, v, own_id=own),
    "money_flows": lambda s, v, _own: rules.money_flow_state(s, v)[0],
    "citations": lambda s, v, _own: rules.citation_state(s, v),
    "exchange_rates": lambda s, v, own: rules.exchange_rate_state(s, v, own_id=own),
}


# ------------------------------------------------------------------ import


def import_csv(
    session: Session,
    spec: TableSpec,
    file: IO[bytes] | bytes,
    *,
    dry_run: bool = False,
    label: str = "CSV import",
    account_id: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate and import one table's CSV. Writes nothing unless the whole file is valid.

    Flushes inside a SAVEPOINT and never commits: the caller's unit of work
    does. With `dry_run`, the SAVEPOINT is rolled back after the report is made.
    """
    report = ImportReport(table=spec.name, dry_run=dry_run)
    data = file if isinstance(file, bytes) else file.read()
    try:
        raw_rows = read_rows(data, spec, report.problems)
    except _Refused as exc:
        report.problems.append(Problem(str(exc)))
        return report
    if report.problems:
        return report
    rows = [_parse_row(spec, number, cells, report.problems) for number, cells in raw_rows]
    if not report.problems:
        _resolve_references(session, spec, rows, report.problems)
    if not report.problems:
        _check_keys(session, spec, rows, report.problems)
    if report.problems:
        del report.problems[MAX_PROBLEMS:]
        return report
    savepoint = session.begin_nested()
    try:
        hidden_before = set(visibility.hidden_references(session, _owners(session, spec, rows)))
        written = _write(session, spec, rows, report, label, account_id, progress)
        session.flush()
        _check_written(session, spec, written, report.problems)
        _check_visibility(session, spec, rows, hidden_before, report.problems)
    except SQLAlchemyError as exc:
        savepoint.rollback()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        report.problems.append(Problem(f"the database refused the import: {reason}"))
        report.rows.clear()
        return report
    if report.problems:
        savepoint.rollback()
        report.rows.clear()
        report.problems = sort_problems(report.problems)[:MAX_PROBLEMS]
        return report
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        _advance_sequence(session, spec)
    return report


def _resolve_references(
    session: Session, spec: TableSpec, rows: list[_Row], out: list[Problem]
) -> None:
    in_file_ids = {r.values["id"] for r in rows if spec.has_id and r.values.get("id")}
    for column in spec.columns:
        if not column.references:
            continue
        target = tables.BY_NAME[column.references[0]]
        named = {r.named_refs[column.name] for r in rows if column.name in r.named_refs}
        if named:
            found = _natural_key_lookup(session, target, named)
            if target is spec and spec.natural_key is not None:
                for r in rows:
                    key = r.values.get(spec.natural_key)
                    if key is not None and r.values.get("id") is not None:
                        found.setdefault(key, r.values["id"])
            for r in rows:
                key = r.named_refs.get(column.name)
                if key is None:
                    continue
                if key in found:
                    r.values[column.name] = found[key]
                else:
                    out.append(
                        Problem(
                            f"no {target.name} has {target.natural_key} {key!r}",
                            r.number,
                            column.name,
                        )
                    )
        ids = {r.values[column.name] for r in rows if r.values.get(column.name) is not None}
        known = _existing_ids(session, target, ids)
        if target is spec:
            known |= in_file_ids
        for r in rows:
            value = r.values.get(column.name)
            if value is not None and value not in known and column.name not in r.named_refs:
                out.append(Problem(f"there is no {target.name} {value}", r.number, column.name))


def _key(spec: TableSpec, row: _Row) -> tuple[Any, ...]:
    return tuple(row.values.get(name) for name in spec.primary_key)


def _check_keys(session: Session, spec: TableSpec, rows: list[_Row], out: list[Problem]) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for r in rows:
        key = _key(spec, r)
        if None in key:
            continue
        if key in seen:
            shown = ", ".join(str(k) for k in key)
            out.append(Problem(f"duplicate key {shown} (also on row {seen[key]})", r.number))
        else:
            seen[key] = r.number
    unique = [c.name for c in spec.columns if c.name in _unique_columns(spec)]
    for name in unique:
        firsts: dict[Any, int] = {}
        for r in rows:
            value = r.values.get(name)
            if value is None:
                continue
            if value in firsts:
                out.append(
                    Problem(
                        f"{value!r} is also on row {firsts[value]}; it must be unique",
                        r.number,
                        name,
                    )
                )
            else:
                firsts[value] = r.number
        column = spec.table.c[name]
        values = sorted(firsts)
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            for value, id_ in session.execute(
                select(column, spec.table.c.id).where(column.in_(chunk))
            ):
                row = next(r for r in rows if r.values.get(name) == value)
                if row.values.get("id") != id_:
                    out.append(
                        Problem(f"{value!r} is already used by {spec.name} {id_}", row.number, name)
                    )


def _unique_columns(spec: TableSpec) -> set[str]:
    return {c.name for c in spec.table.columns if c.unique and c.name in spec.column_index}


def _self_refs(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns if c.references and c.references[0] == spec.name]


def _db_values(spec: TableSpec, values: dict[str, Any]) -> dict[str, Any]:
    return {spec.column_index[name].db_column: value for name, value in values.items()}


def _write(
    session: Session,
    spec: TableSpec,
    rows: list[_Row],
    report: ImportReport,
    label: str,
    account_id: int | None,
    progress: Progress | None,
) -> list[tuple[_Row, Any]]:
    model = spec.model
    self_refs = _self_refs(spec)
    existing: dict[tuple[Any, ...], Any] = {}
    keys = [_key(spec, r) for r in rows if None not in _key(spec, r)]
    if spec.has_id:
        ids = sorted({k[0] for k in keys})
        for start in range(0, len(ids), _CHUNK):
            chunk_ids = ids[start : start + _CHUNK]
            id_column = spec.table.c.id
            for obj in session.scalars(select(model).where(id_column.in_(chunk_ids))):
                existing[(getattr(obj, "id"),)] = obj  # noqa: B009 - Base has no typed id
        next_id = (
            max([session.scalar(select(func.max(spec.table.c.id))) or 0, *(k[0] for k in keys)]) + 1
        )
        for r in rows:
            if r.values.get("id") is None:
                r.values["id"] = next_id
                next_id += 1
    else:
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            table = spec.table
            cols = [table.c[name] for name in spec.primary_key]
            for found in session.execute(select(*cols).where(tuple_(*cols).in_(chunk))):
                existing[tuple(found)] = None

    pending: list[tuple[_Row, Any, dict[str, Any] | None]] = []
    total = len(rows)
    for index, r in enumerate(rows, start=1):
        key = _key(spec, r)
        values = _db_values(spec, {k: v for k, v in r.values.items() if k not in self_refs})
        if key in existing:
            obj = existing[key]
            if obj is None:  # a link row that is already there
                report.rows.append(RowChange(r.number, "unchanged", key))
                continue
            before = changes.snapshot(obj)
            for attr, value in values.items():
                if getattr(obj, attr) != value:
                    setattr(obj, attr, value)
            pending.append((r, obj, before))
        else:
            obj = model(**values)
            session.add(obj)
            pending.append((r, obj, None))
        if progress is not None and (index % 1000 == 0 or index == total):
            progress(index, total * 2)
    session.flush()
    for r, obj, _before in pending:
        for name in self_refs:
            value = r.values.get(name)
            if getattr(obj, name) != value:
                setattr(obj, name, value)
    session.flush()
    for index, (r, obj, snapshot_before) in enumerate(pending, start=1):
        key = _key(spec, r)
        if snapshot_before is None:
            changes.record(
                session,
                action=ChangeAction.create,
                entity=obj,
                summary=f"Imported new {spec.name} row {', '.join(map(str, key))} ({label})",
                account_id=account_id,
                actor_label=label,
                flush=False,
            )
            report.rows.append(RowChange(r.number, "create", key))
        else:
            before = snapshot_before
            after = changes.snapshot(obj)
            diff = {
                name: (_shown(before.get(name)), _shown(after.get(name)))
                for name in after
                if before.get(name) != after.get(name)
            }
            if not diff:
                report.rows.append(RowChange(r.number, "unchanged", key))
                continue
            changes.record(
                session,
                action=ChangeAction.update,
                entity=obj,
                summary=f"Imported changes to {spec.name} {', '.join(map(str, key))} ({label})",
                before=before,
                account_id=account_id,
                actor_label=label,
                flush=False,
            )
            report.rows.append(RowChange(r.number, "update", key, diff))
        if progress is not None and (index % 1000 == 0 or index == len(pending)):
            progress(total + index, total * 2)
    report.rows.sort(key=lambda change: change.row)
    return [(r, obj) for r, obj, _before in pending]


def _check_written(
    session: Session, spec: TableSpec, written: list[tuple[_Row, Any]], out: list[Problem]
) -> None:
    """The table's state rules on every written row (see STATE_RULES)."""
    check = STATE_RULES.get(spec.name)
    if check is None:
        return
    for r, obj in written:
        values = {c.db_column: getattr(obj, c.db_column) for c in spec.columns}
        _report(spec, r.number, check(session, values, values.get("id")), out)
        if spec is tables.MONEY_FLOWS and obj.period_precision == "fiscal_year":
            # An empty fiscal month is the provider's (the rule that checked it).
            _problems, month = rules.money_flow_state(session, values)
            if obj.period_fiscal_start_month is None and month is not None:
                obj.period_fiscal_start_month = month


def _owners(session: Session, spec: TableSpec, rows: list[_Row]) -> dict[str, set[int]]:
    """The publishable records whose pages the rows change (to check what they show)."""

    def ids(name: str) -> set[int]:
        return {r.values[name] for r in rows if r.values.get(name) is not None}

    if spec.name in visibility.MODEL_OF:
        return {spec.name: ids("id")}
    if spec.name in ("commitment_actors", "money_flows", "reviews"):
        return {"commitments": ids("commitment_id")}
    if spec.name == "observations":
        return {"indicators": ids("indicator_id")}
    if spec.name == "citations":
        commitments = ids("commitment_id")
        flows, reviews_, observations = (
            ids("money_flow_id"),
            ids("review_id"),
            ids("observation_id"),
        )
        if flows:
            commitments |= set(session.scalars(
                select(models.MoneyFlow.commitment_id).where(models.MoneyFlow.id.in_(flows))
            ))  # fmt: skip
        if reviews_:
            commitments |= set(session.scalars(
                select(models.Review.commitment_id).where(models.Review.id.in_(reviews_))
            ))  # fmt: skip
        indicators = set(session.scalars(
            select(models.Observation.indicator_id)
            .where(models.Observation.id.in_(observations))
        )) if observations else set()  # fmt: skip
        return {"commitments": commitments, "indicators": indicators}
    return {}


def _check_visibility(
    session: Session,
    spec: TableSpec,
    rows: list[_Row],
    before: set[visibility.HiddenReference],
    out: list[Problem],
) -> None:
    """Published records never show drafts: the rule of the forms and the API, for the file.

    Refused: a row that makes a published record show a draft or deleted
    record it did not show before, and a row that withdraws to draft a record
    that published records show.
    """
    hidden = set(visibility.hidden_references(session, _owners(session, spec, rows))) - before
    row_of: dict[tuple[str, int], int] = {}
    if hidden:
        for r in rows:
            for table, wanted in _owners(session, spec, [r]).items():
                for record_id in wanted:
                    row_of.setdefault((table, record_id), r.number)
    for h in sorted(hidden, key=lambda h: (h.owner, h.owner_id, h.target_id)):
        out.append(
            Problem(
                f"{h.describe()}: publish it first (its own file, state=published), or "
                "import this record as a draft",
                row=row_of.get((h.owner, h.owner_id)),
            )
        )
    if spec.name in visibility.MODEL_OF:
        drafts = {
            r.values["id"]: r.number
            for r in rows
            if r.values.get("state") == "draft" and r.values.get("id") is not None
        }
        if drafts:
            for h in visibility.shown_by_published(session, {spec.name: set(drafts)}):
                out.append(
                    Problem(
                        f"{h.target_label} cannot be a draft: the published {h.owner_label} "
                        f"shows it ({h.via})",
                        row=drafts[h.target_id],
                        column="state",
                    )
                )


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def _advance_sequence(session: Session, spec: TableSpec) -> None:
    """PostgreSQL: move the id sequence past ids the import gave explicitly."""
    if not spec.has_id or session.get_bind().dialect.name != "postgresql":
        return
    # The table name comes from the spec, never from input.
    statement = (
        "SELECT setval(pg_get_serial_sequence(:table, 'id'), MAX(id)) "  # noqa: S608
        f"FROM {spec.name} HAVING MAX(id) IS NOT NULL"
    )
    session.execute(text(statement), {"table": spec.name})


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.row or 0, p.column or ""))
