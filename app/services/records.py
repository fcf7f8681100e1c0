"""The one write path: check and write every record, for the edit pages, the API and import.

A record (actor, source, commitment, indicator) is described once, as a
`Noun`: its form fields, how checked fields become column values, the rules
its values must keep (`app.services.rules`), and how a record becomes form text
again. The edit pages post form text; the API turns its JSON body into the
same text (`app.api.records`), so both go through one check (`check`) and one
write (`create` / `save`) and leave the same change records behind. The CSV
import checks its rows with the same rules (`app.services.importer`).

Every write here is all or nothing (`all_or_nothing`: a SAVEPOINT), and ends by
checking that no published record now shows readers a draft or deleted one
(`app.services.visibility`): such a write is refused with `HiddenReferences`
(422), or, when the editor asked for it, publishes the drafts along with it.
Refusals are domain errors (`app.errors`) that both faces render.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import errors
from app.models import (
    Account,
    Actor,
    Citation,
    Commitment,
    CommitmentActor,
    ExchangeRate,
    Indicator,
    IndicatorCommitment,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from app.services import actors, changes, editing, inputs, links, reviews, rules, visibility
from app.vocab import PublicationState, Role

Rules = Callable[[Session, Mapping[str, Any], int | None], rules.Problems]


def _commitment_rules(session: Session, v: Mapping[str, Any], own: int | None) -> rules.Problems:
    return {
        **rules.commitment_state(session, v, own_id=own),
        **rules.commitment_values(v, own_id=own),
    }


def _actor_rules(session: Session, v: Mapping[str, Any], own: int | None) -> rules.Problems:
    return {**rules.actor_state(session, v, own_id=own), **rules.actor_values(v, own_id=own)}


def _source_rules(session: Session, v: Mapping[str, Any], _own: int | None) -> rules.Problems:
    return {**rules.source_state(session, v), **rules.source_values(v)}


def _no_rules(_session: Session, _v: Mapping[str, Any], _own: int | None) -> rules.Problems:
    return {}


@dataclass(frozen=True)
class Noun:
    key: str  # URL segment and table name
    model: type[Any]
    label: str
    fields: list[inputs.Field]
    values: Callable[[inputs.FormState], dict[str, Any]]
    typed: Callable[[Any], inputs.Raw]
    rules: Rules = _no_rules
    loads: tuple[Any, ...] = ()


NOUNS: dict[str, Noun] = {
    "actors": Noun(
        "actors",
        Actor,
        "actor",
        inputs.ACTOR_FIELDS,
        inputs.actor_values,
        inputs.actor_typed,
        _actor_rules,
    ),
    "sources": Noun(
        "sources",
        Source,
        "source",
        inputs.SOURCE_FIELDS,
        inputs.source_values,
        inputs.source_typed,
        _source_rules,
    ),
    "commitments": Noun(
        "commitments",
        Commitment,
        "commitment",
        inputs.COMMITMENT_FIELDS,
        inputs.commitment_values,
        inputs.commitment_typed,
        _commitment_rules,
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


# ------------------------------------------------------------------ loading


def load(session: Session, noun: Noun, record_id: int, *, include_deleted: bool) -> Any:
    """The record with what its form shows; NotFound if there is none (or it is deleted
    and deleted ones were not asked for)."""
    entity = session.scalars(
        select(noun.model).where(noun.model.id == record_id).options(*noun.loads)
    ).one_or_none()
    if entity is None or (entity.deleted_at is not None and not include_deleted):
        raise errors.NotFound(f"There is no {noun.label} {record_id}.")
    return entity


def reload(session: Session, noun: Noun, record_id: int) -> Any:
    """The record as stored now (after a refused write was rolled back)."""
    return session.scalars(
        select(noun.model)
        .where(noun.model.id == record_id)
        .options(*noun.loads)
        .execution_options(populate_existing=True)
    ).one()


def editable_commitment(session: Session, commitment_id: int) -> Commitment:
    """A commitment whose money, quotes and reviews may be edited (it exists, not deleted)."""
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or commitment.deleted_at is not None:
        raise errors.NotFound(f"There is no commitment {commitment_id}.")
    return commitment


def editable_indicator(session: Session, indicator_id: int) -> Indicator:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or indicator.deleted_at is not None:
        raise errors.NotFound(f"There is no indicator {indicator_id}.")
    return indicator


def editable_flow(session: Session, flow_id: int) -> tuple[MoneyFlow, Commitment]:
    """A money flow of a commitment that is not deleted, with that commitment."""
    flow = session.get(MoneyFlow, flow_id)
    commitment = session.get(Commitment, flow.commitment_id) if flow else None
    if flow is None or commitment is None or commitment.deleted_at is not None:
        raise errors.NotFound(f"There is no money flow {flow_id}.")
    return flow, commitment


def editable_citation(session: Session, citation_id: int) -> tuple[Citation, Commitment]:
    """A quote of a commitment or of one of its money flows, with that commitment.

    Review evidence is part of its review, and an observation's quote part of
    its indicator's page: they are not edited as quotes of a commitment.
    """
    citation = session.get(Citation, citation_id)
    commitment = commitment_of(session, citation) if citation else None
    if citation is None or commitment is None or commitment.deleted_at is not None:
        raise errors.NotFound(f"There is no editable quote {citation_id}.")
    return citation, commitment


def editable_observation(session: Session, observation_id: int) -> tuple[Observation, Indicator]:
    observation = session.get(Observation, observation_id)
    indicator = session.get(Indicator, observation.indicator_id) if observation else None
    if observation is None or indicator is None or indicator.deleted_at is not None:
        raise errors.NotFound(f"There is no observation {observation_id}.")
    return observation, indicator


def exchange_rate(session: Session, rate_id: int) -> ExchangeRate:
    rate = session.get(ExchangeRate, rate_id)
    if rate is None:
        raise errors.NotFound(f"There is no exchange rate {rate_id}.")
    return rate


def commitment_for_editing(session: Session, commitment_id: int) -> Commitment:
    """A commitment with its quotes, money (with parties and quotes) and reviews loaded."""
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


def observations_of(session: Session, indicator_id: int) -> list[Observation]:
    """An indicator's observations in time order, with their quotes and sources."""
    return list(
        session.scalars(
            select(Observation)
            .where(Observation.indicator_id == indicator_id)
            .order_by(Observation.period_end_on, Observation.id)
            .options(selectinload(Observation.citations).selectinload(Citation.source))
        )
    )


