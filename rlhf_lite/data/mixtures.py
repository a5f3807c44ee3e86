"""Preference mixtures (MIX1, MIX2), their Table 5 statistics, and the online prompt set.

Section 2 of the paper trains reward models on two mixtures: MIX1 = HH-RLHF + SHP + UltraFeedback +
summarisation, MIX2 = every dataset of Table 5. A ``MixtureRecipe`` names the sources and the
curation settings; ``build_mixture`` loads (hub, local copy, or the lite world's synthetic files),
converts, filters and reports. Recipes live in ``recipes/data/*.yaml`` with the same field names.

Section 3.3: the prompts for the online iterations are pooled from several sources, deduplicated and
split into disjoint subsets, one per iteration (60K prompts, 20K an iteration, in the paper).
Chapter 3 (notebooks/03_preference_data) builds both mixtures and the splits in the lite world.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import yaml

from rlhf_lite.data.curation import CurationResult, curate
from rlhf_lite.data.filters import normalise_text, paper_filters
from rlhf_lite.data.rows import LoadReport
from rlhf_lite.data.schema import prompt_text, response_text
from rlhf_lite.data.sources import SOURCES, TABLE5, load_source

MIX1_SOURCES = ("hh-rlhf", "shp", "ultrafeedback", "summarize")
MIX2_SOURCES = TABLE5
# Section 3.3 pools prompts from UltraFeedback, HelpSteer, OpenOrca, UltraInteract, Capybara (and DIBT).
PROMPT_SOURCES = ("ultrafeedback", "helpsteer", "orca", "ultrainteract", "capybara")


@dataclass(frozen=True)
class MixtureRecipe:
    name: str = "mix2"
    sources: tuple[str, ...] = MIX2_SOURCES
    # Filters (App. B.1). The paper does not state its margin threshold; half a rating point on each
    # source's own scale is our choice (a dict source -> threshold is also accepted).
    min_margin: float | dict = 0.5
    shp_min_ratio: float = 2.0
    shp_max_pairs: int = 5
    max_length: int | None = None  # tokens of prompt + response; None = no length filter
    pku_label: str = "safer"

    def __post_init__(self):
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown:
            raise ValueError(f"mixture {self.name!r}: unknown sources {unknown}; choose from {sorted(SOURCES)}.")
        if self.pku_label not in ("safer", "better"):
            raise ValueError(f"mixture {self.name!r}: pku_label must be 'safer' or 'better', got {self.pku_label!r}.")


MIX1 = MixtureRecipe("mix1", MIX1_SOURCES)
MIX2 = MixtureRecipe("mix2", MIX2_SOURCES)


def load_mixture_recipe(path: str | Path) -> MixtureRecipe:
    """A YAML file whose keys are ``MixtureRecipe`` fields; errors name the file and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e}).") from e
    allowed = {f.name for f in dataclasses.fields(MixtureRecipe)}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}.")
    if "sources" in data:
        data["sources"] = tuple(data["sources"])
    try:
        return MixtureRecipe(**data)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from e


@dataclass
class Mixture:
    recipe: MixtureRecipe
    raw: list[dict]  # every converted pair, before filtering
    loads: list[LoadReport]
    curation: CurationResult

    @property
    def pairs(self) -> list[dict]:
        return self.curation.kept

    def report(self):
        return self.curation.report(self.loads)


def build_mixture(recipe: MixtureRecipe, paths: Mapping[str, str | Path] | None = None, tokenizer=None,
                  errors: str = "report", progress: bool = False, log=print) -> Mixture:
    """Load every source of ``recipe`` (from ``paths[name]`` if given, else the hub), convert, curate."""
    from tqdm.auto import tqdm

    raw, loads = [], []
    for name in tqdm(recipe.sources, desc=f"load {recipe.name}", disable=not progress):
        path = None if paths is None else paths.get(name)
        if paths is not None and path is None:
            raise ValueError(f"mixture {recipe.name!r}: no local path for source {name!r}; "
                             f"have {sorted(paths)}. Pass paths=None to read from the hub.")
        options = {"label": recipe.pku_label} if name == "pku-saferlhf" else {}
        pairs, rep = load_source(name, path, errors=errors, **options)
        log(f"[{recipe.name}] {name}: {rep.rows} rows -> {rep.pairs} pairs, {rep.malformed} malformed"
            + (f", {rep.unpaired} in no pair" if rep.unpaired else "")
            + (f", {rep.merged_turns} with turns of one role merged" if rep.merged_turns else ""))
        raw.extend(pairs)
        loads.append(rep)
    if recipe.max_length is not None and tokenizer is None:
        raise ValueError(f"mixture {recipe.name!r} sets max_length={recipe.max_length}; pass the tokenizer.")
    filters = paper_filters(tokenizer if recipe.max_length else None, recipe.max_length, recipe.min_margin,
                            recipe.shp_min_ratio, recipe.shp_max_pairs)
    return Mixture(recipe, raw, loads, curate(raw, filters, progress=progress))


# ----------------------------------------------------------------------------- Table 5


