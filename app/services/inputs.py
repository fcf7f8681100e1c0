"""Form fields: what each edit form shows, and how typed text becomes values.

A form is a list of `Field`s. `parse_form` turns the posted text into typed
values and per-field messages; the text as typed is always kept, so a
rejected form comes back exactly as the person left it.

Money is read with `app.money.parse_amount` ("€31.4m", "31,400,000"),
periods with `app.periods.parse_period` (with the provider's fiscal year),
currencies come from `app.money.all_currencies()`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry

from app import money, periods
from app.models import (
    MAX_ID,
    NAME_MAX,
    TEXT_AS_WRITTEN_MAX,
    TITLE_MAX,
    URL_MAX,
    Actor,
    Commitment,
    ExchangeRate,
    Indicator,
    MoneyFlow,
    Observation,
    Source,
    deadline_fiscal_month,
)
from app.services import links, rules
from app.vocab import (
    ActorKind,
    AmountQualifier,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    SourceKind,
)

Choices = Sequence[tuple[str, str]]
# Record ids are 32-bit integers on PostgreSQL; a larger number names no record.
Raw = dict[str, list[str]]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    # text textarea date int select multiselect checkbox url decimal country currency
    # commitment (a link to another commitment: its number, page address or title words)
    kind: str = "text"
    required: bool = False
    help: str = ""
    max_length: int | None = None
    choices_key: str | None = None  # choices given at render time ("actors", "sources"…)
    choices: Choices = ()
    blank: bool = True  # offer "—" in a select


@dataclass
class FormState:
    """What a form shows: the typed text, messages per field, and parsed values."""

    fields: list[Field]
    typed: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    # Commitment fields: what typed words matched (to pick from), and the
    # commitment a number names (shown beside it so a number is never bare).
    candidates: dict[str, links.Found] = field(default_factory=dict)
    linked: dict[str, links.Target] = field(default_factory=dict)
    # Drafts a published record would show (“UK Border Force” (actor 7)): the form
    # offers to publish them with the save (`records.HiddenReferences`).
    publishable: list[str] = field(default_factory=list)

    def text(self, name: str) -> str:
        found = self.typed.get(name)
        return found[0] if found else ""

    def all(self, name: str) -> list[str]:
        return self.typed.get(name, [])

    @property
    def ok(self) -> bool:
        return not self.errors


def vocab_choices(enum: Any) -> Choices:
    return [(member.value, member.value.replace("_", " ")) for member in enum]


def currency_choices() -> Choices:
    return [(code, f"{code} — {name}") for code, name in money.all_currencies()]


MONTHS = [(str(i), dt.date(2000, i, 1).strftime("%B")) for i in range(1, 13)]


# ----------------------------------------------------------------- parsing


def _text(raw: Raw, name: str) -> str:
    values = raw.get(name) or [""]
    return values[0].strip()


def parse_form(fields: list[Field], raw: Raw) -> FormState:
    """Check each field; keep what was typed; collect one message per bad field."""
    state = FormState(fields=fields, typed={f.name: raw.get(f.name, []) for f in fields})
    for f in fields:
        text = _text(raw, f.name)
        try:
            if f.kind == "commitment" and (picked := _picked(f.name, text, raw)) is not None:
                # The choice made from a list of matches replaces the words that found it.
                state.values[f.name] = picked
                state.typed[f.name] = [str(picked)]
                continue
            state.values[f.name] = _parse_field(f, text, raw)
        except ValueError as exc:
            state.errors[f.name] = str(exc)
    return state


@dataclass(frozen=True)
class Search:
    """Words typed where a commitment was expected: `records.check` looks them up."""

    text: str


# A commitment's page address as pasted from the browser: any host (the site
# may sit behind a proxy), the page itself or its edit, history or API form.
_COMMITMENT_URL = re.compile(
    r"(?:https?://[^/\s]+)?(?:/api/v1)?/commitments/(\d+)(?:[/?#]\S*)?", re.IGNORECASE
)


def pick_field(name: str) -> str:
    """The radio buttons listing the matches of the words typed in field `name`."""
    return f"{name}_pick"


def searched_field(name: str) -> str:
    """The words the listed matches were found for: a pick counts only for those words."""
    return f"{name}_for"


def _picked(name: str, text: str, raw: Raw) -> int | None:
    """The commitment ticked among the matches, if the words are still those searched for.

    If the editor changed the words after the list was shown, the new words
    win and are searched again.
    """
    pick = _text(raw, pick_field(name))
    if not pick or _text(raw, searched_field(name)) != text:
        return None
    if not (pick.isascii() and pick.isdigit()) or len(pick) > 9 or int(pick) > MAX_ID:
        raise ValueError("choose one of the commitments listed")
    return int(pick)


def commitment_reference(text: str) -> int | Search:
    """A commitment named by number ("12", "#12"), page address (".../commitments/12"),
    or words from its title (a `Search`). A link to another kind of page is refused."""
    number = text.removeprefix("#").strip()
    if number.isascii() and number.isdigit():
        if len(number) > 9 or int(number) > MAX_ID:
            raise ValueError(f"there is no commitment {number[:12]}")
        return int(number)
    if match := _COMMITMENT_URL.fullmatch(text):
        return commitment_reference(match.group(1))
    if text.lower().startswith(("http://", "https://", "/")):
        raise ValueError(
            "that address is not a commitment's page: it should end in /commitments/ and "
            "its number, like https://example.org/commitments/12"
        )
    return Search(text)


def _parse_field(f: Field, text: str, raw: Raw) -> Any:
    if f.kind == "checkbox":
        return bool(text)
    if f.kind == "multiselect":
        ids = []
        for value in raw.get(f.name, []):
            if not value.strip():
                continue
            if not (value.strip().isascii() and value.strip().isdigit()) or int(value) > MAX_ID:
                raise ValueError("choose from the list")
            ids.append(int(value))
        if f.required and not ids:
            raise ValueError("choose at least one")
        return ids
    if not text:
        if f.required:
            raise ValueError(f"{f.label} is required")
        return None
    if f.max_length is not None and len(text) > f.max_length:
        raise ValueError(f"at most {f.max_length} characters (this has {len(text)})")
    match f.kind:
        case "date":
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError("a date like 2020-11-28") from None
        case "int":
            if not (text.isascii() and text.isdigit()) or len(text) > 9:
                raise ValueError("a whole number")
            return int(text)
        case "commitment":
            return commitment_reference(text)
        case "decimal":
            try:
                number = Decimal(text.replace(",", ""))
            except InvalidOperation:
                raise ValueError("a number like 60 or 0.8563") from None
            if not number.is_finite() or abs(number) >= Decimal(10) ** 12:
                raise ValueError("a number like 60 or 0.8563")
            return number
        case "select":
            if f.choices and text not in {value for value, _ in f.choices}:
                raise ValueError("choose from the list")
            if f.choices_key and (not (text.isascii() and text.isdigit()) or int(text) > MAX_ID):
                raise ValueError("choose from the list")
            return int(text) if f.choices_key else text
        case "url":
            if message := rules.url_problem(text):
                raise ValueError(message)
            return text
        case "country":
            if pycountry.countries.get(alpha_2=text.upper()) is None:
                raise ValueError("a two-letter ISO 3166 country code, like GB or FR")
            return text.upper()
        case "currency":
            try:
                return money.normalise_currency(text)
            except money.MoneyError as exc:
                raise ValueError(str(exc)) from None
        case _:
            return text


# Where a rule's problem with a column (`app.services.rules`) is shown on a form.
FORM_FIELD_OF_COLUMN: dict[str, str] = {
    "announced_on": "announced",
    "announced_precision": "announced",
    "deadline_start_on": "deadline",
    "deadline_end_on": "deadline",
    "deadline_precision": "deadline",
    "period_start_on": "period",
    "period_end_on": "period",
    "period_precision": "period",
    "period_fiscal_start_month": "period",
    "amount_minor": "amount",
    "stated_equivalent_minor": "stated_equivalent",
}


def report(state: FormState, problems: Mapping[str, str]) -> None:
    """Show each rule's problem on its form field, unless the field already has a message."""
    names = {f.name for f in state.fields}
    for column, message in problems.items():
        name = FORM_FIELD_OF_COLUMN.get(column, column)
        if name not in names:
            name = next(iter(names), name)
        state.errors.setdefault(name, message)


