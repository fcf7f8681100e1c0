"""The demo data is the reference statement, entered faithfully and nothing more."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import money, periods
from app.models import (
    Actor,
    Citation,
    Commitment,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from app.services.demo import REVIEW_DUE, STATEMENT_DATE, load_demo, statement_text
from app.vocab import AmountQualifier, PublicationState

STATEMENT = statement_text()


def paragraphs() -> dict[str, str]:
    """The statement's text by locator: 'para N' and 'para N, bullet M'.

    Paragraphs are counted from the first block after the "Published" line;
    bullets belong to the paragraph that introduces them.
    """
    blocks = [b.strip() for b in STATEMENT.split("\n\n") if b.strip()]
    body = blocks[blocks.index("Published 28 November 2020") + 1 :]
    located: dict[str, str] = {}
    number = 0
    for block in body:
        if block.startswith("•"):
            for bullet_number, line in enumerate(block.splitlines(), start=1):
                located[f"para {number}, bullet {bullet_number}"] = line.strip().lstrip("• ")
        else:
            number += 1
            located[f"para {number}"] = block
    return located


def test_statement_is_shipped_intact() -> None:
    assert STATEMENT.startswith("Guidance")
    assert "€31.4 million" in STATEMENT
    assert len(paragraphs()) == 9 + 8  # nine paragraphs, two lists of four bullets


def test_every_quote_is_verbatim_and_where_its_locator_says(demo: Session) -> None:
    located = paragraphs()
    citations = demo.scalars(select(Citation)).all()
    assert len(citations) >= 20
    for citation in citations:
        assert citation.quote in STATEMENT, citation.quote
        assert citation.locator in located, citation.locator
        assert citation.quote in located[citation.locator], (citation.locator, citation.quote)


def test_every_record_is_sourced_and_published(demo: Session) -> None:
    for commitment in demo.scalars(select(Commitment)).all():
        assert commitment.state == PublicationState.published
        count = demo.scalar(
            select(func.count())
            .select_from(Citation)
            .where(Citation.commitment_id == commitment.id)
        )
        assert count, f"commitment {commitment.title!r} has no citation"
    for model in (MoneyFlow, Observation):
        for record in demo.scalars(select(model)).all():
            subject = Citation.money_flow_id if model is MoneyFlow else Citation.observation_id
            assert demo.scalar(
                select(func.count()).select_from(Citation).where(subject == record.id)
            )


def test_source_has_its_date_publisher_and_hash(demo: Session) -> None:
    source = demo.scalars(select(Source)).one()
    assert source.published_on == dt.date(2020, 11, 28)
    assert "28 November 2020" in STATEMENT
    assert source.publisher == "Home Office"
    assert source.full_text == STATEMENT
    assert source.content_hash is not None
    assert len(source.content_hash) == 64


def test_the_funding_pledge_is_exact_and_as_written(demo: Session) -> None:
    flow = demo.scalars(select(MoneyFlow)).one()
    assert flow.amount_text is not None
    assert flow.amount_text in STATEMENT
    stated, currency = money.parse_amount("€31.4 million")
    assert flow.amount == stated == Decimal("31400000.00")
    assert flow.currency == currency == "EUR"
    assert flow.qualifier == AmountQualifier.exact
    assert flow.stage == "pledge"
    assert flow.value_on == STATEMENT_DATE
    # The statement gives no period for the money: none is invented.
    assert flow.period is None
    providers = demo.scalars(select(Actor).where(Actor.id == flow.provider_id)).one()
    assert providers.name == "UK Home Office"
    assert providers.fiscal_year_start_month == 4


def test_dates_are_the_statements_or_derived_from_its_words(demo: Session) -> None:
    assert dt.date(2021, 5, 28) == REVIEW_DUE == periods.add_months(STATEMENT_DATE, 6)
    for commitment in demo.scalars(select(Commitment)).all():
        assert commitment.announced_on == STATEMENT_DATE
        if commitment.next_review_on is not None:
            assert commitment.next_review_on == REVIEW_DUE
            assert commitment.next_review_text in STATEMENT
        if commitment.deadline_text is not None:
            assert commitment.deadline_text in STATEMENT
            # "in the coming days" is vague: recorded as a fuzzy reading, not a date.
            assert commitment.deadline_precision == periods.Precision.FUZZY
            assert commitment.deadline_start_on == STATEMENT_DATE


def test_vague_figures_keep_their_qualifiers(demo: Session) -> None:
    observations = {o.value_text: o for o in demo.scalars(select(Observation)).all()}
    assert set(observations) == {
        "41% in 2019",
        "60% in recent weeks",
        "around 140 arrests",
        "approximately 1,100 crossings",
    }
    for text, observation in observations.items():
        assert text in STATEMENT
        digits = re.search(r"[\d,]+", text)
        assert digits is not None
        assert observation.value == Decimal(digits.group().replace(",", ""))
    assert observations["around 140 arrests"].qualifier == AmountQualifier.approximately
    assert observations["approximately 1,100 crossings"].qualifier == AmountQualifier.approximately
    assert observations["41% in 2019"].period == periods.Period.year(2019)
    recent = observations["60% in recent weeks"].period
    assert recent is not None
    assert recent.precision == periods.Precision.FUZZY


NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,") for n in NUMBER.findall(text)}


def test_no_figure_is_invented(demo: Session) -> None:
    """Every number written anywhere in the demo's text appears in the statement."""
    allowed = _numbers(STATEMENT)
    texts: list[str] = []
    for model, columns in (
        (Commitment, ("title", "summary", "deadline_text", "next_review_text")),
        (MoneyFlow, ("amount_text", "period_text", "stated_equivalent_text")),
        (Observation, ("value_text", "period_text")),
        (Indicator, ("name", "description")),
        (Review, ("rationale",)),
        (Actor, ("name", "description")),
    ):
        for record in demo.scalars(select(model)).all():
            texts.extend(getattr(record, column) or "" for column in columns)
    invented = {n for text in texts for n in _numbers(text)} - allowed
    assert not invented, f"figures not in the statement: {sorted(invented)}"


def test_loading_twice_changes_nothing(demo: Session) -> None:
    before = demo.scalar(select(func.count()).select_from(Commitment))
    result = load_demo(demo)
    assert not result.loaded
    assert demo.scalar(select(func.count()).select_from(Commitment)) == before


@pytest.mark.parametrize("key", ["jic", "coast", "patrols", "detection"])
def test_efforts_under_way_have_an_evidenced_review(demo: Session, key: str) -> None:
    from app.services.demo import MEASURES

    spec = next(m for m in MEASURES if m.key == key)
    commitment = demo.scalars(select(Commitment).where(Commitment.title == spec.title)).one()
    review = demo.scalars(select(Review).where(Review.commitment_id == commitment.id)).one()
    assert review.status_found == commitment.status == "in_progress"
    evidence = demo.scalars(select(Citation).where(Citation.review_id == review.id)).all()
    assert evidence
    assert all(e.quote in STATEMENT for e in evidence)
