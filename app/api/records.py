"""JSON API writes for actors, sources, commitments and indicators.

The request bodies are generated from the edit forms' own field lists
(`app.services.inputs`), and a body is turned back into form text before it is
checked, so the API and the pages share one set of rules, one write path
(`app.services.records`) and one change history. Refusals are domain errors
(`app.errors`), answered as problem+json by the one handler. Records are created as drafts,
like the forms; `PATCH` changes only the fields it names; every change to an
existing record needs `If-Match` with the ETag the caller last saw, so a
script never overwrites an edit it has not seen.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Strict, StrictBool, create_model
from pydantic import Field as Schema
from sqlalchemy.orm import Session

from app import errors
from app.api import schemas, v1
from app.http.deps import RecordId, SessionDep
from app.models import MAX_ID
from app.services import commitments, inputs, records, tokens
from app.vocab import Role

router = APIRouter(prefix="/api/v1", tags=["v1"], responses=v1.ERRORS)

# Text from outside: the forms drop NUL characters; here they are refused, as
# PostgreSQL cannot store them and a script should learn its data is odd.
NO_NUL = r"^[^\x00]*$"
LONGEST_TEXT = 200_000  # the forms' own cap on a field (the edit pages' MAX_FIELD)
TAG = Annotated[str, Schema(min_length=1, max_length=100, pattern=r"^[^,\x00]*$")]
# Strict: JSON true is not actor 1, and "4" is not a number (the forms' text
# is typed; a script's JSON should be too).
Id = Annotated[int, Strict(), Schema(ge=1, le=MAX_ID)]


def _json_field(f: inputs.Field) -> tuple[Any, str]:
    """The JSON type of a form field, and its description."""
    description = f.label + (f". {f.help}" if f.help else "")
    if f.name == "tags":
        # The form takes "a, b"; JSON takes a list, and a tag cannot hold a comma.
        return list[TAG], "Tags (a list of names)."
    if f.name == "commitment_ids":
        return list[Id], "Tied to these commitment numbers."
    match f.kind:
        case "checkbox":
            return StrictBool, description
        case "multiselect":
            return list[Id], description + " (actor ids)"
        case "date":
            return dt.date, description
        case "commitment":
            # The form also takes a page address or title words and lists the
            # matches to pick from; a script names the commitment by its id.
            return Id, (
                f"{f.label}: the id of a commitment (see /api/v1/commitments); "
                "not this one, nor a deleted one."
            )
        case "int":
            return Annotated[int, Strict(), Schema(ge=0, le=999_999_999)], description
        case "select" if f.choices_key:
            return Id, description + f" (one of /api/v1/{f.choices_key})"
        case "select" if f.choices and all(value.isdigit() for value, _ in f.choices):
            return Literal[tuple(int(value) for value, _ in f.choices)], description
        case "select":
            return Literal[tuple(value for value, _ in f.choices)], description
        case "decimal":
            decimal = Schema(pattern=r"^-?\d{1,12}(\.\d{1,6})?$", examples=["41.5"])
            return Annotated[str, decimal], description + " (an exact decimal string)"
        case "country":
            return Annotated[str, Schema(pattern=r"^[A-Za-z]{2}$")], description
        case _:
            return (
                Annotated[str, Schema(max_length=f.max_length or LONGEST_TEXT, pattern=NO_NUL)],
                description,
            )


def _body_model(noun: records.Noun, *, partial: bool) -> type[BaseModel]:
    """A request body for creating (required fields required) or changing (all optional)."""
    return body_from_fields(
        noun.label.title().replace(" ", "") + ("Changes" if partial else "Create"),
        noun.fields,
        (
            f"The fields of {with_article(noun.label)} to change; a field left out keeps its "
            "value, null clears it."
            if partial
            else f"A new {noun.label}, created as a draft."
        ),
        partial=partial,
    )


def body_from_fields(
    name: str, form_fields: list[inputs.Field], doc: str, *, partial: bool = False
) -> type[BaseModel]:
    """A JSON body model with one property per form field, typed and described from it."""
    fields: dict[str, Any] = {}
    for f in form_fields:
        annotation, description = _json_field(f)
        if f.required and not partial:
            fields[f.name] = (annotation, Schema(description=description))
        else:
            fields[f.name] = (annotation | None, Schema(default=None, description=description))
    model: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields
    )
    return model


def _as_form_text(noun: records.Noun, body: dict[str, Any]) -> inputs.Raw:
    return as_form_text(noun.fields, body)


def as_form_text(form_fields: list[inputs.Field], body: dict[str, Any]) -> inputs.Raw:
    """A JSON body as the text a form would post, so the form's checks apply unchanged."""
    raw: inputs.Raw = {}
    for f in form_fields:
        if f.name not in body:
            continue
        value = body[f.name]
        if value is None:
            raw[f.name] = []
        elif f.name in ("tags", "commitment_ids"):
            raw[f.name] = [", ".join(str(v) for v in value)]
        elif isinstance(value, bool):
            raw[f.name] = ["on"] if value else []
        elif isinstance(value, list):
            raw[f.name] = [str(v) for v in value]
        elif isinstance(value, dt.date):
            raw[f.name] = [value.isoformat()]
        else:
            raw[f.name] = [str(value)]
    return raw