def _one(state: FormState, name: str) -> Any:
    return state.values.get(name)


# ------------------------------------------------------------------ actors

ACTOR_FIELDS = [
    Field("name", "Name", required=True, max_length=NAME_MAX),
    Field("short_name", "Short name", max_length=100),
    Field("kind", "Kind", "select", required=True, choices=vocab_choices(ActorKind), blank=False),
    Field("country_code", "Country (ISO 3166 code)", "country", help="e.g. GB, FR"),
    Field("parent_id", "Part of", "select", choices_key="actors"),
    Field(
        "fiscal_year_start_month",
        "Financial year starts in",
        "select",
        choices=MONTHS,
        help="Leave empty to follow the parent, else the calendar year. UK: April.",
    ),
    Field("description", "Description", "textarea"),
]


def actor_values(state: FormState) -> dict[str, Any]:
    values = dict(state.values)
    if values.get("fiscal_year_start_month") is not None:
        values["fiscal_year_start_month"] = int(values["fiscal_year_start_month"])
    return values


def actor_typed(actor: Actor) -> Raw:
    return _typed(
        actor,
        [
            "name",
            "short_name",
            "kind",
            "country_code",
            "parent_id",
            "fiscal_year_start_month",
            "description",
        ],
    )


# ----------------------------------------------------------------- sources

