"""Issue 41's probe: the pairwise preference model one factor at a time, against BT trained the same way, outside
the book's stages (nothing here is cached under runs/ or read by a chapter).

    .venv/bin/python bench/probe_pm.py --variant "pm own, 3 epochs"     # train and score one variant
    .venv/bin/python bench/probe_pm.py --table                          # the table of every variant scored so far

Each variant trains from the book profile's pi_0 on a third of curated MIX2's pairs (as chapter 4's `pm-mix2-33pc`,
so a variant costs a third of a book model) and is scored on the book's lite RewardBench (chat, chat-hard, safety,
reasoning), under another prompt of the same section (a judge that reads its answers against the prompt falls to a
coin there), and on padded against bare right answers. One variant per process with one torch thread: two run side
by side on two cores. Each writes bench/pm_probe/<variant>.json with its CPU and seconds, so an interrupted probe
keeps what finished. Why our own script: it is a measurement of this book's models, not a library's job.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "pm_probe"
# variant -> (kind, format, epochs, depth[, share[, scale]]); a third of MIX2's pairs each unless ``share`` says
# otherwise (1.0: all of MIX2, three times the pairs), from the book's pi_0, or from a pi_0 with ``depth`` times its
# layers at the same width (its own SFT, cached by prepare_pi0 like the book's); ``scale``: MIX2 written from the same
# lite sources with ``data.scale`` times their prompts (2: twice MIX2's count of pairs), curated the same way
VARIANTS = {
    "bt, 3 epochs": ("bt", None, 3.0, 1),
    "pm markers, 3 epochs": ("pm", "markers", 3.0, 1),
    "pm own, 3 epochs": ("pm", "own", 3.0, 1),
    "bt, 10 epochs": ("bt", None, 10.0, 1),
    "pm markers, 10 epochs": ("pm", "markers", 10.0, 1),
    "pm own, 10 epochs": ("pm", "own", 10.0, 1),
    "pm markers, 3 epochs, 2x layers": ("pm", "markers", 3.0, 2),
    "bt, 3 epochs, 2x layers": ("bt", None, 3.0, 2),
    "pm own-last, 3 epochs": ("pm", "own-last", 3.0, 1),
    "pm own-last, 10 epochs": ("pm", "own-last", 10.0, 1),
    "pm own-last, 20 epochs": ("pm", "own-last", 20.0, 1),
    "pm own-last, 10 epochs, 3x pairs": ("pm", "own-last", 10.0, 1, 1.0),
    "pm own-last, 10 epochs, 2x layers": ("pm", "own-last", 10.0, 2),
    "bt, 10 epochs, 3x pairs": ("bt", None, 10.0, 1, 1.0),
    "pm own-last, 10 epochs, 3x pairs, by epoch": ("pm", "own-last", 10.0, 1, 1.0),
    "pm own-last, 10 epochs, 6x pairs": ("pm", "own-last", 10.0, 1, 1.0, 2.0),
    "bt, 3 epochs, 3x pairs": ("bt", None, 3.0, 1, 1.0),
    "bt, 3 epochs, 6x pairs": ("bt", None, 3.0, 1, 1.0, 2.0),
    "bt, 3 epochs, 12x pairs": ("bt", None, 3.0, 1, 1.0, 4.0),
    "pm own-last, 10 epochs, 12x pairs": ("pm", "own-last", 10.0, 1, 1.0, 4.0),
}
# variants whose sections are scored after every epoch too (chapter 4's EpochProbe; its learning rate is constant
# after warm-up, so the point after epoch k is the model trained for k epochs): where along the run it gets there
BY_EPOCH = {name for name in VARIANTS if name.endswith("by epoch")}
SHARE = 1 / 3


def spec(name: str) -> tuple:
    """A variant's (kind, format, epochs, depth, share, scale), with the defaults of the fields it leaves out."""
    v = VARIANTS[name]
    return (*v, *(SHARE, 1.0)[len(v) - 4:])


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def run(name: str, profile: str = "book") -> dict:
    import numpy as np
    import torch
    from datasets import load_from_disk

    from rlhf_lite.config import Config
    from rlhf_lite.site.book import machine
    from rlhf_lite.policy import load_tokenizer
    from rlhf_lite.policy.sft import train_sft
    from rlhf_lite.reward import PreferenceModel, RewardModel
    from rlhf_lite.reward.agreement import padding_preference
    from rlhf_lite.reward.analysis import padded_pairs, under_other_prompts
    from rlhf_lite.reward.bradley_terry import train_reward_model
    from rlhf_lite.reward.pm_study import book_benchmark, subsample
    from rlhf_lite.reward.preference import preference_records, save_format
    from rlhf_lite.reward.rewardbench import LITE_MAPPING, evaluate
    from rlhf_lite.stages import prepare_pi0, prepare_preference_data

    torch.set_num_threads(1)
    kind, style, epochs, depth, share, scale = spec(name)
    cfg = Config.preset(profile)
    layers = depth * cfg.model.num_hidden_layers
    deep = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, num_hidden_layers=layers))
    pi0 = prepare_pi0(deep, log=lambda *a: None).pi0
    data_cfg = cfg if scale == 1.0 else dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, scale=scale))
    mix2 = load_from_disk(str(prepare_preference_data(data_cfg, log=lambda *a: None).mixtures["mix2"])).to_list()
    pairs = mix2 if share >= 1 else subsample(mix2, share, cfg.seed)
    out = ROOT / "runs" / f"pm-probe-{profile}" / slug(name)
    from rlhf_lite.reward.pm_study import EpochProbe

    probe = [EpochProbe(kind, book_benchmark(cfg), style=style or "markers")] if name in BY_EPOCH else []
    t0 = time.time()
    if kind == "bt":
        train_reward_model(pi0, pairs, out, dataclasses.replace(cfg.reward, epochs=epochs), seed=cfg.seed, progress=False,
                           callbacks=probe)
        judge = RewardModel.from_pretrained(out)
    else:
        records = preference_records(pairs, seed=cfg.seed, style=style, eos=load_tokenizer(pi0).eos_token)
        train_sft(pi0, records, out, dataclasses.replace(cfg.preference, epochs=epochs, format=style).to_sft(),
                  seed=cfg.seed, progress=False, callbacks=probe)
        save_format(out, style)
        judge = PreferenceModel.from_pretrained(out)
    trained = time.time() - t0
    bench = book_benchmark(cfg)
    scored = evaluate(judge, bench, LITE_MAPPING, counts=None)
    sections = scored["sections"]
    xs, padded, bare = padded_pairs(400, cfg.world, np.random.default_rng(cfg.seed + 21_000))
    result = {"variant": name, "kind": kind, "format": style, "epochs": epochs, "layers": deep.model.num_hidden_layers,
              "pairs": len(pairs), "data_scale": scale,
              "sections": sections, "other_prompt": under_other_prompts(judge, bench, seed=cfg.seed),
              "prefers_padded": padding_preference({"j": judge}, xs, padded, bare)["j"]["prefers padded"],
              "train_s": round(trained, 1), "total_s": round(time.time() - t0, 1), "machine": machine(),
              "threads": 1, "date": time.strftime("%Y-%m-%d"), "profile": profile,
              "bench_pairs_per_section": cfg.reward_eval.bench_per_category,
              # each benchmark row's P(chosen > rejected), in the benchmark's order: two variants compared pair by
              # pair (--paired) need them, not their section scores
              "p": [round(float(x), 6) for x in scored["p"]], "subsets": [r["subset"] for r in bench],
              **({"by_epoch": probe[0].curve} if probe else {})}
    if profile == "book":  # the probe's results; a smoke run in another profile writes nothing
        OUT.mkdir(exist_ok=True)
        (OUT / f"{slug(name)}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def table() -> str:
    rows = [json.loads(f.read_text()) for f in sorted(OUT.glob("*.json"))]
    order = {n: k for k, n in enumerate(VARIANTS)}
    rows.sort(key=lambda r: order.get(r["variant"], 99))
    head = ("| variant | pairs | chat | chat-hard | safety | reasoning | chat, other prompt | prefers padded | "
            "train (1 thread) |\n|---|---|---|---|---|---|---|---|---|")
    body = [f"| {r['variant']} | {r['pairs']} | {r['sections']['chat']:.3f} | {r['sections']['chat-hard']:.3f} | "
            f"{r['sections']['safety']:.3f} | {r['sections']['reasoning']:.3f} | {r['other_prompt']['chat']:.3f} | "
            f"{r['prefers_padded']:.2f} | {r['train_s']:.0f} s |" for r in rows]
    cpus = sorted({f"{r['machine']['cpu']} ({r['machine']['cores']} cores, AVX-512 {r['machine']['avx512']})" for r in rows})
    return "\n".join([head, *body, "", f"Measured on {', '.join(cpus)}, one torch thread each, "
                       f"{', '.join(sorted({r['date'] for r in rows}))}; a section's 95% interval is about ±0.04."])


def paired(a: str, b: str, section: str = "reasoning") -> tuple[float, float]:
    """Variant ``a`` minus variant ``b`` on one lite RewardBench section, pair by pair: the mean and 95% half-width
    of the per-pair difference in credit (a tie earns half), from the probabilities both runs saved."""
    from rlhf_lite.reward.rewardbench import credit
    from rlhf_lite.stats import mean_ci

    runs = []
    for name in (a, b):
        f = OUT / f"{slug(name)}.json"
        r = json.loads(f.read_text()) if f.exists() else {}
        if "p" not in r:
            raise SystemExit(f"{f} holds no per-pair probabilities ({'not run yet' if not r else 'a run from before they were saved'}): "
                             f"run `bench/probe_pm.py --variant \"{name}\"` first.")
        runs.append(r)
    if runs[0]["subsets"] != runs[1]["subsets"]:
        raise SystemExit(f"{a!r} and {b!r} were scored on different benchmark rows; rerun both with this checkout.")
    on = [s == f"lite-{section}" for s in runs[0]["subsets"]]
    if not any(on):
        raise SystemExit(f"no rows of section {section!r}; the sections are chat, chat-hard, safety and reasoning.")
    import numpy as np

    d = credit(np.array(runs[0]["p"])[on]) - credit(np.array(runs[1]["p"])[on])
    return tuple(float(x) for x in mean_ci(d))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=list(VARIANTS), help="train and score one variant")
    ap.add_argument("--table", action="store_true", help="print the table of the variants scored so far")
    ap.add_argument("--paired", nargs=2, metavar=("A", "B"), help="A minus B on reasoning, pair by pair (both run)")
    ap.add_argument("--profile", default="book", help="the preset whose pi_0, data and benchmark it uses (ci: a smoke run)")
    args = ap.parse_args(argv)
    if args.variant:
        r = run(args.variant, args.profile)
        print(json.dumps({k: r[k] for k in ("variant", "sections", "other_prompt", "prefers_padded", "train_s")}))
    if args.paired:
        d, h = paired(*args.paired)
        print(f"{args.paired[0]} minus {args.paired[1]}, reasoning, pair by pair: {d:+.3f} ± {h:.3f}")
        return
    if args.table or not args.variant:
        print(table())


if __name__ == "__main__":
    main()