def _refuse(errors_by_field: dict[str, str]) -> errors.Invalid:
    messages = "; ".join(f"{name}: {message}" for name, message in errors_by_field.items())
    return errors.Invalid(messages, fields=errors_by_field)


RequiredIfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=50,
        description="The record's ETag as last read. Required (and not *): without it the "
        "change is refused with 428; a stale one is refused with 412.",
    ),
]

# Removing a quote, flow or observation takes no If-Match: it has no version
# to keep, and the change history keeps what it said.
CHILD_DELETE_ERRORS: dict[int | str, dict[str, Any]] = {403: v1.PROBLEM}
CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **v1.WRITE_ERRORS,
    428: v1.PROBLEM,
}


Reader = Callable[[Request, Response, Session, tokens.Caller, int], BaseModel]


def _reader(key: str) -> tuple[type[BaseModel], Reader]:
    """How each noun is read back after a write: the same document as its GET."""
    if key == "commitments":

        def commitment(
            request: Request,
            _response: Response,
            session: Session,
            _caller: tokens.Caller,
            record_id: int,
        ) -> BaseModel:
            c = commitments.get_commitment(session, record_id, include_drafts=True)
            if c is None:
                raise errors.NotFound(f"there is no commitment {record_id}")
            return v1.commitment_read(request, session, c, include_drafts=True)

        return schemas.CommitmentRead, commitment
    if key == "sources":
        return schemas.SourceDetailRead, lambda _q, r, s, c, i: v1.get_source(i, r, s, c)
    if key == "actors":
        return schemas.ActorDetailRead, lambda _q, r, s, c, i: v1.get_actor(i, r, s, c)
    return schemas.IndicatorRead, lambda _q, r, s, c, i: v1.get_indicator(i, r, s, c)


