"""Finding promtool, which checks the alert rules and the dashboard's PromQL.

It comes from Debian's ``prometheus`` package (``./scripts/test`` installs it). Without it a test that needs it is
skipped, except under ``CI=true``, where a missing promtool fails the run instead of passing it quietly.
"""

from __future__ import annotations

import os
import shutil

import pytest


def promtool() -> str:
    """The path of ``promtool``; skips the calling test without it (fails it under ``CI=true``)."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("promtool is required under CI=true (Debian package prometheus)", pytrace=False)
        pytest.skip("promtool not installed (Debian package prometheus)")
    return found
