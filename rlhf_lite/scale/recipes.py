"""Two recipes set side by side, field by field: what the scaling-up chapter shows of the full recipe against the
lite preset, and of the one-GPU QLoRA recipe against the paper's.

Why our own code: a recipe is this package's own ``Config``; flattening it into dotted field names is a few lines.
"""

from __future__ import annotations

# Fields whose values are mappings but are read as one value (a recipe's local model paths, the world's weights)
WHOLE = ("local_paths", "family_weights")


def flat_fields(d: dict, prefix: str = ""):
    """The fields of a recipe's ``to_dict()`` as (dotted name, value) pairs, sections opened, in their order."""
    for k, v in d.items():
        if isinstance(v, dict) and k not in WHOLE:
            yield from flat_fields(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def differing_fields(a, b) -> list[tuple[str, object, object]]:
    """(field, value in ``a``, value in ``b``) for every field of recipe ``a`` on which ``b`` differs, in ``a``'s
    order; ``a`` and ``b`` are :class:`~rlhf_lite.config.Config` objects (or their ``to_dict()``)."""
    fa = dict(flat_fields(a if isinstance(a, dict) else a.to_dict()))
    fb = dict(flat_fields(b if isinstance(b, dict) else b.to_dict()))
    missing = sorted(set(fa) ^ set(fb))
    if missing:
        raise ValueError(f"differing_fields: the two recipes do not have the same fields; only in one: {missing}.")
    return [(k, fa[k], fb[k]) for k in fa if fa[k] != fb[k]]
