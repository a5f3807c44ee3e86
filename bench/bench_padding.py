"""The padding race: how a DPO epoch, a reward-model epoch and a sampling pass should batch sequences of
different lengths.

    .venv/bin/python bench/bench_padding.py [--profile book] [--pairs 1024] [--repeats 2] [--runs DIR]

Arms, on the same pairs (the bench_utilisation pairs: best-vs-worst of a pi_0 sampling pass for DPO, MIX2 for
the reward model), one epoch each, the best of ``--repeats`` runs:
- ``whole``      TRL as it is: each batch padded to its longest sequence (micro_batch=None);
- ``rows k``     rlhf_lite.policy.microbatch.RowGroups: the same batches and loss, each batch's forward run over
                 groups of k answers of similar lengths (micro_batch=k);
- ``grouped``    transformers' LengthGroupedSampler (``train_sampling_strategy="group_by_length"``): batches
                 of similar lengths drawn from mega-batches of 50 (other batches than ``whole``'s, so other
                 results; patched in here only, as TRL's DPO rows have no ``input_ids`` column to measure).
Sampling (``--prompts`` prompts, the profile's n and temperatures, prompts batched by length in both):
- ``generate``   transformers' ``model.generate``, one call per temperature, finished rows carried to the end;
- ``own loop``   HFSampler's decoding loop: finished rows leave the batch, both temperatures in one call.
Reported: wall seconds, the padding share of the positions fed, and the speed-up over the first arm.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_utilisation import Counter, cpu_info, online_pairs, run_sampling, timed  # noqa: E402


def grouped_sampler():
    """Patch transformers' Trainer to draw length-grouped batches, lengths from TRL's tokenized columns."""
    import transformers
    from transformers.trainer_pt_utils import LengthGroupedSampler

    def sampler(self, train_dataset=None):
        ds = train_dataset if train_dataset is not None else self.train_dataset
        cols = ds.column_names
        if "prompt_ids" in cols:  # DPO: the prompt and the longer answer
            lengths = [len(p) + max(len(c), len(r)) for p, c, r in
                       zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"])]
        else:  # reward model: the longer of the two whole sequences
            lengths = [max(len(c), len(r)) for c, r in zip(ds["chosen_ids"], ds["rejected_ids"])]
        return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                    lengths=lengths)

    keep = transformers.Trainer._get_train_sampler
    transformers.Trainer._get_train_sampler = sampler
    return lambda: setattr(transformers.Trainer, "_get_train_sampler", keep)


def epoch(kind, cfg, pi0, pairs, counter, micro, grouped):
    from rlhf_lite.policy.dpo import train_dpo
    from rlhf_lite.reward.bradley_terry import train_reward_model

    restore = grouped_sampler() if grouped else (lambda: None)
    counter.forwards = []
    try:
        with tempfile.TemporaryDirectory() as tmp, counter:
            if kind == "dpo":
                s = dataclasses.replace(cfg.dpo, epochs=1.0, micro_batch=micro)
                secs, _ = timed(lambda: train_dpo(pi0, pi0, pairs, Path(tmp) / "m", s, progress=False))
            else:
                s = dataclasses.replace(cfg.reward, epochs=1.0, micro_batch=micro)
                secs, _ = timed(lambda: train_reward_model(pi0, pairs, Path(tmp) / "m", s, progress=False))
    finally:
        restore()
    fed = sum(f.rows * f.width for f in counter.forwards)
    real = sum(sum(f.real) for f in counter.forwards)
    return secs, 1 - real / fed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="book", choices=["ci", "book"])
    ap.add_argument("--pairs", type=int, default=1024)
    ap.add_argument("--prompts", type=int, default=640, help="prompts of the sampling race")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--runs", help="a runs folder to reuse (default: a new temporary one)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ["RLHF_LITE_RUNS"] = args.runs or tempfile.mkdtemp(prefix="rlhf_bench_pad_")
    warnings.filterwarnings("ignore")

    import rlhf_lite  # noqa: F401
    import datasets
    import transformers

    from rlhf_lite import world
    from rlhf_lite.config import Config
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.parallel import job_threads, torch_threads
    from rlhf_lite.stages import prepare_pi0, prepare_preference_data
    from rlhf_lite.world.tokenizer import build_tokenizer

    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    cfg = Config.preset(args.profile)
    quiet = lambda *a: None  # noqa: E731
    pi0 = prepare_pi0(cfg, progress=False, log=quiet).pi0
    prepare_preference_data(cfg, log=quiet)
    tok = build_tokenizer()
    counter = Counter(len(tok), tok.pad_token_id)
    threads = job_threads()
    with torch_threads(threads):
        prompts = world.sample_prompts(args.pairs + args.pairs // 4, cfg.world, seed=7)
        sampling = {}
        for name, drop in (("generate", False), ("own loop", True)):
            runs = [run_sampling(cfg, pi0, prompts[:args.prompts], counter, drop_finished=drop)
                    for _ in range(args.repeats)]
            fw = runs[0][0].forwards
            sampling[name] = (min(st.seconds for st, _ in runs),
                              1 - sum(sum(f.real) for f in fw) / sum(f.rows * f.width for f in fw))
            print(f"[sampling] {name}: {sampling[name][0]:.1f} s", flush=True)
        _, rows = run_sampling(cfg, pi0, prompts, counter)
        data = {"dpo": online_pairs(cfg, prompts, rows, args.pairs), "rm": offline_pairs(cfg, args.pairs, seed=0)}
        arms = [("whole", None, False)] + [(f"rows {k}", k, False) for k in (16, 32, 64)] + [("grouped", None, True)]
        results = {}
        for kind in ("dpo", "rm"):
            for name, micro, grouped in arms:
                runs = [epoch(kind, cfg, pi0, data[kind], counter, micro, grouped) for _ in range(args.repeats)]
                results[kind, name] = (min(s for s, _ in runs), runs[0][1])
                print(f"[{kind}] {name}: {results[kind, name][0]:.1f} s", flush=True)
    cpu, avx = cpu_info()
    print(f"\nCPU: {cpu}; AVX-512: {avx}; {threads} torch thread(s); profile {args.profile}; "
          f"{len(data['dpo'])} DPO pairs, {len(data['rm'])} reward-model pairs; one epoch, best of {args.repeats}")
    print(f"  {'stage':14s} {'arm':10s} {'wall s':>7s} {'pad %':>6s} {'speed-up':>9s}")
    for kind, label in (("dpo", "DPO epoch"), ("rm", "RM epoch")):
        base = results[kind, "whole"][0]
        for name, *_ in arms:
            secs, pad = results[kind, name]
            print(f"  {label:14s} {name:10s} {secs:7.1f} {100 * pad:5.1f}% {base / secs:8.2f}x")
    label = f"sampling {args.prompts}x{cfg.sampling.n}"
    for name, (secs, pad) in sampling.items():
        print(f"  {label:14s} {name:10s} {secs:7.1f} {100 * pad:5.1f}% {sampling['generate'][0] / secs:8.2f}x")


if __name__ == "__main__":
    main()
