"""Composition: remit's parts in order, a host's module collected as a part, and no import side effects."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from remit.config import Settings
from remit.jobs.scheduler import PERIODIC_JOB
from remit.part import part_from_module
from remit.parts import PARTS, build_runtime
from remit.webhooks import DISPATCH_JOB
from tests.support import host_app

SRC = Path(__file__).resolve().parents[2] / "src" / "remit"


def settings(**values: str) -> Settings:
    return Settings.model_validate({"DATABASE_URL": "sqlite:///:memory:", "REMIT_ENV": "test", **values})


def test_a_host_module_is_collected_as_a_part() -> None:
    part = part_from_module(host_app)
    assert part.name == "tests.support.host_app"
    assert [job.name for job in part.jobs] == ["test.noop", "host.sync_identity"]
    assert [h.name for h in part.event_handlers] == ["host.grant_access", "host.audit_everything"]
    assert [task.name for task in part.periodic] == ["host.count_accounts"]
    assert [(e.name, e.expression, e.job.name, dict(e.args)) for e in part.cron] == [
        ("host.nightly_sync", "0 3 * * *", "host.sync_identity", {"user_id": 0})
    ]
    assert [machine.name for machine in part.state_machines] == ["host_seat"]


#: remit's own handlers (the mirror first) and periodic work (the engine's upkeep first), in order.
REMITS_HANDLERS = [
    "remit.mirror",
    "remit.documents",
    "remit.mail",
    "remit.provisioning",
    "remit.money.charge_failed",
    "remit.money.incomplete_expired",
    "remit.money.dunning",
    "remit.money.dispute_lost",
    "remit.connect.deauthorized",
    "remit.connect.capabilities",
    "remit.connect.payout_failed",
    "remit.usage.meter_errors",
]
REMITS_SCHEDULE = [
    "jobs.rescue",
    "jobs.prune",
    "webhooks.prune",
    "webhooks.release_held",
    "mail.requeue",
    "provisioning.reconcile",
    "money.dunning_sweep",
    "money.fee_reconcile",
    "money.payment_sync",
    "money.card_expiry",
    "meters.reconcile",
    "usage.rollup",
    "billing.prune_actions",
]


async def test_the_runtime_runs_remits_handlers_first_then_the_hosts() -> None:
    runtime = build_runtime(settings(), modules=["tests.support.host_app"])
    try:
        assert runtime.handlers.names() == [*REMITS_HANDLERS, "host.grant_access", "host.audit_everything"]
        assert next(h.name for h in runtime.handlers.for_type("invoice.paid")) == "remit.mirror"
        assert {DISPATCH_JOB, PERIODIC_JOB, "host.sync_identity", "test.noop"} <= set(runtime.engine.registry.names())
        scheduled = [item.name for item in runtime.engine.scheduled]
        assert scheduled == [*REMITS_SCHEDULE, "host.count_accounts", "host.nightly_sync"]
        assert [part.name for part in runtime.parts] == [*(p.name for p in PARTS), "tests.support.host_app"]
    finally:
        await runtime.close()


async def test_two_runtimes_share_nothing() -> None:
    renamed = build_runtime(settings(REMIT_QUEUES="remit_webhooks=hooks"))
    plain = build_runtime(settings())
    try:
        renamed.handlers.register("*", host_app.grant_access, name="only.here")
        assert "only.here" not in plain.handlers.names()
        assert renamed.engine.registry is not plain.engine.registry
        assert renamed.engine.queue_name("remit_webhooks") == "hooks"
        assert plain.engine.queue_name("remit_webhooks") == "remit_webhooks"
    finally:
        await renamed.close()
        await plain.close()


def test_importing_every_module_registers_nothing() -> None:
    """Import all of remit (sandbox and host module included) in a fresh interpreter: a runtime built after
    holds remit's parts' declarations and nothing else."""
    code = (
        "import importlib, pkgutil, remit\n"
        "for info in pkgutil.walk_packages(remit.__path__, 'remit.'):\n"
        "    if not info.name.startswith('remit.db.migrations'):  # Alembic's scripts, run by Alembic only\n"
        "        importlib.import_module(info.name)\n"
        "import tests.support.host_app\n"
        "from remit.config import Settings\n"
        "from remit.parts import build_runtime\n"
        "rt = build_runtime(Settings.model_validate({'DATABASE_URL': 'sqlite:///:memory:'}))\n"
        f"assert rt.handlers.names() == {REMITS_HANDLERS!r}, rt.handlers.names()\n"
        "names = rt.engine.registry.names()\n"
        "assert names == ['remit.documents.render_invoice', 'remit.mail.send', 'remit.money.dunning.terminate',\n"
        "                 'remit.ops.deliver', 'remit.periodic', 'remit.provisioning.trigger',\n"
        "                 'remit.usage.meter_error_report', 'remit.usage.recompute', 'remit.usage.report',\n"
        "                 'remit.webhooks.dispatch'], names\n"
        f"assert [i.name for i in rt.engine.scheduled] == {REMITS_SCHEDULE!r}\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=root)


def _import_graph(*, every_import: bool) -> dict[str, set[str]]:
    """remit's modules and the remit modules each imports: at load time only, or (``every_import``) counting
    imports under ``TYPE_CHECKING`` and inside functions too."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {name: _imports_of(path, modules, every_import=every_import) - {name} for name, path in modules.items()}


def _imports_of(path: Path, modules: dict[str, Path], *, every_import: bool) -> set[str]:
    found: set[str] = set()

    def visit(nodes: list[Any]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and not every_import:
                continue
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not every_import:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in modules else node.module)
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    visit(children)

    visit(ast.parse(path.read_text()).body)
    return found & set(modules)


def _in_cycles(graph: dict[str, set[str]]) -> set[str]:
    """Every module that can reach itself."""
    cyclic = set()
    for start in graph:
        todo, seen = list(graph[start]), set()
        while todo:
            module = todo.pop()
            if module == start:
                cyclic.add(start)
                break
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
    return cyclic


def test_no_module_imports_itself_back_at_load_time() -> None:
    assert _in_cycles(_import_graph(every_import=False)) == set()


def test_the_runtime_and_job_declarations_are_in_no_cycle_even_counting_type_only_imports() -> None:
    """The cycle runtime → jobs.definition → jobs.context/enqueue → jobs.definition is gone for good; what
    remains is type-only (a context names the engine it carries) or the engine's lazy drain helper."""
    cyclic = _in_cycles(_import_graph(every_import=True))
    assert not cyclic & {"remit.runtime", "remit.jobs.definition", "remit.jobs.signals", "remit.jobs.rows"}
    assert cyclic <= {
        "remit.jobs.context",
        "remit.jobs.engine",
        "remit.jobs.maintenance",
        "remit.jobs.progress",  # type-only: follow() names the engine it reads through
        "remit.jobs.scheduler",
        "remit.jobs.worker",
    }
