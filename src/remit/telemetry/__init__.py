"""Telemetry: the ops event catalog and :func:`emit`, Prometheus metrics and their scrape-time collectors, and log
redaction."""
