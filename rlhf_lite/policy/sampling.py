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

from rlhf_lite.policy.microbatch import length_order


@dataclass(frozen=True)
class Generation:
    text: str  # the decoded response, special tokens removed
    token_ids: tuple[int, ...]  # the generated ids, up to and including EOS
    finished: bool  # True if the model emitted EOS within max_new_tokens
    logprob: float | None = None  # log pi(a | x) of the sampling policy at temperature 1, when the backend gives it

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
    heads, tails = encode_prompts(tokenizer, prompts), [list(a) for a in responses]
    out = np.zeros(len(heads))
    # batches by length, so that little of each is padding; the sums come back in the order given
    for group in length_order([len(h) + len(a) for h, a in zip(heads, tails)], batch_size):
        rows = [(heads[i], tails[i]) for i in group]
        width = max(len(h) + len(a) for h, a in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, (h, a) in enumerate(rows):  # right padding: positions start at 0 for everyone
            ids[i, :len(h) + len(a)] = torch.tensor(h + a)
            mask[i, :len(h) + len(a)] = 1
        logp = torch.log_softmax(model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device))
                                 .logits.float(), dim=-1).cpu()
        for i, (h, a) in enumerate(rows):
            pos = torch.arange(len(h) - 1, len(h) + len(a) - 1)  # the logits at position p predict token p + 1
            out[group[i]] = float(logp[i, pos, torch.tensor(a, dtype=torch.long)].sum()) if a else 0.0
    return out


class HFSampler:
    """Batched sampling from a transformers causal LM (left padding, stops at EOS), CPU or GPU.

    Two engines, raced in bench/bench_padding.py (the sampling rows):
    - ``drop_finished=True`` (default): our own decoding loop over the model's KV cache, in which a sequence that
      has emitted EOS leaves the batch (the cache's ``batch_select_indices``), and one call samples every
      temperature (each row divides its logits by its own). It also returns log pi(a | x) at temperature 1 of
      each sample, summed as it is drawn, so the KL estimate needs no second forward pass (tests compare it
      with :func:`sequence_logprobs`). Why our own: ``model.generate`` keeps finished rows in the batch until the
      longest one ends and takes one temperature per call; on the CPU those rows cost as much as live ones.
    - ``drop_finished=False``: ``model.generate``, one call per temperature, the finished rows carried along.
    Prompts are batched by length (little left padding) and results returned in prompt order."""

    def __init__(self, model, tokenizer, batch_size: int = 64, progress: bool = True, drop_finished: bool = True):
        if tokenizer.pad_token_id is None:
            raise ValueError("HFSampler needs a tokenizer with a pad token (set tokenizer.pad_token).")
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.progress, self.drop_finished = batch_size, progress, drop_finished

    def generate(self, prompts, n, temperature, max_new_tokens, seed):
        return self.generate_split(prompts, [n], [temperature], max_new_tokens, seed)

    @torch.no_grad()
    def generate_split(self, prompts, counts: Sequence[int], temperatures: Sequence[float], max_new_tokens: int,
                       seed: int) -> list[list[Generation]]:
        """For each prompt, counts[j] samples at temperatures[j] (in that order), in prompt order."""
        n = sum(counts)
        if min(counts, default=0) < 1 or max_new_tokens < 1 or min(temperatures, default=0) <= 0 or \
                len(counts) != len(temperatures):
            raise ValueError(
                f"HFSampler needs n >= 1 per temperature, max_new_tokens >= 1 and temperatures > 0; got counts "
                f"{list(counts)}, temperatures {list(temperatures)}, max_new_tokens={max_new_tokens}.")
        tok = self.tokenizer
        self.model.eval()
        encoded = encode_prompts(tok, prompts)
        out: list[list[Generation]] = [[] for _ in prompts]
        groups = length_order([len(e) for e in encoded], self.batch_size)
        bar = tqdm(groups, desc=f"sampling n={n} T={'/'.join(map(str, temperatures))}",
                   disable=not self.progress or len(groups) < 2)
        for b, group in enumerate(bar):
            batch = [encoded[i] for i in group]
            if self.drop_finished:
                gen = torch.Generator().manual_seed(seed * 100_003 + b)  # reproducible for a given batch size
                temps = [t for t, k in zip(temperatures, counts) for _ in range(k)]
                rows = decode(self.model, batch, temps, max_new_tokens, tok.eos_token_id, tok.pad_token_id, gen)
                for i, p in enumerate(group):
                    out[p] = [self._generation(ids, lp) for ids, lp in rows[i * n:(i + 1) * n]]
                continue
            enc = tok.pad({"input_ids": batch}, return_tensors="pt").to(self.model.device)
            for j, (t, k) in enumerate(zip(temperatures, counts)):
                torch.manual_seed(seed * 100_003 + b + 7919 * j)
                new = self.model.generate(**enc, do_sample=True, temperature=t, top_k=None, top_p=None,
                                          num_return_sequences=k, max_new_tokens=max_new_tokens,
                                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                                          )[:, enc["input_ids"].shape[1]:].tolist()
                for i, p in enumerate(group):
                    out[p] += [self._generation(ids, None) for ids in new[i * k:(i + 1) * k]]
        return out

    def _generation(self, ids: list[int], logprob: float | None) -> Generation:
        eos = self.tokenizer.eos_token_id
        finished = eos in ids
        ids = ids[: ids.index(eos) + 1] if finished else ids
        return Generation(self.tokenizer.decode(ids, skip_special_tokens=True).strip(), tuple(ids), finished, logprob)


