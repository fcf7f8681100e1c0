"""The CSV import page for editors: the same importer as `pledges import`, with a dry run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from app.http.deps import SessionDep
from app.services import importer, tables
from app.web.auth import EditorDep
from app.web.templating import TemplatesDep

router = APIRouter()


@router.get("/import", response_class=HTMLResponse, summary="Import a CSV file")
def import_form(request: Request, templates: TemplatesDep, account: EditorDep) -> HTMLResponse:
    """The upload form: choose a table, a file in the lossless export's format, and a dry run."""
    return templates.TemplateResponse(
        request,
        "edit/import.html",
        {"tables": tables.TABLES, "report": None, "chosen": None, "dry_run": True},
    )


@router.post("/import", response_class=HTMLResponse, summary="Run an import")
def run_import(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    table: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File(description="A CSV file, UTF-8.")],
    dry_run: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Check the whole file, then import it in one transaction — or, on a dry run, only report.

    A file with any problem changes nothing; every problem is listed by row
    and column (422).
    """
    spec = tables.BY_NAME.get(table)
    if spec is None:
        report = importer.ImportReport(table=table, dry_run=dry_run)
        report.problems.append(importer.Problem(f"unknown table {table!r}"))
    else:
        report = importer.import_csv(
            session,
            spec,
            file.file,
            dry_run=dry_run,
            label=f"upload of {file.filename or 'a file'}",
            account_id=account.id,
        )
    return templates.TemplateResponse(
        request,
        "edit/import.html",
        {"tables": tables.TABLES, "report": report, "chosen": table, "dry_run": dry_run},
        status_code=200 if report.ok else 422,
    )
