"""Filters for preference pairs: the paper's cleaning (Appendix B.1) and a few of ours.

From the paper: drop pairs with empty turns or with labels the other fields contradict, drop ties
(Table 5 counts pairs "except those with the same score"), drop comparisons with a small score
margin ("these preference signals tend to be noisy"), and keep SHP pairs only with a score ratio
above 2 and at most 5 a post. Ours, which the paper does not list: identical responses, the same
pair labelled both ways, duplicates, and an optional token-length limit.

Each filter is a small object with a ``name`` (a column of the curation report) and ``describe()``
(why a pair goes); ``keep(records)`` returns one decision per pair. ``curation.curate`` applies them
in order. Chapter 3 (notebooks/03_preference_data) measures what each one removes against r*.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from rlhf_lite.data.schema import prompt_text, response_text


@dataclass
class Filter:
    """Base class: subclasses define ``keep(records) -> list[bool]``."""

    name = "filter"
    reason = ""

    def keep(self, records: Sequence[dict]) -> list[bool]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return self.reason


def _applies(record: dict, sources) -> bool:
    return sources is None or record["source"] in sources


def _scope(sources) -> str:
    """The " (sources [...])" tail of a description, for filters limited to some sources."""
    return f" (sources {list(sources)})" if sources else ""


def _space(text: str) -> str:
    return " ".join(text.split())


def normalise_text(text: str) -> str:
    """For near-duplicate detection: Unicode NFKC, case folded, whitespace collapsed, and trailing
    sentence punctuation dropped. Signs and operators stay, so "2-2" and "2+2" remain different."""
    return _space(unicodedata.normalize("NFKC", text).casefold()).rstrip(".!?;, ")


@dataclass
class EmptyTurns(Filter):
    name = "empty turn"
    reason = "a prompt or response turn is empty, or the prompt does not end with a user turn"

    def keep(self, records):
        def ok(r):
            turns = r["prompt"] + r["chosen"] + r["rejected"]
            return (bool(r["prompt"]) and bool(r["chosen"]) and bool(r["rejected"])
                    and r["prompt"][-1].get("role") == "user"
                    and all(isinstance(m.get("content"), str) and m["content"].strip() for m in turns))
        return [ok(r) for r in records]


@dataclass
class Identical(Filter):
    name = "identical"
    reason = "chosen and rejected are the same text (up to spacing)"

    def keep(self, records):
        return [_space(response_text(r["chosen"])) != _space(response_text(r["rejected"])) for r in records]


@dataclass
class Contradicted(Filter):
    """A label its own scores contradict: 'chosen' scored lower than 'rejected' (App. B.1, "incorrect
    labels implied by the other features of the dataset")."""

    name = "contradicted"
    reason = "chosen has a lower score than rejected"

    def keep(self, records):
        return [r["margin"] is None or r["margin"] >= 0 for r in records]


@dataclass
class Ties(Filter):
    name = "tie"
    reason = "chosen and rejected have the same score"

    def keep(self, records):
        return [r["margin"] is None or r["margin"] != 0 for r in records]


@dataclass
class Conflicts(Filter):
    """The same two responses to the same prompt labelled both ways: both labels go."""

    name = "conflicting"
    reason = "the same pair appears with the opposite label"

    def keep(self, records):
        def key(r):
            return prompt_text(r["prompt"]), response_text(r["chosen"]), response_text(r["rejected"])
        seen = {key(r) for r in records}
        return [(k[0], k[2], k[1]) not in seen or k[1] == k[2] for k in map(key, records)]


@dataclass
class MinMargin(Filter):
    """Drop scored pairs whose margin is below a threshold, on each source's own rating scale.

    ``threshold`` is one number for every source, or a dict source -> threshold (sources not in the
    dict are left alone). SHP is excluded by default: its scores are upvotes, judged by ``ScoreRatio``.
    """

    threshold: float | dict = 0.5
    exclude: tuple[str, ...] = ("shp",)
    name = "small margin"

    def _limit(self, source):
        if source in self.exclude:
            return None
        return self.threshold.get(source) if isinstance(self.threshold, dict) else self.threshold

    def describe(self):
        if isinstance(self.threshold, dict):
            return "score margin below " + ", ".join(f"{v:g} ({k})" for k, v in self.threshold.items())
        return f"score margin < {self.threshold:g}"

    def keep(self, records):
        def ok(r):
            lim = self._limit(r["source"])
            return lim is None or r["margin"] is None or r["margin"] >= lim
        return [ok(r) for r in records]


def score_ratio(r: dict) -> float | None:
    """score_chosen / score_rejected, with a rejected score below 1 counted as 1 (as SHP's own
    ``score_ratio`` does not divide by zero: 1 upvote against 0 is a ratio of 1, not infinity)."""
    sc, sr = r["score_chosen"], r["score_rejected"]
    if sc is None or sr is None:
        return None
    return sc / max(sr, 1.0)


@dataclass
class ScoreRatio(Filter):
    """SHP's rule (Cui et al., 2023; paper App. B.1): keep a pair only if score ratio > ``min_ratio``."""

    min_ratio: float = 2.0
    sources: tuple[str, ...] | None = ("shp",)
    name = "score ratio"

    def describe(self):
        return f"score ratio <= {self.min_ratio:g}" + _scope(self.sources)

    def keep(self, records):
        def ok(r):
            ratio = score_ratio(r) if _applies(r, self.sources) else None
            return ratio is None or ratio > self.min_ratio
        return [ok(r) for r in records]


@dataclass
class CapPerPrompt(Filter):
    """At most ``k`` pairs a prompt (SHP: 5 a post). Keeps the pairs with the largest score ratio, so
    the cap removes the least certain comparisons first; equal ratios keep input order."""

    k: int = 5
    sources: tuple[str, ...] | None = ("shp",)
    name = "per-prompt cap"

    def describe(self):
        return f"more than {self.k} pairs for one prompt" + _scope(self.sources)

    def keep(self, records):
        groups = defaultdict(list)
        for i, r in enumerate(records):
            if _applies(r, self.sources):
                groups[(r["source"], r["prompt_id"])].append(i)
        keep = [True] * len(records)
        for idx in groups.values():
            ranked = sorted(idx, key=lambda i: (-(score_ratio(records[i]) or 0.0), i))
            for i in ranked[self.k:]:
                keep[i] = False
        return keep


@dataclass
class Dedup(Filter):
    """Keep the first of several identical (prompt, chosen, rejected) pairs, across sources.

    ``normalise=True`` compares the texts after ``normalise_text``, which also catches copies that
    differ only in case, spacing or a trailing full stop.
    """

    normalise: bool = False

    @property
    def name(self):
        return "near duplicate" if self.normalise else "duplicate"

    @property
    def reason(self):
        return "same pair after normalising case, spacing and end punctuation" if self.normalise else "exact copy of an earlier pair"

    def keep(self, records):
        norm = normalise_text if self.normalise else (lambda s: s)
        seen, keep = set(), []
        for r in records:
            key = (norm(prompt_text(r["prompt"])), norm(response_text(r["chosen"])), norm(response_text(r["rejected"])))
            keep.append(key not in seen)
            seen.add(key)
        return keep


@dataclass
class MaxLength(Filter):
    """Drop pairs where prompt + chosen or prompt + rejected is longer than ``max_length`` tokens of
    ``tokenizer`` (through its chat template when it has one, as the trainers will see them)."""

    tokenizer: object = None
    max_length: int = 2048
    name = "too long"

    def describe(self):
        return f"prompt + response longer than {self.max_length} tokens"

    def keep(self, records):
        if self.tokenizer is None:
            raise ValueError("MaxLength needs a tokenizer: MaxLength(tokenizer=..., max_length=...).")
        return [max(token_length(self.tokenizer, r["prompt"] + r["chosen"]),
                    token_length(self.tokenizer, r["prompt"] + r["rejected"])) <= self.max_length
                for r in records]


def token_length(tokenizer, messages: list[dict]) -> int:
    if getattr(tokenizer, "chat_template", None):
        out = tokenizer.apply_chat_template(messages, tokenize=True)
        ids = out["input_ids"] if hasattr(out, "keys") else out
        return len(ids)
    return len(tokenizer(response_text(messages), add_special_tokens=True)["input_ids"])


def paper_filters(tokenizer=None, max_length: int | None = None, min_margin: float | dict = 0.5,
                  shp_min_ratio: float = 2.0, shp_max_pairs: int = 5) -> list[Filter]:
    """The cleaning we apply, in order: the paper's (App. B.1) interleaved with ours (see module doc)."""
    fs: list[Filter] = [EmptyTurns(), Identical(), Contradicted(), Conflicts(), Ties(), ScoreRatio(shp_min_ratio),
                        CapPerPrompt(shp_max_pairs), MinMargin(min_margin), Dedup(), Dedup(normalise=True)]
    if tokenizer is not None and max_length is not None:
        fs.append(MaxLength(tokenizer, max_length))
    return fs
