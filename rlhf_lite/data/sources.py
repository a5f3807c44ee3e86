"""Loaders for the open preference datasets of the paper's Table 5 (and MIX1's summarisation set).

``load_source(name)`` reads a dataset by its Hugging Face id (full mode, needs the network or the
HF cache) or, with ``path=``, a local copy in the same native format (the test fixtures, and the
lite world's synthetic sources), and converts every row into the schema of ``schema.py``.
Each converter below handles one dataset's quirks; the docstrings say which. Pairs are formed but
not filtered here (ties, small margins, SHP's ratio rule are ``curation.py``'s job), so the curation
report can count what each rule removes. Chapter 3 (notebooks/03_preference_data) runs them on
fixtures in each dataset's native layout and on the lite world's twins of the datasets.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from rlhf_lite.data.rows import LoadReport, convert_rows, hub_rows, iter_rows
from rlhf_lite.data.transcripts import convert_hh, parse_hh, sharegpt_to_messages, split_shared_prefix  # noqa: F401
from rlhf_lite.data.schema import (LabelError, RowError, UnpairedRow, alternate_turns, as_score, get_field, make_pair,
                                   message, pairs_from_scores)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    hub_id: str
    convert: Callable[[dict], list]
    config: str | None = None
    split: str = "train"
    data_dirs: tuple[str, ...] = ()
    # for datasets with one response a row: items -> (pairs, [(origin, RowError)] for the items in no pair)
    combine: Callable[[list], tuple[list[dict], list]] | None = None
    completion: str = "LLM"  # who wrote the responses (Table 5)
    annotator: str = "GPT-4"  # who judged them (Table 5)
    scores: str = "none"  # "none" (binary preference) or what the scores are
    fields: tuple[str, ...] = ()  # the top-level fields of a row that the converter needs: the dataset's layout


# ----------------------------------------------------------------------------- converters

def convert_shp(row):
    """SHP: a Reddit post and two comments; ``labels == 1`` means comment A got more upvotes."""
    label = get_field(row, "labels", int)
    if label not in (0, 1):
        raise RowError("labels", f"expected 0 or 1, got {label}")
    a, b = get_field(row, "human_ref_A", str), get_field(row, "human_ref_B", str)
    sa, sb = get_field(row, "score_A", float), get_field(row, "score_B", float)
    (ca, sca), (rb, srb) = ((a, sa), (b, sb)) if label == 1 else ((b, sb), (a, sa))
    prompt = [message("user", get_field(row, "history", str))]
    return [make_pair(prompt, ca, rb, source="shp", prompt_id=get_field(row, "post_id", str),
                      score_chosen=sca, score_rejected=srb)]


def helpsteer_item(row):
    """HelpSteer: one response a row with five 0-4 attributes; pairs are formed in ``combine_helpsteer``."""
    scores = [get_field(row, k, int) for k in ("helpfulness", "correctness")]
    if any(not 0 <= s <= 4 for s in scores):
        raise RowError("helpfulness", f"attributes are 0-4, got {scores}")
    return [{"prompt": get_field(row, "prompt", str), "response": get_field(row, "response", str),
             # The RLHFlow recipe ranks HelpSteer responses by mean(helpfulness, correctness).
             "score": sum(scores) / 2}]


def combine_helpsteer(items):
    """HelpSteer's rows (items) grouped by prompt into pairs, and each row that is in no pair with its reason:
    ([pairs], [(origin, RowError)]). A prompt with one rated response gives no pair."""
    groups = defaultdict(list)
    for it in items:
        groups[it["prompt"]].append(it)
    out, unused = [], []
    for prompt, its in groups.items():
        if len(its) < 2:
            unused.extend((i["origin"], UnpairedRow("prompt", "only one response to this prompt: no pair")) for i in its)
            continue
        pairs = pairs_from_scores([message("user", prompt)], [i["response"] for i in its],
                                  [i["score"] for i in its], source="helpsteer")
        for p in pairs:  # where each response came from
            p["origin"] = "+".join(i["origin"] for i in its if i["response"] in (p["chosen"][0]["content"], p["rejected"][0]["content"]))
        out.extend(pairs)
    return out, unused


PKU_LABELS = ("safer", "better")


def convert_pku(row, label: str = "safer"):
    """PKU-SafeRLHF: two responses with separate helpfulness (``better_response_id``) and harmlessness
    (``safer_response_id``) preferences. We use one of them (``label``); a safety preference that the
    row's own ``is_response_*_safe`` flags contradict is a wrong label (App. B.1) and is dropped."""
    prompt = [message("user", get_field(row, "prompt", str))]
    r = [get_field(row, "response_0", str), get_field(row, "response_1", str)]
    safe = [get_field(row, "is_response_0_safe", bool), get_field(row, "is_response_1_safe", bool)]
    key = f"{label}_response_id"
    i = get_field(row, key, int)
    if i not in (0, 1):
        raise RowError(key, f"expected 0 or 1, got {i}")
    if label == "safer" and safe[1 - i] and not safe[i]:
        raise LabelError(key, "label contradicts is_response_*_safe")
    return [make_pair(prompt, r[i], r[1 - i], source="pku-saferlhf")]