def _register(noun: records.Noun) -> None:
    key, label = noun.key, noun.label
    NounId: Any = _record_id(label)
    create_body = _body_model(noun, partial=False)
    change_body = _body_model(noun, partial=True)
    read_model, read = _reader(key)

    def load(session: Session, record_id: int, caller: tokens.Caller) -> Any:
        return records.load(
            session, noun, record_id, include_deleted=caller.account.role == Role.admin
        )

    def answer(
        request: Request,
        response: Response,
        session: Session,
        caller: tokens.Caller,
        entity: Any,
    ) -> BaseModel:
        session.flush()
        version = entity.version
        # Read back through the GET's own query, not the objects the write touched.
        session.expire_all()
        response.headers["ETag"] = f'"{version}"'
        return read(request, response, session, caller, entity.id)

    def create(
        request: Request,
        response: Response,
        session: SessionDep,
        caller: v1.WriterDep,
        body: create_body,  # type: ignore[valid-type]
    ) -> BaseModel:
        checked = records.check(
            session, noun, _as_form_text(noun, cast(BaseModel, body).model_dump()), None
        )
        if not checked.ok:
            raise _refuse(checked.state.errors)
        entity = records.create(session, noun, checked, account_id=caller.account.id)
        response.headers["Location"] = f"/api/v1/{key}/{entity.id}"
        return answer(request, response, session, caller, entity)

    create.__doc__ = (
        f"Create {with_article(label)} as a draft, with the same checks as the form at "
        f"/edit/{key}/new. The creation appears in the change history. Returns the record "
        "and its ETag."
    )
    router.add_api_route(
        f"/{key}",
        create,
        methods=["POST"],
        status_code=201,
        response_model=read_model,
        responses=v1.WRITE_ERRORS,
        summary=f"Create {with_article(label)}",
        name=f"create_{label.replace(' ', '_')}",
    )

    def change(
        record_id: NounId,
        request: Request,
        response: Response,
        session: SessionDep,
        caller: v1.WriterDep,
        body: change_body,  # type: ignore[valid-type]
        if_match: RequiredIfMatch = None,
    ) -> BaseModel:
        entity = load(session, record_id, caller)
        version = _required_version(if_match, entity, label)
        _not_deleted(entity, label)
        raw = records.current_text(session, noun, entity)
        raw.update(_as_form_text(noun, cast(BaseModel, body).model_dump(exclude_unset=True)))
        checked = records.check(session, noun, raw, entity.id)
        if not checked.ok:
            raise _refuse(checked.state.errors)
        records.save(session, noun, entity, checked, account_id=caller.account.id, version=version)
        return answer(request, response, session, caller, entity)

    change.__doc__ = (
        f"Change some fields of {with_article(label)}: the fields named in the body are set "
        "(null clears one), the others keep their values, and the same checks as the form apply. "
        "Needs `If-Match` with the ETag from the last read."
    )
    router.add_api_route(
        f"/{key}/{{{label}_id}}",
        change,
        methods=["PATCH"],
        response_model=read_model,
        responses=CHANGE_ERRORS,
        summary=f"Change {with_article(label)}",
        name=f"change_{label.replace(' ', '_')}",
    )

    def delete(
        record_id: NounId,
        request: Request,
        session: SessionDep,
        caller: v1.WriterDep,
        if_match: RequiredIfMatch = None,
    ) -> Response:
        records.require_permission(caller.account, "delete")
        entity = load(session, record_id, caller)
        version = _required_version(if_match, entity, label)
        records.change_state(
            session,
            entity,
            "delete",
            account=caller.account,
            now=request.app.state.clock.now(),
            version=version,
        )
        return Response(status_code=204)

    delete.__doc__ = (
        f"Delete {with_article(label)} (administrators only). Nothing is erased: the record "
        "is hidden, its history kept, and `POST …/restore` brings it back. Needs `If-Match`."
    )
    router.add_api_route(
        f"/{key}/{{{label}_id}}",
        delete,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        responses=CHANGE_ERRORS,
        summary=f"Delete {with_article(label)}",
        name=f"delete_{label.replace(' ', '_')}",
    )

    for action in ("publish", "unpublish", "restore"):
        _register_state_change(noun, action, read_model, load, answer)


