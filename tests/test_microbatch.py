"""Length-sorted micro-batches (rlhf_lite.policy.microbatch): less padding, and the batch's own loss and gradients."""

import dataclasses

import numpy as np
import pytest
import torch
from test_reward import _pair, oracle_pairs

from rlhf_lite.policy.dpo import DPOSettings, dpo_trainer
from rlhf_lite.policy.microbatch import length_order


def mixed_lengths(n, seed):
    """Oracle pairs, every third with a long padded chosen answer: a batch whose lengths differ a lot."""
    out = []
    for i, p in enumerate(oracle_pairs(n, seed)):
        if i % 3 == 0:
            chosen = p["chosen"][-1]["content"] + " 0" * 12
            p = _pair(p["prompt"][-1]["content"], chosen, p["rejected"][-1]["content"])
        out.append(p)
    return out


def loss_and_grads(trainer, batch):
    model = trainer.model.train()
    model.zero_grad()
    loss = trainer.compute_loss(model, {k: v.clone() if torch.is_tensor(v) else v for k, v in batch.items()})
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    return float(loss), grads


def assert_same(a, b):
    (la, ga), (lb, gb) = a, b
    assert abs(la - lb) < 1e-5 * max(1.0, abs(la))
    assert ga.keys() == gb.keys() and ga
    for name in ga:
        torch.testing.assert_close(ga[name], gb[name], rtol=1e-4, atol=1e-6, msg=name)


def test_length_order_groups_by_length_and_keeps_every_index():
    groups = length_order([5, 1, 9, 1, 7, 3], 4)
    assert [g.tolist() for g in groups] == [[1, 3, 5, 0], [4, 2]]


class Fed:
    """The (rows, width) of every batch a model's token embedding sees."""

    def __init__(self, model):
        self.shapes = []
        self.hook = model.get_input_embeddings().register_forward_pre_hook(
            lambda m, args: self.shapes.append(tuple(args[0].shape)))

    def cells(self):
        self.hook.remove()
        return sum(r * w for r, w in self.shapes)


@pytest.mark.parametrize("loss_type", [("sigmoid", "sft"), ("sigmoid",)])
def test_dpo_row_groups_give_the_batch_loss_and_gradients_with_less_padding(pi0_artifacts, tmp_path, loss_type):
    """The SFT term is a per-token mean over the batch, the DPO term a per-pair mean: TRL computes both over the
    whole batch, from outputs put back in place, so both come out as they were."""
    pairs = mixed_lengths(40, 4)
    settings = DPOSettings(batch_size=40, loss_type=loss_type, loss_weights=(1.0, 0.5)[:len(loss_type)],
                           micro_batch=None)
    whole = dpo_trainer(pi0_artifacts.pi0, pi0_artifacts.pi0, pairs, tmp_path / "a", settings, progress=False)
    parts = dpo_trainer(pi0_artifacts.pi0, pi0_artifacts.pi0, pairs, tmp_path / "b",
                        dataclasses.replace(settings, micro_batch=16), progress=False)
    batch = whole.data_collator([whole.train_dataset[i] for i in range(40)])
    fed_whole, fed_parts = Fed(whole.model), Fed(parts.model)
    a, b = loss_and_grads(whole, batch), loss_and_grads(parts, batch)
    assert len(fed_whole.shapes) == 1 and len(fed_parts.shapes) == 5  # 80 answers in groups of 16
    assert fed_parts.cells() < 0.75 * fed_whole.cells()
    assert_same(a, b)


def test_reward_row_groups_give_the_batch_loss_and_gradients(pi0_artifacts, tmp_path):
    from trl import RewardConfig

    from rlhf_lite.data.schema import trl_dataset
    from trl import RewardTrainer

    from rlhf_lite.policy.microbatch import with_row_groups
    from rlhf_lite.reward.bradley_terry import load_reward_model

    data = trl_dataset(mixed_lengths(40, 5))
    out, cells = [], []
    for size in (None, 16):
        torch.manual_seed(0)
        model, tok = load_reward_model(pi0_artifacts.pi0)  # the same head for both: seeded
        args = RewardConfig(output_dir=str(tmp_path / str(size)), per_device_train_batch_size=40, report_to=[],
                            use_cpu=True)
        trainer = with_row_groups(RewardTrainer, size)(model=model, args=args, train_dataset=data, processing_class=tok)
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(40)])
        fed = Fed(trainer.model)
        out.append(loss_and_grads(trainer, batch))
        cells.append(fed.cells())
    assert out[0][0] > 0.1  # a real loss: the head is random, not trained
    assert cells[1] < 0.75 * cells[0]
    assert_same(*out)


