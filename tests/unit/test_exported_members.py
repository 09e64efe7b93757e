"""``remit.__all__`` is exactly the public API: every public name defined there, sorted, nothing else."""

from __future__ import annotations
import __future__

import types

import remit

INCLUDED_PRIVATE_MEMBERS = {"__version__"}


def public_members() -> list[str]:
    return sorted(
        name
        for name, value in vars(remit).items()
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
