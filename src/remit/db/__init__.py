"""The database layer: portable column types, the tables of every part, engines per dialect, migrations."""

from remit.db.engine import Database, is_unavailable_error
from remit.db.tables import metadata

__all__ = ["Database", "is_unavailable_error", "metadata"]
