"""Recording a review: the rules that keep a commitment's status history honest.

A review is a dated verdict with its evidence. The commitment's current
status, last review date and next review date are copies of its latest
review, written in the same transaction (see `record_review`), so every list,
facet, CSV and feed reads the same status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app import errors
from app.models import Citation, Commitment, Review, Source
from app.services import changes
from app.vocab import ChangeAction, DeliveryStatus


class ReviewError(errors.Invalid, ValueError):
    """A review that breaks a rule; `field` names the form field to point at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, fields={field: message})
        self.field = field


@dataclass(frozen=True)
class EvidenceInput:
    source_id: int
    quote: str
    locator: str | None = None


def record_review(
    session: Session,
    commitment: Commitment,
    *,
    today: dt.date,
    reviewed_on: dt.date,
    status_found: DeliveryStatus | str,
    evidence: Sequence[EvidenceInput] = (),
    progress_percent: int | None = None,
    rationale: str | None = None,
    next_review_on: dt.date | None = None,
    reviewer_account_id: int | None = None,
    reviewer_name: str | None = None,
) -> Review:
    """Add a review to `commitment` and, if it is the latest, make its verdict current.

    Raises ReviewError (nothing is written) when:
    * the status is not in the vocabulary;
    * a verdict other than not_yet_assessed comes without evidence;
    * evidence quotes an unknown source or is empty;
    * the review is dated in the future, or its next review is not after it;
    * progress is outside 0–100;
    * `superseded` is found while no commitment names this one as superseded.
    """
    try:
        status = DeliveryStatus(status_found)
    except ValueError:
        raise ReviewError("status_found", f"unknown delivery status {status_found!r}") from None
    if reviewed_on > today:
        raise ReviewError("reviewed_on", "a review cannot be dated in the future")
    if next_review_on is not None and next_review_on <= reviewed_on:
        raise ReviewError("next_review_on", "the next review must be after this one")
    if progress_percent is not None and not 0 <= progress_percent <= 100:
        raise ReviewError("progress_percent", "progress is a percentage from 0 to 100")
    if status is not DeliveryStatus.not_yet_assessed and not evidence:
        raise ReviewError(
            "evidence", f"a verdict of '{status.label}' needs evidence: quote a source"
        )
    for item in evidence:
        if not item.quote.strip():
            raise ReviewError("evidence", "an evidence quote cannot be empty")
        if session.get(Source, item.source_id) is None:
            raise ReviewError("evidence", f"there is no source {item.source_id}")
    if status is DeliveryStatus.superseded and not session.scalar(
        select(exists().where(Commitment.supersedes_id == commitment.id))
    ):
        raise ReviewError(
            "status_found",
            "'superseded' needs the later commitment that replaces this one: "
            "set its 'supersedes' link first",
        )

    before = changes.snapshot(commitment)
    review = Review(
        commitment_id=commitment.id,
        reviewed_on=reviewed_on,
        status_found=status,
        progress_percent=progress_percent,
        rationale=rationale,
        next_review_on=next_review_on,
        reviewer_account_id=reviewer_account_id,
        reviewer_name=reviewer_name,
        evidence=[
            Citation(source_id=item.source_id, quote=item.quote, locator=item.locator)
            for item in evidence
        ],
    )
    session.add(review)
    # An older review entered late joins the history without overriding a newer verdict.
    if commitment.last_reviewed_on is None or reviewed_on >= commitment.last_reviewed_on:
        commitment.status = status
        commitment.last_reviewed_on = reviewed_on
        commitment.next_review_on = next_review_on
        commitment.next_review_text = None
    session.flush()
    changes.record(
        session,
        action=ChangeAction.review,
        entity=commitment,
        summary=f"Reviewed “{commitment.title}”: {status.label}",
        before=before,
        account_id=reviewer_account_id,
        actor_label=reviewer_name if reviewer_account_id is None else None,
    )
    return review
