"""One preference schema for every dataset of the paper's Table 5, and the errors a bad row raises.

Every dataset arrives in its own format. ``sources.py`` converts each native row into pairs of this
one schema, which TRL's DPO and reward trainers read directly (conversational, explicit prompt)::

    {"prompt":   [{"role": "user", "content": ...}, ...],   # the history, ending with a user turn
     "chosen":   [{"role": "assistant", "content": ...}],
     "rejected": [{"role": "assistant", "content": ...}],
     "source": "ultrafeedback", "prompt_id": "...", "origin": "train.jsonl:17",
     "score_chosen": 4.5, "score_rejected": 3.0, "margin": 1.5}     # None where a source has no scores

A row that cannot be converted raises ``RowError(field, reason)`` in its converter; ``rows.py`` reads
the files and decides what a bad row costs. Chapter 3 (notebooks/03_preference_data) walks through it.
"""

from __future__ import annotations

import hashlib
import json
import math

SCHEMA_FIELDS = ("prompt", "chosen", "rejected", "source", "prompt_id", "origin",
                 "score_chosen", "score_rejected", "margin")
ROLES = ("system", "user", "assistant")


class RowError(ValueError):
    """A native row that cannot become a pair: which field, and why."""

    def __init__(self, field: str | None, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"field {field!r}: {reason}" if field else reason)


class LabelError(RowError):
    """A well-formed row whose label its own other fields contradict (App. B.1: "incorrect labels").
    Always counted, never raised: it is a judgement about the data, not a format error."""


class UnpairedRow(RowError):
    """A well-formed row that forms no pair (a HelpSteer prompt with one rated response). Counted by the
    combine step that found it, never raised, and not as malformed."""


class MalformedRowError(ValueError):
    """Raised by ``load_source(errors="raise")``; the message says where and what to do."""


# ----------------------------------------------------------------------------- building pairs


def message(role: str, content) -> dict:
    return {"role": role, "content": content}


def trl_dataset(pairs):
    """A ``datasets.Dataset`` of only TRL's three columns, prompt/chosen/rejected, as RewardTrainer and
    DPOTrainer read them. Our schema's other columns stay out: TRL reads a "margin" column as a margin
    *inside* the loss (-log sigma(r_w - r_l - m)), and our margin is a rating difference, not that."""
    from datasets import Dataset

    return Dataset.from_list([{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs])


def make_pair(prompt: list[dict], chosen, rejected, *, source: str, prompt_id: str | None = None,
              score_chosen: float | None = None, score_rejected: float | None = None) -> dict:
    """One record of the schema. ``chosen``/``rejected`` may be a string (one assistant turn) or messages."""
    as_msgs = lambda a: [message("assistant", a)] if isinstance(a, str) else list(a)  # noqa: E731
    margin = None
    if score_chosen is not None and score_rejected is not None:
        margin = float(score_chosen) - float(score_rejected)
    return {
        "prompt": list(prompt), "chosen": as_msgs(chosen), "rejected": as_msgs(rejected),
        "source": source, "prompt_id": prompt_id or prompt_key(prompt), "origin": "",
        "score_chosen": None if score_chosen is None else float(score_chosen),
        "score_rejected": None if score_rejected is None else float(score_rejected),
        "margin": margin,
    }


def alternate_turns(prompt: list[dict]) -> tuple[list[dict], int]:
    """The prompt with consecutive turns of one role merged (their texts joined by a blank line), and 1 if any
    were merged, else 0. Many models' chat templates raise on roles that do not alternate (real HH-RLHF has
    two assistant or two user turns in a row in 4 of its 2,312 harmless-base test rows); merging keeps every
    word, in order, and the row. A prompt that would still fail is a ``RowError``: one whose first turn after
    any system turns is not the user's, or whose last turn is not the user's (the response would follow an
    assistant turn)."""
    out = []
    for m in prompt:
        if out and out[-1]["role"] == m["role"]:
            out[-1] = message(m["role"], f"{out[-1]['content']}\n\n{m['content']}")
        else:
            out.append(dict(m))
    turns = [m for m in out if m["role"] != "system"]
    if not turns or turns[0]["role"] != "user":
        raise RowError("prompt", "the first turn after any system prompt is not the user's")
    if out[-1]["role"] != "user":
        raise RowError("prompt", "the last turn is not the user's" + (
            ": two assistant turns in a row before the response" if out[-1]["role"] == "assistant" else ""))
    return out, int(len(out) < len(prompt))


def prompt_text(prompt: list[dict]) -> str:
    """The prompt's turns joined, for lengths, keys and dedup."""
    return "\n".join(str(m.get("content", "")) for m in prompt)


def prompt_key(prompt: list[dict]) -> str:
    return hashlib.sha1(json.dumps(prompt, sort_keys=True).encode()).hexdigest()[:16]


def last_user_turn(prompt: list[dict]) -> str:
    for m in reversed(prompt):
        if m.get("role") == "user":
            return m.get("content", "")
    return ""


def response_text(messages: list[dict]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages)


def pairs_from_scores(prompt: list[dict], responses: list[str], scores: list[float | None], *,
                      source: str, prompt_id: str | None = None, field: str | None = None) -> list[dict]:
    """All comparisons among k scored responses to one prompt, higher score as chosen.

    Ties are kept (in input order) so that the ``Ties`` filter can count them; responses
    without a score (e.g. UltraFeedback's "N/A") take no part. This is how the paper counts pairs
    for datasets with several responses a prompt (Table 5 caption). When the responses are one row's
    (``field`` names them), fewer than two scored is a ``RowError``: the row would otherwise give no pair
    and be counted nowhere.
    """
    scored = [(a, s) for a, s in zip(responses, scores) if s is not None]
    if field is not None and len(scored) < 2:
        raise RowError(field, f"fewer than two responses have a score ({len(scored)} of {len(responses)}): no pair")
    out = []
    for i in range(len(scored)):
        for j in range(i + 1, len(scored)):
            (a, sa), (b, sb) = scored[i], scored[j]
            if sb > sa:
                (a, sa), (b, sb) = (b, sb), (a, sa)
            out.append(make_pair(prompt, a, b, source=source, prompt_id=prompt_id,
                                 score_chosen=sa, score_rejected=sb))
    return out


# ----------------------------------------------------------------------------- field access


def get_field(row: dict, name: str, kind: type | tuple[type, ...], *, allow_none: bool = False):
    """``row[name]`` checked for presence and type; a ``RowError`` says which field is wrong."""
    if not isinstance(row, dict):
        raise RowError(None, f"row is a {type(row).__name__}, expected a JSON object")
    if name not in row:
        raise RowError(name, "missing")
    value = row[name]
    if value is None and allow_none:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise RowError(name, f"expected a finite number, got {value}")
    if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float):
        want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise RowError(name, f"expected {want}, got {type(value).__name__} {str(value)[:40]!r}")
    return value


def as_score(value, name: str) -> float | None:
    """A rating as stored by annotators: int, float, or a numeric string; "N/A" and None mean no score."""
    if value is None or isinstance(value, str) and value.strip().upper() in ("N/A", "NA", ""):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise RowError(name, f"expected a numeric score, got {value!r}") from None
    if not math.isfinite(x):
        raise RowError(name, f"expected a finite score, got {value!r}")
    return x
