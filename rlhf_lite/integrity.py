"""What keeps the cache under ``runs/`` honest: manifests that catch a damaged artifact, and a lock that
keeps two processes out of one stage.

A manifest records the size and sha256 of every file of an artifact (``manifest.json`` inside a folder,
``.<name>.manifest.json`` beside a file); :mod:`rlhf_lite.io` writes it before renaming the artifact into
place and checks it (:func:`rlhf_lite.io.intact`) before any stage reuses the artifact.

Why our own code: no library we use offers a content-checked cache of arbitrary artifacts (``datasets``
checks only its own Arrow files, ``huggingface_hub`` only what it downloaded); filelock does the locking.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes (the key of an artifact computed from that file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


SCRATCH = ".tmp-"  # ".<name>.tmp-xxxx": where <name> is written before it is renamed into place


def launched_together() -> bool:
    """True under ``accelerate launch`` / torchrun, whose processes enter a stage together on purpose."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def remove_leftovers(target: Path) -> None:
    """Scratch copies of ``target`` left by a process that was killed (SIGKILL runs no cleanup): a half-written
    checkpoint can be gigabytes. Safe because one process at a time writes a target (the stages' locks, see
    :func:`exclusive`); under a multi-process launch every process has its own scratch, so none is removed."""
    if launched_together():
        return
    for old in target.parent.glob(f".{target.name}{SCRATCH}*"):
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)


MANIFEST = "manifest.json"
_VERIFIED: dict = {}  # (file, size, mtime_ns) -> sha256, so a process hashes each unchanged file once


def sidecar(path: Path) -> Path:
    return path.parent / f".{path.name}.{MANIFEST}"


def _sha256(f: Path) -> str:
    st = f.stat()
    key = (str(f.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = file_hash(f)
    return _VERIFIED[key]


def _files(path: Path) -> dict:
    """{relative name: file} of an artifact: the file itself ("."), or every file in the folder but its manifest."""
    if path.is_file():
        return {".": path}
    return {f.relative_to(path).as_posix(): f for f in sorted(path.rglob("*"))
            if f.is_file() and f.relative_to(path).as_posix() != MANIFEST}


def write_manifest(artifact: Path, manifest: Path) -> None:
    """Record the size and sha256 of every file of ``artifact`` (a file or a folder) in ``manifest``."""
    entries = {name: {"bytes": f.stat().st_size, "sha256": _sha256(f)} for name, f in _files(artifact).items()}
    remove_leftovers(manifest)
    fd, tmp = tempfile.mkstemp(prefix=f".{manifest.name}{SCRATCH}", dir=manifest.parent)
    with os.fdopen(fd, "w") as out:
        json.dump({"files": entries}, out, indent=1, sort_keys=True)
    os.replace(tmp, manifest)


def damage(path: str | Path) -> str | None:
    """What is wrong with the artifact at ``path`` against its manifest, or None if it is whole. Sizes are
    always checked, content hashes too unless $RLHF_LITE_VERIFY=size (for very large weights)."""
    path = Path(path)
    manifest = path / MANIFEST if path.is_dir() else sidecar(path)
    try:
        entries = json.loads(manifest.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"its manifest {manifest.name} is missing or unreadable (written by an interrupted or older run)"
    files = _files(path)
    hashes = os.environ.get("RLHF_LITE_VERIFY", "hash") != "size"
    for name, want in sorted(entries.items()):
        f = files.get(name)
        where = path if name == "." else path / name
        if f is None:
            return f"{where} is missing"
        if f.stat().st_size != want["bytes"]:
            return f"{where} has {f.stat().st_size} bytes, its manifest says {want['bytes']}"
        if hashes and _sha256(f) != want["sha256"]:
            return f"{where} does not match its manifest's sha256 (altered after it was written)"
    return None


_HELD: dict = {}  # lock file -> how many nested blocks of this process hold it


@contextmanager
def exclusive(folder: str | Path, what: str, log=print, patience_s: float = 2.0) -> Iterator[None]:
    """One process at a time builds the stage in ``folder``: a second one waits for the first (saying so if it
    waits more than ``patience_s``) and then reuses what the first wrote, instead of racing it. Re-entrant in a
    process, so a stage may call another that takes the same lock. Not taken under a multi-process launch,
    whose processes enter a stage together on purpose (training is collective)."""
    from filelock import FileLock, Timeout

    if launched_together():
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = str((folder / ".lock").resolve())
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    lock = FileLock(path)
    try:
        lock.acquire(timeout=patience_s)
    except Timeout:
        log(f"[lock] another process is running {what} in {folder}: waiting for it to finish, then reusing its work")
        lock.acquire()
    _HELD[path] = 1
    try:
        yield
    finally:
        _HELD[path] = 0
        lock.release()