def _ntokens(tokenizer, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros(0)
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return np.array([len(x) for x in ids], dtype=float)


def table5(records: Sequence[dict], tokenizer, by: str = "source"):
    """The paper's Table 5 for any list of pairs: per source #prompts, mean prompt / preferred /
    rejected length in tokens of ``tokenizer`` (averaged over pairs, as in the paper; the text of all
    turns, no chat template), who wrote the completions, who annotated, #pairs."""
    import pandas as pd

    rows = []
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r[by], []).append(r)
    for name in sorted(groups, key=lambda n: (TABLE5 + ("summarize",)).index(n) if n in SOURCES else 99):
        rs = groups[name]
        s = SOURCES.get(name)
        rows.append({
            "dataset": name,
            "#prompts": len({prompt_text(r["prompt"]) for r in rs}),
            "prompt len": _ntokens(tokenizer, [prompt_text(r["prompt"]) for r in rs]).mean(),
            "preferred len": _ntokens(tokenizer, [response_text(r["chosen"]) for r in rs]).mean(),
            "rejected len": _ntokens(tokenizer, [response_text(r["rejected"]) for r in rs]).mean(),
            "completion": s.completion if s else "",
            "annotator": s.annotator if s else "",
            "#pairs": len(rs),
        })
    return pd.DataFrame(rows).set_index("dataset").round(1)


# The paper's Table 5, quoted: prompt / preferred / rejected length in LLaMA-3 tokens and the number of pairs.
PAPER_TABLE5 = {
    "hh-rlhf": (160.4, 82.2, 73.6, 115396), "shp": (186.2, 173.6, 88.8, 93301),
    "helpsteer": (530.0, 116.4, 89.3, 37131), "pku-saferlhf": (21.5, 70.4, 74.6, 26874),
    "ultrafeedback": (161.5, 279.5, 211.1, 340025), "ultrainteract": (507.4, 396.6, 416.7, 161927),
    "codeultrafeedback": (172.8, 427.6, 400.6, 50156), "argilla-math": (36.5, 276.5, 265.3, 2418),
    "orca": (153.3, 165.4, 260.5, 6926), "capybara": (634.5, 348.4, 401.9, 14811),
}


def table5_beside_paper(ours):
    """Our Table 5 (:func:`table5`) joined with the paper's, with each side's ratio of preferred to rejected length
    (its direction is comparable; absolute lengths are not: lite answers are a few words)."""
    import pandas as pd

    paper = pd.DataFrame(PAPER_TABLE5, index=["paper prompt len", "paper preferred len", "paper rejected len",
                                              "paper #pairs"]).T
    side = ours.join(paper)
    side["ours pref/rej"] = side["preferred len"] / side["rejected len"]
    side["paper pref/rej"] = side["paper preferred len"] / side["paper rejected len"]
    side["paper #pairs"] = side["paper #pairs"].astype("Int64")  # no paper count for summarisation
    return side


# ----------------------------------------------------------------------------- the online prompt set


def prompt_pool(records: Sequence[dict], sources: Sequence[str] | None = PROMPT_SOURCES,
                normalise: bool = True, last_turn_only: bool = False) -> list[list[dict]]:
    """Distinct prompts (as messages) from ``records`` of the given sources, first occurrence kept.

    ``normalise`` also merges prompts equal after case/space/punctuation normalisation.
    ``last_turn_only`` keeps just the final user turn of multi-turn prompts (the lite policy only
    ever saw single-turn tasks)."""
    seen, out = set(), []
    for r in records:
        if sources is not None and r["source"] not in sources:
            continue
        prompt = r["prompt"]
        if last_turn_only:
            prompt = [m for m in prompt if m["role"] == "user"][-1:]
        text = prompt_text(prompt)
        key = normalise_text(text) if normalise else text
        if key not in seen:
            seen.add(key)
            out.append(prompt)
    return out


def split_prompts(prompts: Sequence, iterations: int, per_iteration: int, seed: int = 0,
                  exclude: Sequence[str] = ()) -> list[list]:
    """``iterations`` disjoint random subsets of ``per_iteration`` prompts each (paper: 3 x 20K).

    ``exclude``: prompt texts that must not appear (e.g. the evaluation prompts)."""
    banned = {normalise_text(t) for t in exclude}
    pool = [p for p in prompts if normalise_text(prompt_text(p) if isinstance(p, list) else p) not in banned]
    need = iterations * per_iteration
    if need > len(pool):
        raise ValueError(f"{iterations} iterations x {per_iteration} prompts need {need} distinct prompts, "
                         f"but the pool has {len(pool)} after dedup and exclusions; lower per_iteration or add sources.")
    order = np.random.default_rng(seed).permutation(len(pool))[:need]
    return [[pool[i] for i in order[k * per_iteration:(k + 1) * per_iteration]] for k in range(iterations)]


# ----------------------------------------------------------------------------- saving


def save_pairs(records: Sequence[dict], path: str | Path) -> Path:
    """Save pairs with ``datasets.Dataset.save_to_disk`` (reload with ``datasets.load_from_disk``)."""
    import datasets

    from rlhf_lite.io import atomic_dir

    path = Path(path)
    with atomic_dir(path) as tmp:
        datasets.Dataset.from_list(list(records)).save_to_disk(str(tmp))
    return path
