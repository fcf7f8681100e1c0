"""Recording reviews: evidence required, the latest verdict becomes the current status."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ChangeRecord, Commitment, Source
from app.services.derived import ReviewState, review_state, review_state_sql
from app.services.reviews import EvidenceInput, ReviewError, record_review

TODAY = dt.date(2021, 6, 1)


def _pledge(session: Session) -> Commitment:
    return session.scalars(select(Commitment).where(Commitment.kind == "funding")).one()


def _evidence(session: Session) -> list[EvidenceInput]:
    source = session.scalars(select(Source)).one()
    return [EvidenceInput(source.id, "The UK has pledged", "para 8")]


def test_review_with_evidence_becomes_current_and_clears_overdue(demo: Session) -> None:
    pledge = _pledge(demo)
    assert review_state(pledge, TODAY, 30) is ReviewState.overdue
    version = pledge.version
    record_review(
        demo,
        pledge,
        today=TODAY,
        reviewed_on=TODAY,
        status_found="in_progress",
        evidence=_evidence(demo),
        rationale="Funding announced; no payment seen yet.",
        next_review_on=dt.date(2021, 12, 1),
    )
    demo.commit()
    assert pledge.status == "in_progress"
    assert pledge.last_reviewed_on == TODAY
    assert pledge.next_review_on == dt.date(2021, 12, 1)
    assert pledge.version == version + 1
    assert review_state(pledge, TODAY, 30) is ReviewState.scheduled
    overdue_ids = demo.scalars(
        select(Commitment.id).where(review_state_sql(ReviewState.overdue, TODAY, 30))
    ).all()
    assert pledge.id not in overdue_ids
    change = demo.scalars(select(ChangeRecord).order_by(ChangeRecord.id.desc())).first()
    assert change is not None
    assert change.action == "review"
    assert change.is_public
    assert change.before is not None
    assert change.before["status"] == "not_yet_assessed"
    assert change.after is not None
    assert change.after["status"] == "in_progress"


def test_verdict_without_evidence_is_refused(demo: Session) -> None:
    with pytest.raises(ReviewError) as error:
        record_review(demo, _pledge(demo), today=TODAY, reviewed_on=TODAY, status_found="delivered")
    assert error.value.field == "evidence"
    assert "needs evidence" in error.value.message


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"status_found": "done"}, "status_found"),
        ({"reviewed_on": dt.date(2030, 1, 1)}, "reviewed_on"),
        ({"next_review_on": dt.date(2021, 1, 1)}, "next_review_on"),
        ({"progress_percent": 101}, "progress_percent"),
        ({"status_found": "superseded"}, "status_found"),
    ],
)
def test_rule_breaking_reviews_are_refused(demo: Session, values: dict, field: str) -> None:
    arguments = {"reviewed_on": TODAY, "status_found": "in_progress", **values}
    with pytest.raises(ReviewError) as error:
        record_review(demo, _pledge(demo), today=TODAY, evidence=_evidence(demo), **arguments)
    assert error.value.field == field


def test_an_older_review_entered_late_does_not_override(demo: Session) -> None:
    pledge = _pledge(demo)
    record_review(
        demo,
        pledge,
        today=TODAY,
        reviewed_on=TODAY,
        status_found="delivered",
        evidence=_evidence(demo),
    )
    record_review(
        demo,
        pledge,
        today=TODAY,
        reviewed_on=dt.date(2021, 2, 1),
        status_found="stalled",
        evidence=_evidence(demo),
    )
    assert pledge.status == "delivered"


def test_changes_to_private_or_draft_records_are_never_public(session: Session) -> None:
    from app.models import Account, MoneyFlow
    from app.services.changes import is_public

    account = Account(email="a@example.org", password_hash="secret-hash", role="admin")
    draft = Commitment(kind="funding", title="Draft", announced_on=dt.date(2024, 1, 1))
    session.add_all([account, draft])
    session.flush()
    flow = MoneyFlow(commitment_id=draft.id, stage="pledge", amount_minor=1, currency="EUR")
    session.add(flow)
    session.flush()
    assert not is_public(account)
    assert not is_public(flow)  # follows its draft commitment
    draft.state = "published"
    assert is_public(flow)
    draft.deleted_at = dt.datetime.now(dt.UTC)
    assert not is_public(flow)
