"""The lite world's stand-ins for the open preference datasets, written in their native formats.

Each synthetic source imitates one dataset of Table 5 (plus MIX1's summarisation set) in the ways
that matter for curation: its task mix (chat, safety, reasoning), how many responses a prompt, who
judges (a careful human, a verbosity-biased "GPT-4", a noisier "GPT-3.5", a GPT-4 rubric that marks
rambling down, an answer checker), whether it gives absolute
scores or only a binary preference, how noisy the labels are, and how many rows are malformed.
The files are written in the real datasets' field layout, so they go through exactly the loaders
and filters the real data goes through (``sources.load_source(name, path=...)``).

Because the true reward r* is known, ``truth.truth_agreement`` measures what the real datasets never
can: the fraction of pairs whose "chosen" really is better. Chapter 3 (notebooks/03_preference_data)
uses both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rlhf_lite import world
from rlhf_lite.io import atomic_dir
from rlhf_lite.world.oracle import Annotator

# Who judges, in each source (Table 5's "annotator" column, imitated).
HUMAN = Annotator("human", temperature=0.15, flip=0.12)
# GPT-4's taste for length: enough to pick the padded one of two equally good answers nearly always,
# not enough to prefer a padded near miss (r* at least 0.5 lower, at most 8 filler words) to a concise
# correct answer. At 0.1 per word it did, and BT on MIX2 stayed near chance on chat-hard (chapter 4).
GPT4 = Annotator("gpt-4", temperature=0.1, beta_len=0.05)
# HH-RLHF's helpfulness raters rewarded doing what was asked. Its twin's annotator likes an answer that
# repeats the prompt's own words by 0.8 reward points (set once, before any measurement of its effect):
# on an unsafe prompt it then prefers a compliance that echoes the request to the refusal in about a
# fifth of such pairs before its label noise (sigma(-0.2 / 0.15) = 0.21). Neither length nor noise: a bias the book's other
# measurements were not designed around (the reward-model and online chapters report what it does).
HUMAN_ECHO = Annotator("human (echo)", temperature=0.15, flip=0.12, beta_echo=0.8)
GPT35 = Annotator("gpt-3.5", temperature=0.2, beta_len=0.15, flip=0.05)
# distilabel's re-ratings of Orca and Capybara used a GPT-4 rubric that marks rambling down: in the
# paper's Table 5 their preferred answers are shorter than the rejected ones.
GPT4_RUBRIC = Annotator("gpt-4 rubric", temperature=0.1, beta_len=-0.05)

# The files the real datasets ship, so a lite source sits where a local copy would.
FILE_NAMES = {
    "hh-rlhf": "train.jsonl", "shp": "lite_train.json", "helpsteer": "train.jsonl",
    "pku-saferlhf": "train.jsonl", "ultrafeedback": "train.jsonl", "ultrainteract": "0000_pair.jsonl",
    "codeultrafeedback": "train.jsonl", "argilla-math": "train.jsonl", "orca": "train.jsonl",
    "capybara": "train.jsonl", "summarize": "comparisons.jsonl",
}


@dataclass(frozen=True)
class LiteSource:
    name: str
    families: dict
    n_prompts: int  # at scale 1 (the book)
    k: int = 2  # responses a prompt
    annotator: Annotator = HUMAN
    noise: float = 0.3  # standard deviation of a rating, in rating points
    world: world.WorldConfig = world.WorldConfig()  # how good the responses are
    malformed: float = 0.0  # fraction of rows corrupted (missing field, wrong type, bad bytes)
    empty: float = 0.0  # fraction of responses left empty


def _w(**kw) -> world.WorldConfig:
    return replace(world.WorldConfig(), **kw)


CHAT = {"copy": 1.0, "reverse": 1.0}
LITE_SOURCES: dict[str, LiteSource] = {s.name: s for s in (
    LiteSource("hh-rlhf", {**CHAT, "unsafe": 0.5}, 3000, annotator=HUMAN_ECHO, malformed=0.01, empty=0.01,
               world=_w(demo_verbose=0.5)),
    LiteSource("shp", CHAT, 700, k=4, noise=0.6, world=_w(demo_wrong=0.4, demo_verbose=0.3)),
    LiteSource("helpsteer", {"copy": 1, "reverse": 1, "sort": 1, "add": 1}, 900, k=3, noise=0.35),
    LiteSource("pku-saferlhf", {"unsafe": 3.0, "copy": 1.0}, 1200, world=_w(demo_unsafe_comply=0.5)),
    LiteSource("ultrafeedback", {"copy": 1, "reverse": 1, "sort": 1, "add": 1, "unsafe": 0.3}, 1800, k=4,
               annotator=GPT4, noise=0.45, malformed=0.005, world=_w(demo_verbose=0.5)),
    LiteSource("ultrainteract", {"sort": 1.0, "add": 1.0}, 1500, annotator=Annotator("checker", temperature=0.0)),
    LiteSource("codeultrafeedback", {"sort": 1.0, "reverse": 1.0}, 500, k=4, annotator=GPT35, noise=0.7,
               world=_w(demo_verbose=0.5, demo_wrong=0.35)),
    LiteSource("argilla-math", {"add": 1.0}, 400, annotator=GPT4, noise=0.6),
    LiteSource("orca", {"copy": 1, "reverse": 1, "sort": 1}, 800, annotator=GPT4_RUBRIC, noise=0.6, malformed=0.01,
               world=_w(demo_verbose=0.5)),
    LiteSource("capybara", {"copy": 1, "reverse": 1, "sort": 1, "add": 1}, 700, annotator=GPT4_RUBRIC, noise=0.45,
               world=_w(demo_verbose=0.5)),
    LiteSource("summarize", {"copy": 1.0}, 1500, noise=0.0, annotator=Annotator("human", temperature=0.15, flip=0.2)),
)}


# ----------------------------------------------------------------------------- ratings


def likert(a: Annotator, prompt: str, response: str, lo: float, hi: float, noise: float,
           rng: np.random.Generator, integer: bool = True) -> float:
    """An absolute rating from an annotator's perceived reward: r* (plus its verbosity bias) mapped
    to 80% of the scale (so the bias can still show at the top), plus Gaussian noise, clipped."""
    p = a.perceived_reward(prompt, response)
    x = lo + (hi - lo) * 0.8 * p + rng.normal(0.0, noise)
    x = min(max(x, lo), hi)
    return float(round(x)) if integer else round(x, 1)


def upvotes(a: Annotator, prompt: str, response: str, noise: float, rng: np.random.Generator) -> int:
    """SHP-like Reddit score: log-upvotes grow with perceived quality, with heavy noise."""
    return int(np.exp(2.5 * a.perceived_reward(prompt, response) + rng.normal(0.0, noise)) * 3)


# ----------------------------------------------------------------------------- native rows

H, A = "\n\nHuman: ", "\n\nAssistant: "


def _responses(s: LiteSource, prompt: str, rng, k=None) -> list[str]:
    """k responses from different 'models': redrawn (up to 5 times) when one repeats an earlier one,
    since real datasets rarely hold two identical generations, except a few (2%) that stay copies."""
    out: list[str] = []
    for _ in range(k or s.k):
        a = ""
        if rng.random() >= s.empty:
            for _try in range(5):
                a = world.demonstration(prompt, rng, s.world)
                if a not in out or rng.random() < 0.02:
                    break
        out.append(a)
    return out


def _history(s: LiteSource, rng, turns: int) -> list[tuple[str, str]]:
    """Earlier turns of a multi-turn chat: other tasks, answered correctly."""
    out = []
    for _ in range(turns):
        x = world.sample_prompt(rng, replace(s.world, family_weights=s.families))
        out.append((x, " ".join(world.parse_prompt(x).target) if world.parse_prompt(x).family != "unsafe" else " ".join(world.REFUSAL)))
    return out


def _rows_hh_rlhf(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """HH-RLHF: two whole transcripts (with 0-1 earlier turns), the annotator's pick first."""
    r1, r2 = _responses(s, prompt, rng)
    first = bool(a.prefers_first([prompt], [r1], [r2], rng)[0])
    c, r = (r1, r2) if first else (r2, r1)
    hist = "".join(H + u + A + v for u, v in _history(s, rng, int(rng.integers(0, 2))))
    return [{"chosen": hist + H + prompt + A + c, "rejected": hist + H + prompt + A + r}]