def latest_rates(session: Session, limit: int = 200) -> list[ExchangeRate]:
    return list(
        session.scalars(
            select(ExchangeRate)
            .order_by(ExchangeRate.rate_on.desc(), ExchangeRate.id.desc())
            .limit(limit)
        )
    )


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


# ------------------------------------------------------------ all or nothing


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """Write inside a SAVEPOINT: if the block raises, none of it stays, and the caller's
    unit of work may still render a page (a form with its message) and commit nothing."""
    savepoint = session.begin_nested()
    try:
        yield
        session.flush()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()


class HiddenReferences(errors.Invalid):
    """The write would make a published record show readers a draft or deleted record."""

    def __init__(self, hidden: list[visibility.HiddenReference]) -> None:
        publishable = [h for h in hidden if not h.target_deleted and h.target != "commitments"]
        hint = (
            "publish it with this change (tick “also publish”), or publish it first"
            if len(publishable) == len(hidden)
            else "publish or restore it first, or choose another"
        )
        message = visibility.describe(hidden) + f": {hint}"
        super().__init__(message, fields={_FIELD_OF_VIA.get(h.via, "id"): message for h in hidden})
        self.hidden = hidden
        self.publishable = publishable


# The form field (or column) a reference is made with, to show the message beside it.
_FIELD_OF_VIA = {
    "made by or for": "makers",
    "money from": "provider_id",
    "money to": "receiver_id",
    "quote source": "source_id",
    "money quote source": "source_id",
    "review evidence source": "evidence_source_id",
    "observation source": "source_id",
    "part of": "parent_id",
    "tops up": "tops_up_id",
    "supersedes": "supersedes_id",
    "publisher": "publisher_actor_id",
}


@dataclass(frozen=True)
class AlsoPublish:
    """The editor's go-ahead to publish the drafts a published record will show."""

    account_id: int
    now: dt.datetime


