import numpy as np
import pytest

from rlhf_lite import world
from rlhf_lite.policy.models import load_policy
from rlhf_lite.policy.sampling import HFSampler, sample_responses, split_n
from rlhf_lite.stats import mean_ci, wilson_interval
from rlhf_lite.world.scoring import score_records


def test_sft_lowers_held_out_loss(pi0_artifacts):
    m = pi0_artifacts.metrics
    assert m["eval_loss_after"] < m["eval_loss_before"] - 0.5


def _mean_true_reward(path, prompts, seed=0):
    model, tok = load_policy(path)
    rows = sample_responses(HFSampler(model, tok, progress=False), prompts, 2, temperatures=(0.7,), seed=seed)
    return [r["reward"] for r in score_records([r for row in rows for r in row])]


def test_sft_raises_true_reward_above_random_init(pi0_artifacts, ci_cfg):
    prompts = world.sample_prompts(150, ci_cfg.world, seed=123)
    r_pi0 = _mean_true_reward(pi0_artifacts.pi0, prompts)
    r_init = _mean_true_reward(pi0_artifacts.init, prompts)
    (m1, h1), (m0, h0) = mean_ci(r_pi0), mean_ci(r_init)
    assert m1 - h1 > m0 + h0, (m1, h1, m0, h0)  # the 95% intervals do not overlap


@pytest.fixture(scope="module", params=[True, False], ids=["own-loop", "generate"])
def sampler(pi0_artifacts, request):
    """Both engines of HFSampler: our decoding loop that drops finished rows, and transformers' generate."""
    model, tok = load_policy(pi0_artifacts.pi0)
    return HFSampler(model, tok, batch_size=8, progress=False, drop_finished=request.param), tok


def test_sampler_returns_n_samples_per_prompt_in_order(sampler, ci_cfg):
    s, _ = sampler
    prompts = world.sample_prompts(13, ci_cfg.world, seed=5)  # not a multiple of the batch size
    rows = sample_responses(s, prompts, 5, temperatures=(1.0, 0.7), seed=0)
    assert len(rows) == len(prompts)
    for p, row in zip(prompts, rows):
        assert len(row) == 5
        assert all(r["prompt"] == p for r in row)
        assert [r["temperature"] for r in row] == [1.0, 1.0, 1.0, 0.7, 0.7]


def test_sampler_respects_max_length_and_stops_at_eos(sampler, ci_cfg):
    s, tok = sampler
    prompts = world.sample_prompts(24, ci_cfg.world, seed=6)
    gens = [g for row in s.generate(prompts, 3, 1.0, max_new_tokens=3, seed=0) for g in row]
    assert all(g.num_tokens <= 3 for g in gens)
    assert any(not g.finished for g in gens)  # three tokens are too few for most answers
    long = [g for row in s.generate(prompts, 3, 1.0, max_new_tokens=20, seed=0) for g in row]
    done = [g for g in long if g.finished]
    assert len(done) > len(long) / 2
    for g in long:
        assert g.num_tokens == len(g.token_ids)
        assert tok.decode(list(g.token_ids), skip_special_tokens=True).strip() == g.text
        if g.finished:  # EOS is the last kept token: nothing after it, and no earlier EOS
            assert g.token_ids[-1] == tok.eos_token_id and tok.eos_token_id not in g.token_ids[:-1]
        else:
            assert g.num_tokens == 20 and tok.eos_token_id not in g.token_ids


def test_sampling_is_reproducible_for_a_seed(sampler, ci_cfg):
    s, _ = sampler
    prompts = world.sample_prompts(10, ci_cfg.world, seed=7)
    a = s.generate(prompts, 2, 1.0, 10, seed=3)
    b = s.generate(prompts, 2, 1.0, 10, seed=3)
    c = s.generate(prompts, 2, 1.0, 10, seed=4)
    assert a == b and a != c


def test_lower_temperature_concentrates_samples(sampler, ci_cfg):
    s, _ = sampler
    prompts = world.sample_prompts(40, ci_cfg.world, seed=8)
    def distinct(t):
        return np.mean([len({g.text for g in row}) for row in s.generate(prompts, 6, t, 12, seed=1)])
    assert distinct(0.3) < distinct(1.5)


