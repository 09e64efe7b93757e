"""The :class:`Processor` protocol: everything remit asks of a payment processor."""

from __future__ import annotations

from typing import Protocol


class Processor(Protocol):
    """A payment processor as remit uses it. ``name`` is ``fake`` or ``stripe``."""

    name: str