@contextmanager
def keep_shown_records_visible(
    session: Session, owners: list[Any], *, also_publish: AlsoPublish | None = None
) -> Iterator[list[Any]]:
    """Around a write: afterwards, no published record among `owners` may show a hidden
    record that it did not show before.

    With `also_publish`, draft actors and sources are published along (each
    with its change record) and added to the list this yields; otherwise, or
    for a deleted record or a draft commitment, `HiddenReferences` is raised.
    What a record already showed before the write (a link kept from before its
    target was deleted) does not stop it being edited.
    """
    published: list[Any] = []

    def hidden_now() -> set[visibility.HiddenReference]:
        shown = [o for o in owners if o is not None and visibility.is_visible(o)]
        if not shown:
            return set()
        return set(visibility.hidden_references(session, visibility.ids_of(shown)))

    before = hidden_now()
    yield published
    new = sorted(hidden_now() - before, key=lambda h: (h.owner_id, h.target, h.target_id))
    if not new:
        return
    refused = HiddenReferences(new)
    if also_publish is None or len(refused.publishable) != len(new):
        raise refused
    shown = [o for o in owners if o is not None and visibility.is_visible(o)]
    published.extend(
        editing.publish_what_it_shows(
            session, shown, account_id=also_publish.account_id, now=also_publish.now
        )
    )


# -------------------------------------------------------------- check, write


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
    """Parse the text, work out the columns, and apply the record's rules.

    Parse problems come first: a rule's problem is shown on a field only when
    the field's text could be read.
    """
    state = inputs.parse_form(noun.fields, raw)
    if noun.key == "commitments":
        _resolve_links(session, state, own_id)
        makers = state.values.get("makers") or []
        fiscal = actors.fiscal_start_month(session, makers[0]) if makers else 1
        values = inputs.commitment_values(state, fiscal)
    else:
        values = noun.values(state)
    inputs.report(state, noun.rules(session, values, own_id))
    _check_related(session, noun, state)
    if noun.key == "commitments":
        describe_links(session, state)
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
    also_publish: AlsoPublish | None = None,
) -> list[Any]:
    """Write a checked form over the record, all or nothing.

    `editing.Conflict` if `version` is stale; `HiddenReferences` if a published
    record would then show a draft (unless `also_publish`: the drafts published
    with it are returned).
    """
    assert checked.ok, "save() needs a form without messages"
    extra_before: dict[str, Any] = {}
    if noun.key == "commitments":
        extra_before = editing.actor_ids(entity)
    if noun.key == "indicators":
        extra_before = {"commitments": indicator_commitment_ids(session, entity.id)}
    with (
        all_or_nothing(session),
        keep_shown_records_visible(session, [entity], also_publish=also_publish) as published,
    ):
        editing.update(
            session,
            entity,
            checked.values,
            form_version=version,
            account_id=account_id,
            extra_before=extra_before,
            apply=checked.relations,
        )
    return published


ACTIONS = ("publish", "unpublish", "delete", "restore")


def require_permission(account: Account, action: str) -> None:
    """Deleting and restoring are for administrators (Forbidden, before anything is looked up)."""
    if action in ("delete", "restore") and account.role != Role.admin:
        raise errors.Forbidden("Only administrators may delete or restore records.")


def change_state(
    session: Session,
    entity: Any,
    action: str,
    *,
    account: Account,
    now: dt.datetime,
    version: int | None,
) -> list[Any]:
    """Publish, withdraw (unpublish), delete or restore a record, all or nothing.

    Deleting and restoring are for administrators. Publishing also publishes
    the draft actors and sources the record shows, returned; withdrawing or
    deleting what a published record shows is refused (`editing.NotAllowed`).
    """
    require_permission(account, action)
    if action in ("publish", "unpublish") and entity.deleted_at is not None:
        raise editing.NotAllowed(
            f"the {editing.noun_of(entity)} is deleted; an administrator can restore it first"
        )
    with all_or_nothing(session):
        match action:
            case "publish":
                return editing.publish(
                    session, entity, account_id=account.id, now=now, form_version=version
                )
            case "unpublish":
                editing.unpublish(session, entity, account_id=account.id, form_version=version)
            case "delete":
                editing.soft_delete(
                    session, entity, account_id=account.id, now=now, form_version=version
                )
            case "restore":
                editing.restore(session, entity, account_id=account.id, form_version=version)
                if visibility.is_visible(entity):
                    # A published record comes back with what it shows, or not at all.
                    return editing.publish_what_it_shows(
                        session, [entity], account_id=account.id, now=now
                    )
            case _:
                raise errors.NotFound(f"There is no action {action!r}.")
    return []


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