def _uf_score(c: dict) -> float | None:
    s = c.get("fine-grained_score")
    if isinstance(s, (int, float)) and not isinstance(s, bool) and not math.isnan(s):
        return float(s)
    ann = c.get("annotations") or {}
    if not isinstance(ann, dict):
        raise RowError("completions", f"annotations is a {type(ann).__name__}, expected an object")
    ratings = [as_score(a.get("Rating"), "annotations") for a in ann.values() if isinstance(a, dict)]
    ratings = [x for x in ratings if x is not None]
    return sum(ratings) / len(ratings) if ratings else None


def convert_ultrafeedback(row):
    """UltraFeedback: 4 completions rated by GPT-4 on four aspects (ratings are strings, "N/A" possible).
    Following the RLHFlow recipe we rank by ``fine-grained_score`` (the mean aspect rating) and form
    all pairs; ties are left for the ``Ties`` filter."""
    prompt = [message("user", get_field(row, "instruction", str))]
    comps = get_field(row, "completions", list)
    responses, scores = [], []
    for k, c in enumerate(comps):
        if not isinstance(c, dict):
            raise RowError("completions", f"item {k} is a {type(c).__name__}, expected an object")
        responses.append(get_field(c, "response", str))
        scores.append(_uf_score(c))
    return pairs_from_scores(prompt, responses, scores, source="ultrafeedback", field="completions")


def convert_ultrainteract(row):
    """UltraInteract (pair): a ShareGPT-style ``trajectory`` ending with a user turn, then a correct
    (``chosen``) and an incorrect (``rejected``) next action. Pairs sharing ``parent_id`` share an
    instruction, so that is the prompt id."""
    prompt = sharegpt_to_messages(get_field(row, "trajectory", list), "trajectory")
    if not prompt:
        raise RowError("trajectory", "empty conversation")
    return [make_pair(prompt, get_field(row, "chosen", str), get_field(row, "rejected", str),
                      source="ultrainteract", prompt_id=get_field(row, "parent_id", str))]


def convert_codeultrafeedback(row):
    """CodeUltraFeedback: 4 responses, each rated 1-5 (a string) by GPT-3.5; matched by model name."""
    prompt = [message("user", get_field(row, "instruction", str))]
    responses = get_field(row, "responses", list)
    ratings = {}
    for k, a in enumerate(get_field(row, "annotations", list)):
        if not isinstance(a, dict) or not isinstance(a.get("model"), str):
            raise RowError("annotations", f"item {k} has no model name")
        if a["model"] in ratings:  # which of the two ratings is the response's? The row cannot say.
            raise RowError("annotations", f"model {a['model']!r} is rated twice")
        ratings[a["model"]] = as_score(a.get("rating"), "annotations")
    texts, models = [], []
    for k, r in enumerate(responses):
        if not isinstance(r, dict):
            raise RowError("responses", f"item {k} is a {type(r).__name__}, expected an object")
        texts.append(get_field(r, "response", str))
        models.append(get_field(r, "model", str))
    if models and ratings and not set(models) & set(ratings):
        # without this, such a row gave 0 pairs and was counted nowhere: neither kept nor dropped
        raise RowError("annotations", "no annotation names a model among the responses")
    return pairs_from_scores(prompt, texts, [ratings.get(m) for m in models], source="codeultrafeedback",
                             field="responses")


def convert_argilla_math(row):
    """Argilla math preferences: one pair with a GPT-4 rating each."""
    prompt = [message("user", get_field(row, "instruction", str))]
    return [make_pair(prompt, get_field(row, "chosen_response", str), get_field(row, "rejected_response", str),
                      source="argilla-math", score_chosen=get_field(row, "chosen_rating", float, allow_none=True),
                      score_rejected=get_field(row, "rejected_rating", float, allow_none=True))]


