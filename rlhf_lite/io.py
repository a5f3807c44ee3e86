"""Where artifacts live, and writing them so that a crash never leaves half a file.

Every stage writes into a temporary sibling and renames it into place (atomic on POSIX),
then the next run finds either the whole artifact or nothing, and redoes only what is missing.

Everything written this way under ``runs/`` also carries a manifest of its files' sizes and sha256
(``manifest.json`` inside a folder, ``.<name>.manifest.json`` beside a file), written before the rename.
A stage is reused only when :func:`intact` finds its artifact matching its manifest; a truncated or
altered one is moved to ``runs/damaged/`` with a warning that names it, and the stage is rebuilt.
The manifests themselves, and the lock that keeps two processes out of one stage, are in
:mod:`rlhf_lite.integrity`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rlhf_lite.integrity import (MANIFEST, SCRATCH, damage, exclusive, file_hash, launched_together,  # noqa: F401
                                 remove_leftovers, sidecar, write_manifest)  # (exclusive, file_hash: used through io)

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root(start: Path | None = None) -> Path | None:
    """The book's checkout (the folder with _toc.yml), searched upward from ``start`` or cwd."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "_toc.yml").exists() and (d / "rlhf_lite").is_dir():
            return d
    return None


def runs_dir() -> Path:
    """Artifacts root: $RLHF_LITE_RUNS, else <checkout>/runs, else ~/.cache/rlhf_lite/runs."""
    if os.environ.get("RLHF_LITE_RUNS"):
        return Path(os.environ["RLHF_LITE_RUNS"])
    root = project_root() or project_root(PACKAGE_DIR)
    return root / "runs" if root else Path.home() / ".cache" / "rlhf_lite" / "runs"


def results_dir() -> Path:
    """Headline numbers of each chapter: $RLHF_LITE_RESULTS, else <checkout>/results."""
    if os.environ.get("RLHF_LITE_RESULTS"):
        return Path(os.environ["RLHF_LITE_RESULTS"])
    root = project_root() or project_root(PACKAGE_DIR)
    return root / "results" if root else Path.home() / ".cache" / "rlhf_lite" / "results"


# Modules that write the book's pages, not the stages' artifacts: an edit to the scorecard's wording or the
# course guide's table must re-run the chapters (their pages show it), not retrain every model of the book.
# The modules no stage runs: the build, the pages and what they write (the scorecard, the course guide, the chapters'
# outcome-dependent words and figures). tests/test_layout.py checks that no other module imports one of them.
# So are the analyses that only read what finished stages wrote (online/safety.py, online/analysis.py,
# reward/analysis.py) and the chapters' headlines the scorecard reads (headlines.py).
PRESENTATION_MODULES = ("site/__init__.py", "site/book.py", "site/pages.py", "site/scorecard.py", "site/claims.py",
                        "site/course.py", "site/course_plan.py", "site/times.py", "plots.py", "wording/__init__.py",
                        "wording/general.py", "wording/loop.py", "wording/rewards.py", "headlines.py",
                        "online/safety.py", "online/analysis.py", "online/book_recipes.py", "reward/analysis.py",
                        "reward/agreement.py", "reward/figures.py", "notebook.py")


