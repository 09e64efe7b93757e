"""The names of the series remit exports, and the ``remit_*`` series a PromQL expression reads."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

_SERIES = re.compile(r"\bremit_[a-z0-9_]+\b")
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}


def exported_series(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry exports, whether or not a labelled metric has a child yet: a counter
    ``x`` exports ``x_total``, a histogram ``x_bucket``, ``x_count`` and ``x_sum``, a gauge ``x``."""
    import remit.api.metrics  # noqa: F401 - registers the HTTP histogram, as the app does

    names: set[str] = set()
    for family in registry.collect():
        suffixes = _SUFFIXES.get(family.type)
        names.update(family.name + suffix for suffix in suffixes) if suffixes else names.add(family.name)
    return names


def series_in(expression: str) -> set[str]:
    """The ``remit_*`` series a PromQL expression names."""
    return set(_SERIES.findall(expression))


__all__ = ["exported_series", "series_in"]
