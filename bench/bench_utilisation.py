"""Utilisation: how close to this machine's limit lite training and sampling run.

    .venv/bin/python bench/bench_utilisation.py [--profile book] [--pairs 512] [--prompts 640]
                                                [--threads N] [--runs DIR] [--quick]

1. matmul   the GFLOP/s torch reaches on this machine at the lite models' own matmul shapes (tokens x hidden
            @ hidden x out, for q/k/v/o, gate/up, down and the head), forward+backward where the stage trains
            and forward alone where it only scores or samples, with the thread count of the book's jobs
            (rlhf_lite.parallel.job_threads); the best of these is the "peak at lite shapes";
2. stages   what one DPO epoch (train_dpo: TRL's DPOTrainer with the reference scored first), one reward-model
            epoch (train_reward_model: TRL's RewardTrainer) and one sampling pass (sample_responses with
            HFSampler) achieve, in GFLOP/s counted from the models' shapes and the tokens they were fed,
            with padding counted and not counted.

How to read it. "share of peak" is achieved GFLOP/s over the peak at lite shapes; "bound" is the share of
the rate the stage's own matmuls reach alone (what it would do if nothing but its matmuls ran).
- A low share with a high padding share: the work is wasted on pad positions. A faster build needs less
  padding (batches of similar lengths, packing, a padding-free collator) or better batching.
- A low share with little padding: the time goes outside the matmuls (Python, the trainer, tokenising,
  small element-wise kernels, generate's per-step overhead); fewer, larger calls would help.
- A high share (near the bound): the machine is doing the model's arithmetic; only less work (fewer pairs,
  tokens or epochs, a smaller model) makes it faster.

How FLOPs are counted. A forward costs 2 x (matmul weights of the decoder: layers x (4 h^2 + 3 h i)) per token
fed, plus 2 x h x (vocab, or 1 for the reward model's head) per position the head is applied to (every
position in training and scoring; the last one only in generate), plus attention, 4 x layers x h x context per
token (QK^T and AV; causal masking not subtracted, as the CPU kernels compute the whole score matrix). Training
is 3x its forward (the backward costs two). Tokens are counted from outside, by a forward pre-hook on the
models' token embedding that sees every batch the trainers and generate feed: "padded" is every position fed,
"real" every position whose id is not the pad token (TRL's collators pad right, the sampler left, and generate
feeds the pad token to sequences that have finished). DPO's reference forwards (scored once before training)
are counted as forwards. Nothing here is asserted in tests.

``--runs`` reuses a runs folder that already holds the profile's pi_0 and data (by default they are built in a
temporary folder first, about 2 minutes on 2 cores, reported as setup).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# ----------------------------------------------------------------------------- the machine


def cpu_info() -> tuple[str, str]:
    """The CPU's model name and its AVX-512 / AMX flags, from /proc/cpuinfo."""
    name, flags = "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and name == "?":
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        return name, "unknown (no /proc/cpuinfo)"
    wide = sorted(f for f in flags if f.startswith(("avx512", "amx")))
    if "avx512f" not in flags:
        return name, "no" + (f" ({', '.join(wide)})" if wide else "")
    return name, f"yes ({', '.join(wide)})"


# ----------------------------------------------------------------------------- the lite models' shapes


