"""The operator's controls: the emergency stop, the health report, the ops webhook, and the flags' gauges.

Modules: ``stop`` (``remit stop``/``start``: every queue paused and webhooks held, undone in one command),
``health`` (the checks behind ``GET /health`` and their cache), ``forward`` (ops events POSTed, signed, to
``REMIT_OPS_WEBHOOK_URL`` through jobs on ``remit_ops``), ``recent`` (the newest ops events in the database,
for the admin overview), ``gauges`` (``remit_flag_enabled``,
``remit_emergency_stop``). The flags themselves live below the parts, in :mod:`remit.flags`, since ingest and
dispatch obey them.

Importing this package registers nothing: :data:`PART` declares the ops webhook's delivery job and the flags'
collector, and :mod:`remit.parts` composes it.
"""

from remit.control.forward import deliver_ops_event, install_forwarder
from remit.control.gauges import flag_gauges
from remit.control.recent import install_recorder
from remit.part import Part

PART = Part(name="control", jobs=(deliver_ops_event,), collectors=(flag_gauges,))

__all__ = ["PART", "deliver_ops_event", "flag_gauges", "install_forwarder", "install_recorder"]
