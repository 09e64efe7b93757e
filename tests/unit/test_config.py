"""load_settings: defaults, every problem named at once, values never echoed, REMIT_QUEUES parsing."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from remit.cli import app
from remit.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_QUEUES,
    FAKE_WEBHOOK_SECRET,
    load_settings,
    parse_queues,
    service_token_problem,
)
from remit.errors import ConfigurationError

PLANTED_KEY = "sk_live_51PlantedSecretDoNotPrint"
PLANTED_PASSWORD = "Pl4ntedPassw0rd"


def _problems(environ: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ)
    return caught.value


def test_defaults_run_on_sqlite_with_the_fake_processor() -> None:
    settings = load_settings({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite:///./")
    assert settings.processor == "fake"
    assert settings.webhook_secrets  # the fake processor signs with a development secret
    assert set(settings.queues) == set(DEFAULT_QUEUES)


def test_stripe_mode_without_key_and_secret_names_both_in_one_error() -> None:
    error = _problems({"REMIT_PROCESSOR": "stripe"})
    text = str(error)
    assert "STRIPE_API_KEY" in text
    assert "STRIPE_WEBHOOK_SECRET" in text
    assert len(error.problems) == 2


def test_stripe_mode_with_both_is_valid_and_secrets_split_on_commas() -> None:
    settings = load_settings(
        {
            "REMIT_PROCESSOR": "stripe",
            "STRIPE_API_KEY": "sk_test_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_b",
        }
    )
    assert settings.webhook_secrets == ["whsec_a", "whsec_b"]


def test_every_problem_is_named_at_once_and_no_value_is_echoed() -> None:
    environ = {
        "REMIT_PROCESSOR": "stripe",
        "STRIPE_WEBHOOK_SECRET": "",
        "REMIT_QUEUES": f"remit_webhooks={PLANTED_KEY}:lots",
        "DATABASE_URL": f"mysql://remit:{PLANTED_PASSWORD}@db.internal/remit",
        "REMIT_JOB_BATCH_SIZE": PLANTED_KEY,
        "REMIT_LOG_LEVEL": PLANTED_KEY,
        "REMIT_WEBHOOK_TOLERANCE": "-5",
    }
    error = _problems(environ)
    text = str(error) + "\n" + "\n".join(error.problems)
    for variable in [
        "REMIT_QUEUES",
        "DATABASE_URL",
        "REMIT_JOB_BATCH_SIZE",
        "REMIT_LOG_LEVEL",
        "REMIT_WEBHOOK_TOLERANCE",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
    ]:
        assert variable in text, variable
    assert PLANTED_KEY not in text
    assert "Pl4nted" not in text
    assert "mysql://" not in text
    assert "db.internal" not in text


#: What a production deployment sets: the live processor and one strong service token.
STRONG_TOKEN = "9f1c2a7be4d08356aa1ec2f9b7d3e6045c8b1f2e"
PRODUCTION = {
    "REMIT_ENV": "production",
    "REMIT_PROCESSOR": "stripe",
    "STRIPE_API_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_live",
    "REMIT_SERVICE_TOKENS": STRONG_TOKEN,
}


def production(**changes: str | None) -> dict[str, str]:
    environ = {**PRODUCTION, **changes}
    return {name: value for name, value in environ.items() if value is not None}


def test_production_requires_service_tokens() -> None:
    error = _problems(production(REMIT_SERVICE_TOKENS=None))
    assert error.problems == ["REMIT_SERVICE_TOKENS is required when REMIT_ENV=production"]
    other = "Zq8vN2xK7pL4mR9tW1yB6cF3hJ5dS0gA"
    assert load_settings(production(REMIT_SERVICE_TOKENS=f"{STRONG_TOKEN},{other}")).service_tokens == [
        STRONG_TOKEN,
        other,
    ]


@pytest.mark.parametrize("processor", [None, "fake"])
def test_production_refuses_the_fake_processor(processor: str | None) -> None:
    """Unset, REMIT_PROCESSOR means the fake, whose webhook secret is public: production must not start on it."""
    environ = production(REMIT_PROCESSOR=processor, STRIPE_API_KEY=None, STRIPE_WEBHOOK_SECRET=None)
    error = _problems(environ)
    assert len(error.problems) == 1
    assert error.problems[0].startswith("REMIT_PROCESSOR must be stripe when REMIT_ENV=production")
    assert load_settings({**environ, "REMIT_ENV": "development"}).processor == "fake"


def test_production_refuses_the_public_development_webhook_secret() -> None:
    error = _problems(production(STRIPE_WEBHOOK_SECRET=f"whsec_live,{FAKE_WEBHOOK_SECRET}"))
    assert error.problems == ["STRIPE_WEBHOOK_SECRET holds the fake processor's public development secret"]
    assert FAKE_WEBHOOK_SECRET not in str(error)


@pytest.mark.parametrize(
    ("token", "weakness"),
    [
        ("x", "is shorter than 32 characters"),
        ("k" * 31, "is shorter than 32 characters"),
        ("a" * 64, "has fewer than 10 distinct characters"),
        ("changeme-changeme-changeme-changeme", "has fewer than 10 distinct characters"),
        ("abcdefghijklmnopqrstuvwxyz0123456789"[:32], None),  # the run breaks at z → 0
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`", "is a run of consecutive characters"),
        ("zyxwvutsrqponmlkjihgfedcbaZYXWVU", None),
        (STRONG_TOKEN, None),
    ],
)
def test_service_token_strength(token: str, weakness: str | None) -> None:
    assert service_token_problem(token) == weakness


def test_a_weak_service_token_is_refused_in_production_by_position_never_by_value() -> None:
    error = _problems(production(REMIT_SERVICE_TOKENS=f"{STRONG_TOKEN},s3cr3t"))
    assert error.problems == ["REMIT_SERVICE_TOKENS: token 2 is shorter than 32 characters (required in production)"]
    assert "s3cr3t" not in str(error)
    assert load_settings({"REMIT_SERVICE_TOKENS": "s3cr3t"}).service_tokens == ["s3cr3t"]  # development: any


def test_a_weak_cron_secret_is_refused_in_production_by_position_never_by_value() -> None:
    error = _problems(production(CRON_SECRET=f"{STRONG_TOKEN},hunter2"))
    assert error.problems == ["CRON_SECRET: secret 2 is shorter than 32 characters (required in production)"]
    assert "hunter2" not in str(error)
    assert load_settings({"CRON_SECRET": "a,b"}).cron_secrets == ["a", "b"]


def test_guard_settings_are_validated_without_echoing_values() -> None:
    error = _problems(
        {
            "REMIT_ORIGIN_ALLOW": "10.0.0.0/8,not-a-net-secretish",
            "REMIT_ORIGIN_EXEMPT": "health",
            "REMIT_ORIGIN_HEADER": "X Bad",
        }
    )
    text = str(error)
    assert "REMIT_ORIGIN_ALLOW: " in text
    assert "item 2" in text
    assert "not-a-net-secretish" not in text
    assert "REMIT_ORIGIN_EXEMPT" in text
    assert "REMIT_ORIGIN_HEADER" in text
    assert _problems({"REMIT_API_RATE_WINDOW_SECONDS": "0"}).problems[0].startswith("REMIT_API_RATE_WINDOW_SECONDS")


def test_production_names_every_problem_in_one_message() -> None:
    error = _problems(production(REMIT_PROCESSOR=None, REMIT_SERVICE_TOKENS="x"))
    assert [problem.split(" ")[0] for problem in error.problems] == ["REMIT_PROCESSOR", "REMIT_SERVICE_TOKENS:"]


def test_api_docs_are_off_in_production_unless_enabled() -> None:
    assert load_settings({}).serves_api_docs
    assert not load_settings({"REMIT_API_DOCS": "off"}).serves_api_docs
    assert not load_settings(production()).serves_api_docs
    assert load_settings(production(REMIT_API_DOCS="on")).serves_api_docs


def test_the_given_mapping_is_the_only_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIT_PROCESSOR", "stripe")
    monkeypatch.setenv("REMIT_URL", "http://from-the-shell")
    settings = load_settings({})
    assert settings.processor == "fake"
    assert settings.url == "http://127.0.0.1:8000"
    with pytest.raises(ConfigurationError):
        load_settings()  # the process environment, which now asks for stripe without its key


@pytest.mark.parametrize(
    "spec",
    [
        "remit_webhooks:0",
        "remit_webhooks:many",
        "bad name",
        "remit_webhooks=x,remit_mailers=x",
        "=named",
        "remit_webhooks=a name",
    ],
)
def test_invalid_remit_queues_is_a_configuration_problem(spec: str) -> None:
    error = _problems({"REMIT_QUEUES": spec})
    assert [problem.split(":")[0] for problem in error.problems] == ["REMIT_QUEUES"]


def test_remit_queues_renames_sets_concurrency_and_adds_host_queues() -> None:
    queues = parse_queues("remit_webhooks=billing_hooks:20, host_exports:3 ,remit_mailers:1")
    assert queues["remit_webhooks"].name == "billing_hooks"
    assert queues["remit_webhooks"].concurrency == 20
    assert queues["host_exports"].concurrency == 3
    assert queues["remit_mailers"].name == "remit_mailers"
    assert queues["remit_mailers"].concurrency == 1
    assert queues["remit_dunning"].concurrency == DEFAULT_QUEUES["remit_dunning"]


def test_the_cli_refuses_to_start_with_one_message_and_exit_code_2() -> None:
    result = CliRunner().invoke(
        app,
        ["up"],
        env={
            "REMIT_PROCESSOR": "stripe",
            "REMIT_QUEUES": f"{PLANTED_KEY}:x",
            "STRIPE_API_KEY": "",
            "STRIPE_WEBHOOK_SECRET": "",
        },
    )
    assert result.exit_code == 2
    output = result.output
    assert output.count("remit cannot start") == 1
    for variable in ["REMIT_QUEUES", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]:
        assert variable in output
    assert PLANTED_KEY not in output


def test_the_cli_refuses_production_on_the_fake_processor_with_exit_code_2() -> None:
    result = CliRunner().invoke(app, ["serve"], env={"REMIT_ENV": "production", "REMIT_SERVICE_TOKENS": "x"})
    assert result.exit_code == 2
    assert "REMIT_PROCESSOR must be stripe" in result.output
    assert "REMIT_SERVICE_TOKENS: token 1 is shorter" in result.output


# meters from the packages file ---------------------------------------------------------------------------


def test_the_packages_file_declares_meters_when_remit_meters_is_unset(tmp_path):
    packages = tmp_path / "packages.toml"
    packages.write_text(
        '[starter]\nprice = "price_1"\ntokens_quota = 100\n\n'
        '[meters.api_requests]\naggregation = "count"\n\n'
        '[meters.storage_gb]\nevent_name = "stripe_storage"\ndecimals = 3\n',
        encoding="utf-8",
    )
    settings = load_settings({"REMIT_PACKAGES": str(packages)})
    assert {(m.name, m.event_name, m.aggregation, m.decimals) for m in settings.meters.values()} == {
        ("api_requests", "api_requests", "count", 0),
        ("storage_gb", "stripe_storage", "sum", 3),
    }
    from remit.billing.packages import packages_for

    assert list(packages_for(settings)) == ["starter"]  # the meters table is not a package
    explicit = load_settings({"REMIT_PACKAGES": str(packages), "REMIT_METERS": "calls:sum"})
    assert list(explicit.meters) == ["calls"]  # REMIT_METERS, when set, wins
    assert list(load_settings({}).meters) == ["api_requests"]


@pytest.mark.parametrize(
    "meters",
    ['{"a": {"aggregation": "max"}}', '{"a": {"decimals": "3"}}', '{"a b": {}}', '{"a": {"colour": "red"}}', "[1]"],
)
def test_a_bad_meters_table_in_the_packages_file_stops_the_start(meters):
    with pytest.raises(ConfigurationError, match="REMIT_PACKAGES"):
        load_settings({"REMIT_PACKAGES": '{"meters": ' + meters + "}"})
