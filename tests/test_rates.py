"""Importing exchange rates: both formats, all or nothing, idempotent; and the commands."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import app as cli
from app.models import ChangeRecord, ExchangeRate
from app.services import rates
from app.services.conversion import RateBook

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ExchangeRate)) or 0


def test_ecb_file_imports_per_euro_rates_skipping_gaps_and_withdrawn_currencies(
    session: Session,
) -> None:
    result = rates.import_rates(
        session, (DATA / "ecb-sample.csv").read_text(), filename="ecb-sample.csv"
    )
    # 10 days × USD, JPY, GBP, CHF, less one N/A (JPY on 26 November 2020).
    # CYP was withdrawn in 2008 and BGN on 1 January 2026: no flow can be in them.
    assert (result.inserted, result.updated, result.unchanged) == (39, 0, 0)
    assert result.gaps == 1
    assert result.skipped_columns == ("BGN", "CYP")
    assert _count(session) == 39
    rate = session.scalars(
        select(ExchangeRate).where(
            ExchangeRate.rate_on == dt.date(2020, 11, 27), ExchangeRate.quote_currency == "GBP"
        )
    ).one()
    assert (rate.base_currency, rate.rate, rate.source_name) == (
        "EUR",
        Decimal("0.8951"),
        rates.ECB_SOURCE_NAME,
    )
    assert rate.source_url == rates.ECB_SOURCE_URL
    change = session.scalars(select(ChangeRecord).where(ChangeRecord.action == "import")).one()
    assert "39 new" in change.summary


def test_reimport_changes_nothing_and_a_corrected_rate_replaces_the_old(session: Session) -> None:
    text = (DATA / "ecb-sample.csv").read_text()
    rates.import_rates(session, text, filename="ecb-sample.csv")
    again = rates.import_rates(session, text, filename="ecb-sample.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 39)
    assert _count(session) == 39
    corrected = text.replace(
        "2020-11-27,1.1933,124.14,1.9558,N/A,0.89510", "2020-11-27,1.1933,124.14,1.9558,N/A,0.89600"
    )
    fixed = rates.import_rates(session, corrected, filename="corrected.csv")
    assert (fixed.inserted, fixed.updated, fixed.unchanged) == (0, 1, 38)
    stored = session.scalars(
        select(ExchangeRate).where(
            ExchangeRate.rate_on == dt.date(2020, 11, 27), ExchangeRate.quote_currency == "GBP"
        )
    ).one()
    session.refresh(stored)
    assert stored.rate == Decimal("0.896")


def test_simple_format(session: Session) -> None:
    result = rates.import_rates(
        session, (DATA / "rates-simple.csv").read_text(), filename="rates-simple.csv"
    )
    assert (result.format, result.inserted) == ("simple", 2)
    book = RateBook(
        session, {"GBP", "USD"}, first_on=dt.date(2021, 7, 1), last_on=dt.date(2021, 8, 20)
    )
    # Monthly rates: 20 August uses the rate of 1 August; USD→GBP reads it backwards.
    converted = book.convert(Decimal("1386.80"), "USD", "GBP", dt.date(2021, 8, 20))
    assert converted is not None
    assert converted.rounded == Decimal("1000.00")
    assert converted.legs[0].source_name == "Example monthly rates (test data)"


def test_stale_rates_are_not_used(session: Session) -> None:
    rates.import_rates(session, (DATA / "rates-simple.csv").read_text(), filename="s.csv")
    book = RateBook(
        session, {"GBP", "USD"}, first_on=dt.date(2021, 7, 1), last_on=dt.date(2022, 1, 1)
    )
    assert book.convert(Decimal(1), "GBP", "USD", dt.date(2021, 6, 30)) is None  # before any
    assert book.convert(Decimal(1), "GBP", "USD", dt.date(2021, 9, 2)) is None  # 32 days old
    assert book.convert(Decimal(1), "GBP", "USD", dt.date(2021, 9, 1)) is not None


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "Date,USD,GBP,\n2020-11-27,1.19,abc,\n2020-11-26,-1,0.89,\n2020-13-01,1.1,0.9,\n",
            [
                "row 2, column GBP: 'abc' is not a rate",
                "row 3, column USD: '-1' is not a rate",
                "row 4, column Date: '2020-13-01' is not a date",
            ],
        ),
        (
            "date,base,quote,rate,source\n2021-01-01,GBP,GBP,1,x\n2021-01-02,GBP,QQQ,1.2,x\n"
            "2021-01-03,GBP,USD,1.2\n2021-01-04,GBP,USD,1.2,\n2021-01-05,GBP,USD,0.00000000001,x\n",
            [
                "row 2, base and quote are the same currency",
                "row 3, quote: unknown currency code 'QQQ'",
                "row 4: expected 5 columns, found 4",
                "row 5, source: name the rate table",
                "row 6, rate: '0.00000000001' has more than 10 decimal places",
            ],
        ),
        (
            "date,base,quote,rate,source\n2021-01-01,GBP,USD,1.3,x\n2021-01-01,GBP,USD,1.3,x\n",
            ["row 3: GBP/USD on 2021-01-01 from 'x' is already given in row 2"],
        ),
        ("when,what\n1,2\n", ["row 1: unrecognised header"]),
        ("", ["the file is empty"]),
    ],
)
def test_bad_files_are_refused_whole_with_row_numbers(
    session: Session, text: str, problems: list[str]
) -> None:
    with pytest.raises(rates.RateImportError) as error:
        rates.import_rates(session, text, filename="bad.csv")
    assert len(error.value.problems) == len(problems)
    for problem, expected in zip(error.value.problems, problems, strict=True):
        assert problem.startswith(expected), problem
    assert "nothing imported" in str(error.value)
    assert _count(session) == 0  # not even the good rows


# ------------------------------------------------------------ commands


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite data directory for the command line (never the test database)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PLEDGES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLEDGES_ENV", "development")
    return tmp_path


def test_cli_imports_rates_then_reports_the_demo_in_sterling(cli_env: Path) -> None:
    archive = cli_env / "eurofxref-hist.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(DATA / "ecb-sample.csv", "eurofxref-hist.csv")
    assert runner.invoke(cli, ["demo", "load"]).exit_code == 0
    first = runner.invoke(cli, ["rates", "import", str(archive), "--no-progress"])
    assert first.exit_code == 0, first.output
    assert "39 new" in first.output
    again = runner.invoke(cli, ["rates", "import", str(archive), "--no-progress"])
    assert "0 new, 0 updated, 39 unchanged" in again.output
    result = runner.invoke(
        cli,
        [
            "report", "funding", "--provider", "UK Home Office",
            "--receiver", "French Ministry of the Interior",
            "--by", "fiscal-year", "--currency", "GBP",
        ],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "FY2020-21" in result.output
    assert "€31,400,000.00" in result.output
    assert "≈ £28,106,140.00" in result.output
    assert "1 EUR = 0.8951 GBP on 2020-11-27" in result.output


def test_cli_bad_file_and_bad_options_are_one_clear_line(cli_env: Path) -> None:
    bad = cli_env / "bad.csv"
    bad.write_text("Date,USD,\n2020-11-27,x,\n")
    result = runner.invoke(cli, ["rates", "import", str(bad), "--no-progress"])
    assert result.exit_code == 1
    assert "row 2, column USD: 'x' is not a rate" in result.output
    assert "pledges: bad.csv: 1 problem; nothing imported" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["report", "funding", "--by", "decade"])
    assert result.exit_code == 2
    assert "pledges: by: use calendar-year or fiscal-year" in result.output
