"""Run the rlhf-lite CLI and kill this very process with SIGKILL at the moment it is about to rename NAME into
place (a file or folder name, e.g. ``pairs.jsonl`` or ``policy``; ``NAME@K`` for the K-th such rename), or,
with ``call:MODULE:FUNCTION@K``, as the K-th call of that module's FUNCTION begins (a stage killed while it
works, before it has written anything); FUNCTION may be a class's method (``Trainer.training_step``: killed
inside training, after K-1 steps).

    python tests/killed_at.py pairs.jsonl@2 -- loop --profile ci ...
    python tests/killed_at.py call:rlhf_lite.online.loop:sample_responses@2 -- loop --profile ci ...
    python tests/killed_at.py call:transformers.trainer:Trainer.training_step@2 -- loop --profile ci ...

Used by tests/test_survival.py to kill the loop "while writing" at an exact point, which a kill from outside
can only hit by luck. SIGKILL runs no ``finally`` block and no cleanup, as a kill -9 or the OOM killer would.
"""

import os
import signal
import sys
from pathlib import Path


def main() -> None:
    spec, args = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
    name, _, nth = spec.partition("@")
    nth, seen = int(nth or 1), [0]
    real_replace, real_rename = os.replace, Path.rename

    def check(dst) -> None:
        if Path(dst).name == name:
            seen[0] += 1
            if seen[0] == nth:
                print(f"[killed_at] SIGKILL before renaming {dst} into place", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

    def replace(src, dst, *a, **k):
        check(dst)
        return real_replace(src, dst, *a, **k)

    def rename(self, target):
        check(target)
        return real_rename(self, target)

    if name.startswith("call:"):
        import importlib

        module_name, function_name = name[len("call:"):].split(":")
        *owners, attribute = function_name.split(".")
        module = owner = importlib.import_module(module_name)
        for o in owners:  # a class's method: patched on the class, so every subclass that inherits it calls it
            owner = getattr(owner, o)
        real = getattr(owner, attribute)

        def wrapped(*a, **k):
            seen[0] += 1
            if seen[0] == nth:
                print(f"[killed_at] SIGKILL as call {nth} of {module_name}.{function_name} begins", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*a, **k)

        setattr(owner, attribute, wrapped)
    else:
        os.replace, Path.rename = replace, rename
    from rlhf_lite.cli import app

    sys.argv = ["rlhf-lite", *args]
    app()


if __name__ == "__main__":
    main()