SOURCE_FIELDS = [
    Field("title", "Title", required=True, max_length=TITLE_MAX),
    Field("publisher", "Publisher", max_length=NAME_MAX),
    Field("publisher_actor_id", "Publisher (actor)", "select", choices_key="actors"),
    Field("kind", "Kind", "select", required=True, choices=vocab_choices(SourceKind), blank=False),
    Field("published_on", "Published on", "date"),
    Field("url", "Web address", "url", max_length=URL_MAX),
    Field("accessed_on", "Accessed on", "date"),
    Field("licence", "Licence", max_length=NAME_MAX),
    Field("full_text", "Full text", "textarea", help="Optional; its SHA-256 is kept."),
]


def source_values(state: FormState) -> dict[str, Any]:
    values = dict(state.values)
    text = values.get("full_text")
    values["content_hash"] = hashlib.sha256(text.encode()).hexdigest() if text else None
    return values


def source_typed(source: Source) -> Raw:
    return _typed(source, [f.name for f in SOURCE_FIELDS])


# ------------------------------------------------------------- commitments

COMMITMENT_HELP = (
    "Its number, a link to its page (…/commitments/12), or words from its title to search for."
)

COMMITMENT_FIELDS = [
    Field("title", "Title", required=True, max_length=TITLE_MAX),
    Field(
        "kind", "Kind", "select", required=True, choices=vocab_choices(CommitmentKind), blank=False
    ),
    Field("summary", "Summary", "textarea"),
    Field("makers", "Made by", "multiselect", required=True, choices_key="actors"),
    Field("recipients", "For", "multiselect", choices_key="actors"),
    Field(
        "announced",
        "Announced",
        required=True,
        help="A day (2020-11-28), month (2020-11), quarter (2020-Q4) or year (2020).",
        max_length=40,
    ),
    Field(
        "deadline_text",
        "Deadline as written",
        max_length=TEXT_AS_WRITTEN_MAX,
        help="e.g. “effective in the coming days”",
    ),
    Field(
        "deadline",
        "Deadline read as",
        max_length=60,
        help="2021-05, 2021, FY2021-22, a range 2020-11-28/2020-12-31, "
        "or vague ~2020-11-28/2020-12-15.",
    ),
    Field("next_review_on", "Next review due on", "date"),
    Field("next_review_text", "Next review as written", max_length=TEXT_AS_WRITTEN_MAX),
    Field("tags", "Tags", help="Separated by commas.", max_length=1000),
    Field(
        "parent_id",
        "Part of (a larger commitment or plan)",
        "commitment",
        help=COMMITMENT_HELP,
        max_length=URL_MAX,
    ),
    Field("is_additional", "Further / additional money on top of earlier pledges", "checkbox"),
    Field(
        "tops_up_id",
        "Tops up (the earlier commitment it adds to)",
        "commitment",
        help=COMMITMENT_HELP,
        max_length=URL_MAX,
    ),
    Field(
        "supersedes_id",
        "Supersedes (the commitment it replaces)",
        "commitment",
        help=COMMITMENT_HELP,
        max_length=URL_MAX,
    ),
]

