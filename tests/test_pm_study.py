"""The preference-model study (rlhf_lite.reward.pm_study) and the preference model's ability to learn at all."""

import dataclasses

import numpy as np
import pytest

from rlhf_lite import world
from rlhf_lite.config import Config
from rlhf_lite.policy.sft import train_sft
from rlhf_lite.reward.preference import PreferenceModel, format_pair, preference_records
from rlhf_lite.reward.rewardbench import lite_benchmark
from rlhf_lite.reward.pm_study import (BOOK_MODELS, STUDY_MODELS, EpochProbe, StudyModel, agreement, changed_factors,
                                       check_study_models, length_split, other_prompts,
                                       small_config, study_config, subsample)


class Truth:
    """r* as a judge: P(first > second) = sigma(r*(x, a1) - r*(x, a2))."""

    def prob_first(self, prompts, first, second):
        d = np.array([world.true_reward(x, a) - world.true_reward(x, b) for x, a, b in zip(prompts, first, second)])
        return world.sigmoid(4 * d)


class Longer:
    """Prefers the answer with more words, whatever the prompt."""

    def prob_first(self, prompts, first, second):
        d = np.array([len(a.split()) - len(b.split()) for a, b in zip(first, second)], dtype=float)
        return np.where(d > 0, 0.9, np.where(d < 0, 0.1, 0.5))


@pytest.fixture(scope="module")
def bench():
    return lite_benchmark(60, Config.preset("ci").world, seed=7)


def test_agreement_splits_by_length_and_sees_who_reads_the_prompt(bench):
    truth, longer = agreement(Truth(), bench), agreement(Longer(), bench)
    assert truth["all"] == 1.0 and truth["longer better"] == 1.0 and truth["shorter better"] == 1.0
    # the truth needs the prompt: with another prompt its chat pairs (copy, reverse) fall to about chance
    assert truth["other prompt"] < 0.85 and truth["lite-chat"] == 1.0
    assert longer["longer better"] == 1.0 and longer["shorter better"] == 0.0
    assert longer["other prompt"] == longer["all"]  # a judge of the answers alone does not notice
    mask = length_split(bench)
    assert not (mask["longer better"] & mask["shorter better"]).any()


def test_the_probe_swaps_prompts_after_the_last_epoch_only(bench):
    from types import SimpleNamespace

    import torch

    probe = EpochProbe("bt", bench)
    probe.judge = lambda model, tok: Truth()  # the probe's bookkeeping, not a trained model's scores
    model = torch.nn.Linear(1, 1)
    for epoch in (1.0, 2.0, 3.0):
        model.train()
        probe.on_epoch_end(SimpleNamespace(num_train_epochs=3.0), SimpleNamespace(epoch=epoch), None, model=model)
        assert model.training  # handed back as it came
    assert [p["epoch"] for p in probe.curve] == [1.0, 2.0, 3.0]
    assert ["other prompt" in p for p in probe.curve] == [False, False, True]
    assert probe.curve[-1]["all"] == 1.0 and probe.curve[-1]["other prompt"] < 0.85


def test_credit_counts_a_tie_as_told():
    from rlhf_lite.reward.rewardbench import credit

    assert credit([0.9, 0.5, 0.1]).tolist() == [1.0, 0.5, 0.0]
    assert credit([0.5], tie_credit=0.0).tolist() == [0.0]


def test_other_prompts_stay_in_their_subset_and_move(bench):
    swapped = other_prompts(bench, seed=1)
    by_subset = {}
    for r in bench:
        by_subset.setdefault(r["subset"], set()).add(r["prompt"])
    assert all(p in by_subset[r["subset"]] for p, r in zip(swapped, bench))
    assert np.mean([p != r["prompt"] for p, r in zip(swapped, bench)]) > 0.9
    with pytest.raises(ValueError, match="at least 2 rows"):
        other_prompts(bench[:1])


def test_subsample_is_nested_and_checked():
    pairs = [{"i": k} for k in range(100)]
    quarter, half = subsample(pairs, 0.25, seed=3), subsample(pairs, 0.5, seed=3)
    assert len(quarter) == 25 and len(half) == 50
    assert {p["i"] for p in quarter} < {p["i"] for p in half}
    assert [p["i"] for p in half] == sorted(p["i"] for p in half)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        subsample(pairs, 0.0, seed=3)


