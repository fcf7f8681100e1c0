"""Edit pages: forms for every record, publish, delete and restore, history, conflicts.

Routes stay thin: read the form, check it (app.web.forms), call
app.services.editing (or reviews.record_review), render. Every write route
needs `EditorDep`; deleting and restoring need `AdminDep`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.http.deps import SessionDep, TodayDep
from app.models import (
    MAX_ID,
    Base,
    Citation,
    Commitment,
    ExchangeRate,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from app.services import changes, editing, inputs, links, records, reviews
from app.services.names import Names, names_for, referenced_ids
from app.services.records import Noun
from app.web.auth import AdminDep, EditorDep, OptionalAccountDep, is_admin
from app.web.templating import TemplatesDep

router = APIRouter()

# Ids of edited records are 32-bit integers (INTEGER on PostgreSQL): a larger
# number is a 400, never a database error.
RecordId = Annotated[int, Path(ge=1, le=inputs.MAX_ID, description="The record's id.")]

MAX_FIELD = 200_000


async def read_form(request: Request) -> inputs.Raw:
    """The posted form as lists of strings (files are ignored)."""
    data = await request.form()
    raw: inputs.Raw = {}
    for key, value in data.multi_items():
        if isinstance(value, str):
            # NUL never means anything in a form, and PostgreSQL refuses it in text.
            raw.setdefault(key, []).append(value[:MAX_FIELD].replace("\x00", ""))
    return raw


FormDep = Annotated[inputs.Raw, Depends(read_form)]


def _version(raw: inputs.Raw) -> int | None:
    text = (raw.get("version") or [""])[0]
    return int(text) if (text.isascii() and text.isdigit()) and len(text) < 12 else None


def _lookups(
    session: Session, state: inputs.FormState | None = None, own_id: int | None = None
) -> dict[str, list[Any]]:
    """What a form's choices offer: actors, sources, and, on a form that links to
    commitments, the commitments suggested while typing (those by the same makers
    first); the commitment each link field names is looked up for display."""
    lookups: dict[str, list[Any]] = {
        "actors": editing.actor_choices(session),
        "sources": editing.source_choices(session),
    }
    if state is not None and any(f.kind == "commitment" for f in state.fields):
        makers = [int(v) for v in state.all("makers") if v.isascii() and v.isdigit()][:50]
        makers = [m for m in makers if m <= MAX_ID]
        lookups["commitments"] = links.suggestions(session, own_id=own_id, maker_ids=makers)
        records.describe_links(session, state)
    return lookups


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _load(session: Session, noun: Noun, record_id: int, account: Any) -> Any:
    entity = records.load(session, noun, record_id, include_deleted=is_admin(account))
    if entity is None:
        raise HTTPException(404, f"There is no {noun.label} {record_id}.")
    return entity


def _form_page(
    request: Request,
    templates: Any,
    session: Session,
    *,
    heading: str,
    action: str,
    state: inputs.FormState,
    version: int | None = None,
    back: dict[str, str] | None = None,
    status_code: int = 200,
    reading: inputs.FlowReading | None = None,
    previewable: bool = False,
) -> Response:
    response: Response = templates.TemplateResponse(
        request,
        "edit/form.html",
        {
            "heading": heading,
            "action": action,
            "state": state,
            "version": version,
            "lookups": _lookups(session, state),
            "back": back,
            "reading": reading,
            "previewable": previewable,
        },
        status_code=status_code,
    )
    return response


# ------------------------------------------------------------ editors' home


@router.get("/edit", response_class=HTMLResponse, summary="Editors' home")
def edit_home(
    request: Request, session: SessionDep, templates: TemplatesDep, account: EditorDep
) -> Response:
    """Links to every form, the drafts waiting to be published, and (admins) deleted records."""
    return templates.TemplateResponse(
        request,
        "edit/home.html",
        {
            "account": account,
            "drafts": editing.drafts(session),
            "deleted": editing.drafts(session, deleted=True) if is_admin(account) else {},
        },
    )


# ------------------------------------------------- create and edit, generic


def _register(noun: Noun) -> None:
    key = noun.key

    @router.get(f"/edit/{key}/new", response_class=HTMLResponse, summary=f"New {noun.label}")
    def new_form(
        request: Request, session: SessionDep, templates: TemplatesDep, account: EditorDep
    ) -> Response:
        defaults = {"kind": ""} if key != "commitments" else {}
        return _form_page(
            request,
            templates,
            session,
            heading=f"New {noun.label}",
            action=f"/edit/{key}/new",
            state=inputs.empty(noun.fields, defaults),
            back={"url": "/edit", "label": "Editing"},
        )

    @router.post(f"/edit/{key}/new", response_class=HTMLResponse, summary=f"Create a {noun.label}")
    def create(
        request: Request,
        session: SessionDep,
        templates: TemplatesDep,
        account: EditorDep,
        raw: FormDep,
    ) -> Response:
        checked = records.check(session, noun, raw, None)
        if not checked.ok:
            return _form_page(
                request,
                templates,
                session,
                heading=f"New {noun.label}",
                action=f"/edit/{key}/new",
                state=checked.state,
                back={"url": "/edit", "label": "Editing"},
                status_code=422,
            )
        entity = records.create(session, noun, checked, account_id=account.id)
        return _see_other(f"/{key}/{entity.id}/edit")

    @router.get(
        f"/{key}/{{record_id}}/edit", response_class=HTMLResponse, summary=f"Edit {noun.label}"
    )
    def edit_form(
        record_id: RecordId,
        request: Request,
        session: SessionDep,
        templates: TemplatesDep,
        account: EditorDep,
    ) -> Response:
        entity = _load(session, noun, record_id, account)
        typed = records.current_text(session, noun, entity)
        return _record_page(
            request,
            templates,
            session,
            noun,
            entity,
            account,
            inputs.from_typed(noun.fields, typed),
        )

    @router.post(
        f"/{key}/{{record_id}}/edit", response_class=HTMLResponse, summary=f"Save {noun.label}"
    )
    def save(
        record_id: RecordId,
        request: Request,
        session: SessionDep,
        templates: TemplatesDep,
        account: EditorDep,
        raw: FormDep,
    ) -> Response:
        entity = _load(session, noun, record_id, account)
        checked = records.check(session, noun, raw, entity.id)
        if not checked.ok:
            return _record_page(
                request, templates, session, noun, entity, account, checked.state, status_code=422
            )
        try:
            records.save(
                session, noun, entity, checked, account_id=account.id, version=_version(raw)
            )
        except editing.Conflict:
            return _conflict(
                request, templates, session, noun, record_id, account, checked.state, raw
            )
        return _see_other(f"/{key}/{entity.id}/edit")

    def _state_route(action: str, admin_only: bool) -> None:

        @router.post(
            f"/{key}/{{record_id}}/{action}", summary=f"{action.capitalize()} a {noun.label}"
        )
        def change_state(
            record_id: RecordId,
            request: Request,
            session: SessionDep,
            templates: TemplatesDep,
            account: EditorDep,
            raw: FormDep,
        ) -> Response:
            if admin_only and not is_admin(account):
                raise HTTPException(403, "Only administrators may delete or restore records.")
            entity = _load(session, noun, record_id, account)
            now = request.app.state.clock.now()
            version = _version(raw)
            try:
                if action == "publish":
                    editing.publish(
                        session, entity, account_id=account.id, now=now, form_version=version
                    )
                    if key == "commitments":
                        editing.publish_what_it_cites(
                            session, entity, account_id=account.id, now=now
                        )
                elif action == "unpublish":
                    editing.unpublish(session, entity, account_id=account.id, form_version=version)
                elif action == "delete":
                    editing.soft_delete(
                        session, entity, account_id=account.id, now=now, form_version=version
                    )
                else:
                    editing.restore(session, entity, account_id=account.id, form_version=version)
            except editing.NotAllowed as exc:
                raise HTTPException(409, str(exc)) from None
            except editing.Conflict:
                raise HTTPException(
                    409,
                    f"The {noun.label} was changed by someone else since you opened the page; "
                    "reload it and try again.",
                ) from None
            return _see_other(f"/{key}/{entity.id}/edit")

    for action, admin_only in (
        ("publish", False),
        ("unpublish", False),
        ("delete", True),
        ("restore", True),
    ):
        _state_route(action, admin_only)

    @router.get(f"/{key}/{{record_id}}/history", response_class=HTMLResponse, summary="History")
    def history(
        record_id: RecordId,
        request: Request,
        session: SessionDep,
        templates: TemplatesDep,
        account: OptionalAccountDep,
    ) -> Response:
        """Every recorded change of this record, with the values before and after."""
        entity = session.get(noun.model, record_id)
        visible = entity is not None and (account is not None or changes.is_public(entity))
        if entity is None or not visible:
            raise HTTPException(404, f"There is no {noun.label} {record_id}.")
        children = (
            editing.child_ids_of_commitment(session, record_id) if key == "commitments" else None
        )
        entries = editing.history(
            session, key, record_id, children=children, show_emails=account is not None
        )
        if account is None:
            entries = [e for e in entries if e.change.is_public]
        return templates.TemplateResponse(
            request,
            "edit/history.html",
            {
                "entity": entity,
                "noun": noun,
                "entries": entries,
                "account": account,
                "names": _history_names(session, entries, account),
            },
        )


def _history_names(session: Session, entries: list[Any], account: Any) -> Names:
    """Names of the records the history's snapshots point at, as far as the viewer may see."""
    return names_for(
        session,
        referenced_ids(entry.change for entry in entries),
        include_drafts=account is not None,
    )


