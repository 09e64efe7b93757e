"""The job engine: durable jobs in the same SQL database as the billing data.

Modules: ``states`` (the state machine), ``retry`` (pure backoff), ``definition`` (the ``@job`` decorator and
registry), ``enqueue`` (insert in the caller's transaction), ``store`` (every guarded SQL statement),
``worker`` (claim, run, complete in batches), ``leader``/``cron``/``maintenance`` (leader-only periodic work).
"""
