"""Writing a record from its form text: shared by the edit pages and the JSON API.

A record (actor, source, commitment, indicator) is described once, as a
`Noun`: its form fields, how checked fields become column values, and how a
record becomes form text again. The edit pages post form text; the API turns
its JSON body into the same text (`app.api.records`), so both go through one
check (`check`) and one write (`create` / `save`) and leave the same change
records behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Actor,
    Citation,
    Commitment,
    CommitmentActor,
    Indicator,
    IndicatorCommitment,
    MoneyFlow,
    Observation,
    Source,
)
from app.services import actors, changes, editing, inputs, links
from app.vocab import PublicationState


@dataclass(frozen=True)
class Noun:
    key: str  # URL segment and table name
    model: type[Any]
    label: str
    fields: list[inputs.Field]
    values: Callable[[inputs.FormState], dict[str, Any]]
    typed: Callable[[Any], inputs.Raw]
    loads: tuple[Any, ...] = ()


NOUNS: dict[str, Noun] = {
    "actors": Noun(
        "actors",
        Actor,
        "actor",
        inputs.ACTOR_FIELDS,
        inputs.actor_values,
        inputs.actor_typed,
    ),
    "sources": Noun(
        "sources",
        Source,
        "source",
        inputs.SOURCE_FIELDS,
        inputs.source_values,
        inputs.source_typed,
    ),
    "commitments": Noun(
        "commitments",
        Commitment,
        "commitment",
        inputs.COMMITMENT_FIELDS,
        inputs.commitment_values,
        inputs.commitment_typed,
        (
            selectinload(Commitment.actor_links).selectinload(CommitmentActor.actor),
            selectinload(Commitment.tags),
        ),
    ),
    "indicators": Noun(
        "indicators",
        Indicator,
        "indicator",
        inputs.INDICATOR_FIELDS,
        lambda state: {k: state.values.get(k) for k in ("name", "unit", "description")},
        lambda indicator: inputs.indicator_typed(indicator, []),
    ),
}


def load(session: Session, noun: Noun, record_id: int, *, include_deleted: bool) -> Any | None:
    """The record with what its form shows, or None (deleted ones only when asked)."""
    entity = session.scalars(
        select(noun.model).where(noun.model.id == record_id).options(*noun.loads)
    ).one_or_none()
    if entity is None or (entity.deleted_at is not None and not include_deleted):
        return None
    return entity


def indicator_commitment_ids(session: Session, indicator_id: int) -> list[int]:
    return sorted(
        session.scalars(
            select(IndicatorCommitment.commitment_id).where(
                IndicatorCommitment.indicator_id == indicator_id
            )
        )
    )


def current_text(session: Session, noun: Noun, entity: Any) -> inputs.Raw:
    """The record as its form would show it (an indicator with its linked commitments)."""
    if noun.key == "indicators":
        return inputs.indicator_typed(entity, indicator_commitment_ids(session, entity.id))
    return noun.typed(entity)


@dataclass
class Checked:
    """A form's text after checking: the messages, the column values, and the links to set."""

    state: inputs.FormState
    values: dict[str, Any]
    relations: Callable[[Any], dict[str, Any]] | None

    @property
    def ok(self) -> bool:
        return self.state.ok


def check(session: Session, noun: Noun, raw: inputs.Raw, own_id: int | None) -> Checked:
    """Parse the text, work out the columns, and check that the records it names exist."""
    state = inputs.parse_form(noun.fields, raw)
    if noun.key == "commitments":
        _resolve_links(session, state, own_id)
        makers = state.values.get("makers") or []
        fiscal = actors.fiscal_start_month(session, makers[0]) if makers else 1
        values = inputs.commitment_values(state, fiscal)
    else:
        values = noun.values(state)
    _check_references(session, noun, state, own_id)
    return Checked(state, values, _relations(session, noun, state))


