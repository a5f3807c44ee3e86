"""The code a stage runs, as a hash for its cache key: the modules the stage imports, directly or through
others, each read as its syntax tree without docstrings (comments are not in the tree). So a docstring, a
comment, a chapter's prose or a page module never changes a stage's key, and an edit to the reward code
changes the keys of the stages that import it (the reward models, the loops that read them) and not pi_0's.

The import graph is grimp's (the library import-linter is built on, which already checks this package's
layers): it reads every import statement of every module, those inside functions included, so a stage's
lazy imports count. Why our own code around it: no library turns "the modules this code imports" into a
cache key that ignores docstrings.

What a key cannot see: code reached without an import statement (a module named in a string and imported
with importlib), and the installed libraries (pinned in pyproject.toml, and recorded by the book build).
The package has neither kind of import in its stages; tests/test_stage_keys.py checks the stages' closures.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path


def normalized(source: str) -> str:
    """The module's syntax tree as text, without the docstrings of the module, its classes and functions:
    what the code does, not how it is described. Raises SyntaxError on a module that does not parse."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


@functools.lru_cache(maxsize=8)
def import_graph(package: str):
    """grimp's graph of ``package`` (found on sys.path), built once per process: the cache key describes
    the code this process imported. No on-disk cache (grimp's default would write into the reader's folder)."""
    import grimp

    return grimp.build_graph(package, cache_dir=None)


def closure(entries, package: str = "rlhf_lite") -> list[str]:
    """Every module of ``package`` that the modules (or sub-packages) ``entries`` import, directly or
    through others, with the entries themselves and the ``__init__`` of every package on the way (they run
    on import), sorted."""
    graph = import_graph(package)
    mods: set[str] = set()
    for entry in entries:
        if entry not in graph.modules:
            raise ValueError(f"closure: {entry!r} is not a module of {package} (its modules: "
                             f"{', '.join(sorted(graph.modules)[:8])}, ...). Name a module by its dotted path.")
        children = {m for m in graph.modules if m.startswith(entry + ".")}
        # a sub-package: what any of its modules imports (grimp's as_package), and its modules themselves
        mods |= {entry, *children} | graph.find_upstream_modules(entry, as_package=bool(children))
    for m in list(mods):
        parts = m.split(".")
        mods |= {".".join(parts[:k]) for k in range(1, len(parts))}  # the packages above it
    return sorted(m for m in mods if m == package or m.startswith(package + "."))


def module_file(name: str, package_dir: Path) -> Path:
    """The source file of module ``name`` of the package whose folder is ``package_dir``."""
    rel = Path(*name.split(".")[1:])
    candidate = package_dir / rel.with_suffix(".py") if rel.parts else package_dir / "__init__.py"
    return candidate if candidate.exists() else package_dir / rel / "__init__.py"


def code_hash(entries=(), own=(), package: str = "rlhf_lite", package_dir: Path | None = None) -> str:
    """The hash of the code a stage runs: the closure of ``entries`` (the modules the stage's work is done
    by) and the modules ``own`` on their own, without what they import (the stage's own module, when it
    also holds other stages whose imports are not this one's)."""
    if package_dir is None:
        package_dir = Path(__import__(package).__file__).resolve().parent
    h = hashlib.sha256()
    for name in sorted(set(closure(entries, package)) | set(own)):
        path = module_file(name, package_dir)
        h.update(name.encode())
        h.update(normalized(path.read_text()).encode())
    return h.hexdigest()[:12]
