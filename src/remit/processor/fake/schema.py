"""What each call of the fake accepts, declared once per route and checked before anything runs.

Stripe refuses a parameter it does not know (400 ``parameter_unknown``, naming it — ``items[0][prise]``), a
required one that is missing (``parameter_missing``), an empty string for one that cannot be unset
(``parameter_invalid_empty``) and a value of the wrong type. A test double that took them would let a host's
tests pass where production fails, so every route of the fake declares its parameters with the builders
below, nested hashes and arrays included, and :func:`check` refuses exactly those requests, with Stripe's
words; :func:`conform` then hands the operation the values typed (integers, booleans), whichever face they
came through. ``expand`` is taken by every route (its paths are checked when expanding); ``metadata`` takes
any keys within Stripe's limits. Some parameters exist only in some API versions (``since`` / ``until``): in
another version they are unknown, as at Stripe. A parameter Stripe takes but the fake does not act on is
declared ``ignored=True`` (accepted, no effect); one it cannot honour and will not pretend to is declared
``unsupported=True`` (refused with a 400 that says so). Both are listed in ``docs/processors.md``. The module is
pure: no I/O, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from remit.processor.base import API_VERSION
from remit.processor.fake.errors import INVALID_REQUEST, ApiError
from remit.processor.fake.versions import KNOWN_VERSIONS

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_RANGE_KEYS = ("gt", "gte", "lt", "lte")


class Kind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"  # a number with a fraction (``percent_off=12.5``)
    BOOLEAN = "boolean"
    ENUM = "enum"
    HASH = "hash"
    ARRAY = "array"
    METADATA = "metadata"
    MAP = "map"  # a hash keyed by any name (a currency), each value an ``item`` (``currency_options[eur]``)
    RANGE = "range"  # an integer, or a hash of gt / gte / lt / lte (list filters such as ``created``)
    ANY = "any"  # a value whose inside the fake does not look at


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter. ``also`` lists extra literal strings an integer takes (``trial_end=now``);
    ``since`` / ``until`` bound the API versions that know it (see :mod:`~remit.processor.fake.versions`)."""

    kind: Kind
    required: bool = False
    emptyable: bool = False
    ignored: bool = False
    unsupported: bool = False
    fields: Mapping[str, Param] = field(default_factory=dict)
    item: Param | None = None
    choices: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None

    def known_in(self, version: str) -> bool:
        order = KNOWN_VERSIONS.index(version)
        return (self.since is None or KNOWN_VERSIONS.index(self.since) <= order) and (
            self.until is None or order < KNOWN_VERSIONS.index(self.until)
        )

    def between(self, since: str | None = None, until: str | None = None) -> Param:
        """This parameter, known only from ``since`` and before ``until``."""
        return replace(self, since=since, until=until)

    def refused(self) -> Param:
        """This parameter, declared as Stripe has it but refused: the fake does not implement it."""
        return replace(self, unsupported=True)


Schema = Mapping[str, Param]


def string(*, required: bool = False, emptyable: bool = False, ignored: bool = False) -> Param:
    return Param(Kind.STRING, required=required, emptyable=emptyable, ignored=ignored)


def integer(
    *, required: bool = False, emptyable: bool = False, ignored: bool = False, also: tuple[str, ...] = ()
) -> Param:
    return Param(Kind.INTEGER, required=required, emptyable=emptyable, ignored=ignored, also=also)


def decimal(*, required: bool = False, ignored: bool = False) -> Param:
    return Param(Kind.DECIMAL, required=required, ignored=ignored)


def boolean(*, required: bool = False, ignored: bool = False) -> Param:
    return Param(Kind.BOOLEAN, required=required, ignored=ignored)


def enum(*choices: str, required: bool = False, emptyable: bool = False, ignored: bool = False) -> Param:
    return Param(Kind.ENUM, required=required, emptyable=emptyable, ignored=ignored, choices=choices)


def hash_of(
    shared: Mapping[str, Param] | None = None,
    /,
    *,
    required: bool = False,
    emptyable: bool = False,
    ignored: bool = False,
    **fields: Param,
) -> Param:
    """A hash of the given fields (``shared`` first: fields several declarations have in common)."""
    return Param(
        Kind.HASH, required=required, emptyable=emptyable, ignored=ignored, fields={**(shared or {}), **fields}
    )


def array_of(item: Param, *, required: bool = False, emptyable: bool = False, ignored: bool = False) -> Param:
    return Param(Kind.ARRAY, required=required, emptyable=emptyable, ignored=ignored, item=item)


def map_of(item: Param, *, required: bool = False, ignored: bool = False) -> Param:
    """A hash whose keys are the caller's (currencies, not field names), each value checked as ``item``."""
    return Param(Kind.MAP, required=required, ignored=ignored, item=item)


