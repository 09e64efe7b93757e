"""Every state machine remit declares, walked: each listed transition accepted, every other pair refused,
every dead end declared terminal, a terminal state reachable from every state; and the guarded update."""

from __future__ import annotations

import itertools
from collections import deque
from enum import StrEnum
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from remit.parts import state_machines
from remit.statemachine import InvalidTransition, StateMachine

MACHINES = state_machines()


def test_remit_declares_every_state_machine_in_parts_order() -> None:
    assert [machine.name for machine in MACHINES] == [
        "job",
        "webhook_event",
        "mail",
        "provisioning_job",
        "account",
        "dunning_case",
        "meter_event",
        "billing_action",
    ]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_pair_follows_the_table(machine: StateMachine[Any]) -> None:
    for source, target in itertools.product(machine.states, machine.states):
        if target in machine.transitions[source]:
            assert machine.can(source, target)
            machine.check(source, target)
            assert source in machine.sources_of(target)
        else:
            assert not machine.can(source, target)
            with pytest.raises(Exception, match=f"cannot move from {source} to {target}") as refused:
                machine.check(source, target)
            assert not isinstance(refused.value, AssertionError)
            assert source not in machine.sources_of(target)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_dead_ends_are_declared_terminal_and_every_state_can_end(machine: StateMachine[Any]) -> None:
    assert machine.dead_ends() <= machine.terminal
    assert machine.terminal, "a machine with no terminal state never finishes"
    for start in machine.states:
        seen, todo = {start}, deque([start])
        while todo:
            for nxt in machine.transitions[todo.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen & machine.terminal, f"{machine.name}: nothing terminal is reachable from {start}"


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    OFF = "off"


LIGHT = StateMachine(
    "traffic_light", Light, {Light.RED: {Light.GREEN, Light.OFF}, Light.GREEN: {Light.RED}, Light.OFF: ()}
)
lights = sa.Table("lights", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("state", sa.Text))


def test_a_table_must_cover_every_state() -> None:
    with pytest.raises(ValueError, match="no row for"):
        StateMachine("broken", Light, {Light.RED: {Light.GREEN}})


def test_the_default_error_names_the_machine() -> None:
    with pytest.raises(InvalidTransition, match="a traffic light cannot move from off to green"):
        LIGHT.check(Light.OFF, Light.GREEN)


def test_the_guarded_update_matches_exactly_the_allowed_sources() -> None:
    stmt = LIGHT.update(lights, Light.RED, lights.c.id == 7)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert "SET state='red'" in sql
    assert "lights.id = 7 AND lights.state IN ('green')" in sql
    narrowed = LIGHT.update(lights, Light.OFF, lights.c.id == 7, only_from=[Light.RED])
    assert "IN ('red')" in str(narrowed.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with pytest.raises(InvalidTransition):
        LIGHT.update(lights, Light.OFF, lights.c.id == 7, only_from=[Light.GREEN])