@dataclass(frozen=True)
class LiteShape:
    """The matmul shapes of the lite LLaMA-architecture policy and reward model (rlhf_lite.policy.models)."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    vocab: int

    @property
    def body(self) -> int:
        """Matmul weights of the decoder: q, k, v, o (h x h) and gate, up (h x i), down (i x h) per layer."""
        h, i = self.hidden, self.intermediate
        return self.layers * (4 * h * h + 3 * h * i)

    def matmuls(self, tokens: int, head_rows: int, head_out: int) -> list[tuple[str, int, int, int, int]]:
        """(name, rows, in, out, times per forward) of every matmul kind in one forward over ``tokens``."""
        h, i, n = self.hidden, self.intermediate, self.layers
        return [("q/k/v/o", tokens, h, h, 4 * n), ("gate/up", tokens, h, i, 2 * n), ("down", tokens, i, h, n),
                ("head", head_rows, h, head_out, 1)]


# ----------------------------------------------------------------------------- counting what the models are fed


@dataclass
class Forward:
    rows: int
    width: int
    real: list[int]  # real (non-pad) tokens of each row
    context: int  # positions each query attends over (the KV cache's length in generate)
    grad: bool  # run with autograd on: a training step, so a backward follows
    start: float
    end: float = 0.0


@dataclass
class Counter:
    """Every forward of the lite models while it is active, seen from outside: a global pre-hook on the token
    embedding (the first module of every forward, called with the input ids) and a global hook on the whole
    model (when the forward ends). Why hooks: train_dpo and train_reward_model build their trainers inside, so
    the batches TRL's collators make are visible only where they enter the model."""

    vocab: int
    pad_id: int
    generating: bool = False
    forwards: list[Forward] = field(default_factory=list)

    def __enter__(self):
        import torch

        self._hooks = [torch.nn.modules.module.register_module_forward_pre_hook(self._pre),
                       torch.nn.modules.module.register_module_forward_hook(self._post)]
        return self

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()

    def _pre(self, module, args):
        import torch

        if not (isinstance(module, torch.nn.Embedding) and module.num_embeddings == self.vocab and args):
            return
        ids = args[0]
        rows, width = ids.shape
        context = width
        if self.generating and width == 1 and self.forwards and self.forwards[-1].rows >= rows:
            # a decoding step: one more position in the KV cache (fewer rows when finished ones left the batch)
            context = self.forwards[-1].context + 1
        self.forwards.append(Forward(rows, width, (ids != self.pad_id).sum(1).tolist(), context,
                                     torch.is_grad_enabled(), time.perf_counter()))

    def _post(self, module, args, output):
        if self.forwards and type(module).__name__.endswith(("ForCausalLM", "ForSequenceClassification")):
            self.forwards[-1].end = time.perf_counter()


def flops(f: Forward, shape: LiteShape, head_out: int, generating: bool) -> tuple[float, float]:
    """(padded, real) FLOPs of one forward, times 3 when it trains."""
    h, n = shape.hidden, shape.layers
    tokens, real = f.rows * f.width, sum(f.real)
    if generating:  # generate applies the head to the last position of each row (logits_to_keep=1)
        head_p, head_r = f.rows, f.rows if f.width > 1 else real
    else:
        head_p, head_r = tokens, real
    attn_p = 4 * n * h * f.context * tokens
    # real queries over real keys: whole rows in training; in a decoding step the cache's length (approximate:
    # the cache holds the prompts' left padding too)
    attn_r = 4 * n * h * (sum(r * r for r in f.real) if f.context == f.width else f.context * real)
    fwd_p = 2 * shape.body * tokens + 2 * h * head_out * head_p + attn_p
    fwd_r = 2 * shape.body * real + 2 * h * head_out * head_r + attn_r
    k = 3 if f.grad else 1
    return k * fwd_p, k * fwd_r


@dataclass
class Stage:
    """One measured row: a wall time and the forwards it ran."""

    name: str
    seconds: float
    forwards: list[Forward]
    head_out: int
    generating: bool = False
    groups: list[str] = field(default_factory=list)  # the matmul groups (below) whose shapes it ran

    def totals(self, shape: LiteShape) -> dict:
        pad = sum(f.rows * f.width for f in self.forwards)
        real = sum(sum(f.real) for f in self.forwards)
        fl = [flops(f, shape, self.head_out, self.generating) for f in self.forwards]
        return {"tokens": pad, "real": real, "flops": sum(p for p, _ in fl), "flops_real": sum(r for _, r in fl)}


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# ----------------------------------------------------------------------------- 2. the stages


def run_sampling(cfg, pi0, prompts, counter: Counter, drop_finished: bool = True) -> tuple[Stage, list[list[dict]]]:
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import HFSampler, sample_responses

    model, tok = load_policy(pi0)
    s = cfg.sampling
    counter.forwards, counter.generating = [], True
    with counter:
        sampler = HFSampler(model, tok, s.batch_size, progress=False, drop_finished=drop_finished)
        secs, rows = timed(lambda: sample_responses(sampler, prompts, s.n, s.temperatures, s.max_new_tokens, seed=1))
    counter.generating = False
    stage = Stage(f"sampling pass, {len(prompts)} prompts x n={s.n}", secs, counter.forwards, counter.vocab, True,
                  ["sampling prefill", "sampling decode"])
    return stage, rows


