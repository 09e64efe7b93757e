"""Telemetry: the ops event catalog and :func:`emit`, Prometheus metrics, and log redaction."""
