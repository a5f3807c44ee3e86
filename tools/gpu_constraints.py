"""The GPU machines' pins: resolve the `full` extra (vLLM, DeepSpeed) with the rest of the project for Linux
x86-64, Python 3.11, CUDA, and write them to constraints-gpu.txt; or check that they still resolve.

    python tools/gpu_constraints.py           # resolve again and rewrite constraints-gpu.txt
    python tools/gpu_constraints.py --check   # dry-run install of .[full,test] with those pins; exit 1 if impossible

Both only ask the package index (pip's resolver with --dry-run --report): nothing is installed and no GPU
is needed, so a maintainer or CI on any Linux x86-64 machine with the index can run it. Run it with
Python 3.11 on Linux x86-64, the platform the pins are for (vLLM's wheels on PyPI are built for CUDA).

The resolution keeps every pin of constraints.txt (the tested CPU stack) except those vLLM needs otherwise
(RELAXED), so that a GPU machine runs the versions the book was tested with wherever it can.

Why our own code: pip resolves but has no lock file; this writes its resolution as a constraints file,
the form `make env` already uses for the CPU stack (constraints.txt).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "constraints-gpu.txt"
# vLLM 0.33.0 pins torch 2.14.0, caps transformers below 5.21, needs certifi >= 2026.10.19, and through
# mistral_common caps numpy below 2.4: the CPU stack's pins of these four are left to the resolver.
RELAXED = ("torch", "transformers", "numpy", "certifi")
HEADER = """# Pins for GPU machines (Linux x86-64, Python 3.11, CUDA): the `full` extra (vLLM 0.33.0, DeepSpeed) resolved
# with the rest of the project by tools/gpu_constraints.py. Install with
#   pip install -c constraints-gpu.txt -e ".[full,test]"
# It keeps constraints.txt's pins (the CPU stack the book is built and tested with) but where vLLM needs
# others: torch 2.14.0, transformers < 5.21, numpy < 2.4 (through mistral_common), certifi >= 2026.10.19.
"""


def resolve(args: list[str]) -> subprocess.CompletedProcess:
    """pip install --dry-run --report in a fresh virtual environment (so nothing installed here interferes)."""
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        pip = Path(tmp) / "bin" / "pip"
        report = Path(tmp) / "report.json"
        proc = subprocess.run([str(pip), "install", "--dry-run", "--ignore-installed", "--quiet", "--report",
                               str(report), *args], capture_output=True, text=True, cwd=ROOT)
        proc.report = json.loads(report.read_text()) if report.exists() else None
        return proc


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that the pins resolve")
    args = ap.parse_args(argv)
    if sys.platform != "linux" or platform.machine() != "x86_64" or sys.version_info[:2] != (3, 11):
        sys.exit(f"run this with Python 3.11 on Linux x86-64 (the GPU pins' platform), not Python "
                 f"{platform.python_version()} on {sys.platform} {platform.machine()}.")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as cpu:
        cpu.write("".join(line for line in (ROOT / "constraints.txt").read_text().splitlines(keepends=True)
                          if line.split("==")[0].strip().lower() not in RELAXED))
        cpu.flush()
        proc = resolve([".[full,test]", "-c", str(OUT) if args.check else cpu.name])
    if proc.returncode != 0 or proc.report is None:
        tail = "\n".join(line for line in proc.stderr.splitlines() if "WARNING: Location" not in line)[-3000:]
        sys.exit(f"the full extra does not resolve{' with ' + OUT.name if args.check else ''}:\n{tail}")
    pins = sorted((i["metadata"]["name"], i["metadata"]["version"]) for i in proc.report["install"]
                  if i["metadata"]["name"].replace("_", "-").lower() != "rlhf-lite")
    if args.check:
        print(f"{OUT.name}: the full extra resolves ({len(pins)} packages: "
              + ", ".join(f"{n} {v}" for n, v in pins if n.lower() in ("vllm", "torch", "transformers", "trl")) + ")")
        return
    OUT.write_text(HEADER + "".join(f"{n}=={v}\n" for n, v in sorted(pins, key=lambda p: p[0].lower())))
    print(f"wrote {OUT} ({len(pins)} pins)")


if __name__ == "__main__":
    main()