def _register_state_change(
    noun: records.Noun,
    action: str,
    read_model: type[BaseModel],
    load: Callable[[Session, int, tokens.Caller], Any],
    answer: Callable[..., BaseModel],
) -> None:
    label = noun.label
    NounId: Any = _record_id(label)

    def change_state(
        record_id: NounId,
        request: Request,
        response: Response,
        session: SessionDep,
        caller: v1.WriterDep,
        if_match: v1.IfMatch = None,
    ) -> BaseModel:
        records.require_permission(caller.account, action)
        # Deleted records too: whether this caller may act on one is change_state's rule.
        entity = records.load(session, noun, record_id, include_deleted=True)
        version = _version_if_given(if_match, entity, label)
        records.change_state(
            session,
            entity,
            action,
            account=caller.account,
            now=request.app.state.clock.now(),
            version=version,
        )
        return answer(request, response, session, caller, entity)

    change_state.__doc__ = {
        "publish": f"Publish a draft {label}: readers see it from now on."
        + (
            " The draft sources it quotes and actors it names are published with it."
            if noun.key == "commitments"
            else ""
        ),
        "unpublish": f"Withdraw {with_article(label)} to draft: readers no longer see it.",
        "restore": f"Bring back a deleted {label} (administrators only).",
    }[action]
    router.add_api_route(
        f"/{noun.key}/{{{label}_id}}/{action}",
        change_state,
        methods=["POST"],
        response_model=read_model,
        responses=v1.WRITE_ERRORS,
        summary=f"{action.capitalize()} {with_article(label)}",
        name=f"{action}_{label.replace(' ', '_')}",
    )


def _record_id(label: str) -> Any:
    """The path parameter `{<label>_id}`, named like the GET routes' own."""
    return Annotated[
        int, Path(alias=f"{label}_id", ge=1, le=MAX_ID, description=f"The {label}'s id.")
    ]


def with_article(label: str) -> str:
    return ("an " if label[0] in "aeiou" else "a ") + label


def _admin_only(caller: tokens.Caller) -> None:
    if caller.account.role != Role.admin:
        raise errors.Forbidden("only administrators may remove records")


def _version_if_given(if_match: str | None, entity: Any, label: str) -> int:
    """The version to write over: the one `If-Match` names (412 if that is not the current
    one), or the current one when the caller sent none or `*`."""
    if if_match is None or if_match.strip() == "*":
        return int(entity.version)
    if not v1.etag_matches(if_match, entity.version):
        raise errors.PreconditionFailed(
            f"the {label} is at version {entity.version}, not {if_match}: "
            "someone else changed it; fetch it again",
        )
    return int(entity.version)


def _required_version(if_match: str | None, entity: Any, label: str) -> int:
    # "*" would match any version and skip the very check If-Match is for.
    if if_match is None or if_match.strip() == "*":
        raise errors.PreconditionRequired(
            f"send 'If-Match' with the {label}'s ETag (from GET; not *), so a change "
            "made since you read it is not overwritten",
        )
    return _version_if_given(if_match, entity, label)


def _not_deleted(entity: Any, label: str) -> None:
    if entity.deleted_at is not None:
        raise errors.Conflict(f"the {label} is deleted; restore it first")


# ------------------------------------------------------ quotes and flows


class CitationCreate(BaseModel):
    """A verbatim quote from a source, supporting the commitment or one of its money flows."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Schema(min_length=1, max_length=LONGEST_TEXT, pattern=NO_NUL)
    locator: str | None = Schema(
        default=None, max_length=100, pattern=NO_NUL, description="para 8, p. 12"
    )
    source_id: Id = Schema(description="The source quoted (see /api/v1/sources).")
    money_flow_id: Id | None = Schema(
        default=None,
        description="The commitment's money flow the quote supports; "
        "leave out for the commitment itself.",
    )


@router.post(
    "/commitments/{commitment_id}/citations",
    status_code=201,
    response_model=schemas.CitationRead,
    responses=v1.WRITE_ERRORS,
    summary="Quote a source",
)
def create_citation(
    commitment_id: RecordId,
    body: CitationCreate,
    session: SessionDep,
    caller: v1.WriterDep,
    if_match: v1.IfMatch = None,
) -> schemas.CitationRead:
    """Attach a quote to a commitment or one of its money flows, with the quote form's checks."""
    commitment = v1.editable_commitment(session, commitment_id, if_match)
    raw: inputs.Raw = {
        "supports": [f"flow:{body.money_flow_id}" if body.money_flow_id else "commitment"],
        "quote": [body.quote],
        "locator": [body.locator or ""],
        "source_id": [str(body.source_id)],
    }
    state = records.check_citation(session, commitment, raw)
    if not state.ok:
        if "supports" in state.errors:
            # The form's "supports" choice is the body's money_flow_id.
            state.errors["money_flow_id"] = (
                f"commitment {commitment_id} has no money flow {body.money_flow_id}"
            )
            del state.errors["supports"]
        raise _refuse(state.errors)
    citation = records.add_citation(session, commitment, state, account_id=caller.account.id)
    session.flush()
    session.refresh(citation, attribute_names=["source"])
    return v1.citation_read(citation)


