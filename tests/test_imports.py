"""Cheap imports: importing the package, validating a config, planning a
study, opening a result, `deterrence report` and `deterrence priors` load no
numba (and so compile nothing). Each case runs in a fresh interpreter and
then looks in ``sys.modules``."""

from pathlib import Path

import pytest
from helpers import ROOT, fresh_python, make_config

from deterrence import reference, results
from deterrence.plan import make_plan

CASES = {
    "import": "import deterrence",
    "config, fit, priors and plan": (
        "import deterrence.config, deterrence.fit, deterrence.priors, deterrence.families, deterrence.plan\n"
        "cfg = deterrence.config.load('configs/laptop.toml')\n"
        "deterrence.plan.make_plan(cfg)"),
    "open a result": "import deterrence.results\ndeterrence.results.open_result(RESULT)",
    "report": "from deterrence import cli\nassert cli.main(['report', RESULT]) == 0",
    "priors": "from deterrence import cli\nassert cli.main(['priors']) == 0",
}
CHECK = "\nimport sys\nloaded = sorted(m for m in sys.modules if m.split('.')[0] == 'numba')\nprint('NUMBA', loaded)\n"


@pytest.fixture(scope="module")
def result_file(tmp_path_factory):
    """A small result from the NumPy reference (which needs no numba either)."""
    cfg = make_config(runs=200)
    plan = make_plan(cfg)
    path = tmp_path_factory.mktemp("imports") / "small.nc"
    results.write(results.build(cfg, plan, reference.simulate(plan, 200, seed=1)), path)
    return path


@pytest.mark.parametrize("case", CASES)
def test_no_numba(case, result_file):
    code = f"RESULT = {str(result_file)!r}\n" + CASES[case] + CHECK
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "NUMBA []" in proc.stdout, proc.stdout[-2000:]


def test_help_loads_no_scipy():
    """``deterrence --help`` and every command's help answer without scipy or numba."""
    code = ("import sys\nfrom deterrence import cli\nfrom deterrence.methods import METHODS\n"
            "commands = ['run', 'submit', 'report', 'priors', 'validate', 'nowcast'] + [m.name for m in METHODS]\n"
            "for argv in [['--help']] + [[c, '--help'] for c in commands]:\n"
            "    try:\n        cli.main(argv)\n    except SystemExit as stop:\n        assert stop.code == 0, argv\n"
            "print('SCIPY', sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'numba')))\n")
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SCIPY []" in proc.stdout, proc.stdout[-2000:]


# ------------------------------------------------------------ the import graph

PACKAGE = ROOT / "deterrence"
# Analyses: modules that run the model or read it per draw. The report only
# presents a result, so it imports none of them.
ANALYSES = ("deterrence.methods", "deterrence.compare", "deterrence.explain", "deterrence.decide",
            "deterrence.sensitivity", "deterrence.trace", "deterrence.claims", "deterrence.replay",
            "deterrence.runner", "deterrence.kernels", "deterrence.cli")


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of ``package`` with the package's modules it imports,
    anywhere in its file (an import inside a function counts: it is a
    dependency all the same). The package root defines UserError and
    imports its API lazily, on first use: its own imports are not followed."""
    import ast

    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = set()
        for node in (tree.body if name == package.name else ast.walk(tree)):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                          for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path}: a relative import; write it from deterrence")
        graph[name] = found - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of ``graph`` as a path from a node back to itself, or []."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def folders(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph with each subpackage (report, methods) as one node."""
    def folder(name):
        return ".".join(name.split(".")[:2])
    out = {}
    for name, imported in graph.items():
        out.setdefault(folder(name), set()).update(folder(m) for m in imported if folder(m) != folder(name))
    return out


def test_cycle_finder_finds_a_cycle(tmp_path):
    """The check can fail: two modules importing each other, one of them inside a function."""
    package = tmp_path / "deterrence"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from deterrence.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from deterrence import a\n")
    (package / "c.py").write_text("import deterrence.a\n")
    graph = import_graph(package)
    assert find_cycle(graph) == ["deterrence.a", "deterrence.sub.b", "deterrence.a"]
    assert find_cycle({"x": {"y"}, "y": set()}) == []


def test_no_import_cycle():
    """No module of deterrence imports, directly or through others, itself."""
    graph = import_graph()
    assert "deterrence.cli" in graph and "deterrence.report.tables" in graph
    assert find_cycle(graph) == [], " -> ".join(find_cycle(graph))


def test_no_folder_level_cycle_and_the_report_runs_no_analysis():
    """Neither does a folder (report/, methods/) as a whole; report/ imports no analysis."""
    graph = import_graph()
    assert find_cycle(folders(graph)) == [], " -> ".join(find_cycle(folders(graph)))
    for name, imported in graph.items():
        if name.startswith("deterrence.report"):
            assert not {m for m in imported if m.startswith(ANALYSES)}, (name, imported)


def test_only_clusters_starts_a_client_or_maps_blocks():
    """One module starts a Dask client, a cluster or a pool of threads and
    maps blocks over them (``clusters.map_blocks``); every other module
    goes through it."""
    words = ("Client(", "LocalCluster(", "ThreadPoolExecutor", "ProcessPoolExecutor", "dask_jobqueue",
             "dask_mpi", "client.submit(", "as_completed")
    owners = {path.relative_to(ROOT).as_posix() for path in (ROOT / "deterrence").rglob("*.py")
              if any(word in path.read_text() for word in words)}
    assert owners == {"deterrence/clusters.py"}