def online_pairs(cfg, prompts, rows, limit: int) -> list[dict]:
    """D_t as the online loop builds it from the samples, ranked here by the lite world's r* (the "gold" judge:
    no reward model to train first)."""
    from rlhf_lite.online.judge import GoldJudge
    from rlhf_lite.online.pairs import build_pairs

    samples = [[r["response"] for r in row] for row in rows]
    scores = GoldJudge().rank_scores(prompts, samples)
    pairs, _ = build_pairs(prompts, samples, scores, cfg.online.rule, cfg.online.length_penalty, seed=1,
                           source="bench")
    return pairs[:limit]


def run_dpo(cfg, pi0, pairs, counter: Counter) -> list[Stage]:
    from rlhf_lite.policy.dpo import train_dpo

    settings = dataclasses.replace(cfg.dpo, epochs=1.0)
    counter.forwards = []
    with tempfile.TemporaryDirectory() as tmp, counter:
        t0 = time.perf_counter()
        train_dpo(pi0, pi0, pairs, Path(tmp) / "pi1", settings, progress=False)
        t1 = time.perf_counter()
    fw = counter.forwards
    ref, train = [f for f in fw if not f.grad], [f for f in fw if f.grad]
    kind = "reference scored first" if settings.precompute_ref_log_probs else "live reference"
    out = [Stage(f"DPO epoch, {len(pairs)} pairs, {kind}", t1 - t0, fw, counter.vocab,
                 groups=["DPO reference", "DPO training"])]
    if ref and settings.precompute_ref_log_probs:  # spans seen by the hooks: first forward to last forward's end
        out.append(Stage("  of which: reference scoring", max(f.end for f in ref) - ref[0].start, ref,
                         counter.vocab, groups=["DPO reference"]))
    if train:  # the first training forward to the end of the call (the last steps and saving the policy)
        tail = [f for f in fw if f.start >= train[0].start]  # with a live reference, its forwards too
        out.append(Stage("  of which: training steps", t1 - train[0].start, tail, counter.vocab,
                         groups=["DPO training"] + (["DPO reference"] if len(tail) > len(train) else [])))
    return out


def run_reward(cfg, pi0, pairs, counter: Counter) -> list[Stage]:
    from rlhf_lite.reward.bradley_terry import train_reward_model

    settings = dataclasses.replace(cfg.reward, epochs=1.0)
    counter.forwards = []
    with tempfile.TemporaryDirectory() as tmp, counter:
        t0 = time.perf_counter()
        train_reward_model(pi0, pairs, Path(tmp) / "rm", settings, progress=False)
        t1 = time.perf_counter()
    fw = counter.forwards
    out = [Stage(f"RM epoch, {len(pairs)} MIX2 pairs", t1 - t0, fw, 1, groups=["RM training"])]
    if fw:
        out.append(Stage("  of which: training steps", t1 - fw[0].start, fw, 1, groups=["RM training"]))
    return out


# ----------------------------------------------------------------------------- 1. matmul throughput


def matmul_rate(rows: int, n_in: int, n_out: int, backward: bool, seconds: float, rounds: int) -> float:
    """Best sustained GFLOP/s of nn.Linear (no bias, as in LLaMA) on a (rows x n_in) input: the best of
    ``rounds`` rounds, each a loop of calls lasting about ``seconds``."""
    import torch

    torch.manual_seed(0)
    lin = torch.nn.Linear(n_in, n_out, bias=False)
    x = torch.randn(rows, n_in, requires_grad=backward)
    g = torch.randn(rows, n_out)
    work = 2 * rows * n_in * n_out * (3 if backward else 1)  # backward: grad of the input and of the weight

    def step():
        if backward:
            lin(x).backward(g)
        else:
            with torch.no_grad():
                lin(x)

    for _ in range(3):
        step()
    t0, reps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds / 4:  # calibrate the number of calls per round
        step()
        reps += 1
    reps = max(1, 4 * reps)
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            step()
        best = max(best, work * reps / (time.perf_counter() - t0) / 1e9)
    return best


def matmul_groups(shape: LiteShape, stages: list[Stage]) -> dict[str, dict]:
    """The matmul shapes each kind of forward ran, from the forwards seen: a typical batch (the median) of
    DPO's reference scoring and training, the reward model's training, and generate's prefill and decoding."""
    groups = {}

    def add(name, forwards, backward, head_out, generating):
        if not forwards:
            return
        tokens = int(statistics.median(f.rows * f.width for f in forwards))
        rows = int(statistics.median(f.rows for f in forwards))
        groups[name] = {"tokens": tokens, "backward": backward,
                        "matmuls": shape.matmuls(tokens, rows if generating else tokens, head_out)}

    sampling = next(s for s in stages if s.generating)
    dpo = next(s for s in stages if s.name.startswith("DPO"))
    rm = next(s for s in stages if s.name.startswith("RM"))
    add("DPO reference", [f for f in dpo.forwards if not f.grad], False, shape.vocab, False)
    add("DPO training", [f for f in dpo.forwards if f.grad], True, shape.vocab, False)
    add("RM training", rm.forwards, True, 1, False)
    add("sampling prefill", [f for f in sampling.forwards if f.width > 1], False, shape.vocab, True)
    add("sampling decode", [f for f in sampling.forwards if f.width == 1], False, shape.vocab, True)
    return groups