def _record_page(
    request: Request,
    templates: Any,
    session: Session,
    noun: Noun,
    entity: Any,
    account: Any,
    state: inputs.FormState,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "noun": noun,
        "entity": entity,
        "state": state,
        "lookups": _lookups(session, state, entity.id),
        "account": account,
        "is_admin": is_admin(account),
    }
    if noun.key == "commitments":
        context["c"] = _commitment_for_page(session, entity.id)
    if noun.key == "indicators":
        context["observations"] = list(
            session.scalars(
                select(Observation)
                .where(Observation.indicator_id == entity.id)
                .order_by(Observation.period_end_on, Observation.id)
                .options(selectinload(Observation.citations).selectinload(Citation.source))
            )
        )
    response: Response = templates.TemplateResponse(
        request, "edit/record.html", context, status_code=status_code
    )
    return response


def _commitment_for_page(session: Session, commitment_id: int) -> Commitment:
    return session.scalars(
        select(Commitment)
        .where(Commitment.id == commitment_id)
        .options(
            selectinload(Commitment.citations).selectinload(Citation.source),
            selectinload(Commitment.money_flows).options(
                selectinload(MoneyFlow.provider),
                selectinload(MoneyFlow.receiver),
                selectinload(MoneyFlow.citations).selectinload(Citation.source),
            ),
            selectinload(Commitment.reviews)
            .selectinload(Review.evidence)
            .selectinload(Citation.source),
        )
        .execution_options(populate_existing=True)
    ).one()


