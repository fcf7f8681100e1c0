"""Choosing a linked commitment (part of, tops up, supersedes) without knowing its number:
by number, pasted page address or title words, with the matches listed to pick from."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Account, Actor, ChangeRecord, Commitment, CommitmentActor
from app.services import inputs, links, tokens
from tests.editing_helpers import (  # cheap_hashing: an autouse fixture
    HTML,
    cheap_hashing,  # noqa: F401
    hidden,
    make_account,
    post,
    text_of,
)


def _page_text(page: str) -> str:
    return html.unescape(text_of(page))


def _id(session: Session, title: str) -> int:
    return session.scalars(select(Commitment.id).where(Commitment.title == title)).one()


PLAN = "New UK–France joint operational plan to stop small-boat crossings"
PATROLS = "Increase in the number of land patrols"
DEPLOYMENTS = "Significant increase in law enforcement deployments"
OBJECTIVE = "Objective: prevent small-boat crossings completely"
SMUGGLING = "Renewed focus on criminal smuggling networks through the joint intelligence cell"


def _form(client: TestClient, commitment_id: int) -> dict[str, Any]:
    """The commitment's edit form as a browser would post it back unchanged."""
    page = client.get(f"/commitments/{commitment_id}/edit", headers=HTML).text
    data: dict[str, Any] = {"version": hidden(page, "version")}
    for name, value in re.findall(
        r'<input id="f-\w+" name="(\w+)" type="\w+" value="([^"]*)"', page
    ):
        data[name] = html.unescape(value)
    for name, value in re.findall(
        r'<textarea id="f-\w+" name="(\w+)"[^>]*>([^<]*)</textarea>', page
    ):
        data[name] = html.unescape(value)
    data["kind"] = re.search(r'<option value="(\w+)" selected>', page).group(1)  # type: ignore[union-attr]
    data["makers"] = re.findall(r'name="makers" value="(\d+)" checked', page)
    data["recipients"] = re.findall(r'name="recipients" value="(\d+)" checked', page)
    if re.search(r'name="is_additional" value="on" checked', page):
        data["is_additional"] = "on"
    assert {"title", "announced", *inputs.LINK_FIELDS} <= data.keys()
    return data


def _save(client: TestClient, commitment_id: int, **changes: Any) -> Any:
    data = {**_form(client, commitment_id), **changes}
    return post(client, f"/commitments/{commitment_id}/edit", data)


def _parent(session: Session, commitment_id: int) -> int | None:
    session.expire_all()
    return session.get(Commitment, commitment_id).parent_id  # type: ignore[union-attr]