@functools.lru_cache(maxsize=2)
def code_fingerprint(pages: bool = False) -> str:
    """A hash of the package's source, so cached artifacts are rebuilt when the code changes. The stages'
    keys hash the code that computes (everything but ``PRESENTATION_MODULES``); ``pages=True`` hashes all
    of it, for the key of an executed chapter, whose page shows what those modules write.

    Computed once per process: the key describes the code this process imported, even if the files
    are edited while a long notebook runs (otherwise its later stages would be cached under the new
    code's key, and an earlier stage rebuilt mid-run)."""
    h = hashlib.sha256()
    for f in sorted(PACKAGE_DIR.rglob("*.py")):  # every sub-package: the stages' code lives in all of them
        rel = f.relative_to(PACKAGE_DIR).as_posix()
        if rel in PRESENTATION_MODULES and not pages:
            continue
        h.update(rel.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def stage_code(entries: tuple = (), own: tuple = ()) -> str:
    """The hash of the code one stage runs, for its cache key: the modules ``entries`` and everything they
    import, and the modules ``own`` by themselves, each without docstrings or comments (rlhf_lite.codekeys).
    A stage's key holds this instead of the whole package's hash, so an edit retrains only the stages that
    run the edited code. Computed once per process, like :func:`code_fingerprint`."""
    from rlhf_lite.codekeys import code_hash

    return code_hash(entries, own, package="rlhf_lite", package_dir=PACKAGE_DIR)


def run_relative(path: str | Path) -> str:
    """A path as a cache key should hold it: by what it names, relative to the runs folder when it lies inside,
    so that a runs/ folder copied to another machine or checkout keeps its keys (and its shared artifacts)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(runs_dir().resolve()).as_posix()
    except ValueError:
        return str(p)


def fingerprint(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def is_main_process() -> bool:
    """False on every process but the first when ``accelerate launch`` (or torchrun) runs a stage on
    several GPUs: they set RANK. Only the first process writes a stage's folder into place."""
    return int(os.environ.get("RANK", "0")) == 0


def single_process(what: str) -> None:
    """Refuse to run a stage that is not collective (data, sampling, scoring) under a multi-process launch,
    where every process would redo it and race to write it."""
    if launched_together():
        raise RuntimeError(f"{what} runs in one process: run that command without accelerate launch / torchrun "
                           f"first (rlhf-lite curate, generate, annotate, pair, evaluate), then launch the training "
                           f"stage (sft, train-rm, train-pm, dpo).")


def main_writes(done, write, what: str, wait_s: float = 6 * 3600) -> None:
    """A small non-collective artifact under a multi-process launch: the main process ``write()``s it,
    the others wait until ``done()``. In one process, simply write it if it is not done."""
    if done():
        return
    if is_main_process():
        write()
    else:
        _wait_for_main(done, what, wait_s)


def _wait_for_main(done, what, wait_s: float) -> None:
    """Poll until ``done()``, for at most ``wait_s`` seconds from now."""
    start = time.time()
    while not done():
        if time.time() - start > wait_s:
            raise TimeoutError(f"the main process never wrote {what}: see its log.")
        time.sleep(1)


@contextmanager
def atomic_dir(target: str | Path, wait_s: float = 6 * 3600) -> Iterator[Path]:
    """Yield a scratch folder that replaces ``target`` only if the block finishes.

    Under ``accelerate launch`` every process runs the block of a training stage (training is collective,
    so they enter it together) but only the main process's folder is moved into place; the others wait
    until it is there, so the next stage of every process reads the same artifact. (Trainers'
    ``save_model`` writes only on the main process.) Non-collective stages use :func:`main_writes` or
    :func:`single_process` instead."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{SCRATCH}", dir=target.parent))
    started = time.time()
    try:
        yield tmp
        if is_main_process():
            if _tracked(target):
                write_manifest(tmp, tmp / MANIFEST)
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
        else:
            _wait_for_main(lambda: target.exists() and target.stat().st_mtime >= started - 1, target, wait_s)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a scratch file beside ``path`` that replaces it only if the block finishes (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{SCRATCH}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if _tracked(path):  # the manifest first: a crash between the two leaves a mismatch, never a silent half
            write_manifest(Path(tmp), sidecar(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | Path, data) -> Path:
    """Write JSON atomically (temp file + rename)."""
    with atomic_file(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=float)
        f.write("\n")
    return Path(path)


def computed_once(key, out: str | Path, compute, reused=lambda: None) -> Path:
    """An artifact that several runs would compute identically (pi_0's samples on iteration 1's prompts, their
    scores, pi_0's evaluation): ``compute(path)`` writes it, atomically, once into
    ``runs/shared/<hash of key>/<out's name>``, and it is copied to ``out``. ``key`` must hold everything the
    artifact depends on, the package code included. A file lock makes concurrent runs wait for the one that
    computes it (``reused()`` is called instead in those), and the copy is made under the lock too, since two
    jobs of one seed may share ``out``."""
    from filelock import FileLock

    out = Path(out)
    src = runs_dir() / "shared" / fingerprint(key) / out.name
    src.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(src.parent / f".{src.name}.lock")):
        if not intact(src):
            compute(src)
        else:
            reused()
        if not intact(out):
            copy_atomic(src, out)
    return out


def copy_atomic(src: str | Path, dst: str | Path) -> Path:
    """Copy a file or a folder to ``dst`` so that ``dst`` appears whole or not at all."""
    src, dst = Path(src), Path(dst)
    if src.is_dir():
        with atomic_dir(dst) as tmp:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
    else:
        with atomic_file(dst) as tmp:
            shutil.copyfile(src, tmp)
    return dst


def cached_model(target: str | Path, train) -> dict:
    """A training step run once: ``train(folder)`` saves a model into a scratch folder and returns its metrics;
    folder and metrics (``stage_metrics.json``) replace ``target`` together, atomically. A rerun, or a rerun
    after a crash, finds them complete or absent, and reads the metrics instead of training again."""
    target = Path(target)
    metrics = target / "stage_metrics.json"
    if not intact(target) or not metrics.exists():
        with atomic_dir(target) as tmp:
            write_json(tmp / "stage_metrics.json", train(tmp))
    return json.loads(metrics.read_text())


def cached_json(path: str | Path, compute) -> dict:
    """``compute()``'s JSON-able result, computed once: read from ``path`` if it is there, else computed and
    written atomically (for small results of slow steps that are not a model, such as a measured margin)."""
    path = Path(path)
    if not intact(path):
        write_json(path, compute())
    return json.loads(path.read_text())


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: str | Path, records) -> Path:
    with atomic_file(path) as tmp, open(tmp, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return Path(path)


def save_results(chapter: str, data: dict, profile: str) -> Path:
    """Write a chapter's headline numbers to results/<chapter>.json (one file per profile run)."""
    return write_json(results_dir() / f"{chapter}.json", {"chapter": chapter, "profile": profile, **data})


def _tracked(path: Path) -> bool:
    """Artifacts under runs/ carry a manifest; files inside a scratch folder (".name.xxxx") are covered by the
    folder's own manifest instead."""
    try:
        rel = Path(path).resolve().relative_to(runs_dir().resolve())
    except ValueError:
        return False
    return not any(part.startswith(".") for part in rel.parts[:-1])


def intact(path: str | Path, log=print) -> bool:
    """True when the artifact at ``path`` exists and matches its manifest (the test every stage makes before it
    reuses a cached artifact). A damaged one is moved to ``runs/damaged/`` with a warning, and False is
    returned, so the stage that made it runs again. Outside runs/ there are no manifests: existence decides."""
    path = Path(path)
    if not path.exists():
        return False
    if not _tracked(path):
        return True
    problem = damage(path)
    if problem is None:
        return True
    aside = runs_dir() / "damaged" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}" / \
        path.resolve().relative_to(runs_dir().resolve())
    aside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), aside)
    sidecar(path).unlink(missing_ok=True)
    msg = (f"damaged cache: {problem}. Moved {path} to {aside} (delete it once you have looked) and rebuilding "
           f"the stage that wrote it.")
    warnings.warn(msg, stacklevel=2)
    log(f"[cache] {msg}")
    return False
