"""CSV cells: formula injection neutralised in text, numbers untouched, lossless round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.csvutil import (
    cell,
    minor_units_cell,
    neutralise,
    restore_text,
    rows_to_csv,
    text_cell,
    text_rows_to_csv,
)
from app.money import MoneyError, from_minor_units


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx"]
)
def test_formula_looking_text_is_made_inert(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_plain_text_and_numbers_are_untouched() -> None:
    assert cell("Home Office") == "Home Office"
    assert cell(Decimal("-5.50")) == "-5.50"
    assert cell(Decimal("31400000.00")) == "31400000.00"
    assert cell(1234567890123456789) == "1234567890123456789"
    assert cell(dt.date(2021, 5, 28)) == "2021-05-28"
    assert cell(None) == ""
    assert cell(True) == "true"


@given(st.text())
def test_restore_undoes_neutralise(text: str) -> None:
    assert restore_text(neutralise(text)) == text


def test_document_is_rfc4180_with_crlf_and_optional_bom() -> None:
    document = "".join(
        rows_to_csv(["a", "b"], [["x,y", 'say "hi"'], ["multi\nline", "=1+1"]], bom=True)
    )
    assert document.startswith("\ufeffa,b\r\n")
    assert document.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(document.removeprefix("\ufeff"), newline="")))
    assert rows == [["a", "b"], ["x,y", 'say "hi"'], ["multi\nline", "'=1+1"]]
    assert "\ufeff" not in "".join(rows_to_csv(["a"], [["b"]]))


def test_large_documents_stream_in_chunks() -> None:
    chunks = list(rows_to_csv(["n"], ([i] for i in range(50_000))))
    assert len(chunks) > 1
    assert all(len(c) < 70_000 for c in chunks)


# The commitments export converts cells by column type (text_cell,
# minor_units_cell) and writes whole chunks (text_rows_to_csv): each must give
# exactly what cell() and rows_to_csv give, or the download would change.


@given(st.one_of(st.none(), st.text()))
def test_text_cell_is_cell_for_text(value: str | None) -> None:
    assert text_cell(value) == cell(value)


@given(
    st.integers(min_value=0, max_value=10**30),
    st.sampled_from(["EUR", "JPY", "KWD", "GBP", "CLF", "KRW"]),
)
def test_minor_units_cell_is_cell_of_from_minor_units(minor: int, currency: str) -> None:
    assert minor_units_cell(minor, currency) == cell(from_minor_units(minor, currency))


def test_minor_units_cell_keeps_from_minor_units_errors() -> None:
    with pytest.raises(MoneyError):
        minor_units_cell(-1, "EUR")
    with pytest.raises(TypeError):
        minor_units_cell(True, "EUR")  # type: ignore[arg-type]


@given(st.data(), st.integers(min_value=1, max_value=4), st.booleans())
def test_text_rows_to_csv_writes_what_rows_to_csv_writes(
    data: st.DataObject, width: int, bom: bool
) -> None:
    # Cells full of the characters that decide quoting: the fast path (cells
    # joined by commas) must give exactly the writer's bytes, row by row.
    tricky = st.text(alphabet=st.sampled_from([",", '"', "\r", "\n", "'", "=", " ", "a", "é"]))
    cell_values = st.one_of(st.none(), st.text(), tricky, st.integers())
    rows = data.draw(st.lists(st.lists(cell_values, min_size=width, max_size=width), max_size=20))
    header = ["a", "b", "c", "d"][:width]
    expected = "".join(rows_to_csv(header, rows, bom=bom))
    converted = [[cell(value) for value in row] for row in rows]
    chunks = [converted[:7], converted[7:], []]
    assert "".join(text_rows_to_csv(header, chunks, bom=bom)) == expected
