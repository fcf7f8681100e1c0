"""Controlled vocabularies. Stored as plain strings, checked by the database.

Strings rather than database enum types: adding a value is then a one-line
CHECK change in a migration on both SQLite and PostgreSQL, and exports carry
the same codes that the database holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ActorKind(StrEnum):
    government = "government"
    ministry = "ministry"
    agency = "agency"
    international_organisation = "international_organisation"
    organisation = "organisation"
    person = "person"
    joint_body = "joint_body"


class SourceKind(StrEnum):
    joint_statement = "joint_statement"
    treaty = "treaty"
    parliamentary_answer = "parliamentary_answer"
    press_release = "press_release"
    report = "report"
    speech = "speech"
    news_article = "news_article"
    dataset = "dataset"
    other = "other"


class CommitmentKind(StrEnum):
    funding = "funding"
    action = "action"
    target = "target"


class DeliveryStatus(StrEnum):
    not_yet_assessed = "not_yet_assessed"
    not_started = "not_started"
    in_progress = "in_progress"
    stalled = "stalled"
    partly_delivered = "partly_delivered"
    delivered = "delivered"
    broken = "broken"
    superseded = "superseded"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_closed(self) -> bool:
        """Closed commitments can no longer become overdue."""
        return self in CLOSED_STATUSES


STATUS_LABELS = {
    DeliveryStatus.not_yet_assessed: "Not yet assessed",
    DeliveryStatus.not_started: "Not started",
    DeliveryStatus.in_progress: "In progress",
    DeliveryStatus.stalled: "Stalled",
    DeliveryStatus.partly_delivered: "Partly delivered",
    DeliveryStatus.delivered: "Delivered",
    DeliveryStatus.broken: "Broken",
    DeliveryStatus.superseded: "Superseded",
}
CLOSED_STATUSES = frozenset(
    {DeliveryStatus.delivered, DeliveryStatus.broken, DeliveryStatus.superseded}
)


class PublicationState(StrEnum):
    draft = "draft"
    published = "published"


class FlowStage(StrEnum):
    """Stages of money, in order. A later stage is a new flow, never an overwrite."""

    pledge = "pledge"
    commitment = "commitment"
    disbursement = "disbursement"
    expenditure = "expenditure"


class AmountQualifier(StrEnum):
    exact = "exact"
    approximately = "approximately"
    up_to = "up_to"
    at_least = "at_least"

    @property
    def label(self) -> str:
        return {
            "exact": "",
            "approximately": "approx.",
            "up_to": "up to",
            "at_least": "at least",
        }[self.value]


def combined_qualifier(qualifiers: Iterable[str]) -> str:
    """What a sum of amounts with these qualifiers is.

    One "up to" makes the sum a ceiling and one "at least" a floor (both: "mixed");
    otherwise one "approximately" makes it approximate.
    """
    found = set(qualifiers)
    up_to = AmountQualifier.up_to in found
    at_least = AmountQualifier.at_least in found
    if up_to and at_least:
        return "mixed"
    if up_to:
        return AmountQualifier.up_to.value
    if at_least:
        return AmountQualifier.at_least.value
    if AmountQualifier.approximately in found:
        return AmountQualifier.approximately.value
    return AmountQualifier.exact.value


# How a total's qualifier (`combined_qualifier`) is written before its amount:
# "up to €40 million", "ceilings and floors: €12 million". Every page, chart,
# CSV-less text and the command line write totals with these words.
TOTAL_QUALIFIER_WORDS = {
    "exact": "",
    "approximately": "approx.",
    "up_to": "up to",
    "at_least": "at least",
    "mixed": "ceilings and floors:",
}


def qualifier_words(qualifier: str) -> str:
    """The words before a total with this qualifier ("" for an exact one)."""
    return TOTAL_QUALIFIER_WORDS[qualifier]


class Role(StrEnum):
    editor = "editor"
    admin = "admin"


class TokenScope(StrEnum):
    read = "read"
    write = "write"


class ChangeAction(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    restore = "restore"
    publish = "publish"
    unpublish = "unpublish"
    review = "review"
    import_ = "import"


def sql_in(enum: type[StrEnum]) -> str:
    """The body of a CHECK constraint listing an enum's values: "'a', 'b'"."""
    return ", ".join(f"'{member.value}'" for member in enum)