def _conflict(
    request: Request,
    templates: Any,
    session: Session,
    noun: Noun,
    record_id: int,
    account: Any,
    state: inputs.FormState,
    raw: inputs.Raw,
) -> Response:
    """409: their values beside the current ones, and a form to save theirs deliberately."""
    session.rollback()
    current = session.scalars(
        select(noun.model)
        .where(noun.model.id == record_id)
        .options(*noun.loads)
        .execution_options(populate_existing=True)
    ).one()
    typed = records.current_text(session, noun, current)
    shown = inputs.FormState(fields=noun.fields, typed=state.typed)
    lookups = _lookups(session, shown, record_id)
    theirs_state = inputs.FormState(fields=noun.fields, typed=typed)
    if noun.key == "commitments":
        records.describe_links(session, theirs_state)
    rows = []
    for f in noun.fields:
        mine = _display(f, state.all(f.name), lookups, shown)
        theirs = _display(f, typed.get(f.name, []), lookups, theirs_state)
        rows.append({"label": f.label, "mine": mine, "theirs": theirs, "differs": mine != theirs})
    response: Response = templates.TemplateResponse(
        request,
        "edit/conflict.html",
        {
            "noun": noun,
            "entity": current,
            "rows": rows,
            "state": shown,
            "lookups": lookups,
            "action": f"/{noun.key}/{record_id}/edit",
            "version": current.version,
            "your_version": _version(raw),
        },
        status_code=409,
    )
    return response


def _display(
    f: inputs.Field, values: list[str], lookups: dict[str, list[Any]], state: inputs.FormState
) -> str:
    if f.kind == "checkbox":
        return "yes" if any(values) else "no"
    if f.name in state.linked:
        target = state.linked[f.name]
        return f"{target.id} — {target.title}"
    if f.choices_key:
        names = {str(k): v for k, v in lookups.get(f.choices_key, [])}
        return ", ".join(names.get(v, v) for v in values if v)
    return ", ".join(v for v in values if v)