# The columns a commitment's form sets as they are typed (the rest are read: dates, links).
COMMITMENT_PLAIN_COLUMNS = (
    "title",
    "kind",
    "summary",
    "deadline_text",
    "next_review_on",
    "next_review_text",
    "parent_id",
    "tops_up_id",
    "supersedes_id",
)
LINK_FIELDS = tuple(f.name for f in COMMITMENT_FIELDS if f.kind == "commitment")


def commitment_values(state: FormState, fiscal_start_month: int = 1) -> dict[str, Any]:
    """Columns from a checked commitment form; period messages go into state.errors.

    A deadline written as a financial year ("FY2023-24") is read in the first
    maker's financial year (`fiscal_start_month`).
    """
    v = state.values
    values: dict[str, Any] = {key: v.get(key) for key in COMMITMENT_PLAIN_COLUMNS}
    values["is_additional"] = bool(v.get("is_additional"))
    # Which precisions an announcement may have is a rule (rules.announced).
    if period := _period(state, "announced"):
        values["announced_on"] = period.start
        values["announced_precision"] = period.precision.value
    deadline = _period(state, "deadline", fiscal_start_month)
    values["deadline_start_on"] = deadline.start if deadline else None
    values["deadline_end_on"] = deadline.end if deadline else None
    values["deadline_precision"] = deadline.precision.value if deadline else None
    return values


def tag_names(state: FormState) -> list[str]:
    text = state.values.get("tags") or ""
    return [" ".join(part.split()) for part in text.split(",") if part.strip()]


def _period(state: FormState, name: str, fiscal_start_month: int = 1) -> periods.Period | None:
    text = state.values.get(name)
    if not text:
        return None
    try:
        return periods.parse_period(text, fiscal_start_month)
    except periods.PeriodError as exc:
        state.errors[name] = str(exc)
        return None


def period_label(
    start: dt.date | None, end: dt.date | None, precision: str | None, fiscal_start_month: int = 1
) -> str:
    if precision is None:
        return ""
    try:
        return periods.Period(start, end, periods.Precision(precision), fiscal_start_month).label
    except (periods.PeriodError, ValueError):
        return ""


def commitment_typed(c: Commitment) -> Raw:
    raw = _typed(c, list(COMMITMENT_PLAIN_COLUMNS))
    raw["announced"] = [
        period_label(
            c.announced_on,
            c.announced_on if c.announced_precision == "day" else _end(c),
            c.announced_precision,
        )
    ]
    raw["deadline"] = [
        period_label(
            c.deadline_start_on,
            c.deadline_end_on,
            c.deadline_precision,
            deadline_fiscal_month(c.deadline_start_on, c.deadline_precision),
        )
    ]
    raw["is_additional"] = ["on"] if c.is_additional else []
    raw["makers"] = [str(a.id) for a in c.makers]
    raw["recipients"] = [str(a.id) for a in c.recipients]
    raw["tags"] = [", ".join(t.name for t in c.tags)]
    return raw


def _end(c: Commitment) -> dt.date | None:
    precision = periods.Precision(c.announced_precision)
    start = c.announced_on
    months = {
        periods.Precision.MONTH: 1,
        periods.Precision.QUARTER: 3,
        periods.Precision.YEAR: 12,
    }.get(precision)
    if months is None:
        return start
    try:
        return periods.add_months(start, months) - dt.timedelta(days=1)
    except (periods.PeriodError, ValueError, OverflowError):
        # The last month, quarter or year of the calendar (9999): it ends with it.
        return dt.date.max


# ------------------------------------------------------------- money flows

