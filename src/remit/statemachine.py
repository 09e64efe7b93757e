"""Explicit state machines: the states, the one table of allowed transitions, and guarded updates.

Every record remit moves through states (a job, a webhook event; tomorrow a provisioning job, a meter event,
a mail) declares one :class:`StateMachine` over a ``StrEnum``::

    EVENT_STATES = StateMachine("webhook_event", EventStatus, {HELD: {RECEIVED}, …}, terminal={PROCESSED, DEAD})

and never writes a state any other way than through it: :meth:`StateMachine.check` refuses a change the table
does not list, and :meth:`StateMachine.update` builds the UPDATE whose ``WHERE state IN (…)`` is exactly the
sources the table allows, so two processes racing for one row cannot both move it — the loser's UPDATE
matches nothing. Machines are declared as values (no registry filled at import); the parts list
(:mod:`remit.parts`) enumerates them, and one test walks every table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.errors import RemitError

S = TypeVar("S", bound=StrEnum)


class InvalidTransition(RemitError):
    """A state change the machine's table does not allow."""


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """States of type ``states``, the transitions allowed out of each, and which states are terminal.

    ``terminal`` states are where a record ends on its own; they may still list exits (an operator's retry or
    replay), and every state without an exit must be declared terminal — a dead end nobody chose is a bug the
    walking test reports. ``error`` is the exception :meth:`check` raises (a part's own error type, so callers
    keep catching what they caught before), built from one message.
    """

    name: str
    states: type[S]
    transitions: Mapping[S, Collection[S]]
    terminal: frozenset[S] = field(default_factory=frozenset)
    error: Callable[[str], Exception] = InvalidTransition

    def __post_init__(self) -> None:
        table = {
            self.states(source): frozenset(self.states(t) for t in targets)
            for source, targets in self.transitions.items()
        }
        missing = set(self.states) - set(table)
        if missing:
            raise ValueError(f"state machine {self.name!r} has no row for {sorted(missing)}")
        object.__setattr__(self, "transitions", table)
        object.__setattr__(self, "terminal", frozenset(self.states(s) for s in self.terminal))

    def targets(self, source: S) -> frozenset[S]:
        """Where ``source`` may go."""
        return frozenset(self.transitions[source])

    def can(self, source: S, target: S) -> bool:
        return target in self.transitions[source]

    def check(self, source: S, target: S) -> None:
        """Raise :attr:`error` (naming the machine and both states) for a change the table does not allow."""
        if not self.can(source, target):
            raise self.error(f"a {self.name.replace('_', ' ')} cannot move from {source} to {target}")

    def sources_of(self, target: S) -> frozenset[S]:
        """Every state from which ``target`` may be reached: the guard of an UPDATE to ``target``."""
        return frozenset(source for source, targets in self.transitions.items() if target in targets)

    def source_values(self, target: S, only_from: Iterable[S] | None = None) -> list[str]:
        """The stored values an UPDATE to ``target`` may match, in a stable order: the table's sources, or
        ``only_from`` — each of which must itself be an allowed source (checked)."""
        if only_from is None:
            return sorted(state.value for state in self.sources_of(target))
        chosen = list(only_from)
        for source in chosen:
            self.check(source, target)
        return sorted(state.value for state in chosen)

    def dead_ends(self) -> frozenset[S]:
        """States with no exit at all."""
        return frozenset(state for state, targets in self.transitions.items() if not targets)

    def update(
        self,
        table: sa.Table,
        target: S,
        *where: Any,
        only_from: Iterable[S] | None = None,
        column: str = "state",
        **values: Any,
    ) -> sa.Update:
        """``UPDATE table SET column = target, values… WHERE where… AND column IN (sources)``.

        The statement is returned unexecuted, so a caller can add ``RETURNING`` or run it among others in
        its own transaction; :meth:`move` runs it and counts the rows.
        """
        state_column = table.c[column]
        return (
            sa.update(table)
            .where(*where, state_column.in_(self.source_values(target, only_from)))
            .values({column: target.value, **values})
        )

    async def move(
        self,
        conn: AsyncConnection,
        table: sa.Table,
        target: S,
        *where: Any,
        only_from: Iterable[S] | None = None,
        column: str = "state",
        **values: Any,
    ) -> int:
        """Run :meth:`update` on ``conn``; how many rows moved (0: none was in a state that may move)."""
        result = await conn.execute(self.update(table, target, *where, only_from=only_from, column=column, **values))
        return int(result.rowcount)


__all__ = ["InvalidTransition", "StateMachine"]
