"""Loading never runs code from a file: weights only from safetensors (a pickled .bin is refused), no remote
code, recipes read with YAML's safe loader, and no pickle anywhere in the package."""

import json
import re
from pathlib import Path

import pytest

from rlhf_lite.config import load_recipe
from rlhf_lite.policy.models import TinyModelConfig, build_tiny_policy, load_policy
from rlhf_lite.reward import load_reward_model
from rlhf_lite.world.tokenizer import build_tokenizer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(tmp_path):
    tok = build_tokenizer()
    return build_tiny_policy(tok, TinyModelConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32), seed=0), tok


@pytest.mark.parametrize("loader", [load_policy, load_reward_model], ids=["policy", "reward model"])
def test_pickled_weights_are_refused(tiny, tmp_path, loader):
    """A .bin checkpoint is a pickle, which runs code when loaded; only safetensors are read."""
    import torch

    model, tok = tiny
    model.save_pretrained(str(tmp_path))
    tok.save_pretrained(str(tmp_path))
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")  # the same weights, as a pickle
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(OSError, match="safetensors"):
        loader(tmp_path)


def test_a_checkpoint_that_ships_its_own_code_is_loaded_without_running_it(tiny, tmp_path):
    model, tok = tiny
    model.save_pretrained(str(tmp_path))
    tok.save_pretrained(str(tmp_path))
    (tmp_path / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    loaded, _ = load_policy(tmp_path)  # with trust_remote_code on, importing modeling_evil would exit
    assert type(loaded).__name__ == "LlamaForCausalLM" and type(loaded).__module__.startswith("transformers.")


def test_recipes_are_read_with_the_safe_yaml_loader(tmp_path):
    recipe = tmp_path / "evil.yaml"
    recipe.write_text("seed: !!python/object/apply:os.getpid []\n")
    with pytest.raises(Exception, match="could not determine a constructor"):
        load_recipe(recipe)


def test_no_pickle_anywhere_in_the_package():
    """pickle.load, torch.load (pickle unless weights_only) and allow_pickle run code from a file."""
    unsafe = re.compile(r"\bimport pickle\b|\bpickle\.loads?\(|\btorch\.load\(|allow_pickle\s*=\s*True|"
                        r"\byaml\.load\(|\byaml\.unsafe_load\(|trust_remote_code\s*=\s*True")
    found = {str(p.relative_to(ROOT)): m.group(0) for p in (ROOT / "rlhf_lite").rglob("*.py")
             for m in [unsafe.search(p.read_text())] if m}
    assert not found, found
