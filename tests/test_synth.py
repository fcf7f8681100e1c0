"""`pledges demo synth`: deterministic, realistic, searchable synthetic data."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import Citation, Commitment, MoneyFlow
from app.services.synth import generate
from app.vocab import PublicationState


def _snapshot(session: Session) -> list[tuple[str, str, str]]:
    return [
        (title, kind, status)
        for title, kind, status in session.execute(
            select(Commitment.title, Commitment.kind, Commitment.status).order_by(Commitment.id)
        )
    ]


def test_synth_is_deterministic_and_complete(session: Session) -> None:
    result = generate(session, 120, seed=7)
    assert result.commitments == 120
    assert session.scalar(select(func.count()).select_from(Commitment)) == 120
    assert result.money_flows > 0
    assert result.citations < 120  # some commitments are unsourced on purpose
    currencies = set(session.scalars(select(MoneyFlow.currency).distinct()))
    assert len(currencies) > 1
    first = _snapshot(session)
    session.rollback()
    generate(session, 120, seed=7)
    assert _snapshot(session) == first


def test_synth_rows_are_browsable_and_searchable(client: TestClient, session: Session) -> None:
    generate(session, 60, seed=3)
    session.commit()
    quote = session.scalars(select(Citation.quote).limit(1)).one()
    word = quote.split()[0]
    assert client.get("/commitments").status_code == 200
    found = client.get("/commitments", params={"q": word})
    assert found.status_code == 200
    assert "0 commitments match" not in found.text
    assert client.get("/commitments.csv").status_code == 200


def test_records_added_or_edited_after_synth_are_searchable(
    client: TestClient, session: Session
) -> None:
    """Synth indexes its rows in bulk with the full-text triggers set aside: they must be
    back afterwards, so later inserts and edits are found too (SQLite; PostgreSQL indexes
    an expression and has no triggers)."""
    generate(session, 40, seed=5)
    session.commit()
    added = Commitment(
        kind="action",
        title="Zanzibarian lighthouse keepers",
        announced_on=dt.date(2024, 1, 1),
        state=PublicationState.published,
    )
    session.add(added)
    edited = session.scalars(
        select(Commitment).where(Commitment.state == PublicationState.published).limit(1)
    ).one()
    edited.title = "Quetzalcoatlus survey flights"
    session.flush()
    source = session.scalars(select(Citation.source_id).limit(1)).one()
    session.add(
        Citation(source_id=source, commitment_id=edited.id, quote="Xylophonic harbour buoys.")
    )
    session.commit()
    for word, title in (
        ("zanzibarian", added.title),
        ("quetzalcoatlus", edited.title),
        ("xylophonic", edited.title),
    ):
        page = client.get("/commitments", params={"q": word}).text
        assert title in page, word
    # The synthetic rows themselves are indexed once, not twice.
    if session.get_bind().dialect.name == "sqlite":
        indexed = session.scalar(text("SELECT count(*) FROM commitments_fts"))
        assert indexed == session.scalar(select(func.count()).select_from(Commitment))