FLOW_FIELDS = [
    Field("stage", "Stage", "select", required=True, choices=vocab_choices(FlowStage), blank=False),
    Field(
        "amount",
        "Amount",
        required=True,
        max_length=100,
        help="As people write it: 31.4 million, €31.4m, 31,400,000, 31.4m EUR.",
    ),
    Field(
        "currency",
        "Currency",
        "select",
        choices=currency_choices(),
        help="Leave empty when the amount names it (€, £, EUR).",
    ),
    Field("amount_text", "Amount exactly as the source wrote it", max_length=TEXT_AS_WRITTEN_MAX),
    Field(
        "qualifier",
        "Qualifier",
        "select",
        required=True,
        choices=vocab_choices(AmountQualifier),
        blank=False,
    ),
    Field("value_on", "Valued on (announcement or payment date)", "date"),
    Field(
        "period",
        "For the period",
        max_length=60,
        help="2021, 2021-Q1, 2021-03, a date, or the provider's financial year: 2022-23.",
    ),
    Field("period_text", "Period as written", max_length=TEXT_AS_WRITTEN_MAX),
    Field("provider_id", "From (provider)", "select", choices_key="actors"),
    Field("receiver_id", "To (receiver)", "select", choices_key="actors"),
    Field(
        "stated_equivalent",
        "Stated equivalent amount",
        max_length=100,
        help="Only when the source gives one: “(roughly £28.1 million)”.",
    ),
    Field(
        "stated_equivalent_currency",
        "Stated equivalent currency",
        "select",
        choices=currency_choices(),
    ),
    Field("stated_equivalent_text", "Stated equivalent as written", max_length=TEXT_AS_WRITTEN_MAX),
    Field("notes", "Notes", "textarea"),
]


def _money(
    state: FormState, amount_field: str, currency_field: str
) -> tuple[Decimal, str, int] | None:
    text = state.values.get(amount_field)
    if not text:
        return None
    try:
        amount, named = money.parse_amount(text)
    except money.MoneyError as exc:
        state.errors[amount_field] = str(exc)
        return None
    chosen = state.values.get(currency_field)
    if named and chosen and named != chosen:
        state.errors[currency_field] = (
            f"the amount says {named} but {chosen} is chosen; make them agree"
        )
        return None
    currency = named or chosen
    if not currency:
        state.errors[currency_field] = "choose the currency (or write it in the amount: €, £, EUR)"
        return None
    try:
        minor = money.to_minor_units(amount, currency)
    except money.MoneyError as exc:
        state.errors[amount_field] = str(exc)
        return None
    return amount, currency, minor


@dataclass(frozen=True)
class FlowReading:
    """What the form understood, shown to the editor before saving."""

    values: dict[str, Any]
    confirmation: str
    lines: list[str]


def flow_values(state: FormState, fiscal: int, locale: str) -> FlowReading | None:
    """A flow's columns and what to show back; `fiscal` is the provider's year-start month."""
    v = state.values
    main = _money(state, "amount", "currency")
    equivalent = _money(state, "stated_equivalent", "stated_equivalent_currency")
    period = _period(state, "period", fiscal)
    if not state.ok or main is None:
        return None
    amount, currency, minor = main
    values: dict[str, Any] = {
        "stage": v["stage"],
        "amount_minor": minor,
        "currency": currency,
        "amount_text": v.get("amount_text") or v.get("amount"),
        "qualifier": v["qualifier"],
        "value_on": v.get("value_on"),
        "period_text": v.get("period_text"),
        "period_start_on": period.start if period else None,
        "period_end_on": period.end if period else None,
        "period_precision": period.precision.value if period else None,
        "period_fiscal_start_month": period.fiscal_start_month
        if period and period.precision is periods.Precision.FISCAL_YEAR
        else None,
        "provider_id": v.get("provider_id"),
        "receiver_id": v.get("receiver_id"),
        "stated_equivalent_minor": equivalent[2] if equivalent else None,
        "stated_equivalent_currency": equivalent[1] if equivalent else None,
        "stated_equivalent_text": v.get("stated_equivalent_text") if equivalent else None,
        "notes": v.get("notes"),
    }
    lines = [
        f"Amount: {money.format_money(amount, currency, style='exact', locale=locale)} "
        f"({money.format_money(amount, currency, locale=locale)}) — {currency} "
        f"{money.from_minor_units(minor, currency)} exactly"
    ]
    confirmation = f"{currency}:{minor}"
    if equivalent:
        e_amount, e_currency, e_minor = equivalent
        lines.append(
            "Stated equivalent: "
            f"{money.format_money(e_amount, e_currency, style='exact', locale=locale)} "
            f"({money.format_money(e_amount, e_currency, locale=locale)})"
        )
        confirmation += f";{e_currency}:{e_minor}"
    if period:
        lines.append(f"Period: {period.label} ({period.precision.value.replace('_', ' ')})")
        confirmation += f";{period.label}"
    return FlowReading(values, confirmation, lines)


