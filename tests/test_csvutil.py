"""CSV cells: formula injection neutralised in text, numbers untouched, lossless round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.csvutil import cell, neutralise, restore_text, rows_to_csv


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
