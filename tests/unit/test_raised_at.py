"""``raised_at`` names the deepest frame in remit's own package, whatever the folder remit is cloned into."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import remit
from remit.api.webhooks import raised_at

PACKAGE = Path(remit.__file__).resolve().parent
#: A library frame in the virtual environment of a clone named ``remit``: a path containing ``/remit/``.
LIBRARY = "/x/remit/.venv/lib/python3.11/site-packages/foo.py"


def _function(name: str, filename: str, body: str, **scope: Any) -> Any:
    """A function whose frames report ``filename``, as if it were defined in that file."""
    namespace = dict(scope)
    exec(compile(f"def {name}():\n    {body}\n", filename, "exec"), namespace)
    return namespace[name]


def _raised(outermost: Any) -> BaseException:
    try:
        outermost()
    except ValueError as exc:
        return exc
    raise AssertionError("nothing was raised")


def test_a_library_frame_below_remits_code_in_a_clone_named_remit_is_not_blamed() -> None:
    library = _function("query", LIBRARY, "raise ValueError('driver error quoting parameters')")
    ours = _function("store_event", str(PACKAGE / "webhooks" / "ingest.py"), "query()", query=library)
    assert raised_at(_raised(ours)) == f"{PACKAGE / 'webhooks' / 'ingest.py'}:2 in store_event"


def test_a_host_handler_in_a_folder_named_remit_is_not_remits_code() -> None:
    handler = _function("grant_seats", "/x/remit/app/handlers.py", "raise ValueError('x')")
    ours = _function("run_handlers", str(PACKAGE / "webhooks" / "dispatch.py"), "grant_seats()", grant_seats=handler)
    assert raised_at(_raised(ours)) == f"{PACKAGE / 'webhooks' / 'dispatch.py'}:2 in run_handlers"


def test_without_a_frame_of_remits_own_the_deepest_frame_is_named() -> None:
    library = _function("query", LIBRARY, "raise ValueError('x')")
    caller = _function("call", "/srv/app/host.py", "query()", query=library)
    assert raised_at(_raised(caller)) == f"{LIBRARY}:2 in query"
