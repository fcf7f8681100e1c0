"""Lossless per-table CSV: columns, visibility, filters, no BOM, abort on a mid-stream failure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import models
from app.services import exporter, tables


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("spec", tables.TABLES, ids=lambda s: s.slug)
def test_every_table_has_a_csv_url_with_its_documented_header(
    client: TestClient, demo: Session, spec: tables.TableSpec
) -> None:
    response = client.get(f"/{spec.slug}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert not response.content.startswith(b"\xef\xbb\xbf")  # no BOM for scripts
    header = response.text.split("\r\n", 1)[0]
    assert header == ",".join(spec.header)


def test_money_flows_carry_a_plain_decimal_and_the_currency(
    client: TestClient, demo: Session
) -> None:
    rows = _rows(client.get("/money-flows.csv").text)
    pledge = next(r for r in rows if r["stage"] == "pledge")
    assert pledge["amount"] == "31400000.00"
    assert pledge["currency"] == "EUR"
    assert "€" in pledge["amount_text"]


def test_drafts_and_their_children_are_hidden(client: TestClient, demo: Session) -> None:
    flow = demo.scalars(select(models.MoneyFlow)).first()
    assert flow is not None
    demo.execute(
        update(models.Commitment)
        .where(models.Commitment.id == flow.commitment_id)
        .values(state="draft")
    )
    demo.commit()
    commitment_ids = {r["id"] for r in _rows(client.get("/commitments-table.csv").text)}
    assert str(flow.commitment_id) not in commitment_ids
    flows = _rows(client.get("/money-flows.csv").text)
    assert all(r["commitment_id"] != str(flow.commitment_id) for r in flows)
    citations = _rows(client.get("/citations.csv").text)
    assert all(r["commitment_id"] != str(flow.commitment_id) for r in citations)
    assert all(r["money_flow_id"] != str(flow.id) for r in citations)
    links = _rows(client.get("/commitment-actors.csv").text)
    assert all(r["commitment_id"] != str(flow.commitment_id) for r in links)


def test_a_reference_to_a_hidden_record_is_exported_empty(
    client: TestClient, demo: Session
) -> None:
    child = demo.scalars(
        select(models.Commitment).where(models.Commitment.parent_id.is_not(None))
    ).first()
    assert child is not None
    demo.execute(
        update(models.Commitment)
        .where(models.Commitment.id == child.parent_id)
        .values(state="draft")
    )
    demo.commit()
    rows = {r["id"]: r for r in _rows(client.get("/commitments-table.csv").text)}
    assert rows[str(child.id)]["parent_id"] == ""


def test_equality_filters(client: TestClient, demo: Session) -> None:
    all_flows = _rows(client.get("/money-flows.csv").text)
    pledges = _rows(client.get("/money-flows.csv?stage=pledge&currency=eur").text)
    assert pledges
    assert all(r["stage"] == "pledge" and r["currency"] == "EUR" for r in pledges)
    assert len(pledges) <= len(all_flows)
    assert _rows(client.get("/money-flows.csv?currency=JPY").text) == []


@pytest.mark.parametrize(
    "query",
    ["nope=1", "stage=paid", "currency=XYZ", "commitment_id=abc", "commitment_id=-1"],
)
def test_bad_filters_are_a_400(client: TestClient, demo: Session, query: str) -> None:
    response = client.get(f"/money-flows.csv?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_formula_looking_text_is_neutralised(client: TestClient, demo: Session) -> None:
    demo.execute(update(models.Actor).values(description='=HYPERLINK("x")'))
    demo.commit()
    rows = _rows(client.get("/actors.csv").text)
    assert rows
    assert all(r["description"] == '\'=HYPERLINK("x")' for r in rows)


def _failing_rows(*args: Any, **kwargs: Any) -> Iterator[Sequence[Any]]:
    # Enough rows to fill several 64 KiB chunks before the failure.
    for i in range(1, 5000):
        yield [i, "x" * 100] + [None] * 10
    raise RuntimeError("database went away")


def test_a_failure_midway_aborts_the_response(
    client: TestClient, demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporter, "iter_rows", _failing_rows)
    with (
        TestClient(client.app) as strict,
        pytest.raises(RuntimeError, match="database went away"),
    ):
        strict.get("/actors.csv")


def test_a_failure_midway_is_an_incomplete_transfer_over_http(
    app: Any, demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a real uvicorn server: the client sees the transfer broken off."""
    import threading

    import httpx
    import uvicorn

    monkeypatch.setattr(exporter, "iter_rows", _failing_rows)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://127.0.0.1:{port}/actors.csv", timeout=30)
    finally:
        server.should_exit = True
        thread.join(10)


def test_an_error_before_the_first_chunk_is_a_clean_500(
    client: TestClient, demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Iterator[Sequence[Any]]:
        raise RuntimeError("no database")
        yield []  # pragma: no cover

    monkeypatch.setattr(exporter, "iter_rows", broken)
    response = client.get("/actors.csv")
    assert response.status_code == 500


def test_amount_text_helpers() -> None:
    assert exporter.minor_to_text(3140000000, "EUR") == "31400000.00"
    assert exporter.minor_to_text(5, "EUR") == "0.05"
    assert exporter.minor_to_text(0, "KWD") == "0.000"
    assert exporter.minor_to_text(7, "JPY") == "7"
    from decimal import Decimal

    assert exporter.decimal_to_text(Decimal("140.000000")) == "140"
    assert exporter.decimal_to_text(Decimal("0.600000")) == "0.6"
    assert exporter.decimal_to_text(Decimal("0E-6")) == "0"


def test_every_table_url_and_filter_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for spec in tables.TABLES:
        assert f"`/{spec.slug}.csv`" in readme
        for column in spec.filters:
            assert f"`{column.name}`" in readme