def metadata() -> Param:
    return Param(Kind.METADATA, emptyable=True)


def range_filter(*, ignored: bool = False) -> Param:
    return Param(Kind.RANGE, ignored=ignored)


def anything(*, required: bool = False, emptyable: bool = False, ignored: bool = False) -> Param:
    return Param(Kind.ANY, required=required, emptyable=emptyable, ignored=ignored)


#: Every route takes ``expand``.
EXPAND: Schema = {"expand": array_of(string())}
#: The cursor parameters of every list.
LIST: Schema = {"limit": integer(), "starting_after": string(), "ending_before": string()}
#: The parameters of every search (``GET /v1/customers/search``…).
SEARCH: Schema = {"query": string(required=True), "limit": integer(), "page": string()}


def schema(*parts: Schema, **params: Param) -> dict[str, Param]:
    """A route's declaration: ``expand``, the given shared parts, then its own parameters."""
    merged: dict[str, Param] = dict(EXPAND)
    for part in parts:
        merged.update(part)
    merged.update(params)
    return merged


# checking ---------------------------------------------------------------------------------------------------


def unknown(name: str) -> ApiError:
    return ApiError(400, INVALID_REQUEST, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def missing(name: str) -> ApiError:
    return ApiError(400, INVALID_REQUEST, f"Missing required param: {name}.", code="parameter_missing", param=name)


def _invalid(message: str, name: str, code: str | None = None) -> ApiError:
    return ApiError(400, INVALID_REQUEST, message, code=code, param=name)


def _empty(name: str) -> ApiError:
    return _invalid(
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; "
        f"however '{name}' cannot be unset. You should remove '{name}' from your request or supply a non-empty "
        "value.",
        name,
        "parameter_invalid_empty",
    )


def _path(prefix: str, key: str | int) -> str:
    return str(key) if not prefix else f"{prefix}[{key}]"


def _one_of(choices: tuple[str, ...]) -> str:
    if len(choices) == 1:
        return choices[0]
    return ", ".join(choices[:-1]) + f", or {choices[-1]}"


def unsupported(name: str) -> ApiError:
    return _invalid(
        f"The fake processor does not implement the parameter {name} (Stripe takes it; the fake refuses it "
        "rather than ignore it).",
        name,
    )


def conform(declared: Schema, data: Mapping[str, Any], version: str = API_VERSION) -> dict[str, Any]:
    """``data`` checked against ``declared`` as ``version`` knows it, with integers and booleans typed.

    Raises Stripe's 400 for the first problem: unknown parameters first (anywhere in the tree), then missing
    and malformed ones, in declaration order."""
    _check_unknown(declared, data, "", version)
    _check_values(declared, data, "", version)
    conformed: dict[str, Any] = _coerce_hash(declared, data)
    return conformed


def check(declared: Schema, data: Mapping[str, Any], version: str = API_VERSION) -> None:
    """Raise Stripe's 400 for the first problem with ``data`` (see :func:`conform`)."""
    conform(declared, data, version)


def _present(value: Any) -> bool:
    return value is not None


def _as_items(value: Any) -> list[Any] | None:
    """An array as sent: a list (a form's ``a[0]=…&a[1]=…`` decodes to one)."""
    if isinstance(value, list | tuple):
        return list(value)
    return None


def _check_unknown(declared: Schema, data: Mapping[str, Any], prefix: str, version: str) -> None:
    for key, value in data.items():
        name = _path(prefix, key)
        param = declared.get(str(key))
        if param is None or not param.known_in(version):
            raise unknown(name)
        if param.kind is Kind.HASH and isinstance(value, Mapping):
            _check_unknown(param.fields, value, name, version)
        elif param.kind is Kind.ARRAY and param.item is not None and param.item.kind is Kind.HASH:
            for index, item in enumerate(_as_items(value) or []):
                if isinstance(item, Mapping):
                    _check_unknown(param.item.fields, item, _path(name, index), version)
        elif param.kind is Kind.MAP and param.item is not None and param.item.kind is Kind.HASH:
            for sub, item in value.items() if isinstance(value, Mapping) else ():
                if isinstance(item, Mapping):
                    _check_unknown(param.item.fields, item, _path(name, sub), version)
        elif param.kind is Kind.RANGE and isinstance(value, Mapping):
            for sub in value:
                if sub not in _RANGE_KEYS:
                    raise unknown(_path(name, sub))


def _check_values(declared: Schema, data: Mapping[str, Any], prefix: str, version: str) -> None:
    for key, param in declared.items():
        if not param.known_in(version):
            continue
        name = _path(prefix, key)
        value = data.get(key)
        if not _present(value):
            if param.required:
                raise missing(name)
            continue
        if param.unsupported:
            raise unsupported(name)
        _check_value(param, value, name, version)


def _check_value(param: Param, value: Any, name: str, version: str) -> None:
    if value == "" and param.kind is not Kind.STRING:
        if param.emptyable:
            return
        if param.required:
            raise missing(name)
        raise _empty(name)
    kind = param.kind
    if kind is Kind.STRING:
        if isinstance(value, Mapping | list | tuple):
            raise _invalid(f"Invalid string: {name}", name)
        if value == "" and not param.emptyable:
            if param.required:
                raise missing(name)
            raise _empty(name)
    elif kind is Kind.INTEGER:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and (_INTEGER.match(value) or value in param.also))
        ):
            raise _invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")
    elif kind is Kind.DECIMAL:
        if isinstance(value, bool) or not (isinstance(value, int | float) or _DECIMAL.match(str(value))):
            raise _invalid(f"Invalid decimal: {value}", name)
    elif kind is Kind.BOOLEAN:
        if not isinstance(value, bool) and str(value).lower() not in {"true", "false"}:
            raise _invalid(f"Invalid boolean: {value}", name)
    elif kind is Kind.ENUM:
        if isinstance(value, Mapping | list | tuple) or str(value) not in param.choices:
            raise _invalid(f"Invalid {name}: must be one of {_one_of(param.choices)}", name)
    elif kind is Kind.HASH:
        if not isinstance(value, Mapping):
            raise _invalid(f"Invalid hash: {name}", name)
        _check_values(param.fields, value, name, version)
    elif kind is Kind.ARRAY:
        items = _as_items(value)
        if items is None:
            raise _invalid(f"Invalid array: {name}", name)
        if param.item is not None:
            for index, item in enumerate(items):
                _check_value(param.item, item, _path(name, index), version)
    elif kind is Kind.MAP:
        if not isinstance(value, Mapping):
            raise _invalid(f"Invalid hash: {name}", name)
        if param.item is not None:
            for sub, item in value.items():
                _check_value(param.item, item, _path(name, sub), version)
    elif kind is Kind.METADATA:
        _check_metadata(value, name)
    elif kind is Kind.RANGE:
        if isinstance(value, Mapping):
            for sub, bound in value.items():
                _check_value(integer(), bound, _path(name, sub), version)
        else:
            _check_value(integer(), value, name, version)


