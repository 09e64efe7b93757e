"""What ``remit worker`` serves on ``/metrics``: the registry without its gauges; and where it serves it."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from remit.cli.jobs import metrics_address
from remit.config import Settings, load_settings
from remit.errors import ConfigurationError
from remit.telemetry.exposition import ProcessMetrics


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("remit_probe_runs_total", "runs", ["queue"], registry=registry).labels(queue="q").inc(3)
    Histogram("remit_probe_run_seconds", "run time", registry=registry).observe(0.2)
    Gauge("remit_probe_depth", "read from the database", registry=registry).set(7)
    return registry


def test_a_worker_serves_its_counters_and_histograms_and_no_gauge(registry: CollectorRegistry) -> None:
    served = generate_latest(ProcessMetrics(registry)).decode()
    assert 'remit_probe_runs_total{queue="q"} 3.0' in served
    assert "remit_probe_run_seconds_count 1.0" in served
    assert "remit_probe_depth" not in served
    assert "remit_probe_depth 7.0" in generate_latest(registry).decode()  # what serve exports keeps it


def test_prometheus_name_filter_works_on_the_view(registry: CollectorRegistry) -> None:
    only = generate_latest(ProcessMetrics(registry).restricted_registry(["remit_probe_runs_total"])).decode()
    assert "remit_probe_runs_total" in only
    assert "remit_probe_run_seconds" not in only


def test_the_options_win_over_the_settings_and_no_port_serves_nothing() -> None:
    configured = Settings.model_validate({"REMIT_WORKER_METRICS_PORT": "9101", "REMIT_WORKER_METRICS_HOST": "0.0.0.0"})
    assert metrics_address(configured, None, None) == ("0.0.0.0", 9101)
    assert metrics_address(configured, "127.0.0.1", 9200) == ("127.0.0.1", 9200)
    assert metrics_address(Settings.model_validate({}), None, None) is None
    assert metrics_address(Settings.model_validate({}), None, 0) == ("127.0.0.1", 0)
    assert load_settings({"REMIT_WORKER_METRICS_PORT": ""}).worker_metrics_port is None


def test_a_port_out_of_range_is_a_configuration_problem_naming_the_variable_only() -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"REMIT_WORKER_METRICS_PORT": "70000"})
    assert "REMIT_WORKER_METRICS_PORT" in str(refused.value)
    assert "70000" not in str(refused.value)