def create(session: Session, noun: Noun, checked: Checked, *, account_id: int) -> Any:
    """A new draft from a checked form, with its creation recorded."""
    assert checked.ok, "create() needs a form without messages"
    entity = noun.model(**checked.values, state=PublicationState.draft)
    if noun.key == "commitments":
        entity.actor_links = []
        entity.tags = []
    session.add(entity)
    session.flush()
    extra = checked.relations(entity) if checked.relations else {}
    # The create record also says who made it, for whom, and its tags.
    editing.create(session, entity, account_id=account_id, extra_after=extra)
    return entity


def save(
    session: Session,
    noun: Noun,
    entity: Any,
    checked: Checked,
    *,
    account_id: int,
    version: int | None,
) -> None:
    """Write a checked form over the record; `editing.Conflict` if `version` is stale."""
    assert checked.ok, "save() needs a form without messages"
    extra_before: dict[str, Any] = {}
    if noun.key == "commitments":
        extra_before = editing.actor_ids(entity)
    if noun.key == "indicators":
        extra_before = {"commitments": indicator_commitment_ids(session, entity.id)}
    editing.update(
        session,
        entity,
        checked.values,
        form_version=version,
        account_id=account_id,
        extra_before=extra_before,
        apply=checked.relations,
    )


def _relations(
    session: Session, noun: Noun, state: inputs.FormState
) -> Callable[[Any], dict[str, Any]] | None:
    """What a form sets beyond columns: a commitment's actors and tags, an indicator's links."""
    if noun.key == "commitments":
        makers = state.values.get("makers") or []
        recipients = state.values.get("recipients") or []
        tags = inputs.tag_names(state)

        def apply(entity: Any) -> dict[str, Any]:
            return {
                **editing.set_commitment_actors(session, entity, makers, recipients),
                **editing.set_tags(session, entity, tags),
            }

        return apply
    if noun.key == "indicators":
        ids = inputs.id_list(state, "commitment_ids")

        def link(entity: Any) -> dict[str, Any]:
            return editing.set_indicator_commitments(session, entity, ids)

        return link
    return None


def _check_references(
    session: Session, noun: Noun, state: inputs.FormState, own_id: int | None
) -> None:
    """Chosen actors must exist (and an actor not be its own parent).

    A commitment's links to other commitments are checked by `_resolve_links`.
    """
    for name in ("parent_id", "publisher_actor_id"):
        value = state.values.get(name)
        if value is None or noun.key not in ("actors", "sources"):
            continue
        if name not in {f.name for f in noun.fields}:
            continue
        if value == own_id and noun.model is Actor:
            state.errors[name] = "a record cannot point at itself"
        elif session.get(Actor, value) is None:
            state.errors[name] = f"there is no actor {value}"
    for name in ("makers", "recipients"):
        for actor_id in state.values.get(name) or []:
            if session.get(Actor, actor_id) is None:
                state.errors[name] = f"there is no actor {actor_id}"
    if noun.key == "indicators":
        for commitment_id in inputs.id_list(state, "commitment_ids"):
            if session.get(Commitment, commitment_id) is None:
                state.errors["commitment_ids"] = f"there is no commitment {commitment_id}"


# ------------------------------------------------- links between commitments


def _resolve_links(session: Session, state: inputs.FormState, own_id: int | None) -> None:
    """Turn what was typed in the part-of, tops-up and supersedes fields into commitments.

    Words are searched for, and their matches listed to pick from: the field
    keeps a message (so nothing is saved) until the editor has picked one,
    even when only one matches. A number must name a commitment that may be
    linked (`links.problem`); the one it names is shown beside it.
    """
    current = session.get(Commitment, own_id) if own_id is not None else None
    for name in inputs.LINK_FIELDS:
        value = state.values.get(name)
        if isinstance(value, inputs.Search):
            state.values[name] = None
            found = links.search(session, value.text, exclude=own_id)
            state.candidates[name] = found
            state.errors[name] = _matches_message(found)
        elif isinstance(value, int):
            message = links.problem(
                session,
                value,
                own_id=own_id,
                current_id=getattr(current, name) if current is not None else None,
            )
            if message:
                state.errors[name] = message
    describe_links(session, state)