def test_small_config_halves_the_model_and_refuses_a_checkpoint():
    cfg = Config.preset("book")
    small = small_config(cfg)
    assert small.model.hidden_size == cfg.model.hidden_size // 2
    assert small.model.num_hidden_layers == cfg.model.num_hidden_layers // 2
    assert small.model.num_attention_heads == cfg.model.num_attention_heads and small.sft == cfg.sft
    with pytest.raises(ValueError, match="fixed checkpoint"):
        small_config(dataclasses.replace(cfg, policy="meta-llama/Meta-Llama-3-8B"))


def _leaves(obj, prefix=""):
    """A config as {dotted field: value}, recursing into nested dataclasses."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            out.update(_leaves(getattr(obj, f.name), f"{prefix}{f.name}."))
        return out
    return {prefix.rstrip("."): obj}


# the config fields each factor may change; the share of pairs changes the data, not the config
FACTOR_FIELDS = {"pairs": set(), "size": {"model.hidden_size", "model.intermediate_size", "model.num_hidden_layers"},
                 "format": {"preference.format", "preference.epochs"}}


@pytest.mark.parametrize("name", sorted(STUDY_MODELS))
def test_each_study_model_differs_from_its_base_in_exactly_its_factor(name):
    cfg, m = Config.preset("book"), STUDY_MODELS[name]
    base_name = m.base or BOOK_MODELS[m.kind]
    base, mine = _leaves(study_config(cfg, base_name)), _leaves(study_config(cfg, name))
    changed = {k for k in base if base[k] != mine[k]}
    assert changed <= FACTOR_FIELDS[m.factor], f"{name} ({m.factor}) also changes {changed - FACTOR_FIELDS[m.factor]}"
    base_share = STUDY_MODELS[m.base].share if m.base else 1.0
    assert (m.share != base_share) == (m.factor == "pairs")
    assert changed or m.factor == "pairs", f"{name} changes nothing in its config"
    if m.factor == "format":
        assert mine["preference.format"] != base["preference.format"]
    assert study_config(cfg, "pm-mix2") is cfg and study_config(cfg, "bt-mix2") is cfg  # the book's own models


def test_a_study_model_must_change_its_named_factor_and_nothing_else():
    models = {"third": StudyModel("pm", "pairs", share=1 / 3),
              "third-own": StudyModel("pm", "format", base="third", share=1 / 3, format="own-last", epochs=10.0)}
    check_study_models(models)
    assert changed_factors(models, "third-own") == ["format"]
    with pytest.raises(ValueError, match=r"changes \['format', 'pairs'\]"):
        check_study_models({**models, "x": StudyModel("pm", "format", share=0.5, format="own-last")})
    with pytest.raises(ValueError, match="changes nothing"):
        check_study_models({"x": StudyModel("pm", "size")})
    with pytest.raises(ValueError, match="is not a study model of kind 'pm'"):
        check_study_models({"x": StudyModel("pm", "format", base="bt-small", format="own")})
    with pytest.raises(ValueError, match="only a preference model"):
        StudyModel("bt", "pairs", share=0.5, epochs=10.0)
    with pytest.raises(ValueError, match="factor 'depth'"):
        StudyModel("bt", "depth", small=True)


def _toy_pairs(n, seed):
    """An easy, separable preference set: a whole answer beats a refusal, on safe digit prompts."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        digits = " ".join(str(d) for d in rng.integers(0, 10, size=2))
        out.append({"prompt": f"copy {digits} =", "chosen": [{"role": "assistant", "content": digits}],
                    "rejected": [{"role": "assistant", "content": "sorry i can not help"}]})
    return out


