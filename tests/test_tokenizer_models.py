import torch
from transformers import AutoTokenizer

from rlhf_lite import world
from rlhf_lite.policy.models import TinyModelConfig, build_tiny_policy, load_policy, num_parameters, save_policy
from rlhf_lite.world.tokenizer import build_tokenizer, save_tokenizer


def test_tokenizer_round_trip_and_one_token_per_word(tmp_path):
    tok = build_tokenizer()
    text = "add 4 7 + 5 = well the answer is 5 2 hope that helps"
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id
    assert len(ids) == len(text.split()) + 1
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok.unk_token_id not in ids
    for w in world.vocabulary():
        assert len(tok(w, add_special_tokens=False)["input_ids"]) == 1, w
    save_tokenizer(tmp_path)
    again = AutoTokenizer.from_pretrained(str(tmp_path))
    assert again(text)["input_ids"] == ids
    assert again.padding_side == "left" and again.pad_token == "<pad>"


def test_unknown_words_map_to_unk():
    tok = build_tokenizer()
    assert tok("sort banana =")["input_ids"][2] == tok.unk_token_id


def test_saved_model_reloads_to_identical_logits(tmp_path):
    tok = build_tokenizer()
    model = build_tiny_policy(tok, TinyModelConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                   intermediate_size=64), seed=0)
    model.eval()
    save_policy(model, tok, tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    again, tok2 = load_policy(tmp_path)
    batch = tok2(["sort 3 1 2 =", "hack 1 2 ="], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, again(**batch).logits)
    assert num_parameters(again) == num_parameters(model)


def test_model_config_rejects_bad_heads():
    import pytest

    with pytest.raises(ValueError, match="divisible"):
        TinyModelConfig(hidden_size=30, num_attention_heads=4)


def test_load_policy_names_a_missing_folder(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="prepare_pi0"):
        load_policy(tmp_path / "nope")