def _matches_message(found: links.Found) -> str:
    words = found.words if len(found.words) <= 60 else found.words[:59] + "…"
    if found.total == 0:
        return (
            f"no commitment matches “{words}”: try other words from its title, "
            "its number, or a link to its page"
        )
    if found.total == 1:
        return f"one commitment matches “{words}”: it is ticked below; save again to link it"
    if found.total > len(found.targets):
        return (
            f"{found.total} commitments match “{words}”; the {len(found.targets)} most "
            "recently announced are listed below: pick one, or add words to narrow the search"
        )
    return f"{found.total} commitments match “{words}”: pick one below"


def describe_links(session: Session, state: inputs.FormState) -> None:
    """Name the commitment each link field's number or page address points at."""
    wanted: dict[str, int] = {}
    for name in inputs.LINK_FIELDS:
        if name not in state.typed or name in state.candidates:
            continue
        value = state.values.get(name)
        if not isinstance(value, int):
            try:
                value = inputs.commitment_reference(state.text(name).strip())
            except ValueError:
                continue
        if isinstance(value, int):
            wanted[name] = value
    found = links.targets(session, wanted.values())
    state.linked = {name: found[i] for name, i in wanted.items() if i in found}


# ------------------------------------------------------------------ quotes


def _supports_choices(session: Session, commitment: Commitment) -> list[tuple[str, str]]:
    flows = session.scalars(
        select(MoneyFlow).where(MoneyFlow.commitment_id == commitment.id).order_by(MoneyFlow.id)
    )
    return [("commitment", "the commitment itself")] + [
        (f"flow:{f.id}", f"money flow {f.id}: {f.stage} {f.currency} {f.amount}") for f in flows
    ]


def citation_fields(session: Session, commitment: Commitment) -> list[inputs.Field]:
    """The quote form: what it supports (the commitment or one of its flows), then the quote."""
    supports = inputs.Field(
        "supports",
        "This quote supports",
        "select",
        required=True,
        choices=_supports_choices(session, commitment),
        blank=False,
    )
    return [supports, *inputs.CITATION_FIELDS]


def check_citation(session: Session, commitment: Commitment, raw: inputs.Raw) -> inputs.FormState:
    """A quote of an existing source, or of a new one described inline; the source must exist."""
    state = inputs.parse_form(citation_fields(session, commitment), raw)
    inputs.check_citation_source(state)
    source_id = state.values.get("source_id")
    if source_id is not None and session.get(Source, source_id) is None:
        state.errors["source_id"] = f"there is no source {source_id}"
    return state


def add_citation(
    session: Session, commitment: Commitment, state: inputs.FormState, *, account_id: int
) -> Citation:
    """Attach a checked quote to the commitment or one of its flows (a new source as a draft)."""
    assert state.ok, "add_citation() needs a form without messages"
    v = state.values
    source_id = v.get("source_id")
    if source_id is None:
        source = Source(
            title=v["new_source_title"],
            publisher=v.get("new_source_publisher"),
            kind=v["new_source_kind"],
            published_on=v.get("new_source_published_on"),
            url=v.get("new_source_url"),
            state=PublicationState.draft,
        )
        editing.create(session, source, account_id=account_id)
        source_id = source.id
    citation = Citation(source_id=source_id, quote=v["quote"], locator=v.get("locator"))
    if v["supports"] == "commitment":
        citation.commitment_id = commitment.id
    else:
        citation.money_flow_id = int(v["supports"].split(":", 1)[1])
    editing.create(
        session,
        citation,
        account_id=account_id,
        public=changes.is_public(commitment),
        summary=f"Quoted a source for “{commitment.title}”",
    )
    return citation


