"""Writing records: create, update with a version check, publish, soft delete, restore.

Every write records a change (app.services.changes.record) in the same
transaction, with the values before and after. Services flush, never commit.

Lost updates: each editable row has a `version` (SQLAlchemy version_id_col).
`update` refuses a save whose form carried an older version than the row
now has (`Conflict`); a save racing another between read and write is caught
by the UPDATE's own version check (StaleDataError), also as `Conflict`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app import errors
from app.models import (
    Account,
    Actor,
    Base,
    ChangeRecord,
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
    Tag,
    utcnow,
)
from app.services import changes
from app.vocab import ChangeAction, PublicationState


class Conflict(errors.Conflict):
    """Someone saved the record after this form was loaded."""

    def __init__(self, entity: Base, form_version: int | None) -> None:
        super().__init__("the record was changed by someone else since the form was opened")
        self.entity = entity
        self.form_version = form_version


class NotAllowed(errors.Conflict):
    """The rule forbids this action for this record (e.g. publishing a deleted one)."""


def _label(entity: Base) -> str:
    for attribute in ("title", "name", "email"):
        value = getattr(entity, attribute, None)
        if isinstance(value, str):
            return value
    if isinstance(entity, ExchangeRate):
        return f"{entity.base_currency}/{entity.quote_currency} on {entity.rate_on.isoformat()}"
    return f"{changes.entity_type(entity)} {getattr(entity, 'id', '')}"


def _noun(entity: Base) -> str:
    return changes.entity_type(entity).rstrip("s").replace("_", " ")


def create(
    session: Session,
    entity: Base,
    *,
    account_id: int | None,
    public: bool | None = None,
    summary: str | None = None,
    extra_after: dict[str, Any] | None = None,
) -> Base:
    """Add a new record (drafts for publishable nouns: the model default).

    `extra_after` adds what the row's columns do not show (actors, tags) to the record.
    """
    session.add(entity)
    session.flush()
    change = changes.record(
        session,
        action=ChangeAction.create,
        entity=entity,
        summary=summary or f"Created {_noun(entity)} “{_label(entity)}”",
        account_id=account_id,
        public=public,
    )
    if extra_after and change.after is not None:
        change.after = {**change.after, **extra_after}
    return entity


def check_version(entity: Base, form_version: int | None) -> None:
    if form_version is None or form_version != getattr(entity, "version", None):
        raise Conflict(entity, form_version)


def update(
    session: Session,
    entity: Base,
    values: dict[str, Any],
    *,
    form_version: int | None,
    account_id: int | None,
    public: bool | None = None,
    extra_before: dict[str, Any] | None = None,
    apply: Any = None,
) -> bool:
    """Set `values` on `entity` if the form's version is current; False if nothing changed.

    `apply(entity)` may change relationships (actors, tags) after the columns.
    """
    check_version(entity, form_version)
    before = changes.snapshot(entity)
    if extra_before:
        before.update(extra_before)
    for key, value in values.items():
        setattr(entity, key, value)
    extra_after: dict[str, Any] = {}
    if apply is not None:
        extra_after = apply(entity) or {}
    after = {**changes.snapshot(entity), **extra_after}
    if after == before:
        return False
    # Touch the row even when only links changed (tags, makers, an indicator's
    # commitments): the UPDATE is what raises the version and checks it, so a
    # stale edit of the links is refused like a stale edit of the columns.
    if hasattr(entity, "updated_at"):
        entity.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(entity, form_version) from None
    change = changes.record(
        session,
        action=ChangeAction.update,
        entity=entity,
        summary=f"Edited {_noun(entity)} “{_label(entity)}”",
        before=before,
        account_id=account_id,
        public=public,
    )
    if extra_after and change.after is not None:
        change.after = {**change.after, **extra_after}
    return True


def _set_state(
    session: Session,
    entity: Any,
    *,
    action: ChangeAction,
    account_id: int | None,
    form_version: int | None,
    changes_to: dict[str, Any],
    summary: str,
    public: bool | None = None,
) -> None:
    check_version(entity, form_version)
    before = changes.snapshot(entity)
    for key, value in changes_to.items():
        setattr(entity, key, value)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(entity, form_version) from None
    changes.record(
        session,
        action=action,
        entity=entity,
        summary=summary,
        before=before,
        account_id=account_id,
        public=public,
    )


def publish(
    session: Session, entity: Any, *, account_id: int, now: dt.datetime, form_version: int | None
) -> None:
    """Make a draft visible to readers. Deleted records must be restored first."""
    if entity.deleted_at is not None:
        raise NotAllowed("a deleted record cannot be published; restore it first")
    if entity.state == PublicationState.published:
        return
    _set_state(
        session,
        entity,
        action=ChangeAction.publish,
        account_id=account_id,
        form_version=form_version,
        changes_to={"state": PublicationState.published, "published_at": now},
        summary=f"Published {_noun(entity)} “{_label(entity)}”",
        public=True,
    )


def publish_what_it_cites(
    session: Session, commitment: Commitment, *, account_id: int, now: dt.datetime
) -> list[Base]:
    """Publish the draft sources a commitment quotes and the draft actors it names.

    A published commitment must not show readers a record they cannot open;
    each is published with its own change record.
    """
    flow_ids = select(MoneyFlow.id).where(MoneyFlow.commitment_id == commitment.id)
    cited = select(Citation.source_id).where(
        or_(Citation.commitment_id == commitment.id, Citation.money_flow_id.in_(flow_ids))
    )
    named = select(CommitmentActor.actor_id).where(CommitmentActor.commitment_id == commitment.id)
    paying = select(MoneyFlow.provider_id).where(MoneyFlow.commitment_id == commitment.id)
    receiving = select(MoneyFlow.receiver_id).where(MoneyFlow.commitment_id == commitment.id)
    drafts: list[Base] = [
        *session.scalars(
            select(Source).where(Source.id.in_(cited), Source.state == PublicationState.draft)
        ),
        *session.scalars(
            select(Actor).where(
                or_(Actor.id.in_(named), Actor.id.in_(paying), Actor.id.in_(receiving)),
                Actor.state == PublicationState.draft,
            )
        ),
    ]
    for record in drafts:
        if getattr(record, "deleted_at", None) is None:
            publish(session, record, account_id=account_id, now=now, form_version=record.version)  # type: ignore[attr-defined]
    return drafts


def published_commitments_showing(session: Session, entity: Any) -> list[str]:
    """Titles of published pages (commitments, and indicators for a source) that show
    this actor or source: at most 3 of each.

    A published commitment must not show readers a record they cannot open
    (see `publish_what_it_cites`), so such a record stays published.
    """
    shown = [Commitment.state == PublicationState.published, Commitment.deleted_at.is_(None)]
    if isinstance(entity, Actor):
        flows = select(MoneyFlow.commitment_id).where(
            or_(MoneyFlow.provider_id == entity.id, MoneyFlow.receiver_id == entity.id)
        )
        named = select(CommitmentActor.commitment_id).where(CommitmentActor.actor_id == entity.id)
        uses = or_(Commitment.id.in_(named), Commitment.id.in_(flows))
    elif isinstance(entity, Source):
        quoted = select(Citation).where(Citation.source_id == entity.id).subquery()
        flow_quotes = select(MoneyFlow.commitment_id).where(
            MoneyFlow.id.in_(select(quoted.c.money_flow_id))
        )
        evidence = select(Review.commitment_id).where(Review.id.in_(select(quoted.c.review_id)))
        uses = or_(
            Commitment.id.in_(select(quoted.c.commitment_id)),
            Commitment.id.in_(flow_quotes),
            Commitment.id.in_(evidence),
        )
        # An indicator's page shows the quotes of its observations too.
        indicators = list(
            session.scalars(
                select(Indicator.name)
                .join(Observation, Observation.indicator_id == Indicator.id)
                .where(
                    Observation.id.in_(select(quoted.c.observation_id)),
                    Indicator.state == PublicationState.published,
                    Indicator.deleted_at.is_(None),
                )
                .distinct()
                .limit(3)
            )
        )
    else:
        return []
    titles = list(
        session.scalars(
            select(Commitment.title).where(uses, *shown).order_by(Commitment.id).limit(3)
        )
    )
    return titles + (indicators if isinstance(entity, Source) else [])


def _refuse_if_shown(session: Session, entity: Any, action: str) -> None:
    titles = published_commitments_showing(session, entity)
    if titles:
        listed = "; ".join(f"“{title}”" for title in titles)
        raise NotAllowed(
            f"published pages show this {_noun(entity)} ({listed}); "
            f"withdraw them first, or {action} it once none does"
        )


def unpublish(session: Session, entity: Any, *, account_id: int, form_version: int | None) -> None:
    """Back to draft: readers no longer see it."""
    if entity.state != PublicationState.published:
        return
    _refuse_if_shown(session, entity, "withdraw")
    _set_state(
        session,
        entity,
        action=ChangeAction.unpublish,
        account_id=account_id,
        form_version=form_version,
        changes_to={"state": PublicationState.draft},
        summary=f"Withdrew {_noun(entity)} “{_label(entity)}” to draft",
        public=True,
    )


def soft_delete(
    session: Session, entity: Any, *, account_id: int, now: dt.datetime, form_version: int | None
) -> None:
    if entity.deleted_at is not None:
        return
    _refuse_if_shown(session, entity, "delete")
    was_public = changes.is_public(entity)
    _set_state(
        session,
        entity,
        action=ChangeAction.delete,
        account_id=account_id,
        form_version=form_version,
        changes_to={"deleted_at": now},
        summary=f"Deleted {_noun(entity)} “{_label(entity)}”",
        public=was_public,
    )


def restore(session: Session, entity: Any, *, account_id: int, form_version: int | None) -> None:
    if entity.deleted_at is None:
        return
    _set_state(
        session,
        entity,
        action=ChangeAction.restore,
        account_id=account_id,
        form_version=form_version,
        changes_to={"deleted_at": None},
        summary=f"Restored {_noun(entity)} “{_label(entity)}”",
    )


def delete_child(session: Session, entity: Base, *, account_id: int, public: bool) -> None:
    """Remove a money flow, citation or observation for good (the record keeps its values).

    The quotes supporting a flow or an observation go with it, each with its own
    change record, so the history keeps their words too.
    """
    quoted_by: dict[type[Base], Any] = {
        MoneyFlow: Citation.money_flow_id,
        Observation: Citation.observation_id,
    }
    column = quoted_by.get(type(entity))
    if column is not None:
        entity_id = getattr(entity, "id")  # noqa: B009 - Base itself declares no id
        for quote in session.scalars(select(Citation).where(column == entity_id)):
            delete_child(session, quote, account_id=account_id, public=public)
    before = changes.snapshot(entity)
    summary = f"Removed {_noun(entity)} “{_label(entity)}”"
    changes.record(
        session,
        action=ChangeAction.delete,
        entity=entity,
        summary=summary,
        before=before,
        account_id=account_id,
        public=public,
    )
    session.delete(entity)
    session.flush()


# ------------------------------------------------------------ relationships


def set_commitment_actors(
    session: Session, commitment: Commitment, makers: list[int], recipients: list[int]
) -> dict[str, Any]:
    """Replace who made the commitment and for whom; returns the new ids for the record."""
    wanted = {(actor_id, "maker") for actor_id in makers} | {
        (actor_id, "recipient") for actor_id in recipients
    }
    current = {(link.actor_id, link.role): link for link in commitment.actor_links}
    for key, link in current.items():
        if key not in wanted:
            commitment.actor_links.remove(link)
    for actor_id, role in sorted(wanted - current.keys()):
        commitment.actor_links.append(CommitmentActor(actor_id=actor_id, role=role))
    return {"makers": sorted(makers), "recipients": sorted(recipients)}


def actor_ids(commitment: Commitment) -> dict[str, Any]:
    return {
        "makers": sorted(link.actor_id for link in commitment.actor_links if link.role == "maker"),
        "recipients": sorted(
            link.actor_id for link in commitment.actor_links if link.role == "recipient"
        ),
        "tags": sorted(tag.name for tag in commitment.tags),
    }


def set_tags(session: Session, commitment: Commitment, names: list[str]) -> dict[str, Any]:
    # One tag per slug: "Patrols" and "patrols " are the same tag, and the
    # session does not autoflush, so a tag added above is not found by a query.
    by_slug: dict[str, Tag] = {}
    for name in names:
        slug = "-".join(name.lower().split())[:100]
        if not slug or slug in by_slug:
            continue
        tag = session.scalars(select(Tag).where(Tag.slug == slug)).one_or_none()
        if tag is None:
            tag = Tag(slug=slug, name=name[:100])
            session.add(tag)
        by_slug[slug] = tag
    tags = list(by_slug.values())
    commitment.tags = tags
    return {"tags": sorted(tag.name for tag in tags)}


def set_indicator_commitments(
    session: Session, indicator: Indicator, commitment_ids: list[int]
) -> dict[str, Any]:
    existing = set(
        session.scalars(
            select(IndicatorCommitment.commitment_id).where(
                IndicatorCommitment.indicator_id == indicator.id
            )
        )
    )
    wanted = set(commitment_ids)
    for gone in existing - wanted:
        link = session.get(IndicatorCommitment, (indicator.id, gone))
        if link is not None:
            session.delete(link)
    for new in wanted - existing:
        session.add(IndicatorCommitment(indicator_id=indicator.id, commitment_id=new))
    return {"commitments": sorted(wanted)}


# ----------------------------------------------------------------- history


@dataclass(frozen=True)
class Difference:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    change: ChangeRecord
    who: str
    differences: list[Difference]


def _differences(change: ChangeRecord) -> list[Difference]:
    before = change.before or {}
    after = change.after or {}
    keys = [key for key in after if key != "id"] + [
        key for key in before if key not in after and key != "id"
    ]
    return [
        Difference(key, before.get(key), after.get(key))
        for key in keys
        if before.get(key) != after.get(key)
    ]


def history(
    session: Session,
    entity_type: str,
    entity_id: int,
    *,
    children: dict[str, list[int]] | None = None,
    show_emails: bool = False,
) -> list[HistoryEntry]:
    """Every change of a record (and of the given child records), newest first.

    Readers see an editor's display name, as on /changes; only signed-in
    editors (`show_emails`) see the e-mail address behind it.
    """
    conditions = [(ChangeRecord.entity_type == entity_type) & (ChangeRecord.entity_id == entity_id)]
    for child_type, ids in (children or {}).items():
        if ids:
            conditions.append(
                (ChangeRecord.entity_type == child_type) & ChangeRecord.entity_id.in_(ids)
            )
    query = (
        select(ChangeRecord, Account.email, Account.display_name)
        .outerjoin(Account, Account.id == ChangeRecord.account_id)
        .where(or_(*conditions))
        .order_by(ChangeRecord.occurred_at.desc(), ChangeRecord.id.desc())
    )
    entries = []
    for change, email, display_name in session.execute(query):
        shown = email if show_emails else None
        who = shown or change.actor_label or display_name
        entries.append(
            HistoryEntry(
                change,
                who or ("an editor" if change.account_id else "unknown"),
                _differences(change),
            )
        )
    return entries


def child_ids_of_commitment(session: Session, commitment_id: int) -> dict[str, list[int]]:
    """Ids of the flows and citations that ever belonged to a commitment, for its history."""
    flow_ids = set(
        session.scalars(select(MoneyFlow.id).where(MoneyFlow.commitment_id == commitment_id))
    )
    subject = Citation.commitment_id == commitment_id
    if flow_ids:
        subject = or_(subject, Citation.money_flow_id.in_(flow_ids))
    citation_ids = set(session.scalars(select(Citation.id).where(subject)))
    # Removed flows and citations: their last record says which commitment they
    # had. Flows first, whatever the order of the records: a quote removed with
    # its flow names only the flow.
    removed = list(
        session.scalars(
            select(ChangeRecord).where(
                ChangeRecord.entity_type.in_(("money_flows", "citations")),
                ChangeRecord.action == ChangeAction.delete,
            )
        )
    )
    for change in removed:
        before = change.before or {}
        if change.entity_type == "money_flows" and before.get("commitment_id") == commitment_id:
            flow_ids.add(change.entity_id)
    for change in removed:
        before = change.before or {}
        if change.entity_type == "citations" and (
            before.get("commitment_id") == commitment_id or before.get("money_flow_id") in flow_ids
        ):
            citation_ids.add(change.entity_id)
    return {"money_flows": sorted(flow_ids), "citations": sorted(citation_ids)}


# --------------------------------------------------------------- lookups


def actor_choices(session: Session) -> list[tuple[int, str]]:
    query = select(Actor.id, Actor.name).where(Actor.deleted_at.is_(None)).order_by(Actor.name)
    return [(row.id, row.name) for row in session.execute(query)]


def first_maker_and_recipient(
    session: Session, commitment_id: int
) -> tuple[int | None, int | None]:
    """The commitment's first maker and first recipient, in the order its form lists
    them (by name), leaving out deleted actors; None where it has none."""
    rows = session.execute(
        select(CommitmentActor.role, CommitmentActor.actor_id)
        .join(Actor, Actor.id == CommitmentActor.actor_id)
        .where(CommitmentActor.commitment_id == commitment_id, Actor.deleted_at.is_(None))
        .order_by(Actor.name, Actor.id)
    )
    first: dict[str, int] = {}
    for role, actor_id in rows:
        first.setdefault(role, actor_id)
    return first.get("maker"), first.get("recipient")


def source_choices(session: Session) -> list[tuple[int, str]]:
    query = (
        select(Source.id, Source.title, Source.published_on)
        .where(Source.deleted_at.is_(None))
        .order_by(Source.published_on.desc(), Source.id.desc())
        .limit(2000)
    )
    return [
        (row.id, f"{row.title} ({row.published_on.isoformat()})" if row.published_on else row.title)
        for row in session.execute(query)
    ]


def drafts(session: Session, *, deleted: bool = False) -> dict[str, list[Any]]:
    """Drafts (or deleted records) of each publishable noun, for the editors' page."""
    found: dict[str, list[Any]] = {}
    for key, model in (
        ("commitments", Commitment),
        ("sources", Source),
        ("actors", Actor),
        ("indicators", Indicator),
    ):
        condition = (
            model.deleted_at.is_not(None)
            if deleted
            else (model.deleted_at.is_(None) & (model.state == PublicationState.draft))
        )
        found[key] = list(
            session.scalars(select(model).where(condition).order_by(model.id.desc()).limit(200))
        )
    return found