def convert_orca(row):
    """distilabel Orca DPO pairs: GPT-4 re-rated Intel's pairs; ``status`` is "tie" when the two
    ratings are equal (those become ties for the ``Ties`` filter). An optional system prompt leads."""
    system = get_field(row, "system", str, allow_none=True) or ""
    prompt = ([message("system", system)] if system.strip() else []) + [message("user", get_field(row, "input", str))]
    chosen, rejected = get_field(row, "chosen", str), get_field(row, "rejected", str)
    gens = get_field(row, "generations", list, allow_none=True) or []
    rating = get_field(row, "rating", list, allow_none=True) or []
    for k, g in enumerate(gens):
        if not isinstance(g, str):
            raise RowError("generations", f"item {k} is a {type(g).__name__}, expected a string")
    by_text = {g: as_score(s, "rating") for g, s in zip(gens, rating)}
    sc, sr = by_text.get(chosen), by_text.get(rejected)
    if get_field(row, "status", str) == "tie" and (sc is None or sr is None):
        sc = sr = get_field(row, "chosen_score", float, allow_none=True)
    return [make_pair(prompt, chosen, rejected, source="orca", score_chosen=sc, score_rejected=sr)]


def convert_capybara(row):
    """distilabel Capybara: multi-turn; ``chosen``/``rejected`` are whole message lists sharing history."""
    def msgs(name):
        value = get_field(row, name, list)
        if not value:
            raise RowError(name, "empty conversation")
        for k, m in enumerate(value):
            if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in ("user", "assistant", "system"):
                raise RowError(name, f"message {k} is not a {{role, content}} object")
        return [message(m["role"], m["content"]) for m in value]
    prompt, a, b = split_shared_prefix(msgs("chosen"), msgs("rejected"), "capybara")
    return [make_pair(prompt, a, b, source="capybara",
                      score_chosen=get_field(row, "rating_chosen", float, allow_none=True),
                      score_rejected=get_field(row, "rating_rejected", float, allow_none=True))]


def convert_summarize(row):
    """OpenAI summarize-from-feedback (comparisons): a post and two summaries, ``choice`` the better one.
    The prompt follows Stiennon et al. (2020): subreddit, title, post, then "TL;DR:"."""
    info = get_field(row, "info", dict)
    summaries = get_field(row, "summaries", list)
    choice = get_field(row, "choice", int)
    if len(summaries) != 2 or choice not in (0, 1):
        raise RowError("summaries", f"expected 2 summaries and choice 0/1, got {len(summaries)} and {choice}")
    texts = [get_field(s, "text", str).strip() if isinstance(s, dict) else "" for s in summaries]
    if info.get("post"):
        body = f"SUBREDDIT: r/{info.get('subreddit')}\nTITLE: {info.get('title')}\nPOST: {info['post']}\nTL;DR:"
    elif info.get("article"):
        body = f"TITLE: {info.get('title')}\nARTICLE: {info['article']}\nTL;DR:"
    else:
        raise RowError("info", "has neither a post nor an article")
    return [make_pair([message("user", body)], texts[choice], texts[1 - choice], source="summarize",
                      prompt_id=str(info.get("id")))]


