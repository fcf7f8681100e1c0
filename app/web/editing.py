"""Edit pages: forms for every record, publish, delete and restore, history, conflicts.

Thin routes: read the form, hand it to `app.services.records` (the one write
path, shared with the API), render the answer. A refusal is a domain error
(`app.errors`) rendered by the one error handler, except where the form itself
is the answer: a form with its messages (422), the conflict page (409), or a
published record that would show drafts, offered for publishing (422). Every
write route needs `EditorDep`; deleting and restoring are for administrators
(the rule is in `records.change_state`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import errors
from app.http.deps import RecordId, SessionDep, TodayDep
from app.models import MAX_ID, Account, Citation, Commitment, ExchangeRate, Indicator, MoneyFlow
from app.services import editing, inputs, links, records
from app.services.names import Names, names_for, referenced_ids
from app.services.records import Noun
from app.web.auth import AdminDep, EditorDep, OptionalAccountDep, is_admin
from app.web.templating import TemplatesDep

router = APIRouter()

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


def _also_publish(
    request: Request, raw: inputs.Raw, account: Account
) -> records.AlsoPublish | None:
    """The editor ticked "also publish" on a form that offered the drafts it would show."""
    if (raw.get("also_publish") or [""])[0]:
        return records.AlsoPublish(account.id, request.app.state.clock.now())
    return None


def _offer_publishing(state: inputs.FormState, refused: records.HiddenReferences) -> None:
    """Show why the save was refused, and offer to publish the drafts with it."""
    for name, message in refused.fields.items():
        state.errors.setdefault(name if name in state.typed else "", message)
    state.errors.pop("", None)
    if not any(name in state.typed for name in refused.fields):
        first = state.fields[0].name
        state.errors.setdefault(first, refused.message)
    if len(refused.publishable) == len(refused.hidden):
        state.publishable = sorted({h.target_label for h in refused.publishable})


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
        entity = records.load(session, noun, record_id, include_deleted=is_admin(account))
        typed = records.current_text(session, noun, entity)
        state = inputs.from_typed(noun.fields, typed)
        return _record_page(request, templates, session, noun, entity, account, state)

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
        entity = records.load(session, noun, record_id, include_deleted=is_admin(account))
        checked = records.check(session, noun, raw, entity.id)
        if checked.ok:
            try:
                records.save(
                    session,
                    noun,
                    entity,
                    checked,
                    account_id=account.id,
                    version=_version(raw),
                    also_publish=_also_publish(request, raw, account),
                )
                return _see_other(f"/{key}/{entity.id}/edit")
            except editing.Conflict:
                return _conflict(request, templates, session, noun, record_id, checked.state, raw)
            except records.HiddenReferences as refused:
                _offer_publishing(checked.state, refused)
            entity = records.reload(session, noun, record_id)
        return _record_page(
            request, templates, session, noun, entity, account, checked.state, status_code=422
        )

    def _state_route(action: str) -> None:
        @router.post(
            f"/{key}/{{record_id}}/{action}", summary=f"{action.capitalize()} a {noun.label}"
        )
        def change_state(
            record_id: RecordId,
            request: Request,
            session: SessionDep,
            account: EditorDep,
            raw: FormDep,
        ) -> Response:
            records.require_permission(account, action)
            # Deleted records too: whether this editor may act on one is change_state's rule.
            entity = records.load(session, noun, record_id, include_deleted=True)
            records.change_state(
                session,
                entity,
                action,
                account=account,
                now=request.app.state.clock.now(),
                version=_version(raw),
            )
            return _see_other(f"/{key}/{entity.id}/edit")

    for action in records.ACTIONS:
        _state_route(action)

    @router.get(f"/{key}/{{record_id}}/history", response_class=HTMLResponse, summary="History")
    def history(
        record_id: RecordId,
        request: Request,
        session: SessionDep,
        templates: TemplatesDep,
        account: OptionalAccountDep,
    ) -> Response:
        """Every recorded change of this record, with the values before and after."""
        entity, entries = editing.record_history(
            session,
            key,
            noun.model,
            record_id,
            private=account is not None,
            show_emails=account is not None,
        )
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
        context["c"] = records.commitment_for_editing(session, entity.id)
    if noun.key == "indicators":
        context["observations"] = records.observations_of(session, entity.id)
    response: Response = templates.TemplateResponse(
        request, "edit/record.html", context, status_code=status_code
    )
    return response


def _conflict(
    request: Request,
    templates: Any,
    session: Session,
    noun: Noun,
    record_id: int,
    state: inputs.FormState,
    raw: inputs.Raw,
) -> Response:
    """409: their values beside the current ones, and a form to save theirs deliberately."""
    current = records.reload(session, noun, record_id)
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


def _flow_page(
    request: Request,
    templates: Any,
    session: Session,
    commitment: Commitment,
    state: inputs.FormState,
    flow: MoneyFlow | None,
    *,
    version: int | None = None,
    reading: inputs.FlowReading | None = None,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request,
        templates,
        session,
        heading="Edit money flow" if flow else "Add money to this commitment",
        action=f"/money-flows/{flow.id}/edit"
        if flow
        else f"/commitments/{commitment.id}/flows/new",
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
    account: Account,
    raw: inputs.Raw,
    commitment: Commitment,
    flow: MoneyFlow | None,
) -> Response:
    locale = request.app.state.settings.pledges_locale
    state, reading = records.check_flow(session, raw, locale)
    version = _version(raw) if flow else None
    if reading is None:
        return _flow_page(
            request, templates, session, commitment, state, flow, version=version, status_code=422
        )
    confirmed = (raw.get("confirmed") or [""])[0]
    wants_check = (raw.get("do") or [""])[0] == "check"
    if wants_check or confirmed != reading.confirmation:
        # Not saved yet: show the exact value understood and ask again.
        return _flow_page(
            request, templates, session, commitment, state, flow, version=version, reading=reading
        )
    try:
        records.write_flow(
            session,
            commitment,
            flow,
            reading,
            account_id=account.id,
            version=version,
            also_publish=_also_publish(request, raw, account),
        )
    except editing.Conflict:
        assert flow is not None
        current, _ = records.editable_flow(session, flow.id)
        session.refresh(current)
        state.errors["amount"] = (
            "Someone else saved this money flow since you opened it. It is now "
            f"{current.currency} {current.amount} ({current.stage}). Your values are kept "
            "here: save again to replace theirs, or cancel to keep them."
        )
        return _flow_page(
            request,
            templates,
            session,
            commitment,
            state,
            flow,
            version=current.version,
            status_code=409,
        )
    except records.HiddenReferences as refused:
        _offer_publishing(state, refused)
        return _flow_page(
            request, templates, session, commitment, state, flow, version=version, status_code=422
        )
    return _see_other(f"/commitments/{commitment.id}/edit")


@router.get("/commitments/{record_id}/flows/new", response_class=HTMLResponse, summary="Add money")
def flow_new_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    commitment = records.editable_commitment(session, record_id)
    # Money usually goes from who made the commitment to whom it was made for;
    # the editor changes either when the source says otherwise.
    maker, recipient = editing.first_maker_and_recipient(session, record_id)
    defaults = {"stage": "pledge", "qualifier": "exact"}
    if maker is not None:
        defaults["provider_id"] = str(maker)
    if recipient is not None:
        defaults["receiver_id"] = str(recipient)
    state = inputs.empty(inputs.FLOW_FIELDS, defaults)
    return _flow_page(request, templates, session, commitment, state, None)


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
    commitment = records.editable_commitment(session, record_id)
    return _handle_flow(request, session, templates, account, raw, commitment, None)


@router.get("/money-flows/{record_id}/edit", response_class=HTMLResponse, summary="Edit money")
def flow_edit_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    flow, commitment = records.editable_flow(session, record_id)
    state = inputs.from_typed(inputs.FLOW_FIELDS, inputs.flow_typed(flow))
    return _flow_page(request, templates, session, commitment, state, flow, version=flow.version)


@router.post("/money-flows/{record_id}/edit", response_class=HTMLResponse, summary="Save money")
def flow_save(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    flow, commitment = records.editable_flow(session, record_id)
    return _handle_flow(request, session, templates, account, raw, commitment, flow)


@router.post("/money-flows/{record_id}/delete", summary="Remove a money flow")
def flow_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    """Admins only: the change record keeps its values."""
    flow, commitment = records.editable_flow(session, record_id)
    records.remove_flow(session, flow, commitment, account_id=account.id)
    return _see_other(f"/commitments/{commitment.id}/edit")


# --------------------------------------------------------------- citations


def _quote_page(
    request: Request,
    templates: Any,
    session: Session,
    commitment: Commitment,
    state: inputs.FormState,
    citation: Citation | None = None,
    *,
    version: int | None = None,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request,
        templates,
        session,
        heading="Edit a quote" if citation else "Quote a source",
        action=(
            f"/citations/{citation.id}/edit"
            if citation
            else f"/commitments/{commitment.id}/citations/new"
        ),
        state=state,
        version=version,
        back={"url": f"/commitments/{commitment.id}/edit", "label": commitment.title},
        status_code=status_code,
    )


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
    commitment = records.editable_commitment(session, record_id)
    state = inputs.empty(records.citation_fields(session, commitment), {"supports": supports[:40]})
    return _quote_page(request, templates, session, commitment, state)


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
    commitment = records.editable_commitment(session, record_id)
    state = records.check_citation(session, commitment, raw)
    if state.ok:
        try:
            records.add_citation(
                session,
                commitment,
                state,
                account_id=account.id,
                also_publish=_also_publish(request, raw, account),
            )
            return _see_other(f"/commitments/{record_id}/edit")
        except records.HiddenReferences as refused:
            _offer_publishing(state, refused)
    return _quote_page(request, templates, session, commitment, state, status_code=422)


@router.get("/citations/{record_id}/edit", response_class=HTMLResponse, summary="Edit a quote")
def citation_edit_form(
    record_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
) -> Response:
    citation, commitment = records.editable_citation(session, record_id)
    state = inputs.from_typed(inputs.CITATION_EDIT_FIELDS, inputs.citation_typed(citation))
    return _quote_page(
        request, templates, session, commitment, state, citation, version=citation.version
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
    citation, commitment = records.editable_citation(session, record_id)
    state = records.check_citation_edit(session, raw)
    version, status = _version(raw), 422
    if state.ok:
        try:
            records.save_citation(
                session,
                citation,
                commitment,
                state,
                account_id=account.id,
                version=version,
                also_publish=_also_publish(request, raw, account),
            )
            return _see_other(f"/commitments/{commitment.id}/edit")
        except editing.Conflict:
            session.refresh(citation)
            state.errors["quote"] = (
                "Someone else saved this quote since you opened it; it now reads: "
                f"“{citation.quote}”. Your text is kept here: save again to "
                "replace theirs, or cancel to keep it."
            )
            version, status = citation.version, 409
        except records.HiddenReferences as refused:
            _offer_publishing(state, refused)
    return _quote_page(
        request,
        templates,
        session,
        commitment,
        state,
        citation,
        version=version,
        status_code=status,
    )


@router.post("/citations/{record_id}/delete", summary="Remove a quote")
def citation_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    """Admins only: the change record keeps the quote."""
    citation, commitment = records.editable_citation(session, record_id)
    records.remove_citation(session, citation, account_id=account.id)
    return _see_other(f"/commitments/{commitment.id}/edit")


# ----------------------------------------------------------------- reviews


def _review_page(
    request: Request,
    templates: Any,
    session: Session,
    commitment: Commitment,
    state: inputs.FormState,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request,
        templates,
        session,
        heading=f"Review “{commitment.title}”",
        action=f"/commitments/{commitment.id}/reviews/new",
        state=state,
        back={"url": f"/commitments/{commitment.id}/edit", "label": commitment.title},
        status_code=status_code,
    )


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
    commitment = records.editable_commitment(session, record_id)
    state = inputs.empty(inputs.REVIEW_FIELDS, {"reviewed_on": today.isoformat()})
    return _review_page(request, templates, session, commitment, state)


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
    commitment = records.editable_commitment(session, record_id)
    state, evidence = records.check_review(raw)
    if state.ok:
        try:
            records.record_review(
                session,
                commitment,
                today=today,
                values=state.values,
                evidence=evidence,
                account_id=account.id,
                also_publish=_also_publish(request, raw, account),
            )
            return _see_other(f"/commitments/{record_id}/edit")
        except records.HiddenReferences as refused:
            _offer_publishing(state, refused)
        except errors.Invalid as refused:
            # The review rules name "evidence" for the evidence fields as a whole.
            for name, message in refused.fields.items():
                field = "evidence_quote" if name == "evidence" else name
                state.errors.setdefault(field, message)
    return _review_page(request, templates, session, commitment, state, 422)


# ------------------------------------------------------------ observations


def _observation_page(
    request: Request,
    templates: Any,
    session: Session,
    indicator: Indicator,
    state: inputs.FormState,
    observation_id: int | None,
    *,
    version: int | None = None,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request,
        templates,
        session,
        heading=f"Observation of “{indicator.name}”",
        action=(
            f"/observations/{observation_id}/edit"
            if observation_id
            else f"/indicators/{indicator.id}/observations/new"
        ),
        state=state,
        version=version,
        back={"url": f"/indicators/{indicator.id}/edit", "label": indicator.name},
        status_code=status_code,
    )


def _handle_observation(
    request: Request,
    session: Session,
    templates: Any,
    account: Account,
    raw: inputs.Raw,
    indicator: Indicator,
    observation_id: int | None,
) -> Response:
    state, values = records.check_observation(session, raw)
    version, status = _version(raw), 422
    if state.ok:
        observation = (
            records.editable_observation(session, observation_id)[0] if observation_id else None
        )
        try:
            records.write_observation(
                session,
                indicator,
                observation,
                state,
                values,
                account_id=account.id,
                version=version,
                also_publish=_also_publish(request, raw, account),
            )
            return _see_other(f"/indicators/{indicator.id}/edit")
        except editing.Conflict:
            assert observation is not None
            session.refresh(observation)
            state.errors["value"] = (
                "Someone else saved this observation since you opened it; "
                "your values are kept: save again to replace theirs."
            )
            version, status = observation.version, 409
        except records.HiddenReferences as refused:
            _offer_publishing(state, refused)
    return _observation_page(
        request,
        templates,
        session,
        indicator,
        state,
        observation_id,
        version=version,
        status_code=status,
    )


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
    indicator = records.editable_indicator(session, record_id)
    state = inputs.empty(inputs.OBSERVATION_FIELDS, {"qualifier": "exact"})
    return _observation_page(request, templates, session, indicator, state, None)


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
    indicator = records.editable_indicator(session, record_id)
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
    observation, indicator = records.editable_observation(session, record_id)
    state = inputs.from_typed(inputs.OBSERVATION_FIELDS, inputs.observation_typed(observation))
    return _observation_page(
        request, templates, session, indicator, state, record_id, version=observation.version
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
    _observation, indicator = records.editable_observation(session, record_id)
    return _handle_observation(request, session, templates, account, raw, indicator, record_id)


@router.post("/observations/{record_id}/delete", summary="Remove an observation")
def observation_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    observation, indicator = records.editable_observation(session, record_id)
    records.remove_observation(session, observation, indicator, account_id=account.id)
    return _see_other(f"/indicators/{indicator.id}/edit")


# ---------------------------------------------------------- exchange rates

RATES_BACK = {"url": "/edit/exchange-rates", "label": "Exchange rates"}


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
        {"state": state, "lookups": {}, "rates": records.latest_rates(session)},
        status_code=status_code,
    )
    return response


@router.get("/edit/exchange-rates", response_class=HTMLResponse, summary="Exchange rates")
def rates_page(
    request: Request, session: SessionDep, templates: TemplatesDep, account: EditorDep
) -> Response:
    """The latest rates and a form to add one."""
    state = inputs.empty(inputs.RATE_FIELDS, {"base_currency": "EUR"})
    return _rate_page(request, templates, session, state)


@router.post("/edit/exchange-rates", response_class=HTMLResponse, summary="Add an exchange rate")
def rate_create(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    raw: FormDep,
) -> Response:
    state = records.check_rate(session, raw, None)
    if not state.ok:
        return _rate_page(request, templates, session, state, 422)
    records.write_rate(session, None, state, account_id=account.id, version=None)
    return _see_other("/edit/exchange-rates")


def _rate_form(
    request: Request,
    templates: Any,
    session: Session,
    rate: ExchangeRate,
    state: inputs.FormState,
    *,
    version: int | None,
    status_code: int = 200,
) -> Response:
    return _form_page(
        request,
        templates,
        session,
        heading="Exchange rate",
        action=f"/exchange-rates/{rate.id}/edit",
        state=state,
        version=version,
        back=RATES_BACK,
        status_code=status_code,
    )


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
    rate = records.exchange_rate(session, record_id)
    state = inputs.from_typed(inputs.RATE_FIELDS, inputs.rate_typed(rate))
    return _rate_form(request, templates, session, rate, state, version=rate.version)


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
    rate = records.exchange_rate(session, record_id)
    state = records.check_rate(session, raw, rate.id)
    version = _version(raw)
    if not state.ok:
        return _rate_form(
            request, templates, session, rate, state, version=version, status_code=422
        )
    try:
        records.write_rate(session, rate, state, account_id=account.id, version=version)
    except editing.Conflict:
        session.refresh(rate)
        state.errors["rate"] = (
            f"Someone else saved this rate since you opened it: it is now {rate.rate}. "
            "Your values are kept: save again to replace theirs."
        )
        return _rate_form(
            request, templates, session, rate, state, version=rate.version, status_code=409
        )
    return _see_other("/edit/exchange-rates")


@router.post("/exchange-rates/{record_id}/delete", summary="Remove an exchange rate")
def rate_delete(record_id: RecordId, session: SessionDep, account: AdminDep) -> Response:
    records.remove_rate(session, records.exchange_rate(session, record_id), account_id=account.id)
    return _see_other("/edit/exchange-rates")


RATE_NOUN = Noun(
    "exchange-rates",
    ExchangeRate,
    "exchange rate",
    inputs.RATE_FIELDS,
    inputs.rate_values,
    inputs.rate_typed,
)


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
    rate, entries = editing.record_history(
        session,
        "exchange_rates",
        ExchangeRate,
        record_id,
        private=account is not None,
        show_emails=account is not None,
    )
    return templates.TemplateResponse(
        request,
        "edit/history.html",
        {
            "entity": rate,
            "noun": RATE_NOUN,
            "entries": entries,
            "account": account,
            "names": _history_names(session, entries, account),
        },
    )
