"""Request parameters as Stripe takes them: form-encoded with bracketed keys, read with light coercion.

The official SDKs send ``items[0][price]=price_1&metadata[plan]=pro`` (and GET/DELETE parameters in the query
string). :func:`decode_form` turns those pairs into nested dicts and lists; :class:`Params` reads them whether
they came that way (every leaf a string) or from the in-process processor (real ints and bools), so both faces
of the fake run the very same operation code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from remit.processor.fake.errors import invalid, parameter_missing

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``a[b][0][c]=v`` pairs; a dict whose keys are all indices becomes a list, ``a[]`` appends."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if match is None:
            raise invalid(f"Invalid parameter name: {raw_key}")
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: dict[str, Any] = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            key = part if part != "" else str(_next_index(node))
            if last:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    result: dict[str, Any] = _listify(root)
    return result


def decode_body(body: bytes) -> dict[str, Any]:
    return decode_form(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _next_index(node: dict[str, Any]) -> int:
    return sum(1 for key in node if key.isdigit())


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {key: _listify(item) for key, item in value.items()}
        if converted and all(key.isdigit() for key in converted):
            return [converted[key] for key in sorted(converted, key=int)]
        return converted
    return value


class Params:
    """Read-only access to one call's parameters, with Stripe's coercions and Stripe's 400s."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(data or {})

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, (dict, list)):
            raise invalid(f"Invalid string: {key}", param=key)
        return str(value)

    def require_str(self, key: str) -> str:
        value = self.string(key)
        if not value:
            raise parameter_missing(key)
        return value

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise invalid(f"Invalid integer: {value}", param=key)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise invalid(f"Invalid integer: {value}", param=key) from None

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise invalid(f"Invalid boolean: {value}", param=key)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {key}", param=key)
        return dict(value)

    def sub(self, key: str) -> Params:
        return Params(self.mapping(key))

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, dict):  # a form list whose indices were not all digits
            return list(value.values())
        if not isinstance(value, list):
            return [value]
        return list(value)

    def strings(self, key: str) -> list[str]:
        return [str(item) for item in self.array(key)]


def merge_metadata(current: Mapping[str, Any], update: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, an empty value deletes its key, an empty string clears all."""
    if update is None:
        return dict(current)
    if update == "":
        return {}
    if not isinstance(update, Mapping):
        raise invalid("Invalid hash: metadata", param="metadata")
    merged = dict(current)
    for key, value in update.items():
        if value is None or value == "":
            merged.pop(str(key), None)
        else:
            merged[str(key)] = str(value)
    return merged


def canonical(value: Any) -> Any:
    """Parameters with every leaf a string and ``None`` dropped: the same call compares equal whichever face
    (form or in-process) it came through. Used to fingerprint idempotency keys."""
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["Params", "canonical", "decode_body", "decode_form", "merge_metadata"]