def measure_matmuls(groups: dict[str, dict], seconds: float, rounds: int) -> None:
    """Adds to every group the GFLOP/s of each of its matmuls and the group's rate: the FLOP-weighted rate of
    a forward (or forward+backward) made of these matmuls alone."""
    cache = {}
    for g in groups.values():
        rates, work, busy = [], 0.0, 0.0
        for name, rows, n_in, n_out, times in g["matmuls"]:
            key = (rows, n_in, n_out, g["backward"])
            if key not in cache:
                cache[key] = matmul_rate(rows, n_in, n_out, g["backward"], seconds, rounds)
            w = 2 * rows * n_in * n_out * times * (3 if g["backward"] else 1)
            rates.append((name, rows, n_in, n_out, cache[key]))
            work, busy = work + w, busy + w / cache[key]
        g["rates"], g["rate"] = rates, work / busy


# ----------------------------------------------------------------------------- report


def report(args, cfg, shape, threads, setup_s, groups, peak, square, stages) -> None:
    import torch

    cpu, avx = cpu_info()
    print()
    print(f"CPU: {cpu}; cores usable: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}")
    print(f"AVX-512: {avx}")
    print(f"torch {torch.__version__} on {platform.system()} {platform.machine()}, {threads} torch thread(s) "
          f"(the book's jobs: rlhf_lite.parallel.job_threads() = {args.job_threads}); profile {cfg.profile}: "
          f"h={shape.hidden}, i={shape.intermediate}, layers={shape.layers}, heads={shape.heads}, vocab={shape.vocab}; "
          f"setup (pi_0, data) {setup_s:.0f} s")
    print()
    print("matmul throughput at the lite shapes (nn.Linear, best sustained)")
    print(f"  {'group':18s} {'pass':8s} {'tokens':>7s} {'matmul':8s} {'(rows x in) @ (in x out)':>26s} {'GFLOP/s':>8s}")
    for gname, g in groups.items():
        mode = "fwd+bwd" if g["backward"] else "fwd"
        for i, (name, rows, n_in, n_out, rate) in enumerate(g["rates"]):
            print(f"  {gname if i == 0 else '':18s} {mode if i == 0 else '':8s} "
                  f"{g['tokens'] if i == 0 else '':>7} {name:8s} {f'({rows} x {n_in}) @ ({n_in} x {n_out})':>26s} "
                  f"{rate:8.1f}")
        print(f"  {'':18s} {'':8s} {'':>7s} {'all':8s} {'(FLOP-weighted)':>26s} {g['rate']:8.1f}")
    print(f"  peak at lite shapes: {peak:.1f} GFLOP/s; for comparison, a large square matmul "
          f"(1024 x 1024 @ 1024 x 1024, fwd): {square:.1f} GFLOP/s")
    print()
    head = (f"  {'stage':44s} {'wall s':>7s} {'tokens fed':>10s} {'real':>9s} {'pad %':>6s} {'GFLOP/s':>8s} "
            f"{'real':>7s} {'% of peak':>10s} {'real':>6s} {'% of bound':>11s}")
    print("achieved by the stages (GFLOP/s counted from shapes and tokens fed; real: pad positions left out)")
    print(head)
    for s in stages:
        t = s.totals(shape)
        gp, gr = t["flops"] / s.seconds / 1e9, t["flops_real"] / s.seconds / 1e9
        pad = 1 - t["real"] / t["tokens"] if t["tokens"] else 0.0
        # the bound: the same FLOPs at the rates the stage's matmul groups reach alone
        busy = 0.0
        for gname in s.groups:
            part = [f for f in s.forwards if _in_group(f, gname)]
            busy += sum(flops(f, shape, s.head_out, s.generating)[0] for f in part) / (groups[gname]["rate"] * 1e9)
        bound = t["flops"] / busy / 1e9 if busy else float("nan")
        print(f"  {s.name:44s} {s.seconds:7.1f} {t['tokens']:10,d} {t['real']:9,d} {100 * pad:5.1f}% {gp:8.2f} "
              f"{gr:7.2f} {100 * gp / peak:9.1f}% {100 * gr / peak:5.1f}% {100 * gp / bound:10.1f}%")