for _noun in records.NOUNS.values():
    _register(_noun)


# ------------------------------------------------------------- money flows


def _editable_commitment(session: Session, commitment_id: int) -> Commitment:
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or commitment.deleted_at is not None:
        raise HTTPException(404, f"There is no commitment {commitment_id}.")
    return commitment


def _flow_page(
    request: Request,
    templates: Any,
    session: Session,
    commitment: Commitment,
    state: inputs.FormState,
    action: str,
    heading: str,
    *,
    version: int | None = None,
    reading: inputs.FlowReading | None = None,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request,
        templates,
        session,
        heading=heading,
        action=action,
        state=state,
        version=version,
        back={"url": f"/commitments/{commitment.id}/edit", "label": commitment.title},
        reading=reading,
        previewable=True,
        status_code=status_code,
    )


def _handle_flow(
    request: Request,
    session: Session,
    templates: Any,
    account: Any,
    raw: inputs.Raw,
    commitment: Commitment,
    flow: MoneyFlow | None,
) -> Response:
    locale = request.app.state.settings.pledges_locale
    state, reading = records.check_flow(session, raw, locale)
    action = f"/money-flows/{flow.id}/edit" if flow else f"/commitments/{commitment.id}/flows/new"
    heading = "Edit money flow" if flow else "Add money to this commitment"
    if reading is None:
        return _flow_page(
            request,
            templates,
            session,
            commitment,
            state,
            action,
            heading,
            version=_version(raw) if flow else None,
            status_code=422,
        )
    confirmed = (raw.get("confirmed") or [""])[0]
    wants_check = (raw.get("do") or [""])[0] == "check"
    if wants_check or confirmed != reading.confirmation:
        # Not saved yet: show the exact value understood and ask again.
        return _flow_page(
            request,
            templates,
            session,
            commitment,
            state,
            action,
            heading,
            version=_version(raw) if flow else None,
            reading=reading,
        )
    try:
        records.write_flow(
            session,
            commitment,
            flow,
            reading,
            account_id=account.id,
            version=_version(raw) if flow else None,
        )
    except editing.Conflict:
        assert flow is not None
        session.rollback()
        current = session.get(MoneyFlow, flow.id, populate_existing=True)
        assert current is not None
        return _flow_page(
            request,
            templates,
            session,
            commitment,
            inputs.FormState(
                fields=inputs.FLOW_FIELDS,
                typed=state.typed,
                errors={"amount": _conflict_note(current)},
            ),
            action,
            heading,
            version=current.version,
            status_code=409,
        )
    return _see_other(f"/commitments/{commitment.id}/edit")


def _conflict_note(flow: MoneyFlow) -> str:
    return (
        "Someone else saved this money flow since you opened it. It is now "
        f"{flow.currency} {flow.amount} ({flow.stage}). Your values are kept here: "
        "save again to replace theirs, or cancel to keep them."
    )


@router.get("/commitments/{record_id}/flows/new", response_class=HTMLResponse, summary="Add money")
def flow_new_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    commitment = _editable_commitment(session, record_id)
    # Money usually goes from who made the commitment to whom it was made for;
    # the editor changes either when the source says otherwise.
    maker, recipient = editing.first_maker_and_recipient(session, record_id)
    defaults = {"stage": "pledge", "qualifier": "exact"}
    if maker is not None:
        defaults["provider_id"] = str(maker)
    if recipient is not None:
        defaults["receiver_id"] = str(recipient)
    state = inputs.empty(inputs.FLOW_FIELDS, defaults)
    return _flow_page(
        request,
        templates,
        session,
        commitment,
        state,
        f"/commitments/{record_id}/flows/new",
        "Add money to this commitment",
    )


