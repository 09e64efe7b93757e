"""A route of the fake: HTTP method and path, the SDK's method name, the declared parameters, the operation that
answers it and the events it can emit."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from remit.processor.fake.params import Params
from remit.processor.fake.schema import Schema, schema
from remit.processor.fake.tx import Tx

Operation = Callable[..., Awaitable[dict[str, Any]]]

_ID = r"([^/]+)"


@dataclass(frozen=True, slots=True)
class Route:
    http_method: str
    path: str
    name: str
    operation: Operation
    params: Schema
    emits: tuple[str, ...]
    pattern: re.Pattern[str]

    @property
    def mutating(self) -> bool:
        return self.http_method in {"POST", "DELETE"}

    @property
    def summary(self) -> str:
        """The first sentence of the operation's docstring (what the route does, for the reference)."""
        doc = (self.operation.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    path_args: tuple[str, ...]

    async def run(self, tx: Tx, params: Params) -> dict[str, Any]:
        return await self.route.operation(tx, params, *self.path_args)


def route(
    http_method: str,
    path: str,
    name: str,
    operation: Operation,
    params: Schema | None = None,
    emits: tuple[str, ...] = (),
) -> Route:
    regex = "^" + re.sub(r"\{[a-z_]+\}", _ID, path) + "$"
    return Route(http_method, path, name, operation, params or schema(), emits, re.compile(regex))


# Shared parts of the declarations -----------------------------------------------------------------------------


__all__ = ["Match", "Operation", "Route", "route"]
