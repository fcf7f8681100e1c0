"""CSV output shared by every export: RFC 4180, CRLF, UTF-8, formula injection neutralised.

The rule (documented in the README): a *text* cell whose first character is
`=`, `+`, `-`, `@`, a tab, a carriage return or a line feed is prefixed with a
single quote (') so spreadsheet programs show it as text instead of running
it. Numeric and date columns are written as plain values and never touched,
so "-5" in a number column stays a number. Importers strip the prefix again
(`restore_text`), so export → import is lossless.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from app.money import currency_exponent, from_minor_units

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
NEUTRALISER = "'"
BOM = "\ufeff"


def neutralise(text: str) -> str:
    """Make a text cell inert for spreadsheets (see the module docstring)."""
    if text.startswith(FORMULA_TRIGGERS) or text.startswith(NEUTRALISER):
        # A text that already starts with the neutraliser gets one more, so
        # that `restore_text` can always remove exactly one.
        return NEUTRALISER + text
    return text


def restore_text(cell: str) -> str:
    """Undo `neutralise` on import."""
    if cell.startswith(NEUTRALISER) and (
        cell[1:].startswith(FORMULA_TRIGGERS) or cell[1:].startswith(NEUTRALISER)
    ):
        return cell[1:]
    return cell


NEEDS_GUARD = frozenset((*FORMULA_TRIGGERS, NEUTRALISER))
_NEEDS_GUARD = NEEDS_GUARD


def text_cell(value: str | None) -> str:
    """`cell` for a column known to hold text or None (the same result, less dispatch)."""
    if value is None:
        return ""
    return NEUTRALISER + value if value[:1] in NEEDS_GUARD else value


def minor_units_cell(minor: int, currency: str) -> str:
    """`cell(from_minor_units(minor, currency))` without building the Decimal:
    plain digits with exactly the currency's decimals ("31400000.00", "5" for JPY)."""
    if type(minor) is not int or minor < 0:
        return cell(from_minor_units(minor, currency))  # its checks and errors, unchanged
    exponent = currency_exponent(currency)
    if exponent == 0:
        return str(minor)
    units, fraction = divmod(minor, 10**exponent)
    return f"{units}.{fraction:0{exponent}d}"


def cell(value: Any) -> str:
    """One value as CSV text: None is empty, dates ISO, decimals plain, text neutralised."""
    # Fast paths for the two commonest cells of a big export; same rule as below.
    if type(value) is str:
        return NEUTRALISER + value if value[:1] in _NEEDS_GUARD else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        # Decimals keep their exponent as stored ("31400000.00"), never "3.14E+7".
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return neutralise(str(value))


def text_rows_to_csv(
    header: Sequence[str],
    chunks: Iterable[list[list[str]]],
    *,
    bom: bool = False,
    piece_size: int = 1_048_576,
) -> Iterator[str]:
    """As `rows_to_csv`, for chunks of rows whose cells are already CSV text
    (made by `cell`, `text_cell` or `minor_units_cell`).

    A row none of whose cells needs quoting (no comma, quote or line break) is
    written as its cells joined by commas, which is exactly what the csv module
    writes for it; that is nearly every row of a big export, and five times
    faster than the writer. Rows that need quoting go through the writer.

    Pieces of about `piece_size` characters (1 MiB: still constant memory):
    a streaming response fetches each piece from a worker thread, and on a
    busy machine each of those hand-offs can wait for a core.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if bom:
        buffer.write(BOM)
    writer.writerow(header)
    # The csv module quotes an empty single field (""), so a one-column
    # document always takes the writer.
    commas = len(header) - 1 if len(header) > 1 else -1
    write = buffer.write
    for rows in chunks:
        lines: list[str] = []
        for row in rows:
            line = ",".join(row)
            # Any comma beyond the separators is inside a cell.
            if (
                line.count(",") == commas
                and '"' not in line
                and "\n" not in line
                and "\r" not in line
            ):
                lines.append(line)
            else:
                if lines:
                    lines.append("")
                    write("\r\n".join(lines))
                    lines = []
                writer.writerow(row)
        if lines:
            lines.append("")
            write("\r\n".join(lines))
        if buffer.tell() >= piece_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def rows_to_csv(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False
) -> Iterator[str]:
    """Yield a CSV document piece by piece (header first), in constant memory.

    Rows are raw values; `cell` converts and neutralises each one. Chunks of
    about 64 KiB are yielded so a streaming response sends few, large writes.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if bom:
        buffer.write(BOM)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
        if buffer.tell() >= 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