@router.delete(
    "/citations/{citation_id}",
    status_code=204,
    response_class=Response,
    responses=CHILD_DELETE_ERRORS,
    summary="Remove a quote",
)
def delete_citation(citation_id: RecordId, session: SessionDep, caller: v1.WriterDep) -> Response:
    """Remove a quote for good (administrators only); the change history keeps its text."""
    _admin_only(caller)
    citation, _commitment = records.editable_citation(session, citation_id)
    records.remove_citation(session, citation, account_id=caller.account.id)
    return Response(status_code=204)


@router.delete(
    "/money-flows/{money_flow_id}",
    status_code=204,
    response_class=Response,
    responses=CHILD_DELETE_ERRORS,
    summary="Remove a money flow",
)
def delete_money_flow(
    money_flow_id: RecordId, session: SessionDep, caller: v1.WriterDep
) -> Response:
    """Remove a money flow entered by mistake (administrators only).

    A payment that did not happen is not a mistake: record what was said
    instead. The change history keeps the flow's values.
    """
    _admin_only(caller)
    flow, commitment = records.editable_flow(session, money_flow_id)
    records.remove_flow(session, flow, commitment, account_id=caller.account.id)
    return Response(status_code=204)


ObservationCreate = body_from_fields(
    "ObservationCreate",
    inputs.OBSERVATION_FIELDS,
    "A dated value of an indicator, with its wording and, ideally, its quote.",
)


@router.post(
    "/indicators/{indicator_id}/observations",
    status_code=201,
    response_model=schemas.ObservationRead,
    responses=v1.WRITE_ERRORS,
    summary="Add an observation",
)
def create_observation(
    indicator_id: RecordId,
    body: ObservationCreate,  # type: ignore[valid-type]
    session: SessionDep,
    caller: v1.WriterDep,
) -> schemas.ObservationRead:
    """Add a dated value to an indicator, with the observation form's checks."""
    indicator = records.editable_indicator(session, indicator_id)
    raw = as_form_text(inputs.OBSERVATION_FIELDS, cast(BaseModel, body).model_dump())
    state, values = records.check_observation(session, raw)
    if not state.ok:
        raise _refuse(state.errors)
    observation = records.write_observation(
        session, indicator, None, state, values, account_id=caller.account.id, version=None
    )
    session.flush()
    session.refresh(observation, attribute_names=["citations"])
    for citation in observation.citations:
        session.refresh(citation, attribute_names=["source"])
    return v1.observation_read(observation, indicator)


@router.delete(
    "/observations/{observation_id}",
    status_code=204,
    response_class=Response,
    responses=CHILD_DELETE_ERRORS,
    summary="Remove an observation",
)
def delete_observation(
    observation_id: RecordId, session: SessionDep, caller: v1.WriterDep
) -> Response:
    """Remove an observation entered by mistake (administrators only); history keeps it."""
    _admin_only(caller)
    observation, indicator = records.editable_observation(session, observation_id)
    records.remove_observation(session, observation, indicator, account_id=caller.account.id)
    return Response(status_code=204)


for _noun in records.NOUNS.values():
    _register(_noun)