def _check_related(session: Session, noun: Noun, state: inputs.FormState) -> None:
    """The actors a commitment names and the commitments an indicator is tied to exist."""
    for name in ("makers", "recipients"):
        for actor_id in state.values.get(name) or []:
            if session.get(Actor, actor_id) is None:
                state.errors.setdefault(name, f"there is no actor {actor_id}")
    if noun.key == "indicators":
        for commitment_id in inputs.id_list(state, "commitment_ids"):
            if session.get(Commitment, commitment_id) is None:
                state.errors["commitment_ids"] = f"there is no commitment {commitment_id}"


# ------------------------------------------------- links between commitments


def _resolve_links(session: Session, state: inputs.FormState, own_id: int | None) -> None:
    """Turn words typed in the part-of, tops-up and supersedes fields into matches to pick.

    Words are searched for, and their matches listed to pick from: the field
    keeps a message (so nothing is saved) until the editor has picked one,
    even when only one matches. A number is checked by the commitment's rules
    (`rules.commitment_state`); the one it names is shown beside it.
    """
    for name in inputs.LINK_FIELDS:
        value = state.values.get(name)
        if isinstance(value, inputs.Search):
            state.values[name] = None
            found = links.search(session, value.text, exclude=own_id)
            state.candidates[name] = found
            state.errors[name] = _matches_message(found)


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


def _check_source(session: Session, state: inputs.FormState) -> None:
    inputs.report(
        state, rules.citation_state(session, {"source_id": state.values.get("source_id")})
    )


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
    inputs.report(
        state, rules.citation_state(session, {"source_id": state.values.get("source_id")})
    )
    return state


def add_citation(
    session: Session,
    commitment: Commitment,
    state: inputs.FormState,
    *,
    account_id: int,
    also_publish: AlsoPublish | None = None,
) -> Citation:
    """Attach a checked quote to the commitment or one of its flows, all or nothing.

    A new source described inline is created as a draft: on a published
    commitment it must be published along (`also_publish`), like any draft the
    quote would show (`HiddenReferences` otherwise).
    """
    assert state.ok, "add_citation() needs a form without messages"
    v = state.values
    with (
        all_or_nothing(session),
        keep_shown_records_visible(session, [commitment], also_publish=also_publish),
    ):
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


def check_citation_edit(session: Session, raw: inputs.Raw) -> inputs.FormState:
    """A corrected quote: its text, locator and source (which must exist)."""
    state = inputs.parse_form(inputs.CITATION_EDIT_FIELDS, raw)
    inputs.report(
        state, rules.citation_state(session, {"source_id": state.values.get("source_id")})
    )
    return state


def save_citation(
    session: Session,
    citation: Citation,
    commitment: Commitment,
    state: inputs.FormState,
    *,
    account_id: int,
    version: int | None,
    also_publish: AlsoPublish | None = None,
) -> None:
    """Correct a quote (`editing.Conflict` if `version` is stale), all or nothing."""
    assert state.ok, "save_citation() needs a form without messages"
    with (
        all_or_nothing(session),
        keep_shown_records_visible(session, [commitment], also_publish=also_publish),
    ):
        editing.update(
            session,
            citation,
            dict(state.values),
            form_version=version,
            account_id=account_id,
            public=changes.is_public(commitment),
        )


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
    inputs.report(state, rules.observation_values(values))
    inputs.report(
        state, rules.citation_state(session, {"source_id": state.values.get("source_id")})
    )
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
    also_publish: AlsoPublish | None = None,
) -> Observation:
    """Add an observation (or save one; `editing.Conflict` if stale), with its quote if given."""
    assert state.ok, "write_observation() needs a form without messages"
    public = changes.is_public(indicator)
    with (
        all_or_nothing(session),
        keep_shown_records_visible(session, [indicator], also_publish=also_publish),
    ):
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


def remove_observation(
    session: Session, observation: Observation, indicator: Indicator, *, account_id: int
) -> None:
    """Remove an observation entered by mistake, with its quotes (history keeps them)."""
    editing.delete_child(
        session, observation, account_id=account_id, public=changes.is_public(indicator)
    )


# ------------------------------------------------------------- money flows


