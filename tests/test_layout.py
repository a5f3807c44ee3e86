"""The package's shape: folders by stage of the paper's workflow, imports only going down (an import-linter
contract in pyproject.toml), every part placed in a layer, and modules small enough to read in one sitting."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
LAYERS = [c for c in CONTRACTS if c["type"] == "layers"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """import-linter's command on the package found from ``cwd`` (its pyproject.toml and its rlhf_lite)."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def test_imports_only_go_down_the_layers():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in out.stdout


@pytest.mark.parametrize("contract", LAYERS, ids=lambda c: c["containers"][0])
def test_every_part_of_the_package_is_in_a_layer(contract):
    """A module left out of the layers could import anything: removing a layer from the contract, or adding
    a module without placing it, fails here."""
    folder = ROOT / Path(*contract["containers"][0].split("."))
    parts = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
    parts |= {p.parent.name for p in folder.glob("*/__init__.py")}
    placed = [name.strip() for layer in contract["layers"] for name in layer.replace(":", "|").split("|")]
    assert len(placed) == len(set(placed)), placed
    assert set(placed) == parts, f"not in a layer: {sorted(parts - set(placed))}; no such part: {sorted(set(placed) - parts)}"


@pytest.mark.parametrize("module, upward", [
    ("world/tasks.py", "from rlhf_lite.online import run_online"),  # the world would know the loop
    ("reward/bradley_terry.py", "import rlhf_lite.theory"),  # siblings stay independent
    ("online/judge.py", "from rlhf_lite.online.loop import run_online"),  # inside the loop, too
    ("site/claims.py", "import rlhf_lite.online.evaluate"),  # the site reads results, it does not compute them
    ("stages.py", "import rlhf_lite.site.scorecard"),  # and no stage depends on a page
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, upward):
    shutil.copytree(ROOT / "rlhf_lite", tmp_path / "rlhf_lite", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    assert lint_imports(tmp_path).returncode == 0  # the copy alone keeps the contract
    path = tmp_path / "rlhf_lite" / module
    path.write_text(path.read_text() + f"\n{upward}\n")
    out = lint_imports(tmp_path)
    assert out.returncode != 0 and "BROKEN" in out.stdout, out.stdout + out.stderr
    assert "rlhf_lite." + module.removesuffix(".py").replace("/", ".") in out.stdout


def test_modules_stay_small_enough_to_read_in_one_sitting():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "rlhf_lite").rglob("*.py")}
    assert not {p: n for p, n in sizes.items() if n > 330}, "split these modules: each should hold one idea"


def test_no_stage_imports_a_module_the_stage_keys_leave_out():
    """io.PRESENTATION_MODULES are left out of every stage's cache key (editing them re-runs chapters, not
    training), which is right only while no stage's code imports one of them."""
    import ast

    from rlhf_lite.io import PRESENTATION_MODULES

    def dotted(rel):  # "wording/__init__.py" is the package rlhf_lite.wording
        return "rlhf_lite." + rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")

    left_out = {dotted(m) for m in PRESENTATION_MODULES}
    entry_points = {"cli.py", "smoke.py"}  # the top layers: they call stages and the build alike, and nothing imports them
    found = {}
    for p in (ROOT / "rlhf_lite").rglob("*.py"):
        rel = p.relative_to(ROOT / "rlhf_lite").as_posix()
        if rel in PRESENTATION_MODULES or rel in entry_points:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) and node.module else [])
            hit = sorted(n for n in names if n in left_out)
            if hit:
                found[rel] = hit
    assert not found, f"stage code imports modules its cache keys leave out: {found}"
    assert dotted("plots.py") in left_out and all((ROOT / "rlhf_lite" / m).exists() for m in PRESENTATION_MODULES)


def test_the_fast_set_leaves_out_the_book_build_processes_and_training_and_keeps_the_unit_tests():
    """`make test-fast` (`pytest -m "not slow"`): what conftest marks slow is really left out, and the unit tests
    stay in."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not slow", "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True)
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert out.returncode == 0 and ids, out.stdout[-2000:] + out.stderr[-2000:]
    files = {i.split("::")[0] for i in ids}
    assert not files & {"tests/test_browser.py", "tests/test_notebooks.py", "tests/test_survival.py", "tests/test_cli.py"}
    assert not any("test_every_row_quotes_the_number_its_chapter_prints" in i for i in ids)  # uses the staged book
    assert "tests/test_stats.py" in files and "tests/test_headlines.py" in files
