"""``remit.__all__`` is exactly the public API: every public name defined there, sorted, nothing else; each
resolves (``import remit`` imports them on first use, PEP 562), and ``dir(remit)`` lists them all."""

from __future__ import annotations
import __future__

import json
import subprocess
import sys
import types

import pytest

import remit

INCLUDED_PRIVATE_MEMBERS = {"__version__"}


def public_members() -> list[str]:
    members = {name: getattr(remit, name) for name in dir(remit)}  # reading a name resolves it
    return sorted(
        name
        for name, value in members.items()
        if (not name.startswith("_") or name in INCLUDED_PRIVATE_MEMBERS)
        and not isinstance(value, types.ModuleType)  # submodules appear as attributes once imported
        and not isinstance(value, __future__._Feature)  # `from __future__ import annotations`
    )


def test_all_lists_exactly_the_public_members() -> None:
    assert remit.__all__ == public_members()


def test_all_is_sorted_and_unique() -> None:
    assert remit.__all__ == sorted(set(remit.__all__))


def test_every_exported_name_resolves_and_is_defined_in_remit() -> None:
    for name in remit.__all__:
        value = getattr(remit, name)
        module = getattr(value, "__module__", "remit")
        assert module is None or module.startswith("remit"), (name, module)


FRESH = """
import json, sys
import remit
before = sorted(sys.modules)
names = {}
for name in remit.__all__:
    value = getattr(remit, name)
    names[name] = getattr(value, "__module__", None)
namespace = {}
exec("from remit import *", namespace)
print(json.dumps({"before": before, "dir": dir(remit), "names": names, "star": sorted(namespace)}))
"""


def test_every_name_resolves_in_a_fresh_interpreter_and_import_remit_alone_is_light() -> None:
    """In a process where nothing else imported remit's modules first (as pytest's collection does here)."""
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, check=True, timeout=120)
    found = json.loads(out.stdout)
    assert sorted(found["names"]) == sorted(remit.__all__)
    assert all(module is None or module.startswith("remit") for module in found["names"].values()), found["names"]
    assert set(remit.__all__) <= set(found["dir"])
    assert set(remit.__all__) <= set(found["star"]) | {"__version__"}
    assert not any(name.split(".")[0] in {"sqlalchemy", "pydantic", "httpx"} for name in found["before"])


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = remit.no_such_name  # type: ignore[attr-defined]
    assert not hasattr(remit, "no_such_name")
