"""CSV import: what real spreadsheets produce is accepted; bad files are refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import models
from app.cli import app as cli
from app.services import exporter, importer, tables

FLOW_HEADER = ",".join(tables.MONEY_FLOWS.header)


def _flow_row(cid: int, **overrides: str) -> str:
    cells = dict.fromkeys(tables.MONEY_FLOWS.header, "")
    cells.update(
        commitment_id=str(cid),
        stage="disbursement",
        amount="1000000.00",
        currency="EUR",
        qualifier="exact",
    )
    cells.update(overrides)
    return ",".join(cells[name] for name in tables.MONEY_FLOWS.header)


def _commitment_id(session: Session) -> int:
    value = session.scalar(select(func.min(models.Commitment.id)))
    assert value is not None
    return value


def _count(session: Session, model: type[models.Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _import(
    session: Session, spec: tables.TableSpec, text: str, **kw: object
) -> importer.ImportReport:
    return importer.import_csv(session, spec, text.encode(), **kw)  # type: ignore[arg-type]


def test_new_rows_are_created_with_change_records(demo: Session) -> None:
    cid = _commitment_id(demo)
    flows, records = _count(demo, models.MoneyFlow), _count(demo, models.ChangeRecord)
    report = _import(demo, tables.MONEY_FLOWS, f"{FLOW_HEADER}\n{_flow_row(cid)}\n")
    assert report.ok, report.problems
    assert report.count("create") == 1
    assert _count(demo, models.MoneyFlow) == flows + 1
    assert _count(demo, models.ChangeRecord) == records + 1
    flow = demo.scalars(select(models.MoneyFlow).order_by(models.MoneyFlow.id.desc())).first()
    assert flow is not None
    assert flow.amount_minor == 100_000_000
    assert flow.stage == "disbursement"


def test_existing_id_is_updated_and_the_report_says_what_changed(demo: Session) -> None:
    exported = "".join(exporter.csv_chunks(demo, tables.ACTORS, include_drafts=True))
    changed = exported.replace("UK Home Office", "UK Home Office (renamed)")
    report = _import(demo, tables.ACTORS, changed, dry_run=True)
    assert report.ok, report.problems
    assert report.count("update") == 1
    assert report.count("unchanged") == 2
    update = next(r for r in report.rows if r.action == "update")
    assert update.changes["name"] == ("UK Home Office", "UK Home Office (renamed)")
    # A dry run changes nothing.
    assert demo.scalar(select(models.Actor.name).where(models.Actor.name.like("%renamed%"))) is None
    report = _import(demo, tables.ACTORS, changed)
    assert report.ok
    assert demo.scalar(select(models.Actor.name).where(models.Actor.name.like("%renamed%")))
    record = demo.scalars(
        select(models.ChangeRecord).order_by(models.ChangeRecord.id.desc())
    ).first()
    assert record is not None
    assert record.action == "update"
    assert record.before is not None
    assert record.before["name"] == "UK Home Office"


def test_spreadsheet_output_is_accepted(demo: Session) -> None:
    """BOM, semicolons, CRLF, a quoted newline, a neutralised formula, TRUE/FALSE."""
    cid = _commitment_id(demo)
    header = ";".join(tables.MONEY_FLOWS.header)
    row = _flow_row(cid, notes='"line one\r\nline two"', amount_text="'=1+1").replace(",", ";")
    data = ("\ufeff" + header + "\r\n" + row + "\r\n").encode()
    report = importer.import_csv(demo, tables.MONEY_FLOWS, data)
    assert report.ok, report.problems
    flow = demo.scalars(select(models.MoneyFlow).order_by(models.MoneyFlow.id.desc())).first()
    assert flow is not None
    assert flow.notes == "line one\r\nline two"
    assert flow.amount_text == "=1+1"


def test_references_by_natural_key(demo: Session) -> None:
    cid = _commitment_id(demo)
    row = _flow_row(cid, provider_id="UK Home Office")
    report = _import(demo, tables.MONEY_FLOWS, f"{FLOW_HEADER}\n{row}\n")
    assert report.ok, report.problems
    flow = demo.scalars(select(models.MoneyFlow).order_by(models.MoneyFlow.id.desc())).first()
    home_office = demo.scalar(select(models.Actor.id).where(models.Actor.name == "UK Home Office"))
    assert flow is not None
    assert flow.provider_id == home_office
    bad = _import(
        demo, tables.MONEY_FLOWS, f"{FLOW_HEADER}\n{_flow_row(cid, provider_id='Nobody')}\n"
    )
    assert [str(p) for p in bad.problems] == [
        "row 2, column provider_id: no actors has name 'Nobody'"
    ]


@pytest.mark.parametrize(
    ("overrides", "column", "reason"),
    [
        ({"amount": "31.4 million"}, "amount", "not a plain decimal number"),
        ({"amount": "-5"}, "amount", "must not be negative"),
        ({"amount": "NaN"}, "amount", "not a plain decimal number"),
        ({"amount": "1.234"}, "amount", "EUR has 2 decimal places"),
        ({"currency": "XYZ"}, "currency", "unknown currency code"),
        ({"value_on": "2021-02-30"}, "value_on", "not a real date"),
        ({"value_on": "28/11/2020"}, "value_on", "YYYY-MM-DD"),
        ({"stage": "paid"}, "stage", "is not one of"),
        ({"commitment_id": "999999"}, "commitment_id", "there is no commitments 999999"),
        (
            {
                "period_start_on": "2021-01-01",
                "period_end_on": "2020-01-01",
                "period_precision": "range",
            },
            "period_precision",
            "must not end before",
        ),
    ],
)
def test_bad_cells_are_refused_with_row_and_column(
    demo: Session, overrides: dict[str, str], column: str, reason: str
) -> None:
    flows = _count(demo, models.MoneyFlow)
    cid = _commitment_id(demo)
    text = f"{FLOW_HEADER}\n{_flow_row(cid)}\n{_flow_row(cid, **overrides)}\n"
    report = _import(demo, tables.MONEY_FLOWS, text)
    assert not report.ok
    assert len(report.problems) == 1, report.problems
    problem = report.problems[0]
    assert (problem.row, problem.column) == (3, column)
    assert reason in problem.reason
    assert _count(demo, models.MoneyFlow) == flows


def test_a_broken_file_changes_nothing_and_reports_every_bad_row(demo: Session) -> None:
    cid = _commitment_id(demo)
    rows = [
        _flow_row(cid),
        _flow_row(cid, amount="31.4 million"),
        _flow_row(cid),
        _flow_row(cid, currency="ZZZ"),
        _flow_row(cid, value_on="2020-13-01"),
    ]
    before = _count(demo, models.MoneyFlow), _count(demo, models.ChangeRecord)
    report = _import(demo, tables.MONEY_FLOWS, FLOW_HEADER + "\n" + "\n".join(rows) + "\n")
    assert [p.row for p in report.problems] == [3, 5, 6]
    assert (_count(demo, models.MoneyFlow), _count(demo, models.ChangeRecord)) == before


def test_duplicate_ids_are_refused(demo: Session) -> None:
    exported = "".join(exporter.csv_chunks(demo, tables.TAGS, include_drafts=True))
    lines = exported.split("\r\n")
    report = _import(demo, tables.TAGS, "\r\n".join([*lines[:2], lines[1]]) + "\r\n")
    assert next(str(p) for p in report.problems).startswith("row 3: duplicate key")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,name\xff\n", "not UTF-8"),
        (b"", "empty"),
        ((b"id,slug,name,colour\n"), "unknown column 'colour'"),
        ((b"id,slug\n"), "missing column 'name'"),
    ],
)
def test_bad_files_are_refused_before_any_row(demo: Session, data: bytes, message: str) -> None:
    report = importer.import_csv(demo, tables.TAGS, data)
    assert not report.ok
    assert any(message in str(p) for p in report.problems)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PLEDGES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLEDGES_ENV", "development")
    return tmp_path


def test_cli_round_trip_and_refusals(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["demo", "load"]).exit_code == 0
    out = cli_env / "actors.csv"
    result = runner.invoke(cli, ["export", "csv", "--table", "actors", str(out)])
    assert result.exit_code == 0, result.output
    dry = runner.invoke(cli, ["import", str(out), "--table", "actors", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create 0, would update 0, 3 unchanged" in dry.stdout

    bad = cli_env / "bad.csv"
    bad.write_bytes(out.read_bytes().replace(b"government", b"kingdom", 1) + b"\xff")
    refused = runner.invoke(cli, ["import", str(bad), "--table", "actors"])
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    assert refused.stderr.strip().splitlines() == [
        "pledges: bad.csv: the file is not UTF-8 "
        f"(byte {len(bad.read_bytes())} is not valid); save it as 'CSV UTF-8' and try again",
        "pledges: nothing imported (1 problem)",
    ]
    unknown = runner.invoke(cli, ["import", str(out), "--table", "planets"])
    assert unknown.exit_code == 2
    assert "unknown table 'planets'" in unknown.stderr


def test_cli_writes_a_data_package(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["demo", "load"]).exit_code == 0
    result = runner.invoke(cli, ["export", "datapackage", str(cli_env / "dp")])
    assert result.exit_code == 0, result.output
    assert (cli_env / "dp" / "datapackage.json").is_file()
    assert (cli_env / "dp" / "data" / "money_flows.csv").read_text().startswith("id,")