def check_flow(
    session: Session, raw: inputs.Raw, locale: str
) -> tuple[inputs.FormState, inputs.FlowReading | None]:
    """A money flow's form text checked and read (None when something is wrong).

    A period written as a financial year ("2022-23") is read in the
    provider's financial year (`app.services.actors`), and the flow's rules
    (`rules.money_flow_*`) apply to what was read.
    """
    state = inputs.parse_form(inputs.FLOW_FIELDS, raw)
    provider_id = state.values.get("provider_id")
    fiscal = actors.fiscal_start_month(session, provider_id) if isinstance(provider_id, int) else 1
    reading = inputs.flow_values(state, fiscal, locale)
    values = (
        reading.values
        if reading
        else {name: state.values.get(name) for name in ("provider_id", "receiver_id")}
    )
    problems, _month = rules.money_flow_state(session, values)
    inputs.report(state, {**problems, **rules.money_flow_values(values)})
    return state, reading if state.ok else None


def write_flow(
    session: Session,
    commitment: Commitment,
    flow: MoneyFlow | None,
    reading: inputs.FlowReading,
    *,
    account_id: int,
    version: int | None,
    also_publish: AlsoPublish | None = None,
) -> MoneyFlow:
    """Add a money flow to the commitment, or save one (`editing.Conflict` if stale)."""
    public = changes.is_public(commitment)
    with (
        all_or_nothing(session),
        keep_shown_records_visible(session, [commitment], also_publish=also_publish),
    ):
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


def remove_flow(
    session: Session, flow: MoneyFlow, commitment: Commitment, *, account_id: int
) -> None:
    """Remove a money flow entered by mistake, with its quotes (history keeps them)."""
    editing.delete_child(session, flow, account_id=account_id, public=changes.is_public(commitment))


# ----------------------------------------------------------------- reviews


def check_review(raw: inputs.Raw) -> tuple[inputs.FormState, list[reviews.EvidenceInput]]:
    """The review form's text, and its evidence (a source and a quote, both or neither)."""
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
    return state, evidence


def record_review(
    session: Session,
    commitment: Commitment,
    *,
    today: dt.date,
    values: Mapping[str, Any],
    evidence: list[reviews.EvidenceInput],
    account_id: int,
    also_publish: AlsoPublish | None = None,
) -> Review:
    """Record a review (the rules are `reviews.record_review`'s), all or nothing.

    `values` are the review form's (or the API body's) fields.
    """
    with (
        all_or_nothing(session),
        keep_shown_records_visible(session, [commitment], also_publish=also_publish),
    ):
        review = reviews.record_review(
            session,
            commitment,
            today=today,
            reviewed_on=values["reviewed_on"],
            status_found=values["status_found"],
            evidence=evidence,
            progress_percent=values.get("progress_percent"),
            rationale=values.get("rationale"),
            next_review_on=values.get("next_review_on"),
            reviewer_account_id=account_id,
            reviewer_name=values.get("reviewer_name"),
        )
    return review


# ---------------------------------------------------------- exchange rates


def check_rate(session: Session, raw: inputs.Raw, own_id: int | None) -> inputs.FormState:
    """An exchange rate's form: the value rules, and one rate per table, pair and date."""
    state = inputs.parse_form(inputs.RATE_FIELDS, raw)
    values = inputs.rate_values(state)
    inputs.report(state, rules.exchange_rate_values(values))
    if state.ok:
        inputs.report(state, rules.exchange_rate_state(session, values, own_id=own_id))
    return state


def write_rate(
    session: Session,
    rate: ExchangeRate | None,
    state: inputs.FormState,
    *,
    account_id: int,
    version: int | None,
) -> ExchangeRate:
    """Add a rate, or correct one (`editing.Conflict` if `version` is stale)."""
    assert state.ok, "write_rate() needs a form without messages"
    values = inputs.rate_values(state)
    with all_or_nothing(session):
        if rate is None:
            rate = ExchangeRate(**values)
            editing.create(session, rate, account_id=account_id, public=True)
        else:
            editing.update(
                session, rate, values, form_version=version, account_id=account_id, public=True
            )
    return rate


def remove_rate(session: Session, rate: ExchangeRate, *, account_id: int) -> None:
    editing.delete_child(session, rate, account_id=account_id, public=True)
