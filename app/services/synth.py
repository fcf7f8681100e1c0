"""A large, realistic, deterministic synthetic dataset for benchmarks and browsing at scale.

Same seed and size → the same rows (ids are offset by whatever the database
already holds). Rows are written with Core `insert()` executemany in batches,
not ORM objects, so 100,000 commitments take well under two minutes on
SQLite. The FTS tables are filled once at the end (see `generate`).

Nothing here pretends to be real: actor names are real countries' generic
ministries, but every commitment, amount and quote is invented, and every
source title says "(synthetic)".
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from app.models import (
    Actor,
    Citation,
    Commitment,
    CommitmentActor,
    CommitmentTag,
    Indicator,
    IndicatorCommitment,
    MoneyFlow,
    Observation,
    Review,
    Source,
    Tag,
)
from app.vocab import CLOSED_STATUSES, DeliveryStatus

BATCH = 2000

# (country code, name, currency, exponent, fiscal-year start month)
COUNTRIES = [
    ("GB", "United Kingdom", "GBP", 2, 4),
    ("FR", "France", "EUR", 2, 1),
    ("DE", "Germany", "EUR", 2, 1),
    ("IT", "Italy", "EUR", 2, 1),
    ("ES", "Spain", "EUR", 2, 1),
    ("NL", "Netherlands", "EUR", 2, 1),
    ("BE", "Belgium", "EUR", 2, 1),
    ("IE", "Ireland", "EUR", 2, 1),
    ("US", "United States", "USD", 2, 10),
    ("CA", "Canada", "CAD", 2, 4),
    ("AU", "Australia", "AUD", 2, 7),
    ("JP", "Japan", "JPY", 0, 4),
    ("NO", "Norway", "NOK", 2, 1),
    ("SE", "Sweden", "SEK", 2, 1),
    ("DK", "Denmark", "DKK", 2, 1),
    ("CH", "Switzerland", "CHF", 2, 1),
    ("NZ", "New Zealand", "NZD", 2, 7),
    ("KR", "Republic of Korea", "KRW", 0, 1),
    ("PL", "Poland", "PLN", 2, 1),
    ("GR", "Greece", "EUR", 2, 1),
]
MINISTRIES = [
    "Ministry of Foreign Affairs",
    "Ministry of the Interior",
    "Ministry of Finance",
    "Development Agency",
    "Ministry of Defence",
]
ORGANISATIONS = [
    "United Nations High Commissioner for Refugees",
    "International Organization for Migration",
    "World Bank",
    "European Commission",
    "World Food Programme",
    "UNICEF",
    "Global Fund",
    "Green Climate Fund",
]
TOPICS = [
    ("border security", "border-security"),
    ("small boats", "small-boats"),
    ("climate adaptation", "climate"),
    ("clean energy", "energy"),
    ("humanitarian aid", "humanitarian"),
    ("refugee resettlement", "refugees"),
    ("public health", "health"),
    ("vaccines", "vaccines"),
    ("education", "education"),
    ("food security", "food"),
    ("water and sanitation", "water"),
    ("policing", "policing"),
    ("smuggling networks", "smuggling"),
    ("coastal surveillance", "surveillance"),
    ("research", "research"),
    ("infrastructure", "infrastructure"),
    ("digital services", "digital"),
    ("gender equality", "gender"),
    ("forests", "forests"),
    ("ocean protection", "oceans"),
]
VERBS = {
    "funding": ["pledges", "commits", "announces a further", "will provide"],
    "action": ["will deploy", "will establish", "launches", "will strengthen"],
    "target": ["aims to halve", "targets a reduction in", "aims to end", "sets a goal for"],
}
ACTION_OBJECTS = [
    "a joint intelligence cell",
    "additional patrol officers",
    "drone surveillance",
    "a coordination centre",
    "detection equipment",
    "a returns agreement",
    "training programmes",
    "a monitoring framework",
]
SOURCE_KINDS = ["joint_statement", "press_release", "parliamentary_answer", "report", "speech"]
STATUS_WEIGHTS = [
    (DeliveryStatus.not_yet_assessed, 30),
    (DeliveryStatus.not_started, 8),
    (DeliveryStatus.in_progress, 25),
    (DeliveryStatus.stalled, 6),
    (DeliveryStatus.partly_delivered, 10),
    (DeliveryStatus.delivered, 15),
    (DeliveryStatus.broken, 4),
    (DeliveryStatus.superseded, 2),
]
START = dt.date(2010, 1, 1)
DAYS = (dt.date(2025, 12, 31) - START).days


@dataclass(frozen=True)
class SynthResult:
    commitments: int
    actors: int
    sources: int
    money_flows: int
    reviews: int
    citations: int
    indicators: int


def _next_id(session: Session, table: Table) -> int:
    return int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


# The SQLite full-text indexes' insert triggers (see the browse_search migration).
_FTS_INSERT_TRIGGERS = ("commitments_fts_ai", "citations_fts_ai")
# Tables whose rows synth inserts with explicit ids.
_ID_MODELS = (Actor, Tag, Source, Commitment, MoneyFlow, Review, Citation, Indicator, Observation)


def generate(
    session: Session,
    commitments: int,
    *,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> SynthResult:
    """Add `commitments` synthetic commitments (with everything around them); flush only.

    On SQLite the full-text insert triggers are dropped for the bulk load and
    the new rows indexed with one INSERT ... SELECT per index at the end, then
    the triggers are put back as they were, all in the caller's transaction
    (SQLite's DDL is transactional, so a failure leaves them untouched). Row
    by row through the triggers, indexing took about 40% of the time.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        result = _generate(session, commitments, seed=seed, progress=progress)
        # Rows were inserted with explicit ids, which PostgreSQL's sequences do not
        # see: move each past its table's largest id, or the next ordinary insert
        # (an editor adding a commitment) would collide with a synthetic row.
        for model in _ID_MODELS:
            table: Table = model.__table__  # type: ignore[assignment]
            session.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence(table.name, "id"),
                        select(func.max(table.c.id)).scalar_subquery(),
                    )
                )
            )
        return result
    if dialect != "sqlite":
        return _generate(session, commitments, seed=seed, progress=progress)
    triggers = [
        (name, sql)
        for name, sql in session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        )
        if name in _FTS_INSERT_TRIGGERS
    ]
    t_commitment: Table = Commitment.__table__  # type: ignore[assignment]
    t_citation: Table = Citation.__table__  # type: ignore[assignment]
    first_commitment, first_citation = (
        _next_id(session, t_commitment),
        _next_id(session, t_citation),
    )
    for name, _sql in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    result = _generate(session, commitments, seed=seed, progress=progress)
    dropped = {name for name, _sql in triggers}
    if "commitments_fts_ai" in dropped:
        session.execute(
            text(
                "INSERT INTO commitments_fts(rowid, title, summary) "
                "SELECT id, title, summary FROM commitments WHERE id >= :first"
            ),
            {"first": first_commitment},
        )
    if "citations_fts_ai" in dropped:
        session.execute(
            text(
                "INSERT INTO citations_fts(rowid, quote) "
                "SELECT id, quote FROM citations WHERE id >= :first"
            ),
            {"first": first_citation},
        )
    for _name, sql in triggers:
        session.execute(text(sql))
    return result


