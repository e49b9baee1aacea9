"""dcgan_lib's imports go one way (issue 26): no module imports, directly or round a circle, a
module that imports it back, and no module reaches for another's private names (``_name``).

The checker reads the source with :mod:`ast` (nothing is imported), every ``import`` and
``from ... import`` in a module, those inside functions included, since a circle closed by a
lazy import is still a circle: the two modules cannot be read, tested or moved one without the
other. A package's ``__init__`` is the module of the package's own name; a submodule's parent
package is not counted as imported unless the submodule imports from it.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules(root: Path, package: str) -> dict[str, Path]:
    """``{dotted name: file}`` of every module of the package in folder ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def import_graph(root: Path, package: str):
    """``(edges, private)`` of the package in folder ``root`` (named ``package``): ``edges``
    maps each module to the package's modules it imports; ``private`` lists
    ``"module:line imports name from other"`` for every private name one module takes from
    another, by ``from other import _name`` or as ``other_alias._name``."""
    modules = _modules(root, package)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        here = mod if is_pkg else mod.rpartition(".")[0]   # the package ``.`` refers to
        aliases: dict[str, str] = {}                       # local name -> module it names
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in modules:
                        edges[mod].add(a.name)
                        if a.asname:
                            aliases[a.asname] = a.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                if src not in modules:
                    continue
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    if sub in modules:                     # from pkg import submodule
                        edges[mod].add(sub)
                        aliases[a.asname or a.name] = sub
                        continue
                    edges[mod].add(src)
                    if _private(a.name) and src != mod:
                        private.append(f"{mod}:{node.lineno} imports {a.name} from {src}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and _private(node.attr)
                    and aliases[node.value.id] != mod):
                private.append(f"{mod}:{node.lineno} uses {aliases[node.value.id]}."
                               f"{node.attr}")
        edges[mod].discard(mod)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of a graph: its strongly connected components of more than one
    module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def test_dcgan_lib_has_no_import_circle_and_no_private_cross_import():
    edges, private = import_graph(ROOT / "dcgan_lib", "dcgan_lib")
    assert len(edges) > 20 and "dcgan_lib.models" in edges["dcgan_lib.train"]
    assert cycles(edges) == [], "import circles in dcgan_lib"
    assert private == [], "private names imported across dcgan_lib's modules"


def test_the_checker_finds_a_circle_and_private_imports(tmp_path):
    """Positive control: a tiny package with a circle closed inside a function, a private
    name imported from a sibling and another used through a module alias, in a subpackage."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from .b import helper\n",
        "b.py": "def helper():\n    from . import c\n    return c.f()\n",
        "c.py": "import pkg.a\nfrom .d import _secret\n",
        "d.py": "_secret = 1\n_own = _secret\n",
        "sub/__init__.py": "from .. import d as dd\nx = dd._secret\n",
        "sub/e.py": "from ..d import public\nfrom . import _f\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    edges, private = import_graph(pkg, "pkg")
    assert edges["pkg.sub.e"] == {"pkg.d", "pkg.sub"}
    assert cycles(edges) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert private == ["pkg.c:2 imports _secret from pkg.d", "pkg.sub:2 uses pkg.d._secret",
                       "pkg.sub.e:2 imports _f from pkg.sub"]
