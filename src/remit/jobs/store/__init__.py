"""The job engine's SQL, one module per concern; :class:`remit.jobs.engine.Engine` is their only caller.

- :mod:`.enqueue` — inserting job rows (one statement for any number of rows; the blocking form; the
  ``INSERT … SELECT`` the webhook ingest statement embeds);
- :mod:`.runs` — claiming, completing, settling and releasing runs, progress;
- :mod:`.workers` — heartbeats and leadership;
- :mod:`.maintenance` — finding orphaned runs, pruning finished jobs;
- :mod:`.admin` — what operators read and do: counts, listings, retry, cancel, pause;
- :mod:`.periodic` — the scheduler's ticks and run records.

Every function takes the caller's connection (the engine decides the transaction) and guards each change by
the state — and for a run, the attempt — it expects, so a late or duplicate writer matches no row. Hot paths
(enqueue, claim, complete) are cached text statements or constructs built once: SQLAlchemy would otherwise
compile them afresh on every call.
"""
