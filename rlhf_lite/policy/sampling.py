"""Drawing n responses per prompt: the generation step of the online loop (Algorithm 2, line 4).

Backends implement :class:`Generator`; the loop and the notebooks only see that interface.
:class:`HFSampler` is the batched transformers backend (CPU or GPU); a vLLM backend
implements the same method. The paper samples n/2 responses at temperature 1.0 and n/2 at
0.7 (Section 3.3); :func:`sample_responses` does that split for any backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm


@dataclass(frozen=True)
class Generation:
    text: str  # the decoded response, special tokens removed
    token_ids: tuple[int, ...]  # the generated ids, up to and including EOS
    finished: bool  # True if the model emitted EOS within max_new_tokens

    @property
    def num_tokens(self) -> int:
        """Generated tokens, EOS included when there was one."""
        return len(self.token_ids)


class Generator(Protocol):
    def generate(
        self, prompts: Sequence[str], n: int, temperature: float, max_new_tokens: int, seed: int
    ) -> list[list[Generation]]:
        """n sampled responses for each prompt, in prompt order."""
        ...


def encode_prompts(tokenizer, prompts: Sequence) -> list[list[int]]:
    """Token ids of each prompt as the policy sees it before its answer. A string is tokenized with the
    tokenizer's special tokens (BOS); chat messages go through the model's chat template, which writes
    its own BOS (adding another would give the model "<bos><bos>")."""
    out = []
    for p in prompts:
        if isinstance(p, str):
            out.append(tokenizer(p)["input_ids"])
        else:
            text = tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            out.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return out


@torch.no_grad()
def sequence_logprobs(model, tokenizer, prompts: Sequence, responses: Sequence[Sequence[int]],
                      batch_size: int = 64) -> np.ndarray:
    """log pi(a | x), summed over the response's token ids (EOS included when it was generated).

    Why our own code: TRL computes these sums inside its trainers but offers no function for scoring
    arbitrary samples; the iterative DPO chapter needs them for the sample estimate of KL(pi || pi_0)."""
    if len(prompts) != len(responses):
        raise ValueError(f"sequence_logprobs: {len(prompts)} prompts but {len(responses)} responses.")
    model.eval()
    out = []
    for s in range(0, len(prompts), batch_size):
        heads = encode_prompts(tokenizer, prompts[s:s + batch_size])
        tails = [list(a) for a in responses[s:s + batch_size]]
        width = max(len(h) + len(a) for h, a in zip(heads, tails))
        ids = torch.full((len(heads), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, (h, a) in enumerate(zip(heads, tails)):  # right padding: positions start at 0 for everyone
            ids[i, :len(h) + len(a)] = torch.tensor(h + a)
            mask[i, :len(h) + len(a)] = 1
        logp = torch.log_softmax(model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device))
                                 .logits.float(), dim=-1).cpu()
        for i, (h, a) in enumerate(zip(heads, tails)):
            pos = torch.arange(len(h) - 1, len(h) + len(a) - 1)  # the logits at position p predict token p + 1
            out.append(float(logp[i, pos, torch.tensor(a, dtype=torch.long)].sum()) if a else 0.0)
    return np.array(out)


class HFSampler:
    """Batched sampling with ``model.generate`` (left padding, stops at EOS)."""

    def __init__(self, model, tokenizer, batch_size: int = 64, progress: bool = True):
        if tokenizer.pad_token_id is None:
            raise ValueError("HFSampler needs a tokenizer with a pad token (set tokenizer.pad_token).")
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.progress = batch_size, progress

    @torch.no_grad()
    def generate(self, prompts, n, temperature, max_new_tokens, seed):
        if n < 1 or max_new_tokens < 1 or temperature <= 0:
            raise ValueError(
                f"HFSampler.generate needs n >= 1, max_new_tokens >= 1 and temperature > 0; "
                f"got n={n}, max_new_tokens={max_new_tokens}, temperature={temperature}."
            )
        tok, eos = self.tokenizer, self.tokenizer.eos_token_id
        self.model.eval()
        out: list[list[Generation]] = []
        starts = range(0, len(prompts), self.batch_size)
        bar = tqdm(starts, desc=f"sampling n={n} T={temperature}", disable=not self.progress or len(starts) < 2)
        for b, start in enumerate(bar):
            batch = encode_prompts(tok, prompts[start : start + self.batch_size])
            enc = tok.pad({"input_ids": batch}, return_tensors="pt").to(self.model.device)
            torch.manual_seed(seed * 100_003 + b)  # reproducible for a given batch size
            gen = self.model.generate(
                **enc,
                do_sample=True,
                temperature=temperature,
                top_k=None,
                top_p=None,
                num_return_sequences=n,
                max_new_tokens=max_new_tokens,
                eos_token_id=eos,
                pad_token_id=tok.pad_token_id,
            )
            new = gen[:, enc["input_ids"].shape[1] :].tolist()
            for i in range(len(batch)):
                row = []
                for ids in new[i * n : (i + 1) * n]:
                    finished = eos in ids
                    ids = ids[: ids.index(eos) + 1] if finished else ids
                    row.append(Generation(tok.decode(ids, skip_special_tokens=True).strip(), tuple(ids), finished))
                out.append(row)
        return out


def split_n(n: int, temperatures: Sequence[float]) -> list[int]:
    """How many of n samples each temperature gets: equal shares, the remainder to the first ones."""
    if n < len(temperatures):
        raise ValueError(f"n={n} is smaller than the number of temperatures {list(temperatures)}.")
    k, r = divmod(n, len(temperatures))
    return [k + (i < r) for i in range(len(temperatures))]


def sample_responses(
    generator: Generator,
    prompts: Sequence,
    n: int,
    temperatures: Sequence[float] = (1.0, 0.7),
    max_new_tokens: int = 24,
    seed: int = 0,
) -> list[list[dict]]:
    """n responses per prompt split across temperatures (paper: n/2 at 1.0 and n/2 at 0.7).

    Returns, for each prompt, a list of n records {prompt, response, temperature, num_tokens, finished,
    token_ids}.
    """
    result = [[] for _ in prompts]
    for j, (t, k) in enumerate(zip(temperatures, split_n(n, temperatures))):
        gens = generator.generate(prompts, k, t, max_new_tokens, seed + 7919 * j)
        for i, row in enumerate(gens):
            for g in row:
                result[i].append(
                    {"prompt": prompts[i], "response": g.text, "temperature": t,
                     "num_tokens": g.num_tokens, "finished": g.finished, "token_ids": list(g.token_ids)}
                )
    return result
