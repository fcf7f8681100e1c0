"""The whole database as a Frictionless data package: one lossless CSV per table + datapackage.json.

The descriptor is generated from `app.services.tables`, the same spec the CSV
export and the importer use, so it always describes what the files contain.
All tables are read in one session, so the files agree with each other.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy.orm import Session, sessionmaker

from app import money
from app.services import exporter, tables
from app.services.tables import Column, Kind, TableSpec

DATA_DIR: Final = "data"

# The demo data is Crown copyright under the OGL; records added by researchers
# are published under the same licence unless the instance says otherwise.
LICENCE: Final = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}


def _field(column: Column) -> dict[str, Any]:
    field: dict[str, Any] = {"name": column.name, "description": column.description}
    constraints: dict[str, Any] = {}
    match column.kind:
        case Kind.integer:
            field["type"] = "integer"
            if column.minimum is not None:
                constraints["minimum"] = column.minimum
            if column.maximum is not None:
                constraints["maximum"] = column.maximum
        case Kind.string:
            field["type"] = "string"
            field["format"] = "default"
        case Kind.code:
            field["type"] = "string"
            assert column.enum is not None
            constraints["enum"] = list(column.enum)
        case Kind.currency:
            field["type"] = "string"
            constraints["pattern"] = "[A-Z]{3}"
            constraints["enum"] = [code for code, _name in money.all_currencies()]
        case Kind.country:
            field["type"] = "string"
            constraints["pattern"] = "[A-Z]{2}"
        case Kind.date:
            field["type"] = "date"
            field["format"] = "default"
        case Kind.datetime:
            field["type"] = "datetime"
            # ISO 8601 with a UTC offset, e.g. 2020-11-28T12:00:00+00:00.
            field["format"] = "any"
        case Kind.boolean:
            field["type"] = "boolean"
            field["trueValues"] = ["true"]
            field["falseValues"] = ["false"]
        case Kind.amount:
            field["type"] = "number"
            field["description"] += (
                f" Currency in `{column.currency_column}`; as many decimal places as"
                " the currency has in ISO 4217."
            )
            constraints["minimum"] = 0
        case Kind.decimal:
            field["type"] = "number"
    if column.required:
        constraints["required"] = True
    if constraints:
        field["constraints"] = constraints
    return field


def schema(spec: TableSpec) -> dict[str, Any]:
    foreign_keys = [
        {
            "fields": column.name,
            "reference": {
                # "" is Frictionless for "this resource".
                "resource": "" if column.references[0] == spec.name else column.references[0],
                "fields": column.references[1],
            },
        }
        for column in spec.columns
        if column.references is not None
    ]
    result: dict[str, Any] = {
        "fields": [_field(column) for column in spec.columns],
        "primaryKey": list(spec.primary_key),
        "missingValues": [""],
    }
    if foreign_keys:
        result["foreignKeys"] = foreign_keys
    return result


def descriptor(created: dt.datetime, *, include_drafts: bool) -> dict[str, Any]:
    """The `datapackage.json` content."""
    what = "all records, drafts included" if include_drafts else "published records"
    return {
        "profile": "tabular-data-package",
        "name": "pledge-tracker",
        "title": "Pledge Tracker",
        "description": (
            f"Public commitments and pledged money with their sources ({what}). "
            "Lossless: importing these files into an empty Pledge Tracker and exporting "
            "again gives identical files. Text cells starting with = + - @ or a tab, "
            "carriage return or line feed carry a leading ' (spreadsheet formula guard)."
        ),
        "created": created.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "licenses": [LICENCE],
        "resources": [
            {
                "name": spec.name,
                "title": spec.title,
                "description": spec.description or spec.title,
                "path": f"{DATA_DIR}/{spec.name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
                "schema": schema(spec),
            }
            for spec in tables.TABLES
        ],
    }


def _descriptor_bytes(created: dt.datetime, include_drafts: bool) -> bytes:
    text = json.dumps(descriptor(created, include_drafts=include_drafts), indent=2)
    return (text + "\n").encode()


def write_dir(
    factory: sessionmaker[Session], directory: Path, *, created: dt.datetime, include_drafts: bool
) -> list[Path]:
    """Write `datapackage.json` and `data/<table>.csv` into `directory`; return the paths."""
    (directory / DATA_DIR).mkdir(parents=True, exist_ok=True)
    written = []
    with factory() as session:
        for spec in tables.TABLES:
            path = directory / DATA_DIR / f"{spec.name}.csv"
            with path.open("w", encoding="utf-8", newline="") as out:
                for chunk in exporter.csv_chunks(session, spec, include_drafts=include_drafts):
                    out.write(chunk)
            written.append(path)
    descriptor_path = directory / "datapackage.json"
    descriptor_path.write_bytes(_descriptor_bytes(created, include_drafts))
    written.append(descriptor_path)
    return written


def write_zip(
    factory: sessionmaker[Session], out: IO[bytes], *, created: dt.datetime, include_drafts: bool
) -> None:
    """Write the data package as a zip into the binary file `out` (streamed per table)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", _descriptor_bytes(created, include_drafts))
        with factory() as session:
            for spec in tables.TABLES:
                name = f"{DATA_DIR}/{spec.name}.csv"
                with archive.open(name, "w", force_zip64=True) as member:
                    for chunk in exporter.csv_chunks(session, spec, include_drafts=include_drafts):
                        member.write(chunk.encode())
