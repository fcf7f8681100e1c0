"""The OpenAPI description, adjusted to what the app really answers.

FastAPI documents request-validation failures as 422 with its own error
shape; this app answers 400 with RFC 9457 problem details everywhere. Every
operation also documents 404 when it has path parameters, 413 when it takes a
body, and 500 as a problem (it should never happen, but its shape is still promised).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


# Downloads are documented by their file type, whatever the route declared.
DOWNLOAD_TYPES = {
    ".csv": "text/csv",
    ".ics": "text/calendar",
    ".atom": "application/atom+xml",
    ".zip": "application/zip",
}


def _document_download(path: str, operation: dict[str, Any]) -> None:
    for suffix, media_type in DOWNLOAD_TYPES.items():
        if path.endswith(suffix):
            ok = operation.setdefault("responses", {}).setdefault("200", {})
            ok["description"] = ok.get("description") or "The file."
            ok["content"] = {media_type: {"schema": {"type": "string"}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _document_page(method: str, operation: dict[str, Any]) -> None:
    """Pages and forms answer in HTML; editors' pages and forms need a session."""
    responses = operation.setdefault("responses", {})
    responses.setdefault("303", {"description": "Redirect: to sign in, or after a saved form."})
    responses.setdefault("401", _problem("Sign in as an editor (non-HTML clients)."))
    responses.setdefault("403", _problem("Not allowed for your role."))
    if method != "get":
        responses["403"] = _html("The form's CSRF token is missing or stale, or the role is wrong.")
        responses["403"]["content"]["text/plain"] = {"schema": {"type": "string"}}
        responses.setdefault("409", _html("Someone else saved first: both versions are shown."))
        responses["422"] = _html("The form was rejected; each field says why.")
        responses.setdefault("429", _html("Too many failed sign-ins: wait and retry."))


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        paths = spec.get("paths", {})
        for path, operations in paths.items():
            for method, operation in operations.items():
                if not path.startswith("/api/"):
                    _document_page(method, operation)
                _document_download(path, operation)
                responses = operation.setdefault("responses", {})
                if "HTTPValidationError" in str(responses.get("422", "")):
                    # FastAPI's own validation answer, which the app turns into a 400.
                    responses.pop("422", None)
                responses.setdefault(
                    "400", _problem("The request is malformed; `detail` says why.")
                )
                if method in ("post", "put", "patch"):
                    # app.web.limits refuses a body over its size or nesting limit
                    # before any route runs.
                    responses.setdefault(
                        "413", _problem("The body is larger than the server accepts.")
                    )
                if "{" in path:
                    responses.setdefault("404", _problem("No such record, or not visible to you."))
                responses.setdefault("500", _problem("Unexpected error; nothing was saved."))
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
