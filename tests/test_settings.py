"""The settings registry: one reader, one precedence rule, typed values, help and docs generated from it."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from smarter_obs import settings
from smarter_obs.cli import cli
from smarter_obs.cli._options import setting_option
from smarter_obs.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_blank_variables_count_as_unset_everywhere(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from smarter_obs.tracing._config import resolve_config

    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_DATABASE", raw)
    monkeypatch.setenv("OTEL_SERVICE_NAME", raw)
    assert settings.env("SMARTER_OBS_CLICKHOUSE_DATABASE") is None
    assert settings.CLICKHOUSE_DATABASE.get() == "otel"
    # the tracing bootstrap reads OTEL_* through the same reader
    assert resolve_config("from-argument").service_name == "from-argument"


def test_values_are_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_DATABASE", "  telemetry \n")
    assert settings.CLICKHOUSE_DATABASE.get() == "telemetry"


def test_argument_beats_own_variable_beats_fallback_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from smarter_obs.sinks.postgres import resolve_dsn

    monkeypatch.delenv("SMARTER_OBS_POSTGRES_DSN", raising=False)
    monkeypatch.setenv("SUPABASE_DB_URL", "postgresql://supabase@db.example.com/postgres")
    assert resolve_dsn(None) == "postgresql://supabase@db.example.com/postgres"
    monkeypatch.setenv("SMARTER_OBS_POSTGRES_DSN", "postgresql://own@db.example.com/postgres")
    assert resolve_dsn(None) == "postgresql://own@db.example.com/postgres"
    assert (
        resolve_dsn("postgresql://arg@db.example.com/postgres") == "postgresql://arg@db.example.com/postgres"
    )
    assert settings.POSTGRES_DSN.lookup() == (
        "SMARTER_OBS_POSTGRES_DSN",
        "postgresql://own@db.example.com/postgres",
    )


def test_bad_values_are_config_errors_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTER_OBS_TTL_DAYS", "a month")
    with pytest.raises(ConfigError, match=r"SMARTER_OBS_TTL_DAYS='a month' is not an integer") as info:
        settings.TTL_DAYS.get()
    assert info.value.setting == "SMARTER_OBS_TTL_DAYS"
    monkeypatch.setenv("SMARTER_OBS_TTL_DAYS", "-3")
    with pytest.raises(ConfigError, match="must be 0 or more"):
        settings.TTL_DAYS.get()
    monkeypatch.setenv("SMARTER_OBS_KAFKA_INTERVAL", "soon")
    with pytest.raises(ConfigError, match=r"SMARTER_OBS_KAFKA_INTERVAL='soon' is not a duration"):
        settings.KAFKA_INTERVAL.get()


def test_a_secret_value_never_appears_in_the_error() -> None:
    token = settings.Setting(("SMARTER_OBS_T",), settings.integer(), None, "A token.", secret=True)
    with pytest.raises(ConfigError) as info:
        token.get(environ={"SMARTER_OBS_T": "hunter2"})
    assert "hunter2" not in str(info.value) and "SMARTER_OBS_T" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        (settings.integer(minimum=1), "12", 12),
        (settings.number(minimum=0), "0.25", 0.25),
        (settings.boolean, "yes", True),
        (settings.boolean, "False", False),
        (settings.duration, "500ms", 0.5),
        (settings.words, "a  b c", ("a", "b", "c")),
        (settings.path, "/srv/x", Path("/srv/x")),
    ],
)
def test_types(kind: settings.Type, raw: str, value: object) -> None:
    assert kind.parse(raw) == value


def test_a_setting_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        settings.setting("SMARTER_OBS_HOME", help="again")
    with pytest.raises(ValueError, match="must start with SMARTER_OBS_"):
        settings.setting("GRAFANA_URL", help="own name first")


def test_setting_option_reads_every_variable_with_the_same_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    days = settings.Setting(("SMARTER_OBS_X_DAYS", "X_DAYS"), settings.integer(minimum=0), 7, "Days of x.")

    @click.command()
    @setting_option(days, "--days")
    def cmd(days: int | None) -> None:
        click.echo(f"days={days}")

    runner = CliRunner()
    assert runner.invoke(cmd, [], env={"SMARTER_OBS_X_DAYS": "  ", "X_DAYS": "3"}).output == "days=3\n"
    assert runner.invoke(cmd, ["--days", "5"], env={"X_DAYS": "3"}).output == "days=5\n"
    bad = runner.invoke(cmd, [], env={"SMARTER_OBS_X_DAYS": "-1"})
    assert bad.exit_code == 2 and "--days" in bad.output and "must be 0 or more" in bad.output
    help_text = runner.invoke(cmd, ["--help"]).output
    assert "Days of x." in help_text and "default: 7" in help_text
    assert "SMARTER_OBS_X_DAYS, X_DAYS" in help_text


def _options(path: list[str]):
    ctx = click.Context(cli)
    command: click.Command = cli
    for name in path:
        command = command.get_command(ctx, name)
    return command.params


def test_cli_envvars_and_help_come_from_the_registry() -> None:
    seen = set()
    for path in (["db", "migrate"], ["collect", "spans"], ["collect", "redpanda"], ["collect", "n8n"]):
        for param in _options(path):
            envvars = param.envvar if isinstance(param, click.Option) else None
            if not envvars:
                continue
            declared = settings.REGISTRY[envvars[0]]
            assert tuple(envvars) == declared.env_vars, (path, param.opts)
            assert ", ".join(declared.env_vars) in param.help, (path, param.opts)
            seen.add(declared.env)
    assert {"SMARTER_OBS_POSTGRES_DSN", "SMARTER_OBS_CLICKHOUSE_URL", "SMARTER_OBS_KAFKA_GROUPS"} <= seen


def test_kafka_properties_skip_own_settings_and_blank_values() -> None:
    from smarter_obs.collectors.redpanda_lag.config import kafka_properties

    environ = {
        "SMARTER_OBS_KAFKA_BOOTSTRAP": "localhost:9092",
        "SMARTER_OBS_KAFKA_INTERVAL": "15s",
        "SMARTER_OBS_KAFKA_SASL_MECHANISM": "  ",
        "SMARTER_OBS_KAFKA_SECURITY_PROTOCOL": " SASL_SSL ",
    }
    assert kafka_properties(environ=environ) == {"security.protocol": "SASL_SSL"}


def test_docs_list_every_setting() -> None:
    """docs/settings.md holds the generated table (regenerate: python -m smarter_obs.settings)."""
    assert settings.markdown_table() in DOCS.read_text()