def _in_group(f: Forward, gname: str) -> bool:
    return {"DPO reference": not f.grad, "DPO training": f.grad, "RM training": True,
            "sampling prefill": f.width > 1, "sampling decode": f.width == 1}[gname]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="book", choices=["ci", "book"])
    ap.add_argument("--pairs", type=int, default=512, help="pairs of the DPO and the reward-model epoch")
    ap.add_argument("--prompts", type=int, default=640, help="prompts of the sampling pass (its pairs feed DPO)")
    ap.add_argument("--threads", type=int, help="torch threads (default: rlhf_lite.parallel.job_threads())")
    ap.add_argument("--runs", help="a runs folder to reuse (default: a new temporary one)")
    ap.add_argument("--quick", action="store_true", help="64 pairs, 128 prompts, shorter matmul timings")
    args = ap.parse_args()
    if args.quick:
        args.pairs, args.prompts = min(args.pairs, 64), min(args.prompts, 128)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # TRL's reference scoring reads it for its progress bar
    os.environ["RLHF_LITE_RUNS"] = args.runs or tempfile.mkdtemp(prefix="rlhf_bench_util_")
    t_start = time.perf_counter()
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renamed arguments, said each call

    import rlhf_lite  # noqa: F401  (sets GOMP_SPINCOUNT before torch loads, as the book's jobs run)
    import datasets
    import transformers

    from rlhf_lite import world
    from rlhf_lite.config import Config
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.parallel import job_threads, torch_threads
    from rlhf_lite.stages import prepare_pi0, prepare_preference_data
    from rlhf_lite.world.tokenizer import build_tokenizer

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    cfg = Config.preset(args.profile)
    args.job_threads = job_threads()
    threads = args.threads or args.job_threads
    print(f"[bench] runs in {os.environ['RLHF_LITE_RUNS']}; {threads} torch thread(s)", flush=True)

    quiet = lambda *a: None  # noqa: E731
    setup_s, pi0 = timed(lambda: prepare_pi0(cfg, progress=False, log=quiet).pi0)
    t, _ = timed(lambda: prepare_preference_data(cfg, log=quiet))
    setup_s += t
    tok = build_tokenizer()
    m = cfg.model
    shape = LiteShape(m.hidden_size, m.intermediate_size, m.num_hidden_layers, m.num_attention_heads, len(tok))
    counter = Counter(shape.vocab, tok.pad_token_id)
    prompts = world.sample_prompts(args.prompts, cfg.world, seed=7)
    with torch_threads(threads):
        print(f"[sampling] {len(prompts)} prompts x n={cfg.sampling.n}", flush=True)
        sampling, rows = run_sampling(cfg, pi0, prompts, counter)
        pairs = online_pairs(cfg, prompts, rows, args.pairs)
        print(f"[dpo] one epoch on {len(pairs)} best-worst pairs of the sampling pass, ranked by r*"
              + (f" (asked for {args.pairs}: the others tied)" if len(pairs) < args.pairs else ""), flush=True)
        dpo = run_dpo(cfg, pi0, pairs, counter)
        print(f"[rm] one epoch on {args.pairs} MIX2 pairs", flush=True)
        rm = run_reward(cfg, pi0, offline_pairs(cfg, args.pairs, seed=0), counter)
        stages = dpo + rm + [sampling]
        groups = matmul_groups(shape, stages)
        seconds, rounds = (0.1, 3) if args.quick else (0.25, 5)
        print(f"[matmul] {sum(len(g['matmuls']) for g in groups.values())} shapes, best of {rounds} rounds", flush=True)
        measure_matmuls(groups, seconds, rounds)
        square = matmul_rate(1024, 1024, 1024, False, seconds, rounds)
    peak = max(r for g in groups.values() for *_, r in g["rates"])
    report(args, cfg, shape, threads, setup_s, groups, peak, square, stages)
    if not args.runs:  # the temporary runs folder holds only this run's pi_0 and data
        shutil.rmtree(os.environ["RLHF_LITE_RUNS"], ignore_errors=True)
    print(f"\n[bench] {time.perf_counter() - t_start:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