# ------------------------------------------------------------ by number or address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("#12", 12),
        (" 12 ", 12),
        ("https://pledges.example.org/commitments/12", 12),
        ("http://127.0.0.1:8000/commitments/12/edit", 12),
        ("https://example.org/commitments/12?tab=money#flows", 12),
        ("/commitments/12/history", 12),
        ("https://example.org/api/v1/commitments/12", 12),
        ("patrols", inputs.Search("patrols")),
        ("2021 budget", inputs.Search("2021 budget")),
    ],
)
def test_a_commitment_is_named_by_number_address_or_words(text: str, expected: Any) -> None:
    assert inputs.commitment_reference(text.strip()) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://example.org/sources/3", "not a commitment's page"),
        ("https://example.org/commitments/", "not a commitment's page"),
        ("/actors/2", "not a commitment's page"),
        ("99999999999", "there is no commitment 99999999999"),
    ],
)
def test_an_address_of_another_page_or_an_impossible_number_is_refused(
    text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        inputs.commitment_reference(text)


def test_a_number_or_pasted_address_links_and_the_form_names_the_commitment(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols, plan = _id(demo, PATROLS), _id(demo, PLAN)
    saved = _save(client, patrols, parent_id=f"http://testserver/commitments/{plan}")
    assert saved.status_code == 303, _page_text(saved.text)
    assert _parent(demo, patrols) == plan
    page = client.get(f"/commitments/{patrols}/edit", headers=HTML).text
    # The number is never bare: the commitment it names is shown, linked, beside it.
    assert f'name="parent_id" type="text" value="{plan}"' in page
    assert f'Commitment {plan}: <a href="/commitments/{plan}">{PLAN}</a>' in page
    assert 'aria-describedby="f-parent_id-hint f-parent_id-linked"' in page
    assert _save(client, patrols, tops_up_id=f"#{_id(demo, OBJECTIVE)}").status_code == 303
    demo.expire_all()
    assert demo.get(Commitment, patrols).tops_up_id == _id(demo, OBJECTIVE)  # type: ignore[union-attr]


# --------------------------------------------------------------------- by words


def test_words_matching_several_list_them_to_pick_from_and_nothing_is_saved(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols = _id(demo, PATROLS)
    before = _parent(demo, patrols)
    changes_before = demo.scalar(select(func.count()).select_from(ChangeRecord))
    shown = _save(client, patrols, parent_id="small-boat crossings", summary="Kept summary")
    assert shown.status_code == 422
    page = _page_text(shown.text)
    assert "Nothing was saved" in page
    assert "commitments match “small-boat crossings”: pick one below" in page
    # Title, date and number of each match, as radio buttons; none is ticked for the editor.
    assert "Objective: prevent small-boat crossings completely — announced 28 November 2020" in page
    picks = re.findall(r'name="parent_id_pick" value="(\d+)"( checked)?', shown.text)
    assert {int(v) for v, _ in picks} >= {_id(demo, PLAN), _id(demo, OBJECTIVE)}
    assert patrols not in {int(v) for v, _ in picks}
    assert not any(checked for _, checked in picks)
    # Everything typed is still there.
    assert 'name="parent_id" type="text" value="small-boat crossings"' in shown.text
    assert ">Kept summary</textarea>" in shown.text
    assert 'name="parent_id_for" value="small-boat crossings"' in shown.text
    assert _parent(demo, patrols) == before
    assert demo.scalar(select(func.count()).select_from(ChangeRecord)) == changes_before

    # Picking one links exactly that one.
    objective = _id(demo, OBJECTIVE)
    picked = _save(
        client,
        patrols,
        parent_id="small-boat crossings",
        parent_id_for="small-boat crossings",
        parent_id_pick=str(objective),
    )
    assert picked.status_code == 303, _page_text(picked.text)
    assert _parent(demo, patrols) == objective


def test_a_pick_counts_only_for_the_words_it_was_listed_for(
    client: TestClient, demo: Session, editor: Account
) -> None:
    deployments = _id(demo, DEPLOYMENTS)
    changed = _save(
        client,
        deployments,
        parent_id="land patrols",
        parent_id_for="small-boat crossings",
        parent_id_pick=str(_id(demo, OBJECTIVE)),
    )
    # The editor typed new words after the list was shown: they are searched, not ignored.
    assert changed.status_code == 422
    assert "one commitment matches “land patrols”" in _page_text(changed.text)
    assert re.search(rf'name="parent_id_pick" value="{_id(demo, PATROLS)}" checked', changed.text)
    assert _parent(demo, deployments) != _id(demo, OBJECTIVE)


def test_one_match_is_ticked_but_not_saved_until_the_editor_confirms(
    client: TestClient, demo: Session, editor: Account
) -> None:
    deployments, patrols = _id(demo, DEPLOYMENTS), _id(demo, PATROLS)
    before = _parent(demo, deployments)
    shown = _save(client, deployments, parent_id="land patrols")
    assert shown.status_code == 422
    assert "one commitment matches “land patrols”: it is ticked below" in _page_text(shown.text)
    assert f'name="parent_id_pick" value="{patrols}" checked' in shown.text
    assert _parent(demo, deployments) == before
    confirmed = _save(
        client,
        deployments,
        parent_id="land patrols",
        parent_id_for="land patrols",
        parent_id_pick=str(patrols),
    )
    assert confirmed.status_code == 303
    assert _parent(demo, deployments) == patrols
    # The chosen number replaces the words in the form.
    assert (
        f'name="parent_id" type="text" value="{patrols}"'
        in client.get(f"/commitments/{deployments}/edit", headers=HTML).text
    )


def test_words_matching_nothing_or_only_itself_keep_the_text_with_a_message(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols = _id(demo, PATROLS)
    for words in ("zebra crossings on the moon", "land patrols", "«»!?"):
        shown = _save(client, patrols, supersedes_id=words)
        assert shown.status_code == 422
        assert f"no commitment matches “{words}”" in _page_text(shown.text).replace("&amp;", "&")
        assert "supersedes_id_pick" not in shown.text
        assert f'name="supersedes_id" type="text" value="{words}"' in shown.text.replace(
            "&laquo;", "«"
        ).replace("&raquo;", "»")


def test_many_matches_list_the_most_recent_and_ask_for_more_words(
    client: TestClient, demo: Session, editor: Account
) -> None:
    maker = demo.scalars(select(Actor.id).where(Actor.name == "UK Home Office")).one()
    for day in range(1, 14):
        commitment = Commitment(
            title=f"Lighthouse repair number {day}",
            kind="action",
            announced_on=dt.date(2021, 1, day),
            announced_precision="day",
        )
        commitment.actor_links = [CommitmentActor(actor_id=maker, role="maker")]
        demo.add(commitment)
    demo.commit()
    shown = _save(client, _id(demo, PATROLS), tops_up_id="lighthouse repair")
    assert shown.status_code == 422
    assert (
        "13 commitments match “lighthouse repair”; the 10 most recently announced are listed"
        in _page_text(shown.text)
    )
    titles = re.findall(r"Lighthouse repair number (\d+)", shown.text)
    assert titles[:10] == [str(day) for day in range(13, 3, -1)]


def test_a_pick_that_is_not_a_number_is_refused(
    client: TestClient, demo: Session, editor: Account
) -> None:
    shown = _save(
        client, _id(demo, PATROLS), parent_id="plan", parent_id_for="plan", parent_id_pick="x"
    )
    assert shown.status_code == 422
    assert "choose one of the commitments listed" in _page_text(shown.text)
    assert 'name="parent_id" type="text" value="plan"' in shown.text


# ------------------------------------------------------------------- bad values


def test_bad_numbers_keep_their_messages_and_the_text(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols = _id(demo, PATROLS)
    before = _parent(demo, patrols)
    cases = {
        "999999": "there is no commitment 999999",
        str(patrols): "a commitment cannot point at itself",
        f"https://example.org/commitments/{patrols}": "a commitment cannot point at itself",
        "https://example.org/sources/1": "not a commitment's page",
        "12345678901": "there is no commitment 12345678901",
    }
    for typed, message in cases.items():
        shown = _save(client, patrols, parent_id=typed, summary="Mine")
        assert shown.status_code == 422, typed
        assert message in _page_text(shown.text), typed
        assert f'name="parent_id" type="text" value="{typed}"' in shown.text
        assert ">Mine</textarea>" in shown.text
    assert _parent(demo, patrols) == before


def test_a_deleted_commitment_cannot_be_newly_linked_but_an_old_link_stays(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols, plan, objective = _id(demo, PATROLS), _id(demo, PLAN), _id(demo, OBJECTIVE)
    assert _save(client, patrols, parent_id=str(plan)).status_code == 303
    demo.get(Commitment, plan).deleted_at = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)  # type: ignore[union-attr]
    demo.get(Commitment, objective).deleted_at = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)  # type: ignore[union-attr]
    demo.commit()
    refused = _save(client, patrols, tops_up_id=str(objective))
    assert refused.status_code == 422
    assert f"commitment {objective} is deleted" in _page_text(refused.text)
    # Deleted commitments are neither offered nor found by words.
    assert f'<option value="{objective}">' not in refused.text
    found = _save(client, patrols, tops_up_id="prevent small-boat crossings completely")
    assert "no commitment matches" in _page_text(found.text)
    # The link made before the deletion does not stop the rest of the form being saved.
    kept = _save(client, patrols, summary="Still editable")
    assert kept.status_code == 303, _page_text(kept.text)
    assert _parent(demo, patrols) == plan


def test_drafts_are_offered_marked_as_drafts(
    client: TestClient, demo: Session, editor: Account
) -> None:
    made = post(
        client,
        "/edit/commitments/new",
        {
            "title": "Draft lighthouse plan",
            "kind": "action",
            "announced": "2021-01",
            "makers": str(
                demo.scalars(select(Actor.id).where(Actor.name == "UK Home Office")).one()
            ),
        },
    )
    assert made.status_code == 303
    draft = int(made.headers["location"].split("/")[2])
    shown = _save(client, _id(demo, PATROLS), parent_id="lighthouse")
    assert re.search(
        rf'value="{draft}" checked> <span>Draft lighthouse plan <span class="draft-badge">draft',
        shown.text,
    )


# -------------------------------------------------------------------- suggestions


def test_the_form_suggests_commitments_by_the_same_makers_first(
    client: TestClient, demo: Session, editor: Account
) -> None:
    jic = demo.scalars(select(Actor.id).where(Actor.name == "Joint intelligence cell (JIC)")).one()
    own = _id(demo, SMUGGLING)
    older = Commitment(
        title="Older measure of the same cell",
        kind="action",
        announced_on=dt.date(2019, 1, 1),
        announced_precision="year",
    )
    older.actor_links = [CommitmentActor(actor_id=jic, role="maker")]
    newer = Commitment(
        title="Newest pledge by someone else",
        kind="action",
        announced_on=dt.date(2021, 1, 10),
        announced_precision="day",
    )
    demo.add_all([older, newer])
    demo.commit()
    page = client.get(f"/commitments/{own}/edit", headers=HTML).text
    assert page.count('list="commitment-suggestions"') == len(inputs.LINK_FIELDS)
    options = [int(v) for v in re.findall(r'<option value="(\d+)">[^<]*— ', page)]
    assert own not in options  # never itself
    # By the same maker first, however old; then the newest.
    assert options[:2] == [older.id, newer.id]
    assert _id(demo, PLAN) in options
    assert "Older measure of the same cell — 2019" in page
    # The new-commitment form suggests the newest.
    new_page = client.get("/edit/commitments/new", headers=HTML).text
    first = re.search(r'<datalist id="commitment-suggestions">\s*<option value="(\d+)">', new_page)
    assert first
    assert int(first.group(1)) == newer.id


def test_suggestions_leave_out_deleted_commitments(demo: Session) -> None:
    plan = _id(demo, PLAN)
    demo.get(Commitment, plan).deleted_at = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)  # type: ignore[union-attr]
    demo.flush()
    offered = {t.id for t in links.suggestions(demo, own_id=None, maker_ids=[])}
    assert plan not in offered
    assert _id(demo, PATROLS) in offered


def test_the_conflict_page_names_the_linked_commitments(
    client: TestClient, demo: Session, editor: Account
) -> None:
    patrols, plan = _id(demo, PATROLS), _id(demo, PLAN)
    stale = _form(client, patrols)
    assert _save(client, patrols, summary="Theirs").status_code == 303
    conflict = post(
        client, f"/commitments/{patrols}/edit", {**stale, "parent_id": f"/commitments/{plan}"}
    )
    assert conflict.status_code == 409
    assert f"{plan} — {PLAN}" in _page_text(conflict.text)


# ------------------------------------------------------------------------- API


def _bearer(session: Session, clock: FixedClock) -> dict[str, str]:
    account = make_account(session, "script@example.org")
    issued = tokens.create_token(session, account, name="script", scope="write", now=clock.now())
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def test_the_api_still_takes_plain_ids_and_only_ids(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    auth = _bearer(demo, clock)
    plan, objective = _id(demo, PLAN), _id(demo, OBJECTIVE)
    maker = demo.scalars(select(Actor.id).where(Actor.name == "UK Home Office")).one()
    body = {"title": "Linked by id", "kind": "action", "announced": "2021", "makers": [maker]}
    created = client.post(
        "/api/v1/commitments",
        json={**body, "parent_id": plan, "tops_up_id": objective},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["parent"]["id"] == plan
    assert created.json()["tops_up"]["id"] == objective
    url, etag = created.headers["location"], created.headers["etag"]
    for bad in ("patrols", str(plan), f"https://example.org/commitments/{plan}"):
        refused = client.patch(url, json={"supersedes_id": bad}, headers={**auth, "If-Match": etag})
        assert refused.status_code == 400, bad
    cleared = client.patch(url, json={"parent_id": None}, headers={**auth, "If-Match": etag})
    assert cleared.status_code == 200
    assert cleared.json()["parent"] is None
    etag = cleared.headers["etag"]
    unknown = client.patch(url, json={"parent_id": 999999}, headers={**auth, "If-Match": etag})
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "parent_id: there is no commitment 999999"


def test_the_openapi_description_of_links_asks_for_an_id(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for body in ("CommitmentCreate", "CommitmentChanges"):
        for name in inputs.LINK_FIELDS:
            prop = schemas[body]["properties"][name]
            assert {"type": "integer", "maximum": 2147483647, "minimum": 1} in prop["anyOf"]
            assert "the id of a commitment" in prop["description"]
            assert "words" not in prop["description"]
