"""`pledges demo synth`: deterministic, realistic, searchable synthetic data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Citation, Commitment, MoneyFlow
from app.services.synth import generate


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