def flow_typed(flow: MoneyFlow) -> Raw:
    raw = _typed(
        flow,
        [
            "stage",
            "currency",
            "amount_text",
            "qualifier",
            "value_on",
            "period_text",
            "provider_id",
            "receiver_id",
            "stated_equivalent_currency",
            "stated_equivalent_text",
            "notes",
        ],
    )
    raw["amount"] = [str(flow.amount)]
    raw["stated_equivalent"] = [
        str(flow.stated_equivalent) if flow.stated_equivalent is not None else ""
    ]
    raw["period"] = [
        period_label(
            flow.period_start_on,
            flow.period_end_on,
            flow.period_precision,
            flow.period_fiscal_start_month or 1,
        )
    ]
    return raw


# --------------------------------------------------------------- citations

CITATION_FIELDS = [
    Field("quote", "Quote (pasted verbatim)", "textarea", required=True),
    Field("locator", "Where in the source", max_length=100, help="para 8, p. 12"),
    Field(
        "source_id",
        "Source",
        "select",
        choices_key="sources",
        help="Pick one, or describe a new source below.",
    ),
    Field("new_source_title", "New source: title", max_length=TITLE_MAX),
    Field("new_source_publisher", "New source: publisher", max_length=NAME_MAX),
    Field("new_source_kind", "New source: kind", "select", choices=vocab_choices(SourceKind)),
    Field("new_source_published_on", "New source: published on", "date"),
    Field("new_source_url", "New source: web address", "url", max_length=URL_MAX),
]


CITATION_EDIT_FIELDS = [
    Field("quote", "Quote (pasted verbatim)", "textarea", required=True),
    Field("locator", "Where in the source", max_length=100, help="para 8, p. 12"),
    Field("source_id", "Source", "select", required=True, choices_key="sources"),
]


def citation_typed(citation: Any) -> Raw:
    return _typed(citation, ["quote", "locator", "source_id"])


def check_citation_source(state: FormState) -> None:
    v = state.values
    if v.get("source_id") and v.get("new_source_title"):
        state.errors["source_id"] = "pick a source or describe a new one, not both"
    elif not v.get("source_id") and not v.get("new_source_title"):
        state.errors["source_id"] = "pick a source, or give a new source's title"
    elif v.get("new_source_title") and not v.get("new_source_kind"):
        state.errors["new_source_kind"] = "say what kind of document the new source is"


# ----------------------------------------------------------------- reviews

REVIEW_FIELDS = [
    Field("reviewed_on", "Reviewed on", "date", required=True),
    Field(
        "status_found",
        "Status found",
        "select",
        required=True,
        choices=vocab_choices(DeliveryStatus),
        blank=False,
    ),
    Field("progress_percent", "Progress (%)", "int"),
    Field("rationale", "Rationale", "textarea"),
    Field("next_review_on", "Next review on", "date"),
    Field("reviewer_name", "Outside reviewer (if not you)", max_length=NAME_MAX),
    Field("evidence_source_id", "Evidence: source", "select", choices_key="sources"),
    Field("evidence_quote", "Evidence: quote", "textarea"),
    Field("evidence_locator", "Evidence: where in the source", max_length=100),
]

# -------------------------------------------------------------- indicators

INDICATOR_FIELDS = [
    Field("name", "Name", required=True, max_length=TITLE_MAX),
    Field("unit", "Unit", required=True, max_length=50, help="%, people, crossings"),
    Field("description", "Description", "textarea"),
    Field(
        "commitment_ids",
        "Tied to commitment numbers",
        max_length=500,
        help="Separated by commas: 3, 4",
    ),
]