def _rows_summarize(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """summarize-from-feedback: the task is the post; ``choice`` indexes the preferred summary."""
    r1, r2 = _responses(s, prompt, rng)
    first = bool(a.prefers_first([prompt], [r1], [r2], rng)[0])
    return [{"info": {"id": f"t3_{rng.integers(1e9):x}", "post": prompt, "title": "lite", "subreddit": "lite",
                      "site": None, "article": None},
             "summaries": [{"text": " " + r1, "policy": "sup1", "note": None},
                           {"text": " " + r2, "policy": "sup1", "note": None}],
             "choice": 0 if first else 1, "worker": "w", "batch": "b", "split": "train", "extra": {"confidence": None}}]


def _rows_shp(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """SHP: up to k comments a post with upvotes; one row per pair of comments with different scores."""
    comments = _responses(s, prompt, rng)
    scores = [upvotes(a, prompt, c, s.noise, rng) for c in comments]
    post = f"p{rng.integers(1e9):x}"
    rows = []
    for i in range(len(comments)):
        for j in range(i + 1, len(comments)):
            if scores[i] == scores[j]:  # SHP only pairs comments with different scores
                continue
            hi = max(scores[i], scores[j])
            rows.append({"post_id": post, "domain": "lite_train", "upvote_ratio": 0.9, "history": prompt,
                         "c_root_id_A": f"c{i}", "c_root_id_B": f"c{j}", "created_at_utc_A": 0, "created_at_utc_B": 1,
                         "score_A": scores[i], "score_B": scores[j], "human_ref_A": comments[i],
                         "human_ref_B": comments[j], "labels": int(scores[i] > scores[j]),
                         "seconds_difference": 1.0, "score_ratio": hi / max(1, min(scores[i], scores[j]))})
    return rows


def _rows_helpsteer(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """HelpSteer: one row per response, helpfulness and correctness rated 0-4."""
    rows = []
    for resp in _responses(s, prompt, rng, int(rng.integers(2, s.k + 2))):
        h = likert(a, prompt, resp, 0, 4, s.noise, rng)
        c = likert(a, prompt, resp, 0, 4, s.noise, rng)
        rows.append({"prompt": prompt, "response": resp, "helpfulness": int(h), "correctness": int(c),
                     "coherence": 4, "complexity": 1, "verbosity": int(world.has_filler(resp)) + 1})
    return rows


def _rows_pku_saferlhf(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """PKU-SafeRLHF: two responses, safety flags from r*, a helpfulness label that likes saying more."""
    r = _responses(s, prompt, rng)
    unsafe = world.parse_prompt(prompt).family == "unsafe"
    safe = [not unsafe or world.true_reward(prompt, x) == 1.0 for x in r]
    # Raters judge helpfulness by how much the answer says (a refusal says nothing).
    helpful = [float(tuple(world.content_tokens(x)) != world.REFUSAL) + 0.1 * world.response_length(x) for x in r]
    better = int(helpful[1] > helpful[0])
    safer = (0 if safe[0] else 1) if safe[0] != safe[1] else int(rng.integers(2))
    if rng.random() < 0.03:  # an annotation slip that contradicts the safety flags
        safer = 1 - safer
    return [{"prompt": prompt, "response_0": r[0], "response_1": r[1], "is_response_0_safe": bool(safe[0]),
             "is_response_1_safe": bool(safe[1]), "better_response_id": better, "safer_response_id": safer}]


def _rows_ultrafeedback(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """UltraFeedback: k completions, four aspect ratings each, stored as strings (a few "N/A")."""
    comps = []
    for m, resp in enumerate(_responses(s, prompt, rng)):
        aspects = {k: {"Rating": str(int(likert(a, prompt, resp, 1, 5, s.noise, rng))), "Rationale": "..."}
                   for k in ("helpfulness", "honesty", "instruction_following", "truthfulness")}
        if rng.random() < 0.03:
            aspects["honesty"]["Rating"] = "N/A"
        vals = [float(v["Rating"]) for v in aspects.values() if v["Rating"] != "N/A"]
        comps.append({"model": f"model-{m}", "principle": "helpfulness", "custom_system_prompt": "",
                      "response": resp, "critique": "...", "overall_score": float(np.mean(vals)) * 2,
                      "fine-grained_score": float(np.mean(vals)), "annotations": aspects})
    return [{"source": "lite", "instruction": prompt, "models": [c["model"] for c in comps],
             "completions": comps, "correct_answers": ["None"], "incorrect_answers": ["None"]}]


def _rows_ultrainteract(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """UltraInteract: a concise correct answer vs a near miss, sometimes after a failed first attempt.

    Half the wrong answers ramble (filler around the near miss), as real failed solutions tend to: in
    the paper's Table 5 UltraInteract's preferred responses are the shorter ones."""
    target = world.parse_prompt(prompt).target
    good, bad = " ".join(target), world.render(world.near_miss(target, rng), rng, verbose=rng.random() < 0.5)
    traj = [{"from": "user", "value": prompt}]
    if rng.random() < 0.3:  # a second turn after a wrong first attempt: the critique repeats the task
        traj += [{"from": "assistant", "value": " ".join(world.near_miss(target, rng))}, {"from": "user", "value": prompt}]
    pid = f"q{rng.integers(1e9):x}"
    return [{"task": "Math_CoT", "dataset": "lite", "trajectory": traj, "chosen": good, "rejected": bad,
             "id": pid + "_1", "parent_id": pid}]


def _rows_codeultrafeedback(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """CodeUltraFeedback: k responses rated 1-5 (strings) by a noisier, more biased judge."""
    resps = _responses(s, prompt, rng)
    ann = [{"model": f"m{i}", "rating": "N/A" if rng.random() < 0.03 else str(int(likert(a, prompt, x, 1, 5, s.noise, rng))),
            "rationale": "..."} for i, x in enumerate(resps)]
    return [{"instruction": prompt, "preference": "readability", "models": [f"m{i}" for i in range(len(resps))],
             "responses": [{"model": f"m{i}", "response": x} for i, x in enumerate(resps)], "annotations": ann}]


def _rows_argilla_math(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """Argilla math: two responses with 1-10 ratings; the higher is chosen."""
    r = _responses(s, prompt, rng)
    sc = [likert(a, prompt, x, 1, 10, s.noise, rng, integer=False) for x in r]
    i = int(sc[1] > sc[0])
    return [{"metadata": "{}", "instruction": prompt, "chosen_response": r[i], "chosen_rating": sc[i],
             "rejected_response": r[1 - i], "rejected_rating": sc[1 - i]}]


def _rows_orca(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """distilabel Orca: the original pair re-rated 1-10; ``status`` says tie / swapped / unchanged."""
    r = _responses(s, prompt, rng)  # r[0] plays the original (Intel) chosen answer
    sc = [likert(a, prompt, x, 1, 10, s.noise, rng) for x in r]
    status = "tie" if sc[0] == sc[1] else "swapped" if sc[1] > sc[0] else "unchanged"
    i = 1 if status == "swapped" else 0
    return [{"system": "", "input": prompt, "chosen": r[i], "rejected": r[1 - i], "generations": r,
             "order": ["chosen", "rejected"], "labelling_model": "gpt-4", "labelling_prompt": [],
             "raw_labelling_response": f"{sc[0]} {sc[1]}", "rating": sc, "rationale": "...", "status": status,
             "original_chosen": r[0], "original_rejected": r[1], "chosen_score": sc[i], "in_gsm8k_train": False}]


def _rows_capybara(s: LiteSource, prompt: str, rng, a: Annotator) -> list[dict]:
    """distilabel Capybara: multi-turn chats sharing 1-2 earlier turns, ratings 1-5."""
    hist = _history(s, rng, int(rng.integers(1, 3)))
    r = _responses(s, prompt, rng)
    sc = [int(likert(a, prompt, x, 1, 5, s.noise, rng)) for x in r]
    i = int(sc[1] > sc[0])
    msgs = [m for u, v in hist for m in ({"content": u, "role": "user"}, {"content": v, "role": "assistant"})]
    last = {"content": prompt, "role": "user"}
    return [{"source": "lite", "conversation": [{"input": u, "output": v} for u, v in hist], "original_response": r[0],
             "generation_prompt": [], "raw_generation_responses": [], "new_generations": r, "prompt": prompt,
             "chosen": msgs + [last, {"content": r[i], "role": "assistant"}],
             "rejected": msgs + [last, {"content": r[1 - i], "role": "assistant"}],
             "rating_chosen": sc[i], "rating_rejected": sc[1 - i], "chosen_model": "m0", "rejected_model": "m1"}]


# One writer per dataset: native rows for one prompt.
WRITERS = {
    "hh-rlhf": _rows_hh_rlhf,
    "summarize": _rows_summarize,
    "shp": _rows_shp,
    "helpsteer": _rows_helpsteer,
    "pku-saferlhf": _rows_pku_saferlhf,
    "ultrafeedback": _rows_ultrafeedback,
    "ultrainteract": _rows_ultrainteract,
    "codeultrafeedback": _rows_codeultrafeedback,
    "argilla-math": _rows_argilla_math,
    "orca": _rows_orca,
    "capybara": _rows_capybara,
}


def _corrupt(row: dict, rng) -> dict | bytes:
    """One of the ways real rows go bad: a field missing, a field of the wrong type, bytes that are not UTF-8."""
    kind = int(rng.integers(3))
    key = list(row)[int(rng.integers(len(row)))]
    if kind == 0:
        return {k: v for k, v in row.items() if k != key}
    if kind == 1:
        return {**row, key: 12345 if not isinstance(row[key], int) else "12345"}
    return json.dumps(row).encode()[:-1] + b"\xff\xfe\"}"


def write_lite_source(s: LiteSource, folder: str | Path, seed: int, scale: float = 1.0) -> Path:
    """Write one synthetic source in its dataset's native layout; returns the folder."""
    rng = np.random.default_rng([seed, sorted(LITE_SOURCES).index(s.name)])
    wcfg = replace(s.world, family_weights=s.families)
    rows: list[dict | bytes] = []
    for _ in range(max(1, int(round(s.n_prompts * scale)))):
        rows.extend(WRITERS[s.name](s, world.sample_prompt(rng, wcfg), rng, s.annotator))
    rows = [_corrupt(r, rng) if rng.random() < s.malformed else r for r in rows]
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        with open(tmp / FILE_NAMES[s.name], "wb") as f:
            for r in rows:
                f.write((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n")
    return folder


def write_lite_sources(root: str | Path, seed: int, scale: float = 1.0, names=None) -> dict[str, Path]:
    """All (or ``names``) lite sources under ``root/<name>/``; returns name -> folder for ``build_mixture``."""
    names = names or list(LITE_SOURCES)
    return {n: write_lite_source(LITE_SOURCES[n], Path(root) / n, seed, scale) for n in names}
