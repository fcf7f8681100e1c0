"""The data package: a zip of lossless CSVs and a datapackage.json that Frictionless accepts."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from frictionless import validate
from sqlalchemy import update
from sqlalchemy.orm import Session

from app import models
from app.services import tables


def _unzip(client: TestClient, tmp_path: Path) -> Path:
    response = client.get("/export/datapackage.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    return tmp_path


def test_the_zip_is_a_valid_frictionless_data_package(
    client: TestClient, demo: Session, tmp_path: Path
) -> None:
    root = _unzip(client, tmp_path)
    report = validate(str(root / "datapackage.json"))
    assert report.valid, report.flatten(["title", "rowNumber", "fieldName", "note"])


def test_the_descriptor_describes_every_column_and_key(
    client: TestClient, demo: Session, tmp_path: Path
) -> None:
    root = _unzip(client, tmp_path)
    descriptor = json.loads((root / "datapackage.json").read_text())
    assert descriptor["licenses"][0]["name"] == "OGL-UK-3.0"
    assert descriptor["created"] == "2021-01-15T12:00:00Z"
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert list(resources) == [spec.name for spec in tables.TABLES]
    flows = resources["money_flows"]["schema"]
    fields = {f["name"]: f for f in flows["fields"]}
    assert [f["name"] for f in flows["fields"]] == tables.MONEY_FLOWS.header
    assert fields["amount"]["type"] == "number"
    assert fields["currency"]["constraints"]["pattern"] == "[A-Z]{3}"
    assert "EUR" in fields["currency"]["constraints"]["enum"]
    assert fields["stage"]["constraints"]["enum"] == [
        "pledge",
        "commitment",
        "disbursement",
        "expenditure",
    ]
    assert fields["commitment_id"]["constraints"]["required"] is True
    assert flows["primaryKey"] == ["id"]
    assert {
        "fields": "commitment_id",
        "reference": {"resource": "commitments", "fields": "id"},
    } in (flows["foreignKeys"])
    commitments = resources["commitments"]["schema"]
    assert {"fields": "parent_id", "reference": {"resource": "", "fields": "id"}} in commitments[
        "foreignKeys"
    ]
    for spec in tables.TABLES:
        text = (root / "data" / f"{spec.name}.csv").read_bytes().decode()
        assert text.startswith(",".join(spec.header) + "\r\n")


def test_the_web_package_leaves_drafts_out_and_stays_valid(
    client: TestClient, demo: Session, tmp_path: Path
) -> None:
    # A draft actor referred to by published records: references become empty.
    demo.execute(update(models.Actor).where(models.Actor.id == 1).values(state="draft"))
    demo.execute(update(models.Commitment).where(models.Commitment.id == 2).values(state="draft"))
    demo.commit()
    root = _unzip(client, tmp_path)
    actors = (root / "data" / "actors.csv").read_text().splitlines()
    assert not any(line.startswith("1,") for line in actors[1:])
    report = validate(str(root / "datapackage.json"))
    assert report.valid, report.flatten(["title", "rowNumber", "fieldName", "note"])


@pytest.mark.parametrize("path", ["/export/datapackage.zip", "/money-flows.csv"])
def test_exports_are_documented_in_openapi(client: TestClient, path: str) -> None:
    assert path in client.get("/openapi.json").json()["paths"]