def id_list(state: FormState, name: str) -> list[int]:
    text = state.values.get(name) or ""
    ids = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or int(part) > MAX_ID:
            state.errors[name] = "record numbers separated by commas, like 3, 4"
            return []
        ids.append(int(part))
    return ids


def indicator_typed(indicator: Indicator, commitment_ids: list[int]) -> Raw:
    raw = _typed(indicator, ["name", "unit", "description"])
    raw["commitment_ids"] = [", ".join(str(i) for i in commitment_ids)]
    return raw


OBSERVATION_FIELDS = [
    Field("value", "Value", "decimal", required=True),
    Field(
        "qualifier",
        "Qualifier",
        "select",
        required=True,
        choices=vocab_choices(AmountQualifier),
        blank=False,
    ),
    Field("value_text", "Value as written", max_length=TEXT_AS_WRITTEN_MAX, help="“around 140”"),
    Field("unit", "Unit (if not the indicator's)", max_length=50),
    Field(
        "period",
        "Period covered",
        required=True,
        max_length=60,
        help="2019, 2020-07/.., a range 2020-07-01/2020-11-28",
    ),
    Field("period_text", "Period as written", max_length=TEXT_AS_WRITTEN_MAX),
    Field("source_id", "Source of the figure", "select", choices_key="sources"),
    Field("quote", "Quote", "textarea"),
    Field("locator", "Where in the source", max_length=100),
]


def observation_values(state: FormState) -> dict[str, Any]:
    v = state.values
    period = _period(state, "period")
    value = v.get("value")
    if v.get("quote") and not v.get("source_id"):
        state.errors["source_id"] = "a quote needs its source"
    elif v.get("source_id") and not v.get("quote"):
        # A source is recorded through a quote of it; without one it would be dropped.
        state.errors["quote"] = "quote the words from the source, or leave the source empty"
    return {
        "value": value,
        "qualifier": v.get("qualifier"),
        "value_text": v.get("value_text"),
        "unit": v.get("unit"),
        "period_text": v.get("period_text"),
        "period_start_on": period.start if period else None,
        "period_end_on": period.end if period else None,
        "period_precision": period.precision.value if period else None,
    }


def observation_typed(o: Observation) -> Raw:
    raw = _typed(o, ["qualifier", "value_text", "unit", "period_text"])
    raw["value"] = [str(o.value)]
    raw["period"] = [period_label(o.period_start_on, o.period_end_on, o.period_precision)]
    return raw


# ---------------------------------------------------------- exchange rates

RATE_FIELDS = [
    Field("rate_on", "Date", "date", required=True),
    Field("base_currency", "One unit of", "select", required=True, choices=currency_choices()),
    Field(
        "quote_currency", "Buys this many of", "select", required=True, choices=currency_choices()
    ),
    Field("rate", "Rate", "decimal", required=True, help="e.g. 0.8563"),
    Field(
        "source_name",
        "Rate table",
        required=True,
        max_length=NAME_MAX,
        help="e.g. ECB euro foreign exchange reference rates",
    ),
    Field("source_url", "Rate table web address", "url", max_length=URL_MAX),
]


def rate_values(state: FormState) -> dict[str, Any]:
    return dict(state.values)


def rate_typed(rate: ExchangeRate) -> Raw:
    raw = _typed(rate, ["rate_on", "base_currency", "quote_currency", "source_name", "source_url"])
    raw["rate"] = [str(rate.rate.normalize())]
    return raw


# ---------------------------------------------------------------- helpers


def _typed(entity: Any, names: list[str]) -> Raw:
    raw: Raw = {}
    for name in names:
        value = getattr(entity, name)
        if value is None:
            raw[name] = [""]
        elif isinstance(value, dt.date):
            raw[name] = [value.isoformat()]
        else:
            raw[name] = [str(value)]
    return raw


def empty(fields: list[Field], defaults: Mapping[str, str] | None = None) -> FormState:
    typed: Raw = {f.name: [] for f in fields}
    for key, value in (defaults or {}).items():
        typed[key] = [value]
    return FormState(fields=fields, typed=typed)


def from_typed(fields: list[Field], raw: Raw) -> FormState:
    return FormState(fields=fields, typed=raw)


Lookup = Callable[[], list[tuple[int, str]]]
