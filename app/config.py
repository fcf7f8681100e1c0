"""Settings, read from the environment once, by whoever builds the app.

Nothing here runs at import time: `load_settings()` is called by the CLI and
by tests, and a bad value stops start-up with one line (see `ConfigError`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that mean "nobody set a secret"; refused in production.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})
DEFAULT_SECRET = "change-me"  # noqa: S105 -- the placeholder production refuses


class Environment(StrEnum):
    development = "development"
    production = "production"
    test = "test"


class ConfigError(Exception):
    """A configuration problem, told in one line."""


class Settings(BaseSettings):
    """Every setting of the app. Names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file in the data directory.",
    )
    pledges_env: Environment = Field(
        default=Environment.development,
        description="development, production or test. Production refuses placeholder secrets.",
    )
    pledges_data_dir: Path = Field(
        default=Path("data"),
        description="Where the default SQLite database and exports live.",
    )
    pledges_secret_key: str = Field(
        default=DEFAULT_SECRET,
        description="Signs session cookies and CSRF tokens. Must be set in production.",
    )
    pledges_locale: str = Field(
        default="en_GB", description="Locale for displaying money and dates (CLDR name)."
    )
    pledges_review_due_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="A review is 'due' this many days before its date; after it, 'overdue'.",
    )

    @field_validator("pledges_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(value)
        except (UnknownLocaleError, ValueError) as exc:
            raise ValueError(f"unknown locale {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if (
            self.pledges_env is Environment.production
            and self.pledges_secret_key.strip().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError(
                "PLEDGES_SECRET_KEY is a placeholder; set a long random secret in production"
            )
        if self.pledges_env is Environment.production and len(self.pledges_secret_key) < 32:
            raise ValueError("PLEDGES_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.pledges_data_dir / 'pledges.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raise ConfigError with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where != "settings" else message)
        raise ConfigError("configuration error: " + "; ".join(problems)) from None
