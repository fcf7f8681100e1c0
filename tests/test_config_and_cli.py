"""Configuration and the `pledges` command: clear one-line answers, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import ConfigError, Environment, load_settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite data directory for the command line (never the test database)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PLEDGES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLEDGES_ENV", "development")
    return tmp_path


def test_default_database_is_sqlite_in_the_data_directory(cli_env: Path) -> None:
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{cli_env.resolve() / 'pledges.db'}"
    assert settings.pledges_env is Environment.development


def test_production_refuses_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEDGES_ENV", "production")
    monkeypatch.setenv("PLEDGES_SECRET_KEY", "change-me")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "\n" not in str(error.value)
    assert "PLEDGES_SECRET_KEY is a placeholder" in str(error.value)


def test_unknown_setting_value_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEDGES_ENV", "prod")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("configuration error: PLEDGES_ENV:")
    assert "'development', 'production' or 'test'" in message
    assert "\n" not in message


def test_cli_reports_bad_configuration_without_traceback(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLEDGES_LOCALE", "xx_NOWHERE")
    result = runner.invoke(cli, ["db", "check"])
    assert result.exit_code == 2
    assert "configuration error: PLEDGES_LOCALE: unknown locale 'xx_NOWHERE'" in result.output
    assert "Traceback" not in result.output


def test_unreachable_database_is_one_clear_line(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = runner.invoke(cli, ["db", "current"])
    assert result.exit_code == 1
    assert "cannot use the database at postgresql+psycopg://nobody@127.0.0.1:1/none" in (
        result.output
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["db", "check"],
        ["db", "current"],
        ["demo"],
        ["demo", "load"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_unknown_option_exits_non_zero_with_usage(cli_env: Path) -> None:
    result = runner.invoke(cli, ["serve", "--bogus"])
    assert result.exit_code == 2
    assert "Usage:" in result.output
    assert "No such option: --bogus" in result.output


def test_bad_argument_exits_non_zero(cli_env: Path) -> None:
    result = runner.invoke(cli, ["serve", "--port", "99999"])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output


def test_db_check_before_and_after_upgrade(cli_env: Path) -> None:
    before = runner.invoke(cli, ["db", "check"])
    assert before.exit_code == 1
    assert "run `pledges db upgrade`" in before.output
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    after = runner.invoke(cli, ["db", "check"])
    assert after.exit_code == 0, after.output
    assert "ok: database reachable" in after.output
    assert (cli_env / "pledges.db").exists()


def test_demo_load_is_idempotent(cli_env: Path) -> None:
    first = runner.invoke(cli, ["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "loaded the demo statement: 11 commitments, 3 indicators, 3 actors" in first.output
    second = runner.invoke(cli, ["demo", "load"])
    assert second.exit_code == 0
    assert "already loaded" in second.output


def test_downgrade_needs_confirmation(cli_env: Path) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    refused = runner.invoke(cli, ["db", "downgrade", "base"])
    assert refused.exit_code == 2
    assert "--yes" in refused.output
    done = runner.invoke(cli, ["db", "downgrade", "base", "--yes"])
    assert done.exit_code == 0
    assert "base (empty)" in done.output


def test_token_create_list_revoke(cli_env: Path) -> None:
    from sqlalchemy.orm import Session

    from app import db
    from app.config import load_settings
    from app.models import Account

    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = db.engine_for(load_settings())
    with Session(engine) as session, session.begin():
        session.add(Account(email="ed@example.org", password_hash="x", role="editor"))
    engine.dispose()

    created = runner.invoke(cli, ["token", "create", "ed@example.org", "--name", "nightly"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[0]
    assert secret.startswith("pt_")
    listed = runner.invoke(cli, ["token", "list", "ed@example.org"])
    assert "nightly\tread\tactive" in listed.output
    assert secret not in listed.output
    assert runner.invoke(cli, ["token", "revoke", "ed@example.org", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["token", "list", "ed@example.org"]).output
    unknown = runner.invoke(cli, ["token", "list", "nobody@example.org"])
    assert unknown.exit_code == 1
    assert "there is no account 'nobody@example.org'" in unknown.output