def _generate(
    session: Session,
    commitments: int,
    *,
    seed: int,
    progress: Callable[[int], None] | None,
) -> SynthResult:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    common = {"created_at": stamp, "updated_at": stamp, "version": 1}
    published = {**common, "state": "published", "published_at": stamp, "deleted_at": None}

    t_actor: Table = Actor.__table__  # type: ignore[assignment]
    t_tag: Table = Tag.__table__  # type: ignore[assignment]
    t_source: Table = Source.__table__  # type: ignore[assignment]
    t_commitment: Table = Commitment.__table__  # type: ignore[assignment]
    t_link: Table = CommitmentActor.__table__  # type: ignore[assignment]
    t_ctag: Table = CommitmentTag.__table__  # type: ignore[assignment]
    t_flow: Table = MoneyFlow.__table__  # type: ignore[assignment]
    t_review: Table = Review.__table__  # type: ignore[assignment]
    t_citation: Table = Citation.__table__  # type: ignore[assignment]
    t_indicator: Table = Indicator.__table__  # type: ignore[assignment]
    t_obs: Table = Observation.__table__  # type: ignore[assignment]
    t_ind_c: Table = IndicatorCommitment.__table__  # type: ignore[assignment]

    # -- actors: a government per country, its ministries, and organisations
    actor_id = _next_id(session, t_actor)
    actors: list[dict[str, Any]] = []
    governments: list[tuple[int, str, str, int]] = []  # id, currency, name, exponent
    ministries: list[tuple[int, str, str, int]] = []
    suffix = f" (synthetic {seed}-{actor_id})"
    for code, country, currency, exponent, fy in COUNTRIES:
        gov = actor_id
        actors.append(
            {
                **published,
                "id": gov,
                "name": f"Government of {country}{suffix}",
                "short_name": f"{country} government",
                "kind": "government",
                "country_code": code,
                "parent_id": None,
                "fiscal_year_start_month": fy,
                "description": None,
            }
        )
        governments.append((gov, currency, country, exponent))
        actor_id += 1
        for ministry in MINISTRIES:
            actors.append(
                {
                    **published,
                    "id": actor_id,
                    "name": f"{country} {ministry}{suffix}",
                    "short_name": f"{country} {ministry}",
                    "kind": "agency" if "Agency" in ministry else "ministry",
                    "country_code": code,
                    "parent_id": gov,
                    "fiscal_year_start_month": None,
                    "description": None,
                }
            )
            ministries.append((actor_id, currency, country, exponent))
            actor_id += 1
    organisations: list[int] = []
    for name in ORGANISATIONS:
        actors.append(
            {
                **published,
                "id": actor_id,
                "name": f"{name}{suffix}",
                "short_name": name,
                "kind": "international_organisation",
                "country_code": None,
                "parent_id": None,
                "fiscal_year_start_month": None,
                "description": None,
            }
        )
        organisations.append(actor_id)
        actor_id += 1
    _insert(session, t_actor, actors)
    makers = governments + ministries
    recipients = [a[0] for a in governments] + organisations

    # -- tags
    existing_tags: dict[str, int] = dict(session.execute(select(Tag.slug, Tag.id)).all())
    tag_id = _next_id(session, t_tag)
    new_tags = []
    for name, slug in TOPICS:
        if slug not in existing_tags:
            new_tags.append({"id": tag_id, "slug": slug, "name": name})
            existing_tags[slug] = tag_id
            tag_id += 1
    _insert(session, t_tag, new_tags)
    topic_tags = [existing_tags[slug] for _, slug in TOPICS]

    # -- sources: about one per 20 commitments
    source_id = _next_id(session, t_source)
    source_count = max(1, commitments // 20)
    source_rows = []
    for i in range(source_count):
        gov, _cur, country, _e = rng.choice(governments)
        published_on = START + dt.timedelta(days=rng.randrange(DAYS))
        kind = rng.choice(SOURCE_KINDS)
        source_rows.append(
            {
                **published,
                "id": source_id + i,
                "title": f"{country}: {kind.replace('_', ' ')} of {published_on:%-d %B %Y} "
                f"(synthetic {i + 1})",
                "publisher": f"Government of {country}",
                "publisher_actor_id": gov,
                "kind": kind,
                "published_on": published_on,
                "url": f"https://example.org/synthetic/{seed}/{source_id + i}",
                "accessed_on": published_on + dt.timedelta(days=rng.randrange(1, 400)),
                "licence": None,
                "full_text": None,
                "content_hash": None,
            }
        )
    for start in range(0, len(source_rows), BATCH):
        _insert(session, t_source, source_rows[start : start + BATCH])
    source_ids = [row["id"] for row in source_rows]
    del source_rows

    # -- commitments and everything that hangs off them, in batches
    commitment_id = _next_id(session, t_commitment)
    flow_id = _next_id(session, t_flow)
    review_id = _next_id(session, t_review)
    citation_id = _next_id(session, t_citation)
    first_commitment = commitment_id
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    funding_ids: list[int] = []
    counts = {"flows": 0, "reviews": 0, "citations": 0}

    for batch_start in range(0, commitments, BATCH):
        size = min(BATCH, commitments - batch_start)
        rows: dict[str, list[dict[str, Any]]] = {
            "commitments": [],
            "links": [],
            "tags": [],
            "flows": [],
            "reviews": [],
            "citations": [],
        }
        for _ in range(size):
            cid = commitment_id
            commitment_id += 1
            kind = rng.choices(("funding", "action", "target"), (50, 35, 15))[0]
            maker, currency, country, exponent = rng.choice(makers)
            topic, _slug = rng.choice(TOPICS)
            announced = START + dt.timedelta(days=rng.randrange(DAYS))
            verb = rng.choice(VERBS[kind])
            amount_units = 0
            if kind == "funding":
                amount_units = rng.choice((1, 2, 5, 10, 20, 25, 50, 100, 250)) * 10 ** rng.choice(
                    (5, 6, 6, 7)
                )
                title = f"{country} {verb} {_words(amount_units)} {currency} for {topic}"
            elif kind == "action":
                title = f"{country} {verb} {rng.choice(ACTION_OBJECTS)} for {topic}"
            else:
                title = f"{country} {verb} {topic} by {announced.year + rng.randrange(2, 11)}"
            status = rng.choices(statuses, weights)[0]
            has_deadline = rng.random() < 0.6
            deadline_end = announced + dt.timedelta(days=rng.randrange(180, 5 * 365))
            reviewed = status != DeliveryStatus.not_yet_assessed
            last_review = (
                min(announced + dt.timedelta(days=rng.randrange(30, 900)), dt.date(2025, 12, 31))
                if reviewed
                else None
            )
            next_review = (
                (last_review or announced) + dt.timedelta(days=rng.randrange(90, 720))
                if status not in CLOSED_STATUSES and rng.random() < 0.8
                else None
            )
            tops_up = (
                rng.choice(funding_ids)
                if kind == "funding" and funding_ids and rng.random() < 0.05
                else None
            )
            draft = rng.random() < 0.03
            rows["commitments"].append(
                {
                    **common,
                    "state": "draft" if draft else "published",
                    "published_at": None if draft else stamp,
                    "deleted_at": None,
                    "id": cid,
                    "kind": kind,
                    "title": title,
                    "summary": f"The {country} government {verb} on {topic}, announced "
                    f"{announced:%-d %B %Y}. Synthetic record {cid} for testing at scale.",
                    "parent_id": None,
                    "announced_on": announced,
                    "announced_precision": "day" if rng.random() < 0.9 else "month",
                    "deadline_text": f"by {deadline_end.year}" if has_deadline else None,
                    "deadline_start_on": dt.date(deadline_end.year, 1, 1) if has_deadline else None,
                    "deadline_end_on": dt.date(deadline_end.year, 12, 31) if has_deadline else None,
                    "deadline_precision": "year" if has_deadline else None,
                    "status": status,
                    "next_review_on": next_review,
                    "next_review_text": None,
                    "last_reviewed_on": last_review,
                    "is_additional": tops_up is not None,
                    "tops_up_id": tops_up,
                    "supersedes_id": None,
                }
            )
            if kind == "funding":
                funding_ids.append(cid)
            rows["links"].append({"commitment_id": cid, "actor_id": maker, "role": "maker"})
            if rng.random() < 0.2:
                other = rng.choice(makers)[0]
                if other != maker:
                    rows["links"].append({"commitment_id": cid, "actor_id": other, "role": "maker"})
            recipient = rng.choice(recipients) if rng.random() < 0.7 else None
            if recipient is not None:
                rows["links"].append(
                    {"commitment_id": cid, "actor_id": recipient, "role": "recipient"}
                )
            for tag in {topic_tags[TOPICS.index((topic, _slug))], rng.choice(topic_tags)}:
                rows["tags"].append({"commitment_id": cid, "tag_id": tag})
            if kind == "funding":
                stages = ["pledge"]
                if status in (DeliveryStatus.in_progress, DeliveryStatus.partly_delivered):
                    stages += ["commitment", "disbursement"]
                elif status == DeliveryStatus.delivered:
                    stages += ["commitment", "disbursement", "expenditure"]
                minor_full = amount_units * 10**exponent
                for stage in stages:
                    share = 1.0 if stage in ("pledge", "commitment") else rng.uniform(0.2, 1.0)
                    amount_minor = int(minor_full * share) if share < 1 else minor_full
                    rows["flows"].append(
                        _flow(flow_id, cid, stage, amount_minor, currency, announced, maker)
                        | {"receiver_id": recipient}
                    )
                    flow_id += 1
                # One pledge in four also has a second currency (a stated second tranche).
                if rng.random() < 0.25:
                    rows["flows"].append(
                        _flow(
                            flow_id,
                            cid,
                            "pledge",
                            amount_units * 10**2 // 4,
                            "USD",
                            announced,
                            maker,
                        )
                        | {"receiver_id": recipient}
                    )
                    flow_id += 1
            if reviewed and last_review is not None:
                rows["reviews"].append(
                    {
                        **common,
                        "id": review_id,
                        "commitment_id": cid,
                        "reviewed_on": last_review,
                        "status_found": status,
                        "progress_percent": rng.randrange(0, 101)
                        if status == DeliveryStatus.in_progress
                        else None,
                        "rationale": f"Synthetic review of record {cid}: {status.label.lower()}.",
                        "reviewer_account_id": None,
                        "reviewer_name": "Synthetic reviewer",
                        "next_review_on": next_review,
                    }
                )
                review_id += 1
            if rng.random() < 0.9:  # one in ten is unsourced
                rows["citations"].append(
                    {
                        **common,
                        "id": citation_id,
                        "source_id": rng.choice(source_ids),
                        "quote": f"{country} {verb} on {topic}; "
                        f"{rng.choice(ACTION_OBJECTS)} will follow.",
                        "locator": f"para {rng.randrange(1, 40)}",
                        "commitment_id": cid,
                        "money_flow_id": None,
                        "review_id": None,
                        "observation_id": None,
                    }
                )
                citation_id += 1
        _insert(session, t_commitment, rows["commitments"])
        _insert(session, t_link, rows["links"])
        _insert(session, t_ctag, rows["tags"])
        _insert(session, t_flow, rows["flows"])
        _insert(session, t_review, rows["reviews"])
        _insert(session, t_citation, rows["citations"])
        counts["flows"] += len(rows["flows"])
        counts["reviews"] += len(rows["reviews"])
        counts["citations"] += len(rows["citations"])
        if progress:
            progress(size)

    # -- indicators: one per thousand commitments, with a dozen observations
    indicator_id = _next_id(session, t_indicator)
    obs_id = _next_id(session, t_obs)
    indicator_rows: list[dict[str, Any]] = []
    obs_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    for i in range(max(1, commitments // 1000)):
        iid = indicator_id + i
        topic, _slug = rng.choice(TOPICS)
        indicator_rows.append(
            {
                **published,
                "id": iid,
                "name": f"Synthetic indicator {i + 1}: {topic} (people reached)",
                "description": "Invented figures for testing at scale.",
                "unit": "people",
            }
        )
        value = rng.randrange(100, 5000)
        for year in range(2014, 2026):
            value = max(0, value + rng.randrange(-300, 600))
            obs_rows.append(
                {
                    **common,
                    "id": obs_id,
                    "indicator_id": iid,
                    "value": Decimal(value),
                    "unit": None,
                    "qualifier": "exact",
                    "value_text": None,
                    "period_text": str(year),
                    "period_start_on": dt.date(year, 1, 1),
                    "period_end_on": dt.date(year, 12, 31),
                    "period_precision": "year",
                }
            )
            obs_id += 1
        for cid in {
            rng.randrange(first_commitment, commitment_id) for _ in range(3) if commitments
        }:
            link_rows.append({"indicator_id": iid, "commitment_id": cid})
    _insert(session, t_indicator, indicator_rows)
    _insert(session, t_obs, obs_rows)
    _insert(session, t_ind_c, link_rows)
    session.flush()
    return SynthResult(
        commitments=commitments,
        actors=len(actors),
        sources=len(source_ids),
        money_flows=counts["flows"],
        reviews=counts["reviews"],
        citations=counts["citations"],
        indicators=len(indicator_rows),
    )


def _flow(
    flow_id: int,
    commitment_id: int,
    stage: str,
    amount_minor: int,
    currency: str,
    announced: dt.date,
    provider: int,
) -> dict[str, Any]:
    return {
        "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "version": 1,
        "id": flow_id,
        "commitment_id": commitment_id,
        "stage": stage,
        "amount_minor": amount_minor,
        "currency": currency,
        "amount_text": None,
        "qualifier": "exact"
        if stage != "pledge"
        else "up_to"
        if amount_minor % 7 == 0
        else "exact",
        "value_on": announced,
        "period_text": None,
        "period_start_on": None,
        "period_end_on": None,
        "period_precision": None,
        "period_fiscal_start_month": None,
        "provider_id": provider,
        "receiver_id": None,
        "stated_equivalent_minor": None,
        "stated_equivalent_currency": None,
        "stated_equivalent_text": None,
        "notes": None,
    }


def _words(units: int) -> str:
    if units >= 10**9:
        return f"{units / 10**9:g} billion"
    if units >= 10**6:
        return f"{units / 10**6:g} million"
    return f"{units:,}"