SOURCES: dict[str, SourceSpec] = {s.name: s for s in (
    SourceSpec("hh-rlhf", "Anthropic/hh-rlhf", convert_hh, completion="LLM", annotator="Human",
               data_dirs=("helpful-base", "helpful-online", "helpful-rejection-sampled"), fields=("chosen", "rejected")),
    SourceSpec("shp", "stanfordnlp/SHP", convert_shp, completion="Human", annotator="Human", scores="upvotes",
               fields=("post_id", "history", "human_ref_A", "human_ref_B", "labels", "score_A", "score_B")),
    SourceSpec("helpsteer", "nvidia/HelpSteer", helpsteer_item, combine=combine_helpsteer, annotator="Human",
               scores="mean(helpfulness, correctness), 0-4", fields=("prompt", "response", "helpfulness", "correctness")),
    SourceSpec("pku-saferlhf", "PKU-Alignment/PKU-SafeRLHF-30K", convert_pku, annotator="Human",
               fields=("prompt", "response_0", "response_1", "is_response_0_safe", "is_response_1_safe",
                       "safer_response_id", "better_response_id")),
    SourceSpec("ultrafeedback", "openbmb/UltraFeedback", convert_ultrafeedback, scores="fine-grained, 1-5",
               fields=("instruction", "completions")),
    SourceSpec("ultrainteract", "openbmb/UltraInteract_pair", convert_ultrainteract,
               fields=("trajectory", "chosen", "rejected", "parent_id")),
    SourceSpec("codeultrafeedback", "coseal/CodeUltraFeedback", convert_codeultrafeedback, annotator="GPT-3.5",
               scores="rating, 1-5", fields=("instruction", "responses", "annotations")),
    SourceSpec("argilla-math", "argilla/distilabel-math-preference-dpo", convert_argilla_math, scores="rating, 1-10",
               fields=("instruction", "chosen_response", "rejected_response", "chosen_rating", "rejected_rating")),
    SourceSpec("orca", "argilla/distilabel-intel-orca-dpo-pairs", convert_orca, scores="rating, 1-10",
               fields=("system", "input", "chosen", "rejected", "generations", "rating", "status")),
    SourceSpec("capybara", "argilla/distilabel-capybara-dpo-7k-binarized", convert_capybara, scores="rating, 1-5",
               fields=("chosen", "rejected", "rating_chosen", "rating_rejected")),
    # Loaded through a dataset script on the hub; recent `datasets` versions refuse scripts, so on a
    # connected machine pass path= to a parquet/JSON export of the "comparisons" config.
    SourceSpec("summarize", "openai/summarize_from_feedback", convert_summarize, config="comparisons",
               completion="LLM", annotator="Human", fields=("info", "summaries", "choice")),
)}

TABLE5 = ("hh-rlhf", "shp", "helpsteer", "pku-saferlhf", "ultrafeedback", "ultrainteract",
          "codeultrafeedback", "argilla-math", "orca", "capybara")


def spec(name: str) -> SourceSpec:
    if name not in SOURCES:
        raise ValueError(f"unknown preference source {name!r}; choose one of {sorted(SOURCES)}.")
    return SOURCES[name]


def load_source(name: str, path=None, *, errors: str = "report", limit: int | None = None,
                **options) -> tuple[list[dict], LoadReport]:
    """Pairs of one source in the common schema, and what happened to its rows.

    ``path``: a local file or folder in the dataset's native format; without it the dataset is read
    from the hub by id (``SOURCES[name].hub_id``). ``options`` go to the converter (e.g.
    ``label="better"`` for PKU-SafeRLHF). See ``rows.convert_rows`` for ``errors``.
    """
    s = spec(name)
    if path is not None:
        rows, where = iter_rows(path, s.split, s.data_dirs), str(path)
    else:
        dirs = s.data_dirs or (None,)
        rows = (r for d in dirs for r in hub_rows(s.hub_id, s.config, s.split, d))
        where = s.hub_id
    merged = 0  # rows whose prompt had turns of one role merged

    def convert(row):
        nonlocal merged
        try:
            out = s.convert(row, **options)
        except RowError as e:
            if e.reason == "missing" and e.field in s.fields and isinstance(row, dict):
                raise RowError(e.field, layout_mismatch(s, row)) from None
            raise
        if s.combine is None:  # pairs: prompts whose turns do not alternate are mended or dropped here
            mended = 0
            for p in out:
                p["prompt"], m = alternate_turns(p["prompt"])
                mended |= m
            merged += mended  # rows, not pairs
        return out

    if s.combine is None:
        pairs, report = convert_rows(rows, convert, name, where, errors=errors, limit=limit)
    else:
        items, report = convert_rows(rows, convert, name, where, errors=errors, limit=limit)
        pairs, unused = s.combine(items)
        for origin, err in unused:  # every row is in a pair or counted, here as well
            report.drop(origin, err)
        report.pairs = len(pairs)
    report.merged_turns = merged
    return pairs, report


def layout_mismatch(s: SourceSpec, row: dict) -> str:
    """The reason for a row that lacks a field of its dataset's layout: the fields expected and those found,
    so a copy of another version of the dataset (Intel/orca_dpo_pairs instead of argilla's re-rated one)
    says so. No commas or " (" in it: the report counts drops by the reason's text up to those."""
    found = " ".join(sorted(map(str, row))) or "none"
    return f"missing: {s.name} reads the layout of {s.hub_id} [{' '.join(s.fields)}]; this row has [{found}]"