def decode(model, prompts: Sequence[Sequence[int]], temperatures: Sequence[float], max_new_tokens: int, eos: int,
           pad: int, generator: torch.Generator) -> list[tuple[list[int], float]]:
    """Ancestral sampling of len(temperatures) answers per prompt (prompt-major: prompt 0's rows first), each row at
    its own temperature, with the KV cache; rows leave the batch when they emit ``eos``. Returns each row's tokens
    (``eos`` included when drawn) and its log-probability under the model at temperature 1.

    The distribution is generate's with top_k and top_p off: softmax(logits / T), one multinomial draw per step.
    Left padding, positions counted from each prompt's first real token (as generate does)."""
    from transformers import DynamicCache

    k = len(temperatures)
    width = max(len(p) for p in prompts)
    device = model.device
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):], mask[i, width - len(p):] = torch.tensor(list(p)), 1
    ids, mask = ids.to(device), mask.to(device)
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()
    # each prompt read once, then its cache and last logits copied for its k answers
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position, past_key_values=cache, use_cache=True,
                   logits_to_keep=1).logits[:, -1].repeat_interleave(k, dim=0)
    cache.batch_repeat_interleave(k)
    mask, position = mask.repeat_interleave(k, dim=0), position.repeat_interleave(k, dim=0)
    rows = [p for p in prompts for _ in range(k)]
    temps = torch.tensor([t for _ in prompts for t in temperatures], dtype=torch.float32, device=device)
    alive = torch.arange(len(rows), device=device)  # the rows still in the batch, by their index in ``rows``
    nxt = position[:, -1] + 1
    tokens: list[list[int]] = [[] for _ in rows]
    logp = torch.zeros(len(rows), dtype=torch.float64)
    for step in range(max_new_tokens):
        logits = logits.float()
        probs = torch.softmax(logits / temps[alive, None], dim=-1)
        drawn = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1)
        logp[alive.cpu()] += torch.log_softmax(logits, dim=-1).cpu().gather(1, drawn[:, None]).squeeze(1).double()
        for r, t in zip(alive.tolist(), drawn.tolist()):
            tokens[r].append(t)
        if step == max_new_tokens - 1:
            break
        keep = (drawn != eos).to(device)
        if not keep.all():
            if not keep.any():
                break
            kept = keep.nonzero().squeeze(1)
            cache.batch_select_indices(kept)
            alive, mask, nxt, drawn = alive[kept], mask[kept], nxt[kept], drawn.to(device)[kept]
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        logits = model(input_ids=drawn.to(device)[:, None], attention_mask=mask, position_ids=nxt[:, None],
                       past_key_values=cache, use_cache=True).logits[:, -1]
        nxt = nxt + 1
    return [(t, float(lp)) for t, lp in zip(tokens, logp)]


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
    token_ids}, and ``logprob`` (log pi(a | x) at temperature 1) when the backend computes it while sampling.
    """
    result = [[] for _ in prompts]
    counts = split_n(n, temperatures)
    if hasattr(generator, "generate_split"):  # every temperature in one call (HFSampler)
        rows = generator.generate_split(prompts, counts, temperatures, max_new_tokens, seed)
        temps = [t for t, k in zip(temperatures, counts) for _ in range(k)]
        gens = [list(zip(temps, row)) for row in rows]
    else:
        gens = [[] for _ in prompts]
        for j, (t, k) in enumerate(zip(temperatures, counts)):
            for i, row in enumerate(generator.generate(prompts, k, t, max_new_tokens, seed + 7919 * j)):
                gens[i] += [(t, g) for g in row]
    for i, row in enumerate(gens):
        for t, g in row:
            rec = {"prompt": prompts[i], "response": g.text, "temperature": t, "num_tokens": g.num_tokens,
                   "finished": g.finished, "token_ids": list(g.token_ids)}
            if g.logprob is not None:
                rec["logprob"] = g.logprob
            result[i].append(rec)
    return result


def sample_two_policies(first: Generator, second: Generator, prompts: Sequence, n: int,
                        temperatures: Sequence[float] = (1.0, 0.7), max_new_tokens: int = 24,
                        seed: int = 0) -> list[list[dict]]:
    """n responses per prompt from two policies, pi^1 and pi^2 of Algorithm 2 as two checkpoints: the first
    n - n//2 from ``first``, the rest from ``second``, each share split across ``temperatures`` as
    :func:`sample_responses` splits n. Each record says which it came from ("policy": 1 or 2)."""
    if n < 2 * len(temperatures):
        raise ValueError(f"sampling two policies: n={n} leaves fewer samples per policy than temperatures "
                         f"{list(temperatures)}; set sampling.n to at least {2 * len(temperatures)}.")
    a = sample_responses(first, prompts, n - n // 2, temperatures, max_new_tokens, seed)
    b = sample_responses(second, prompts, n // 2, temperatures, max_new_tokens, seed + 104_729)  # its own draws
    return [[{**r, "policy": 1} for r in ra] + [{**r, "policy": 2} for r in rb] for ra, rb in zip(a, b)]
