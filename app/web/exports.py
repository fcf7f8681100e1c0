"""Lossless per-table CSV downloads and the data package: thin routes over the export services."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.services import datapackage, exporter, tables
from app.services.tables import TableSpec

log = logging.getLogger(__name__)
router = APIRouter()

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _guarded(chunks: Iterator[str], what: str) -> Iterator[str]:
    """Pass chunks through; log a failure and re-raise it so the server aborts the response."""
    try:
        yield from chunks
    except Exception:
        log.exception("export of %s failed midway; aborting the response", what)
        raise


def _start_stream(chunks: Iterator[str], what: str, filename: str) -> StreamingResponse:
    # The first chunk is produced before the response starts, so an error
    # there (a database down, a bad query) is a clean 500 page; a later one
    # aborts the transfer, which clients report as an incomplete download.
    first = next(chunks, "")

    def body() -> Iterator[str]:
        yield first
        yield from _guarded(chunks, what)

    return StreamingResponse(
        body(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _table_endpoint(spec: TableSpec) -> Callable[[Request], StreamingResponse]:
    def endpoint(request: Request) -> StreamingResponse:
        filters = exporter.parse_filters(spec, request.query_params)
        chunks = exporter.stream_csv(request.app.state.session_factory, spec, filters=filters)
        return _start_stream(chunks, spec.slug, f"{spec.slug}.csv")

    filters = ", ".join(f"`{c.name}`" for c in spec.filters) or "none"
    endpoint.__doc__ = (
        f"{spec.title}: every published row of the `{spec.name}` table as lossless CSV "
        f"(UTF-8, no byte-order mark, CRLF), in the documented column order, sorted by "
        f"{', '.join(spec.primary_key)}. Equality filters: {filters}."
    )
    endpoint.__name__ = f"export_{spec.name}"
    return endpoint


for _spec in tables.TABLES:
    router.add_api_route(
        f"/{_spec.slug}.csv",
        _table_endpoint(_spec),
        methods=["GET"],
        summary=f"{_spec.title} (lossless CSV)",
        response_class=StreamingResponse,
        tags=["export"],
    )


@router.get("/export/datapackage.zip", summary="The whole database as a data package")
def datapackage_zip(request: Request) -> StreamingResponse:
    """A zip of one lossless CSV per table and a Frictionless `datapackage.json`
    describing every column, code list and key. Published records only."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the body
    try:
        datapackage.write_zip(
            request.app.state.session_factory,
            spool,
            created=request.app.state.clock.now(),
            include_drafts=False,
        )
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def body() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(64 * 1024):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="pledges-datapackage.zip"'},
    )