def commitment_of(session: Session, citation: Citation) -> Commitment | None:
    """The commitment a quote bears on, directly or through one of its money flows."""
    commitment_id = citation.commitment_id
    if commitment_id is None and citation.money_flow_id is not None:
        flow = session.get(MoneyFlow, citation.money_flow_id)
        commitment_id = flow.commitment_id if flow else None
    return session.get(Commitment, commitment_id) if commitment_id is not None else None


def remove_citation(session: Session, citation: Citation, *, account_id: int) -> Commitment | None:
    """Remove a quote for good; its change record keeps the text. Returns its commitment."""
    commitment = commitment_of(session, citation)
    public = commitment is not None and changes.is_public(commitment)
    editing.delete_child(session, citation, account_id=account_id, public=public)
    return commitment


# ------------------------------------------------------------ observations


def check_observation(session: Session, raw: inputs.Raw) -> tuple[inputs.FormState, dict[str, Any]]:
    """An observation's form text checked; its quote's source must exist."""
    state = inputs.parse_form(inputs.OBSERVATION_FIELDS, raw)
    values = inputs.observation_values(state)
    source_id = state.values.get("source_id")
    if source_id is not None and session.get(Source, source_id) is None:
        state.errors["source_id"] = f"there is no source {source_id}"
    return state, values


def write_observation(
    session: Session,
    indicator: Indicator,
    observation: Observation | None,
    state: inputs.FormState,
    values: dict[str, Any],
    *,
    account_id: int,
    version: int | None,
) -> Observation:
    """Add an observation (or save one; `editing.Conflict` if stale), with its quote if given."""
    assert state.ok, "write_observation() needs a form without messages"
    public = changes.is_public(indicator)
    if observation is None:
        observation = Observation(indicator_id=indicator.id, **values)
        editing.create(
            session,
            observation,
            account_id=account_id,
            public=public,
            summary=f"Added an observation of “{indicator.name}”",
        )
    else:
        editing.update(
            session,
            observation,
            values,
            form_version=version,
            account_id=account_id,
            public=public,
        )
    source_id = state.values.get("source_id")
    if state.values.get("quote") and source_id is not None:
        editing.create(
            session,
            Citation(
                source_id=source_id,
                quote=state.values["quote"],
                locator=state.values.get("locator"),
                observation_id=observation.id,
            ),
            account_id=account_id,
            public=public,
            summary=f"Quoted a source for an observation of “{indicator.name}”",
        )
    return observation


# ------------------------------------------------------------- money flows


def check_flow(
    session: Session, raw: inputs.Raw, locale: str
) -> tuple[inputs.FormState, inputs.FlowReading | None]:
    """A money flow's form text checked and read (None when something is wrong)."""
    state = inputs.parse_form(inputs.FLOW_FIELDS, raw)
    for name in ("provider_id", "receiver_id"):
        value = state.values.get(name)
        if value is not None and session.get(Actor, value) is None:
            state.errors[name] = f"there is no actor {value}"
    provider_id = state.values.get("provider_id")
    fiscal = actors.fiscal_start_month(session, provider_id) if isinstance(provider_id, int) else 1
    reading = inputs.flow_values(state, fiscal, locale)
    return state, reading


def write_flow(
    session: Session,
    commitment: Commitment,
    flow: MoneyFlow | None,
    reading: inputs.FlowReading,
    *,
    account_id: int,
    version: int | None,
) -> MoneyFlow:
    """Add a money flow to the commitment, or save one (`editing.Conflict` if stale)."""
    public = changes.is_public(commitment)
    if flow is None:
        flow = MoneyFlow(commitment_id=commitment.id, **reading.values)
        editing.create(
            session,
            flow,
            account_id=account_id,
            public=public,
            summary=f"Added a {reading.values['stage']} to “{commitment.title}”",
        )
    else:
        editing.update(
            session,
            flow,
            reading.values,
            form_version=version,
            account_id=account_id,
            public=public,
        )
    return flow
