"""Errors on every surface: a clear message and the right status, never a traceback.

One handler per kind of exception, shared by the pages and the API: a
`DomainError` raised anywhere below a route (see `app.errors`), FastAPI's own
`HTTPException` and validation errors, and anything unexpected (a logged 500).
HTML clients get the error page; the API, CSV and JSON addresses get RFC 9457
problem details (`application/problem+json`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.errors import DomainError

log = logging.getLogger(__name__)


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path.endswith((".csv", ".json")):
        return False
    return "text/html" in request.headers.get("accept", "text/html")


def _render(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
) -> Response:
    if _wants_html(request):
        templates = request.app.state.templates
        response: Response = templates.TemplateResponse(
            request,
            "error.html",
            {"title": title, "detail": detail, "status": status},
            status_code=status,
            headers=dict(headers or {}),
        )
        return response
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if fields:
        # RFC 9457 allows extension members: each refused field with its reason.
        body["errors"] = dict(fields)
    return JSONResponse(
        body,
        status_code=status,
        media_type="application/problem+json",
        headers=dict(headers or {}),
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            400: "Bad request",
            401: "Sign-in required",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
            409: "Conflict",
            412: "Precondition failed",
            413: "Body too large",
            422: "Unprocessable content",
            428: "Precondition required",
            429: "Too many requests",
        }
        # Keep the exception's headers: Allow on 405, WWW-Authenticate on 401.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return _render(
            request,
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            headers,
        )

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _render(request, exc.status, exc.title, exc.message, exc.headers, exc.fields)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"][1:]) or "request"
            problems.append(f"{where}: {error['msg']}")
        return _render(request, 400, "Bad request", "; ".join(problems))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _render(
            request, 500, "Something went wrong", "The error has been logged. Nothing was saved."
        )


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path.

    Starlette's own Allow header names only the first route matching the path,
    so /login (GET and POST in two routes) would claim to take only GET.
    """
    allowed = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)
