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
    Source,
    Tag,
    utcnow,
)
from app.services import changes, visibility
from app.vocab import ChangeAction, PublicationState


class Conflict(errors.Conflict):
    """Someone saved the record after this form was loaded."""

    def __init__(self, entity: Base, form_version: int | None) -> None:
        super().__init__(
            f"The {noun_of(entity)} was changed by someone else since you opened it; "
            "reload it and try again."
        )
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


def noun_of(entity: Base) -> str:
    """The kind of record, as a person says it: "commitment", "money flow"."""
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
        summary=summary or f"Created {noun_of(entity)} “{_label(entity)}”",
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
        summary=f"Edited {noun_of(entity)} “{_label(entity)}”",
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
) -> list[Base]:
    """Make a draft visible to readers, with the draft actors and sources it shows.

    A published record never shows readers a record they cannot open
    (`app.services.visibility`): the draft actors and sources it names are
    published with it, each with its own change record (and, in turn, what
    they show: an actor's parent, a source's publisher). A draft or deleted
    commitment it links to is not published for it: publishing is refused
    until that one is published. Deleted records must be restored first.
    Returns the records published along with it.
    """
    if entity.deleted_at is not None:
        raise NotAllowed("a deleted record cannot be published; restore it first")
    if entity.state == PublicationState.published:
        return []
    _set_state(
        session,
        entity,
        action=ChangeAction.publish,
        account_id=account_id,
        form_version=form_version,
        changes_to={"state": PublicationState.published, "published_at": now},
        summary=f"Published {noun_of(entity)} “{_label(entity)}”",
        public=True,
    )
    return publish_what_it_shows(session, [entity], account_id=account_id, now=now)


def publish_what_it_shows(
    session: Session, records: list[Any], *, account_id: int, now: dt.datetime
) -> list[Base]:
    """Publish the draft actors and sources that these published records show.

    Repeated until nothing published shows a draft actor or source (an actor's
    parent is published with it, and so on). A deleted record, or a draft
    commitment linked as part-of / tops-up / supersedes, is never published
    this way: `NotAllowed` names it.
    """
    published: list[Base] = []
    owners = visibility.ids_of(records)
    while owners:
        hidden = visibility.hidden_references(session, owners)
        refused = [h for h in hidden if h.target_deleted or h.target == "commitments"]
        if refused:
            raise NotAllowed(
                visibility.describe(refused) + ": publish or restore it first, or remove the link"
            )
        drafts = {(h.target, h.target_id) for h in hidden}
        owners = {}
        for table, record_id in sorted(drafts):
            record: Any = session.get(visibility.MODEL_OF[table], record_id)
            assert record is not None
            _set_state(
                session,
                record,
                action=ChangeAction.publish,
                account_id=account_id,
                form_version=record.version,
                changes_to={"state": PublicationState.published, "published_at": now},
                summary=f"Published {noun_of(record)} “{_label(record)}” with what shows it",
                public=True,
            )
            published.append(record)
            owners.setdefault(table, set()).add(record_id)
    return published


def _refuse_if_shown(session: Session, entity: Any, action: str) -> None:
    """Refuse to hide a record that published records show (their readers would lose it)."""
    shown = visibility.shown_by_published(session, visibility.ids_of([entity]))
    if shown:
        pages = sorted({(h.owner, h.owner_id): h.owner_label for h in shown}.items())
        listed = "; ".join(label for _key, label in pages[:5])
        more = f" and {len(pages) - 5} more" if len(pages) > 5 else ""
        raise NotAllowed(
            f"published pages show this {noun_of(entity)} ({listed}{more}); "
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
        summary=f"Withdrew {noun_of(entity)} “{_label(entity)}” to draft",
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
        summary=f"Deleted {noun_of(entity)} “{_label(entity)}”",
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
        summary=f"Restored {noun_of(entity)} “{_label(entity)}”",
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
    summary = f"Removed {noun_of(entity)} “{_label(entity)}”"
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


def record_history(
    session: Session,
    entity_type: str,
    model: type[Any],
    record_id: int,
    *,
    private: bool,
    show_emails: bool = False,
) -> tuple[Any, list[HistoryEntry]]:
    """A record and its history, as far as the viewer may see it; NotFound otherwise.

    Editors (`private`) see every change of any record, readers the public
    changes of published records (a draft or deleted record is not found).
    A commitment's history includes its money flows' and quotes' changes. An
    exchange rate removed for good keeps its history (the record is None).
    """
    entity = session.get(model, record_id)
    visible = entity is not None and (private or changes.is_public(entity))
    entries: list[HistoryEntry] = []
    if visible or (entity is None and entity_type == "exchange_rates"):
        children = child_ids_of_commitment(session, record_id) if model is Commitment else None
        entries = history(
            session, entity_type, record_id, children=children, show_emails=show_emails
        )
        if not private:
            entries = [e for e in entries if e.change.is_public]
    if not visible and not entries:
        noun = entity_type.rstrip("s").replace("_", " ")
        published = "" if private else "published "
        raise errors.NotFound(f"There is no {published}{noun} {record_id}.")
    return entity, entries


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