def test_log_probs_from_sampling_equal_a_second_pass(pi0_artifacts, ci_cfg):
    """The own loop sums log pi(a | x) at temperature 1 while it samples (left-padded prompts of different
    lengths, rows leaving the batch at EOS, two temperatures in one call); a clean forward pass over prompt and
    answer, as the KL estimate used to take, gives the same numbers."""
    from rlhf_lite.policy.sampling import sequence_logprobs

    model, tok = load_policy(pi0_artifacts.pi0)
    prompts = world.sample_prompts(30, ci_cfg.world, seed=9)
    assert len({len(tok(p)["input_ids"]) for p in prompts}) > 2  # several prompt lengths: left padding differs
    rows = sample_responses(HFSampler(model, tok, batch_size=7, progress=False), prompts, 4, (1.0, 0.7), 16, seed=2)
    recs = [r for row in rows for r in row]
    assert {r["finished"] for r in recs} == {True, False}  # some rows left the batch early, some ran to the end
    second = sequence_logprobs(model, tok, [r["prompt"] for r in recs], [r["token_ids"] for r in recs])
    mine = np.array([r["logprob"] for r in recs])
    assert np.ptp(second) > 5.0
    np.testing.assert_allclose(mine, second, atol=2e-3, rtol=1e-4)


def test_own_loop_draws_from_softmax_of_logits_over_temperature(pi0_artifacts):
    """The first answer token of one prompt, drawn 3,000 times at each temperature, has the frequencies of
    softmax(logits / T) (each within 0.035; the two temperatures' distributions are further apart than that)."""
    import torch

    from rlhf_lite.policy.sampling import decode, encode_prompts

    model, tok = load_policy(pi0_artifacts.pi0)
    prompt = encode_prompts(tok, ["add 3 4 ="])[0]
    with torch.no_grad():
        logits = model(torch.tensor([prompt])).logits[0, -1].float()
    rows = decode(model, [prompt], [1.0] * 3000 + [0.5] * 3000, 1, tok.eos_token_id, tok.pad_token_id,
                  torch.Generator().manual_seed(0))
    first = np.array([t[0] for t, _ in rows])
    expected = {t: torch.softmax(logits / t, -1).numpy() for t in (1.0, 0.5)}
    assert np.abs(expected[1.0] - expected[0.5]).max() > 0.08
    for t, part in ((1.0, first[:3000]), (0.5, first[3000:])):
        freq = np.bincount(part, minlength=len(logits)) / len(part)
        assert np.abs(freq - expected[t]).max() < 0.035, t


def test_split_n():
    assert split_n(8, (1.0, 0.7)) == [4, 4]
    assert split_n(5, (1.0, 0.7)) == [3, 2]
    with pytest.raises(ValueError, match="smaller"):
        split_n(1, (1.0, 0.7))


def test_sampler_rejects_bad_arguments(sampler):
    s, _ = sampler
    with pytest.raises(ValueError, match="temperature"):
        s.generate(["sort 1 2 ="], 1, 0.0, 5, seed=0)


def test_sampler_renders_chat_messages_with_the_chat_template(pi0_artifacts):
    """Full-mode prompts are message lists; the tokenizer's chat template turns them into text."""
    model, tok = load_policy(pi0_artifacts.pi0)
    assert tok.chat_template.startswith("{{ bos_token }}")  # like LLaMA-3's: BOS comes from the template
    s = HFSampler(model, tok, progress=False)
    as_text = s.generate(["sort 3 1 2 ="], 3, 1.0, 8, seed=0)
    as_chat = s.generate([[{"role": "user", "content": "sort 3 1 2 ="}]], 3, 1.0, 8, seed=0)
    assert as_chat == as_text


def test_clustered_interval_widens_only_when_a_group_moves_together():
    rng = np.random.default_rng(0)
    per_group = rng.normal(size=500)
    together = np.repeat(per_group, 6)  # six copies of each value: really 500 observations
    groups = np.repeat(np.arange(500), 6)
    m, naive = mean_ci(together)
    _, clustered = mean_ci(together, groups=groups)
    assert clustered / naive == pytest.approx(np.sqrt(6), rel=0.05)
    independent = rng.normal(size=3000)
    _, plain = mean_ci(independent)
    _, grouped = mean_ci(independent, groups=groups)
    assert grouped / plain == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="one label per value"):
        mean_ci(independent, groups=groups[:10])


def test_wilson_interval_has_width_at_the_extremes_and_matches_the_normal_one_in_between():
    lo, hi = wilson_interval(300, 300)
    assert hi == pytest.approx(1.0) and 0.98 < lo < 1.0
    lo, hi = wilson_interval(500, 1000)
    assert (lo + hi) / 2 == pytest.approx(0.5) and hi - lo == pytest.approx(2 * 1.96 * 0.5 / np.sqrt(1000), rel=0.01)
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)
