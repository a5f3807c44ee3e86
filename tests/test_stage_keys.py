"""Stage keys from the code each stage runs (rlhf_lite.codekeys, io.stage_code): a docstring or a comment never
changes a key, an edit changes the keys of the stages that import the edited module (directly or through
another) and no others, and keys name the runs folder's contents, not where it is."""

import shutil
import sys
import textwrap
import uuid

import pytest

from rlhf_lite import codekeys, io
from rlhf_lite.online.evaluate import EVAL_CODE
from rlhf_lite.online.loop import LOOP_CODE
from rlhf_lite.online.offline import OFFLINE_CODE
from rlhf_lite.online.arms import ARMS_CODE
from rlhf_lite.stages import DATA_CODE, PI0_CODE, REWARD_CODE

STAGES = {"pi0": PI0_CODE, "data": DATA_CODE, "reward": REWARD_CODE, "loop": LOOP_CODE, "eval": EVAL_CODE,
          "offline": OFFLINE_CODE, "study": ARMS_CODE}


def test_docstrings_and_comments_do_not_count_and_code_does():
    base = 'def f(x):\n    """Add one."""\n    return x + 1  # one\n'
    assert codekeys.normalized(base) == codekeys.normalized('def f(x):\n    """Add two? No: one."""\n    return x + 1\n')
    assert codekeys.normalized(base) == codekeys.normalized('"""A module."""\n\n\ndef f(x):\n    return x + 1\n')
    assert codekeys.normalized(base) != codekeys.normalized('def f(x):\n    """Add one."""\n    return x + 2\n')
    # a string that is not the first statement is code, not a docstring
    assert codekeys.normalized('def f():\n    x = 1\n    "kept"\n') != codekeys.normalized('def f():\n    x = 1\n')


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package of four modules: a imports b inside a function (a lazy import), b imports c, d stands alone."""
    name = f"keys_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    files = {"__init__.py": "", "a.py": f"def run():\n    from {name} import b\n    return b.g()\n",
             "b.py": f"from {name}.c import h\n\n\ndef g():\n    return h() * 2\n",
             "c.py": '"""C."""\n\n\ndef h():\n    return 1\n', "d.py": "def k():\n    return 3\n"}
    for f, text in files.items():
        (root / f).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, root
    codekeys.import_graph.cache_clear()
    sys.modules.pop(name, None)


def _hashes(name, root):
    codekeys.import_graph.cache_clear()  # a new process: the graph and the files read again
    return {m: codekeys.code_hash((f"{name}.{m}",), package=name, package_dir=root) for m in "abcd"}


def test_an_edit_changes_the_keys_of_the_modules_that_import_it_and_no_others(package):
    name, root = package
    before = _hashes(name, root)
    (root / "c.py").write_text('"""C, described at length."""\n\n\ndef h():\n    # still one\n    return 1\n')
    assert _hashes(name, root) == before  # docstring and comment: no key moves
    (root / "c.py").write_text("def h():\n    return 5\n")
    after = _hashes(name, root)
    assert after["c"] != before["c"] and after["b"] != before["b"]  # b imports c
    assert after["a"] != before["a"]  # a reaches c only through b, and only inside a function
    assert after["d"] == before["d"]  # d does not import c


def test_closure_names_an_unknown_module_and_what_to_do(package):
    name, _ = package
    with pytest.raises(ValueError, match="is not a module of .*dotted path"):
        codekeys.closure([f"{name}.nowhere"], package=name)


def _real_hashes(package_dir):
    return {s: codekeys.code_hash(*code, package="rlhf_lite", package_dir=package_dir) for s, code in STAGES.items()}


@pytest.fixture
def package_copy(tmp_path):
    """The package's sources copied aside, to be edited; the import graph is the installed package's own."""
    dst = tmp_path / "rlhf_lite"
    shutil.copytree(io.PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def test_a_docstring_edit_leaves_every_stage_key_unchanged(package_copy):
    before = _real_hashes(package_copy)
    path = package_copy / "online" / "loop.py"
    text = path.read_text()
    start = text.index('"""') + 3
    path.write_text(text[:start] + "Edited: " + text[start:] + "\n# and a comment at the end\n")
    assert _real_hashes(package_copy) == before


def test_the_reward_code_retrains_the_reward_models_and_what_reads_them_not_pi0_or_the_data(package_copy):
    before = _real_hashes(package_copy)
    path = package_copy / "reward" / "bradley_terry.py"
    path.write_text(path.read_text() + textwrap.dedent("""

        def an_edit():
            return 1
        """))
    after = _real_hashes(package_copy)
    assert after["pi0"] == before["pi0"] and after["data"] == before["data"]
    assert all(after[s] != before[s] for s in ("reward", "loop", "eval", "offline", "study"))


def test_every_stage_runs_the_code_of_the_stages_it_reads():
    """A stage's key must change when the code of a stage it reads changes: its closure holds theirs."""
    closures = {s: set(codekeys.closure(entries)) | set(own) for s, (entries, own) in STAGES.items()}
    reads = {"reward": ("pi0", "data"), "loop": ("pi0", "data", "reward", "eval"), "eval": ("pi0",),
             "offline": ("loop",), "study": ("loop", "offline")}
    for stage, upstream in reads.items():
        for u in upstream:
            assert closures[u] <= closures[stage], f"{stage} does not hash {sorted(closures[u] - closures[stage])}"
    assert "rlhf_lite.reward.bradley_terry" not in closures["pi0"] | closures["data"]
    presentation = {"rlhf_lite." + m[:-3].replace("/", ".") for m in io.PRESENTATION_MODULES}
    assert not presentation & set().union(*closures.values())


def test_a_path_in_a_key_names_what_is_in_the_runs_folder_not_where_it_is(tmp_path, monkeypatch):
    for where in ("here", "there"):
        monkeypatch.setenv("RLHF_LITE_RUNS", str(tmp_path / where))
        assert io.run_relative(tmp_path / where / "ci-abc" / "pi0") == "ci-abc/pi0"
    assert io.run_relative(tmp_path / "elsewhere" / "model") == str((tmp_path / "elsewhere" / "model").resolve())