@router.post("/commitments/{record_id}/flows/new", response_class=HTMLResponse, summary="Add money")
def flow_create(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    """Check the amount, show the exact value understood, save on confirmation."""
    commitment = _editable_commitment(session, record_id)
    return _handle_flow(request, session, templates, account, raw, commitment, None)


def _flow(session: Session, flow_id: int) -> MoneyFlow:
    flow = session.get(MoneyFlow, flow_id)
    if flow is None:
        raise HTTPException(404, f"There is no money flow {flow_id}.")
    return flow


@router.get("/money-flows/{record_id}/edit", response_class=HTMLResponse, summary="Edit money")
def flow_edit_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    flow = _flow(session, record_id)
    commitment = _editable_commitment(session, flow.commitment_id)
    state = inputs.from_typed(inputs.FLOW_FIELDS, inputs.flow_typed(flow))
    return _flow_page(
        request,
        templates,
        session,
        commitment,
        state,
        f"/money-flows/{record_id}/edit",
        "Edit money flow",
        version=flow.version,
    )


@router.post("/money-flows/{record_id}/edit", response_class=HTMLResponse, summary="Save money")
def flow_save(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    flow = _flow(session, record_id)
    commitment = _editable_commitment(session, flow.commitment_id)
    return _handle_flow(request, session, templates, account, raw, commitment, flow)


@router.post("/money-flows/{record_id}/delete", summary="Remove a money flow")
def flow_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    """Admins only: the change record keeps its values."""
    flow = _flow(session, record_id)
    commitment = _editable_commitment(session, flow.commitment_id)
    editing.delete_child(session, flow, account_id=account.id, public=changes.is_public(commitment))
    return _see_other(f"/commitments/{commitment.id}/edit")


# --------------------------------------------------------------- citations


@router.get(
    "/commitments/{record_id}/citations/new", response_class=HTMLResponse, summary="Quote a source"
)
def citation_new_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    supports: str = "commitment",
) -> Response:
    commitment = _editable_commitment(session, record_id)
    state = inputs.empty(records.citation_fields(session, commitment), {"supports": supports[:40]})
    return _form_page(
        request,
        templates,
        session,
        heading="Quote a source",
        action=f"/commitments/{record_id}/citations/new",
        state=state,
        back={"url": f"/commitments/{record_id}/edit", "label": commitment.title},
    )


@router.post(
    "/commitments/{record_id}/citations/new", response_class=HTMLResponse, summary="Quote a source"
)
def citation_create(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    """Attach a verbatim quote to the commitment or a flow; a new source can be made inline."""
    commitment = _editable_commitment(session, record_id)
    state = records.check_citation(session, commitment, raw)
    if not state.ok:
        return _form_page(
            request,
            templates,
            session,
            heading="Quote a source",
            action=f"/commitments/{record_id}/citations/new",
            state=state,
            back={"url": f"/commitments/{record_id}/edit", "label": commitment.title},
            status_code=422,
        )
    records.add_citation(session, commitment, state, account_id=account.id)
    return _see_other(f"/commitments/{record_id}/edit")


def _citation_for_edit(session: Session, citation_id: int) -> tuple[Citation, Commitment]:
    citation = session.get(Citation, citation_id)
    commitment = records.commitment_of(session, citation) if citation else None
    # Review evidence is part of its review and observation quotes of their
    # indicator's page; only a commitment's or money flow's quotes are edited here.
    if citation is None or commitment is None or commitment.deleted_at is not None:
        raise HTTPException(404, f"There is no editable quote {citation_id}.")
    return citation, commitment


@router.get("/citations/{record_id}/edit", response_class=HTMLResponse, summary="Edit a quote")
def citation_edit_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    citation, commitment = _citation_for_edit(session, record_id)
    return _form_page(
        request,
        templates,
        session,
        heading="Edit a quote",
        action=f"/citations/{record_id}/edit",
        state=inputs.from_typed(inputs.CITATION_EDIT_FIELDS, inputs.citation_typed(citation)),
        version=citation.version,
        back={"url": f"/commitments/{commitment.id}/edit", "label": commitment.title},
    )


@router.post("/citations/{record_id}/edit", response_class=HTMLResponse, summary="Save a quote")
def citation_save(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    """Correct a quote's text, locator or source; a stale form is refused (409)."""
    citation, commitment = _citation_for_edit(session, record_id)
    state = inputs.parse_form(inputs.CITATION_EDIT_FIELDS, raw)
    source_id = state.values.get("source_id")
    if source_id is not None and session.get(Source, source_id) is None:
        state.errors["source_id"] = f"there is no source {source_id}"
    back = {"url": f"/commitments/{commitment.id}/edit", "label": commitment.title}
    action = f"/citations/{record_id}/edit"
    if not state.ok:
        return _form_page(
            request,
            templates,
            session,
            heading="Edit a quote",
            action=action,
            state=state,
            version=_version(raw),
            back=back,
            status_code=422,
        )
    try:
        editing.update(
            session,
            citation,
            dict(state.values),
            form_version=_version(raw),
            account_id=account.id,
            public=changes.is_public(commitment),
        )
    except editing.Conflict:
        session.rollback()
        current = session.get(Citation, record_id, populate_existing=True)
        state.errors["quote"] = (
            "Someone else saved this quote since you opened it; it now reads: "
            f"“{current.quote if current else ''}”. Your text is kept here: save again to "
            "replace theirs, or cancel to keep it."
        )
        return _form_page(
            request,
            templates,
            session,
            heading="Edit a quote",
            action=action,
            state=state,
            version=current.version if current else None,
            back=back,
            status_code=409,
        )
    return _see_other(f"/commitments/{commitment.id}/edit")


@router.post("/citations/{record_id}/delete", summary="Remove a quote")
def citation_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    """Admins only: the change record keeps the quote."""
    citation = session.get(Citation, record_id)
    if citation is None:
        raise HTTPException(404, f"There is no citation {record_id}.")
    commitment = records.remove_citation(session, citation, account_id=account.id)
    back = f"/commitments/{commitment.id}/edit" if commitment is not None else "/edit"
    return _see_other(back)


# ----------------------------------------------------------------- reviews


@router.get(
    "/commitments/{record_id}/reviews/new",
    response_class=HTMLResponse,
    summary="Review a commitment",
)
def review_new_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    today: TodayDep,
) -> Response:
    commitment = _editable_commitment(session, record_id)
    state = inputs.empty(inputs.REVIEW_FIELDS, {"reviewed_on": today.isoformat()})
    return _form_page(
        request,
        templates,
        session,
        heading=f"Review “{commitment.title}”",
        action=f"/commitments/{record_id}/reviews/new",
        state=state,
        back={"url": f"/commitments/{record_id}/edit", "label": commitment.title},
    )


@router.post(
    "/commitments/{record_id}/reviews/new", response_class=HTMLResponse, summary="Record a review"
)
def review_create(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    today: TodayDep,
    raw: FormDep,
) -> Response:
    """Record a dated verdict with evidence (the rules are in reviews.record_review)."""
    commitment = _editable_commitment(session, record_id)
    state = inputs.parse_form(inputs.REVIEW_FIELDS, raw)
    v = state.values
    evidence: list[reviews.EvidenceInput] = []
    if v.get("evidence_quote") or v.get("evidence_source_id"):
        if not v.get("evidence_source_id"):
            state.errors["evidence_source_id"] = "evidence needs its source"
        elif not v.get("evidence_quote"):
            state.errors["evidence_quote"] = "quote the evidence"
        else:
            evidence.append(
                reviews.EvidenceInput(
                    v["evidence_source_id"], v["evidence_quote"], v.get("evidence_locator")
                )
            )
    if state.ok:
        try:
            reviews.record_review(
                session,
                commitment,
                today=today,
                reviewed_on=v["reviewed_on"],
                status_found=v["status_found"],
                evidence=evidence,
                progress_percent=v.get("progress_percent"),
                rationale=v.get("rationale"),
                next_review_on=v.get("next_review_on"),
                reviewer_account_id=account.id,
                reviewer_name=v.get("reviewer_name"),
            )
        except reviews.ReviewError as exc:
            field = "evidence_quote" if exc.field == "evidence" else exc.field
            state.errors[field] = exc.message
    if not state.ok:
        return _form_page(
            request,
            templates,
            session,
            heading=f"Review “{commitment.title}”",
            action=f"/commitments/{record_id}/reviews/new",
            state=state,
            back={"url": f"/commitments/{record_id}/edit", "label": commitment.title},
            status_code=422,
        )
    return _see_other(f"/commitments/{record_id}/edit")


# ------------------------------------------------------------ observations


def _editable_indicator(session: Session, indicator_id: int) -> Indicator:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or indicator.deleted_at is not None:
        raise HTTPException(404, f"There is no indicator {indicator_id}.")
    return indicator


def _handle_observation(
    request: Request,
    session: Session,
    templates: Any,
    account: Any,
    raw: inputs.Raw,
    indicator: Indicator,
    observation: Observation | None,
) -> Response:
    state, values = records.check_observation(session, raw)
    action = (
        f"/observations/{observation.id}/edit"
        if observation
        else f"/indicators/{indicator.id}/observations/new"
    )
    back = {"url": f"/indicators/{indicator.id}/edit", "label": indicator.name}
    if not state.ok:
        return _form_page(
            request,
            templates,
            session,
            heading="Observation",
            action=action,
            state=state,
            back=back,
            version=_version(raw),
            status_code=422,
        )
    try:
        records.write_observation(
            session,
            indicator,
            observation,
            state,
            values,
            account_id=account.id,
            version=_version(raw),
        )
    except editing.Conflict:
        assert observation is not None
        session.rollback()
        state.errors["value"] = (
            "Someone else saved this observation since you opened it; "
            "your values are kept: save again to replace theirs."
        )
        current = session.get(Observation, observation.id, populate_existing=True)
        return _form_page(
            request,
            templates,
            session,
            heading="Observation",
            action=action,
            state=state,
            back=back,
            version=current.version if current else None,
            status_code=409,
        )
    return _see_other(f"/indicators/{indicator.id}/edit")


@router.get(
    "/indicators/{record_id}/observations/new",
    response_class=HTMLResponse,
    summary="Add an observation",
)
def observation_new_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    indicator = _editable_indicator(session, record_id)
    return _form_page(
        request,
        templates,
        session,
        heading=f"Observation of “{indicator.name}”",
        action=f"/indicators/{record_id}/observations/new",
        state=inputs.empty(inputs.OBSERVATION_FIELDS, {"qualifier": "exact"}),
        back={"url": f"/indicators/{record_id}/edit", "label": indicator.name},
    )


@router.post(
    "/indicators/{record_id}/observations/new",
    response_class=HTMLResponse,
    summary="Add an observation",
)
def observation_create(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    indicator = _editable_indicator(session, record_id)
    return _handle_observation(request, session, templates, account, raw, indicator, None)


@router.get(
    "/observations/{record_id}/edit", response_class=HTMLResponse, summary="Edit an observation"
)
def observation_edit_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    observation = session.get(Observation, record_id)
    if observation is None:
        raise HTTPException(404, f"There is no observation {record_id}.")
    indicator = _editable_indicator(session, observation.indicator_id)
    return _form_page(
        request,
        templates,
        session,
        heading=f"Observation of “{indicator.name}”",
        action=f"/observations/{record_id}/edit",
        state=inputs.from_typed(inputs.OBSERVATION_FIELDS, inputs.observation_typed(observation)),
        version=observation.version,
        back={"url": f"/indicators/{indicator.id}/edit", "label": indicator.name},
    )


@router.post(
    "/observations/{record_id}/edit", response_class=HTMLResponse, summary="Save an observation"
)
def observation_save(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    observation = session.get(Observation, record_id)
    if observation is None:
        raise HTTPException(404, f"There is no observation {record_id}.")
    indicator = _editable_indicator(session, observation.indicator_id)
    return _handle_observation(request, session, templates, account, raw, indicator, observation)


@router.post("/observations/{record_id}/delete", summary="Remove an observation")
def observation_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    observation = session.get(Observation, record_id)
    if observation is None:
        raise HTTPException(404, f"There is no observation {record_id}.")
    indicator = _editable_indicator(session, observation.indicator_id)
    editing.delete_child(
        session, observation, account_id=account.id, public=changes.is_public(indicator)
    )
    return _see_other(f"/indicators/{indicator.id}/edit")


# ---------------------------------------------------------- exchange rates


def _rates(session: Session) -> list[ExchangeRate]:
    return list(
        session.scalars(
            select(ExchangeRate)
            .order_by(ExchangeRate.rate_on.desc(), ExchangeRate.id.desc())
            .limit(200)
        )
    )


def _rate_page(
    request: Request,
    templates: Any,
    session: Session,
    state: inputs.FormState,
    status_code: int = 200,
) -> Response:
    response: Response = templates.TemplateResponse(
        request,
        "edit/rates.html",
        {"state": state, "lookups": {}, "rates": _rates(session)},
        status_code=status_code,
    )
    return response


@router.get("/edit/exchange-rates", response_class=HTMLResponse, summary="Exchange rates")
def rates_page(
    request: Request, session: SessionDep, templates: TemplatesDep, account: EditorDep
) -> Response:
    """The latest rates and a form to add one."""
    return _rate_page(
        request, templates, session, inputs.empty(inputs.RATE_FIELDS, {"base_currency": "EUR"})
    )


@router.post("/edit/exchange-rates", response_class=HTMLResponse, summary="Add an exchange rate")
def rate_create(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    state = inputs.parse_form(inputs.RATE_FIELDS, raw)
    values = inputs.rate_values(state)
    if (
        state.ok
        and session.scalars(
            select(ExchangeRate.id).where(
                ExchangeRate.rate_on == values["rate_on"],
                ExchangeRate.base_currency == values["base_currency"],
                ExchangeRate.quote_currency == values["quote_currency"],
                ExchangeRate.source_name == values["source_name"],
            )
        ).first()
    ):
        state.errors["rate_on"] = "this table already has a rate for this pair on this date"
    if not state.ok:
        return _rate_page(request, templates, session, state, 422)
    editing.create(session, ExchangeRate(**values), account_id=account.id, public=True)
    return _see_other("/edit/exchange-rates")


def _rate(session: Session, rate_id: int) -> ExchangeRate:
    rate = session.get(ExchangeRate, rate_id)
    if rate is None:
        raise HTTPException(404, f"There is no exchange rate {rate_id}.")
    return rate


@router.get(
    "/exchange-rates/{record_id}/edit", response_class=HTMLResponse, summary="Edit an exchange rate"
)
def rate_edit_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    rate = _rate(session, record_id)
    return _form_page(
        request,
        templates,
        session,
        heading="Exchange rate",
        action=f"/exchange-rates/{record_id}/edit",
        state=inputs.from_typed(inputs.RATE_FIELDS, inputs.rate_typed(rate)),
        version=rate.version,
        back={"url": "/edit/exchange-rates", "label": "Exchange rates"},
    )


@router.post(
    "/exchange-rates/{record_id}/edit", response_class=HTMLResponse, summary="Save an exchange rate"
)
def rate_save(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    rate = _rate(session, record_id)
    state = inputs.parse_form(inputs.RATE_FIELDS, raw)
    values = inputs.rate_values(state)
    back = {"url": "/edit/exchange-rates", "label": "Exchange rates"}
    if not state.ok:
        return _form_page(
            request,
            templates,
            session,
            heading="Exchange rate",
            action=f"/exchange-rates/{record_id}/edit",
            state=state,
            version=_version(raw),
            back=back,
            status_code=422,
        )
    try:
        editing.update(
            session, rate, values, form_version=_version(raw), account_id=account.id, public=True
        )
    except editing.Conflict:
        session.rollback()
        current = _rate(session, record_id)
        session.refresh(current)
        state.errors["rate"] = (
            f"Someone else saved this rate since you opened it: it is now {current.rate}. "
            "Your values are kept: save again to replace theirs."
        )
        return _form_page(
            request,
            templates,
            session,
            heading="Exchange rate",
            action=f"/exchange-rates/{record_id}/edit",
            state=state,
            version=current.version,
            back=back,
            status_code=409,
        )
    return _see_other("/edit/exchange-rates")


@router.post("/exchange-rates/{record_id}/delete", summary="Remove an exchange rate")
def rate_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    rate = _rate(session, record_id)
    editing.delete_child(session, rate, account_id=account.id, public=True)
    return _see_other("/edit/exchange-rates")


@router.get(
    "/exchange-rates/{record_id}/history",
    response_class=HTMLResponse,
    summary="History of an exchange rate",
)
def rate_history(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: OptionalAccountDep,
) -> Response:
    entries = editing.history(session, "exchange_rates", record_id, show_emails=account is not None)
    rate = session.get(ExchangeRate, record_id)
    if rate is None and not entries:
        raise HTTPException(404, f"There is no exchange rate {record_id}.")
    noun = Noun(
        "exchange-rates",
        ExchangeRate,
        "exchange rate",
        inputs.RATE_FIELDS,
        inputs.rate_values,
        inputs.rate_typed,
    )
    return templates.TemplateResponse(
        request,
        "edit/history.html",
        {
            "entity": rate,
            "noun": noun,
            "entries": entries,
            "account": account,
            "names": _history_names(session, entries, account),
        },
    )


def entity_base(entity: Base) -> str:
    return changes.entity_type(entity)