def test_sft_row_groups_give_the_batch_loss_and_gradients(pi0_artifacts, tmp_path):
    """pi_0's SFT and the preference model's: a per-token mean over the batch's completion tokens."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from rlhf_lite.policy.microbatch import with_row_groups
    from rlhf_lite.policy.models import load_policy

    recs = [{"prompt": p["prompt"][-1]["content"], "completion": " " + p["chosen"][-1]["content"]}
            for p in mixed_lengths(40, 7)]
    out, cells = [], []
    for size in (None, 16):
        model, tok = load_policy(pi0_artifacts.pi0)
        args = SFTConfig(output_dir=str(tmp_path / str(size)), per_device_train_batch_size=40, report_to=[],
                         use_cpu=True, completion_only_loss=True, max_length=96)
        trainer = with_row_groups(SFTTrainer, size)(model=model, args=args, train_dataset=Dataset.from_list(recs),
                                                     processing_class=tok)
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(40)])
        fed = Fed(trainer.model)
        out.append(loss_and_grads(trainer, batch))
        cells.append(fed.cells())
    assert cells[1] < 0.8 * cells[0]
    assert_same(*out)


def test_row_groups_recombine_a_causal_lm_loss_and_refuse_what_they_cannot_split(pi0_artifacts):
    """The SFT trainers' path: the model's own mean cross-entropy, recombined by label tokens."""
    from rlhf_lite.policy.microbatch import RowGroups
    from rlhf_lite.policy.models import load_policy

    model, tok = load_policy(pi0_artifacts.pi0)
    texts = [p["prompt"][-1]["content"] + " " + p["chosen"][-1]["content"] for p in mixed_lengths(12, 6)]
    tok.padding_side = "left"
    with pytest.raises(ValueError, match="right-padded"):
        RowGroups(model, 5)(**tok(texts, return_tensors="pt", padding=True))
    tok.padding_side = "right"  # as the trainers' collators pad
    enc = tok(texts, return_tensors="pt", padding=True)
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    with torch.no_grad():
        whole = model(**enc, labels=labels)
        parts = RowGroups(model, 5)(**enc, labels=labels)
    torch.testing.assert_close(parts.loss, whole.loss, rtol=1e-5, atol=1e-6)
    mask = enc["attention_mask"].bool()
    torch.testing.assert_close(parts.logits[mask], whole.logits[mask], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="one value per row"):
        RowGroups(model, 5)(**enc, token_type_ids=torch.zeros(len(texts)))


# ------------------------------------------------------------------ inference: batches by length, results in order


def shuffled_inputs(n=23, seed=8):
    """Prompts and answers of very different lengths, in an order that is not by length."""
    pairs = mixed_lengths(n, seed)
    prompts = [p["prompt"][-1]["content"] for p in pairs]
    answers = [p["chosen"][-1]["content"] if i % 2 else p["rejected"][-1]["content"] for i, p in enumerate(pairs)]
    lengths = [len(a) for a in answers]
    assert lengths != sorted(lengths) and lengths != sorted(lengths, reverse=True)
    return prompts, answers


def test_reward_scores_come_back_in_the_order_given(pi0_artifacts):
    from rlhf_lite.reward.bradley_terry import RewardModel, load_reward_model

    model, tok = load_reward_model(pi0_artifacts.pi0)  # one model (its head is drawn at random when loaded)
    prompts, answers = shuffled_inputs()
    batched = RewardModel(model, tok, batch_size=5).score(prompts, answers)
    alone = RewardModel(model, tok, batch_size=1).score(prompts, answers)
    assert np.ptp(alone) > 1e-3  # the scores differ, so a permutation would show
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-5)


def test_sequence_logprobs_come_back_in_the_order_given(pi0_artifacts):
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import sequence_logprobs

    model, tok = load_policy(pi0_artifacts.pi0)
    prompts, answers = shuffled_inputs()
    ids = [tok(a, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for a in answers]
    batched, alone = sequence_logprobs(model, tok, prompts, ids, 5), sequence_logprobs(model, tok, prompts, ids, 1)
    assert np.ptp(alone) > 1.0
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-4)


def test_preference_probabilities_come_back_in_the_order_given(pi0_artifacts):
    from rlhf_lite.reward.preference import PreferenceModel, format_pair

    prompts, answers = shuffled_inputs()
    texts = [format_pair(x, a, b) for x, a, b in zip(prompts, answers, answers[::-1])]
    batched = PreferenceModel.from_pretrained(pi0_artifacts.pi0, batch_size=5).prob_a(texts)
    alone = PreferenceModel.from_pretrained(pi0_artifacts.pi0, batch_size=1).prob_a(texts)
    assert np.ptp(alone) > 1e-4
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-5)


def test_fewest_cells_finds_the_best_cuts_and_beats_equal_groups():
    from itertools import combinations

    from rlhf_lite.policy.microbatch import fewest_cells

    rng = np.random.default_rng(0)
    for _ in range(30):
        lengths = rng.integers(3, 40, size=int(rng.integers(1, 11))).tolist()
        k = int(rng.integers(1, 5))
        groups = fewest_cells(lengths, k)
        assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths))) and len(groups) <= k
        cells = sum(len(g) * max(lengths[i] for i in g) for g in groups)
        s = sorted(lengths)  # brute force over every way to cut the sorted lengths into at most k runs
        brute = min(sum((b - a) * s[b - 1] for a, b in zip((0,) + cut, cut + (len(s),)))
                    for m in range(min(k, len(s))) for cut in combinations(range(1, len(s)), m))
        assert cells == brute
        equal = sum(len(g) * max(lengths[i] for i in g) for g in length_order(lengths, -(-len(lengths) // k)))
        assert cells <= equal