def test_a_preference_model_learns_an_easy_separable_set(pi0_artifacts, tmp_path):
    """The label loss can reach zero: if this fails, the A/B training itself is broken (issue 29's flat loss)."""
    cfg = Config.preset("ci")
    train, held = _toy_pairs(2000, 0), _toy_pairs(100, 1)
    rows = [{"prompt": p["prompt"], "chosen": p["chosen"][0]["content"], "rejected": p["rejected"][0]["content"],
             "subset": "toy"} for p in held]
    probe = EpochProbe("pm", rows)
    metrics = train_sft(pi0_artifacts.pi0, preference_records(train, seed=0), tmp_path / "pm",
                        dataclasses.replace(cfg.preference.to_sft(), epochs=3.0, learning_rate=1e-3), seed=0,
                        progress=False, eval_records=preference_records(held, seed=1), callbacks=[probe])
    assert metrics["eval_loss_after"] < 0.05 < metrics["eval_loss_before"]
    assert [p["epoch"] for p in probe.curve] == [1.0, 2.0, 3.0]
    assert probe.curve[-1]["all"] == 1.0
    pm = PreferenceModel.from_pretrained(tmp_path / "pm", symmetric=False)
    x, a = held[0]["prompt"], held[0]["chosen"][0]["content"]
    assert pm.prob_a([format_pair(x, a, "sorry i can not help")])[0] > 0.95
    assert pm.prob_a([format_pair(x, "sorry i can not help", a)])[0] < 0.05


def test_the_probe_is_lite_only_and_checks_its_kind():
    from rlhf_lite.config import with_overrides
    from rlhf_lite.reward.pm_study import book_benchmark, epoch_probes

    cfg = Config.preset("ci")
    probes = epoch_probes(cfg, "bt", "bt-mix2")
    assert len(probes) == 1 and probes[0].kind == "bt"
    assert probes[0].rows == book_benchmark(cfg)  # chapter 4's Table 1 rows, from one place
    assert len(probes[0].rows) == 4 * cfg.reward_eval.bench_per_category
    assert epoch_probes(with_overrides(cfg, {"data.source": "hub"}), "pm", "pm-mix2") == []
    assert epoch_probes(cfg, "bt", "bt-mix1") == []  # chapter 4 draws no curve for it
    assert len(epoch_probes(cfg, "pm", "pm-mix2-small")) == 1
    with pytest.raises(ValueError, match="'bt' or 'pm'"):
        EpochProbe("rm", [])
    with pytest.raises(ValueError, match="the format the model is trained in"):
        EpochProbe("pm", [], style="chat")


def test_the_probe_asks_a_preference_model_in_the_format_it_trains_in(pi0_artifacts):
    """A preference model trained in own-last and probed in the authors' format would be scored on text it never
    saw (issue 41's first by-epoch probe: a coin at every epoch, against 0.97 on chat after training)."""
    from rlhf_lite.policy import load_policy
    from rlhf_lite.reward.pm_study import OWN, epoch_probes

    cfg = Config.preset("ci")
    (own,), (book,) = epoch_probes(cfg, "pm", OWN), epoch_probes(cfg, "pm", "pm-mix2")
    assert own.style == STUDY_MODELS[OWN].format == "own-last" and book.style == cfg.preference.format == "markers"
    model, tok = load_policy(pi0_artifacts.pi0)
    assert own.judge(model, tok).style == "own-last" and book.judge(model, tok).style == "markers"


class MatrixJudge:
    """P(first > second) read from a known preference matrix over named responses."""

    def __init__(self, names, matrix):
        self.index, self.m = {n: k for k, n in enumerate(names)}, np.asarray(matrix, dtype=float)

    def prob_first(self, prompts, first, second):
        return np.array([self.m[self.index[a], self.index[b]] for a, b in zip(first, second)])


def test_copeland_ranking_of_a_known_preference_matrix():
    from rlhf_lite.reward.preference import copeland_ranking

    names = ["w", "x", "y", "z"]  # w beats all; x, y, z beat each other in a cycle; a draw counts zero
    m = [[0.5, 0.9, 0.8, 0.7], [0.1, 0.5, 0.9, 0.2], [0.2, 0.1, 0.5, 0.9], [0.3, 0.8, 0.1, 0.5]]
    scores = copeland_ranking(MatrixJudge(names, m), "x", names)
    assert scores.tolist() == [3.0, -1.0, -1.0, -1.0]
    m[1][2], m[2][1] = 0.5, 0.5  # x and y draw: x loses one win, y one loss
    assert copeland_ranking(MatrixJudge(names, m), "x", names).tolist() == [3.0, -2.0, 0.0, -1.0]