def _coerce(param: Param, value: Any) -> Any:
    if value is None or value == "":
        return value
    if param.kind is Kind.INTEGER:
        return value if isinstance(value, int) or value in param.also else int(value)
    if param.kind is Kind.BOOLEAN:
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if param.kind is Kind.DECIMAL:
        return float(value)
    if param.kind is Kind.HASH and isinstance(value, Mapping):
        return _coerce_hash(param.fields, value)
    if param.kind is Kind.MAP and param.item is not None and isinstance(value, Mapping):
        return {key: _coerce(param.item, item) for key, item in value.items()}
    if param.kind is Kind.ARRAY and param.item is not None and isinstance(value, list | tuple):
        return [_coerce(param.item, item) for item in value]
    if param.kind is Kind.RANGE:
        if isinstance(value, Mapping):
            return {key: int(bound) for key, bound in value.items()}
        return int(value)
    return value


def _coerce_hash(declared: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _coerce(declared[key], value) if key in declared else value for key, value in data.items()}


def _check_metadata(value: Any, name: str) -> None:
    if not isinstance(value, Mapping):
        raise _invalid(f"Invalid hash: {name}", name)
    if len(value) > MAX_METADATA_KEYS:
        raise _invalid(f"Invalid {name}: metadata can have up to {MAX_METADATA_KEYS} keys", name)
    for key, item in value.items():
        if len(str(key)) > MAX_METADATA_KEY_LENGTH:
            raise _invalid(
                f"Metadata keys can have up to {MAX_METADATA_KEY_LENGTH} characters, but you passed in a key that "
                f"is {len(str(key))} characters long.",
                _path(name, key),
            )
        if isinstance(item, Mapping | list | tuple):
            raise _invalid(f"Invalid string: {_path(name, key)}", _path(name, key))
        if item is not None and len(str(item)) > MAX_METADATA_VALUE_LENGTH:
            raise _invalid(
                f"Metadata values can have up to {MAX_METADATA_VALUE_LENGTH} characters, but you passed in a value "
                f"that is {len(str(item))} characters long.",
                _path(name, key),
            )


__all__ = [
    "EXPAND",
    "LIST",
    "SEARCH",
    "Kind",
    "Param",
    "Schema",
    "anything",
    "array_of",
    "boolean",
    "check",
    "conform",
    "decimal",
    "enum",
    "hash_of",
    "integer",
    "map_of",
    "metadata",
    "missing",
    "range_filter",
    "schema",
    "string",
    "unknown",
    "unsupported",
]
