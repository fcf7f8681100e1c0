"""API documentation: a readable page made from the app's own OpenAPI description.

`/docs` is server-rendered HTML (no JavaScript, printable, searchable with
the browser's find): every API operation with its parameters, body, answers
and errors, then every JSON shape with its fields. It reads `/openapi.json`'s
content, so it cannot drift from what the API does. `/docs/explorer` is the
interactive Swagger UI, vendored under `app/static/swagger-ui/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from app.web.templating import TemplatesDep

router = APIRouter(include_in_schema=False)

METHOD_ORDER = {"get": 0, "post": 1, "patch": 2, "put": 3, "delete": 4}


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # path, query or header
    required: bool
    type: str
    description: str


@dataclass(frozen=True)
class Answer:
    status: str
    description: str
    shape: str  # a schema name, or a type


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    anchor: str
    parameters: list[Parameter] = field(default_factory=list)
    body: str = ""
    answers: list[Answer] = field(default_factory=list)


@dataclass(frozen=True)
class Property:
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Shape:
    name: str
    description: str
    properties: list[Property]


def type_of(schema: dict[str, Any]) -> str:
    """A JSON schema as a short phrase: "string (date)", "list of ActorRef", "A or null"."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(type_of(option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return "list of " + type_of(schema.get("items", {}))
    if kind == "string" and "format" in schema:
        return f"string ({schema['format']})"
    limits = []
    if "maxLength" in schema:
        limits.append(f"≤ {schema['maxLength']} characters")
    if "minimum" in schema and "maximum" in schema:
        limits.append(f"{schema['minimum']:g}–{schema['maximum']:g}")
    if "pattern" in schema and kind == "string" and schema["pattern"] != r"^[^\x00]*$":
        limits.append(f"matching {schema['pattern']}")
    return str(kind) + (f" ({'; '.join(limits)})" if limits else "")


def _content_shape(content: dict[str, Any]) -> str:
    for media_type, body in content.items():
        schema = body.get("schema")
        return f"{type_of(schema)} ({media_type})" if schema else media_type
    return ""


def operations(spec: dict[str, Any]) -> list[Operation]:
    """The API's operations (paths under /api/), in path order, GET first."""
    found = []
    for path, methods in sorted(spec.get("paths", {}).items()):
        if not path.startswith("/api/"):
            continue
        for method, op in sorted(methods.items(), key=lambda item: METHOD_ORDER.get(item[0], 9)):
            operation = Operation(
                method=method.upper(),
                path=path,
                summary=op.get("summary", ""),
                description=op.get("description", ""),
                anchor=op.get("operationId", f"{method}-{path}"),
            )
            for p in op.get("parameters", []):
                operation.parameters.append(
                    Parameter(
                        name=p["name"],
                        where=p["in"],
                        required=bool(p.get("required")),
                        type=type_of(p.get("schema", {})),
                        description=p.get("description")
                        or p.get("schema", {}).get("description", ""),
                    )
                )
            if "requestBody" in op:
                operation.body = _content_shape(op["requestBody"].get("content", {}))
            for status, answer in sorted(op.get("responses", {}).items()):
                operation.answers.append(
                    Answer(
                        status=status,
                        description=answer.get("description", ""),
                        shape=_content_shape(answer.get("content", {})),
                    )
                )
            found.append(operation)
    return found


def shapes(spec: dict[str, Any], used_by: list[Operation]) -> list[Shape]:
    """Every named JSON shape the API's operations use, with its fields."""
    schemas = spec.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    pending = [
        text.split(" ", 1)[0]
        for op in used_by
        for text in [op.body, *(a.shape for a in op.answers)]
        if text
    ]
    while pending:
        name = pending.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        for prop in schemas[name].get("properties", {}).values():
            pending.extend(
                word.strip(",") for word in type_of(prop).replace("list of ", "").split(" ")
            )
    result = []
    for name in sorted(wanted):
        schema = schemas[name]
        required = set(schema.get("required", []))
        result.append(
            Shape(
                name=name,
                description=schema.get("description", ""),
                properties=[
                    Property(
                        name=prop_name,
                        type=type_of(prop),
                        required=prop_name in required,
                        description=prop.get("description", ""),
                    )
                    for prop_name, prop in schema.get("properties", {}).items()
                ],
            )
        )
    return result


@router.get("/docs", response_class=HTMLResponse)
def api_reference(request: Request, templates: TemplatesDep) -> Response:
    spec = request.app.openapi()
    found = operations(spec)
    documented = shapes(spec, found)
    return templates.TemplateResponse(
        request,
        "apidocs.html",
        {
            "operations": found,
            "shapes": documented,
            "shape_names": {s.name for s in documented},
            "version": spec["info"]["version"],
        },
    )


@router.get("/docs/explorer", response_class=HTMLResponse)
def api_explorer() -> HTMLResponse:
    """Swagger UI from this server's own copy: nothing is fetched from elsewhere."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Pledge Tracker API explorer",
        swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/swagger-ui/favicon.png",
    )
