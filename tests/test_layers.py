"""Imports run down the layers, never up, and no modules import each other in a circle.

An AST walk over the shipped packages (imports inside functions count; imports under
`if TYPE_CHECKING:` never run, so they do not). The layers, top to bottom, are declared
once in LAYERS; a module may import its own unit or any unit of a lower layer, never one
above it. Where a layer's units are independent packages (the domains), not one beside it
either; the kernel's and the shell's modules may use each other (but not in a circle).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("market", "catalog", "allocation")

# Top to bottom: (name, units, whether the layer's units must not import each other).
LAYERS: list[tuple[str, list[str], bool]] = [
    (
        "app shell",
        [
            "market",
            "market.factory",
            "market.wsgi",
            "market.web",
            "market.cli",
            "market.demo",
            "market.models",
            "market.ops",
            "market.jobs.worker",
            "market.archive",
        ],
        False,
    ),
    ("api (the JSON API calls the domains' services and read models)", ["market.api"], True),
    ("jobs (the monthly cycle runs the domains' services)", ["market.jobs"], True),
    ("read models", ["market.books"], True),
    ("deal ballots (deals chosen by allocation's rules)", ["market.dealballots"], True),
    ("domains that use others", ["allocation", "market.deals", "market.reserve"], True),
    ("domains over the ledger, notices", ["market.billing", "market.proposals"], True),
    (
        "base domains",
        ["catalog", "market.ledger", "market.notifications", "market.discussions"],
        True,
    ),
    ("members", ["market.members"], True),
    (
        "web kit (the Flask glue domain views use)",
        ["market.auth", "market.extensions", "market.webdb", "market.money_web", "market.bounds"],
        False,
    ),
    (
        "kernel",
        [
            "market.db",
            "market.driver",
            "market.money",
            "market.errors",
            "market.clock",
            "market.config",
            "market.migrate",
            "market.plugins",
            "market.nav",
            "market.home",
            "market.invariants",
            "market.csvsafe",
            "market.filestore",
            "market.trace",
            "market.personal",
        ],
        False,
    ),
]
KERNEL = LAYERS[-1][1]
FLASK = ("flask", "flask_login", "flask_wtf", "flask_limiter", "werkzeug", "jinja2")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every shipped module (migrations are Alembic scripts, not imported), by name."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_name(path)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        here = importer.split(".") if is_package else importer.split(".")[:-1]
        here = here[: len(here) - node.level + 1]
        base = ".".join(here + ([node.module] if node.module else []))
    # `from pkg import mod` imports the module pkg.mod; `from pkg import name`, pkg itself.
    names = [f"{base}.{alias.name}" for alias in node.names]
    submodules = [name for name in names if name in modules()]
    return submodules if len(submodules) == len(names) else [*submodules, base]


@cache
def imports(module: str) -> frozenset[str]:
    """Every module name `module` imports at run time (at any depth of its code)."""
    path = modules()[module]
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
            found.update(_targets(node, module, path.name == "__init__.py"))
    return frozenset(found)


def unit_of(module: str) -> tuple[int, str] | None:
    """(layer index, unit) of a shipped module: the longest unit that contains it."""
    best: tuple[int, str] | None = None
    for index, (_, units, _independent) in enumerate(LAYERS):
        for unit in units:
            # The bare `market` unit is the package's __init__ only, not a catch-all.
            contains = module == unit or (unit != "market" and module.startswith(unit + "."))
            if contains and (best is None or len(unit) > len(best[1])):
                best = (index, unit)
    return best


def _internal(target: str) -> str | None:
    """The shipped module an import names (an import of a name inside it counts as it)."""
    while target and target not in modules():
        target = target.rpartition(".")[0]
    return target or None


def test_every_shipped_module_has_a_layer() -> None:
    homeless = sorted(m for m in modules() if unit_of(m) is None)
    assert not homeless, f"put these modules in a layer of LAYERS: {homeless}"


def test_imports_only_run_down_the_layers() -> None:
    upward = []
    for module in sorted(modules()):
        here = unit_of(module)
        assert here is not None
        for target in sorted(imports(module)):
            internal = _internal(target)
            there = unit_of(internal) if internal else None
            if there is None or there[1] == here[1]:
                continue
            beside_allowed = there[0] == here[0] and not LAYERS[here[0]][2]
            if there[0] <= here[0] and not beside_allowed:
                where = "beside" if there[0] == here[0] else "above"
                upward.append(f"{module} ({LAYERS[here[0]][0]}) imports {internal}, {where} it")
    assert not upward, "\n".join(upward)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = {m: {t for t in map(_internal, imports(m)) if t and t != m} for m in modules()}
    assert not _cycles(graph), f"import circles: {_cycles(graph)}"


def test_no_packages_import_each_other_in_a_circle() -> None:
    def package(module: str) -> str:
        # The modules right under `market` (kernel and shell) each count as their own.
        parent = module.rpartition(".")[0]
        is_package = modules()[module].name == "__init__.py"
        return module if is_package or parent == "market" else parent

    graph: dict[str, set[str]] = {}
    for module in modules():
        targets = {package(t) for t in map(_internal, imports(module)) if t}
        graph.setdefault(package(module), set()).update(targets - {package(module)})
    # A package's own init_app imports its views: parent to child is not a circle.
    for name, targets in graph.items():
        targets -= {t for t in targets if t.startswith(name + ".")}
    assert not _cycles(graph), f"package circles: {_cycles(graph)}"


@pytest.mark.parametrize("module", [m for m in KERNEL])
def test_the_kernel_imports_no_flask(module: str) -> None:
    flask = sorted(t for t in imports(module) if t.split(".")[0] in FLASK)
    assert not flask, f"{module} imports {flask}"


def test_the_pure_rules_import_neither_flask_nor_sqlalchemy() -> None:
    rules = [m for m in modules() if m == "allocation.rules" or m.startswith("allocation.rules.")]
    heavy = {
        f"{m} imports {t}"
        for m in rules
        for t in imports(m)
        if t.split(".")[0] in (*FLASK, "sqlalchemy")
        or (_internal(t) or "").split(".")[0] in PACKAGES
        and (_internal(t) or "") not in {*rules, "market", "market.money"}
    }
    assert not heavy, sorted(heavy)


def _loaded_after(imports: str, roots: set[str]) -> list[str]:
    """The modules under `roots` that a fresh interpreter has loaded after `imports`."""
    code = f"import sys, {imports}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return sorted(set(ast.literal_eval(done.stdout)) & roots)


def test_importing_the_kernel_loads_no_flask() -> None:
    kernel = "market.money, market.db, market.errors, market.clock, " + ", ".join(
        m for m in KERNEL if m not in {"market.money", "market.db", "market.errors"}
    )
    assert _loaded_after(kernel, {*FLASK, "catalog", "allocation"}) == []


def test_importing_the_rules_loads_neither_flask_nor_sqlalchemy() -> None:
    assert _loaded_after("allocation.rules", {*FLASK, "sqlalchemy"}) == []
