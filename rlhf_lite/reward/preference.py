"""The pairwise preference model (paper, Section 2): the LM itself answers "A" or "B".

Training data are instruction-label pairs "[CONTEXT] x [RESPONSE A] a1 [RESPONSE B] a2" -> "A"
(or "B" if the second response is preferred), with the order of the two responses randomised so the
model cannot learn a position. We train it with TRL's SFTTrainer, loss on the label only (the same
``sft.train_sft`` that makes pi_0). At inference P(a1 > a2) = p_A / (p_A + p_B); we also average over
both orders, which makes P(a1 > a2) + P(a2 > a1) = 1 exactly and cancels any position bias.

The untrained pi_0 asked the same question is the "prompting" baseline of the paper's Table 1.
``copeland_ranking`` ranks n responses with any pairwise judge, so the online loop can use a
preference model where it would use a reward. Chapter 4 (notebooks/04_reward_models) uses all of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from rlhf_lite.data.schema import prompt_text
from rlhf_lite.policy.microbatch import length_order


def context_text(prompt) -> str:
    """The [CONTEXT] part: the prompt string, or a conversation's turns joined."""
    return prompt if isinstance(prompt, str) else prompt_text(prompt)


# How the pair is shown. "markers": the authors' released format (RLHFlow's pair-pm), the context once, then the two
# answers. "own": each answer after its own copy of the prompt, as pi_0 read every answer in SFT ("<prompt> <answer>
# <eos>"), so that a small model judges each answer where it already reads it (issue 41's first factor). "own-last":
# the same two answers without markers between them, one marker after both, where the label is asked (issue 41's
# own probe: where the marker sits).
FORMATS = ("markers", "own", "own-last")
FORMAT_FILE = "preference_format.json"  # saved beside a trained preference model: it is judged as it was trained


def format_pair(prompt, a1: str, a2: str, style: str = "markers", eos: str = "<eos>") -> str:
    """The text a preference model reads before its label, in ``style`` (:data:`FORMATS`); ``eos`` ends each answer
    in the "own" style (the tokenizer's end-of-sequence token)."""
    x = context_text(prompt)
    if style == "markers":
        return f"[CONTEXT] {x} [RESPONSE A] {a1} [RESPONSE B] {a2}"
    if style == "own":
        return f"[RESPONSE A] {x} {a1} {eos} [RESPONSE B] {x} {a2} {eos}"
    if style == "own-last":
        return f"{x} {a1} {eos} {x} {a2} {eos} [RESPONSE A]"
    raise ValueError(f"format_pair: unknown style {style!r}; use one of {FORMATS}.")


def preference_records(pairs: Sequence[dict], seed: int = 0, style: str = "markers", eos: str = "<eos>") -> list[dict]:
    """SFT records {prompt, completion} from preference pairs, the order of the two responses randomised."""
    rng = np.random.default_rng(seed)
    out = []
    for p in pairs:
        a_w, a_l = p["chosen"][-1]["content"], p["rejected"][-1]["content"]
        if rng.random() < 0.5:
            out.append({"prompt": format_pair(p["prompt"], a_w, a_l, style, eos), "completion": " A"})
        else:
            out.append({"prompt": format_pair(p["prompt"], a_l, a_w, style, eos), "completion": " B"})
    return out


def save_format(folder: str | Path, style: str) -> None:
    """Record beside a trained preference model the style it was trained on (:data:`FORMAT_FILE`)."""
    if style not in FORMATS:
        raise ValueError(f"save_format: unknown style {style!r}; use one of {FORMATS}.")
    (Path(folder) / FORMAT_FILE).write_text(json.dumps({"style": style}))


def saved_format(folder: str | Path) -> str:
    """The style a preference model in ``folder`` was trained on: "markers" for a folder without the file (every
    model trained before the "own" style existed, and pi_0 asked as the prompting baseline)."""
    f = Path(folder) / FORMAT_FILE
    return json.loads(f.read_text())["style"] if f.exists() else "markers"


class PreferenceModel:
    """P(a1 > a2 | x) from a causal LM's next-token probabilities of "A" and "B"."""

    def __init__(self, model, tokenizer, batch_size: int = 256, progress: bool = False, symmetric: bool = True,
                 style: str = "markers"):
        ids = [tokenizer.convert_tokens_to_ids(t) for t in ("A", "B")]
        if any(i is None or i == tokenizer.unk_token_id for i in ids):
            # A hub tokenizer may split differently; encode the labels as they follow a space.
            ids = [tokenizer(" " + t, add_special_tokens=False)["input_ids"][-1] for t in ("A", "B")]
        self.id_a, self.id_b = ids
        self.model, self.tok = model.eval(), tokenizer
        self.batch_size, self.progress, self.symmetric = batch_size, progress, symmetric
        if style not in FORMATS:
            raise ValueError(f"PreferenceModel: unknown style {style!r}; use one of {FORMATS}.")
        self.style, self.eos = style, tokenizer.eos_token or "<eos>"

    @classmethod
    def from_pretrained(cls, path: str | Path, **kw) -> "PreferenceModel":
        from rlhf_lite.policy.models import load_policy

        model, tok = load_policy(path)
        return cls(model, tok, **{"style": saved_format(path), **kw})

    @torch.no_grad()
    def prob_a(self, texts: Sequence[str]) -> np.ndarray:
        """p_A / (p_A + p_B) at the position after each formatted pair (left padding), in the order given; the
        batches are formed by length so that little of them is padding (rlhf_lite.policy.microbatch)."""
        ids = self.tok(list(texts))["input_ids"] if len(texts) else []
        out = np.zeros(len(ids), dtype=np.float32)
        groups = length_order([len(i) for i in ids], self.batch_size)
        for group in tqdm(groups, desc="preference", disable=not self.progress or len(groups) < 2):
            enc = self.tok.pad({"input_ids": [ids[i] for i in group]}, return_tensors="pt").to(self.model.device)
            logits = self.model(**enc).logits[:, -1, :].float()
            two = torch.log_softmax(logits, dim=-1)[:, [self.id_a, self.id_b]]
            out[group] = torch.softmax(two, dim=-1)[:, 0].cpu().numpy()
        return out

    def prob_first(self, prompts: Sequence, first: Sequence[str], second: Sequence[str]) -> np.ndarray:
        """P(first > second); with ``symmetric`` the mean over both orders of presentation."""
        fmt = lambda x, u, v: format_pair(x, u, v, self.style, self.eos)  # noqa: E731
        ab = self.prob_a([fmt(x, a, b) for x, a, b in zip(prompts, first, second)])
        if not self.symmetric:
            return ab
        ba = self.prob_a([fmt(x, b, a) for x, a, b in zip(prompts, first, second)])
        return 0.5 * (ab + (1.0 - ba))


def copeland_ranking(judge, prompt, responses: Sequence[str]) -> np.ndarray:
    """Copeland score of each of n responses: wins minus losses over all n(n-1)/2 comparisons
    (a probability of exactly 0.5 is a draw). Best-of-n is the argmax, worst-of-n the argmin."""
    n = len(responses)
    i, j = np.triu_indices(n, k=1)
    if len(i) == 0:
        return np.zeros(n)
    p = judge.prob_first([prompt] * len(i), [responses[k] for k in i], [responses[k] for k in j])
    score = np.zeros(n)
    np.add.at(score, i, np.sign(p - 0.5))
    np.add.at(score, j, -np.sign(p - 0.5))
    return score
