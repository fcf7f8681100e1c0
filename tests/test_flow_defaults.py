"""A new money flow starts from the commitment's first maker and first recipient."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Actor, Commitment, CommitmentActor, MoneyFlow
from tests.editing_helpers import (  # cheap_hashing: an autouse fixture
    HTML,
    cheap_hashing,  # noqa: F401
    hidden,
    post,
)

PATROLS = "Increase in the number of land patrols"


def _id(session: Session, title: str) -> int:
    return session.scalars(select(Commitment.id).where(Commitment.title == title)).one()


def test_a_new_money_flow_starts_from_the_commitments_maker_and_recipient(
    client: TestClient, demo: Session, editor: Account
) -> None:
    funding = _id(demo, "UK funding of €31.4 million for France’s efforts against small boats")
    rows = demo.execute(
        select(CommitmentActor.role, Actor)
        .join(Actor, Actor.id == CommitmentActor.actor_id)
        .where(CommitmentActor.commitment_id == funding)
    )
    actors = {role: actor for role, actor in rows}  # noqa: C416 (rows are not pairs to dict())
    home_office, french = actors["maker"], actors["recipient"]
    page = client.get(f"/commitments/{funding}/flows/new", headers=HTML).text
    provider = re.search(r'<select id="f-provider_id".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    receiver = re.search(r'<select id="f-receiver_id".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert f'<option value="{home_office.id}" selected>{home_office.name}</option>' in provider
    assert provider.count(" selected") == 1
    assert f'<option value="{french.id}" selected>{french.name}</option>' in receiver
    # Still editable: the editor's choice is what is saved.
    other = demo.scalars(select(Actor).where(Actor.name == "Joint intelligence cell (JIC)")).one()
    data = {
        "stage": "pledge",
        "amount": "€5m",
        "qualifier": "exact",
        "provider_id": str(other.id),
        "receiver_id": "",
    }
    checked = post(client, f"/commitments/{funding}/flows/new", data)
    saved = post(
        client,
        f"/commitments/{funding}/flows/new",
        {**data, "confirmed": hidden(checked.text, "confirmed")},
    )
    assert saved.status_code == 303
    flow = demo.scalars(
        select(MoneyFlow).where(MoneyFlow.commitment_id == funding).order_by(MoneyFlow.id.desc())
    ).first()
    assert flow is not None
    assert (flow.provider_id, flow.receiver_id) == (other.id, None)
    # Editing a flow shows what it has, not the commitment's actors.
    edit = client.get(f"/money-flows/{flow.id}/edit", headers=HTML).text
    provider = re.search(r'<select id="f-provider_id".*?</select>', edit, re.S).group(0)  # type: ignore[union-attr]
    receiver = re.search(r'<select id="f-receiver_id".*?</select>', edit, re.S).group(0)  # type: ignore[union-attr]
    assert f'<option value="{other.id}" selected>' in provider
    assert " selected" not in receiver


def test_a_money_flow_for_a_commitment_without_recipients_leaves_the_receiver_empty(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols = _id(demo, PATROLS)
    makers = sorted(
        demo.scalars(
            select(Actor)
            .join(CommitmentActor, CommitmentActor.actor_id == Actor.id)
            .where(CommitmentActor.commitment_id == patrols, CommitmentActor.role == "maker")
        ),
        key=lambda a: (a.name, a.id),
    )
    assert makers
    assert not demo.scalars(
        select(CommitmentActor).where(
            CommitmentActor.commitment_id == patrols, CommitmentActor.role == "recipient"
        )
    ).all()
    page = client.get(f"/commitments/{patrols}/flows/new", headers=HTML).text
    receiver = re.search(r'<select id="f-receiver_id".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert " selected" not in receiver
    # Several makers: the first as the form lists them (by name).
    assert f'<option value="{makers[0].id}" selected>' in page
    assert editor  # signed in
