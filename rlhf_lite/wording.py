"""Words of the chapters that depend on an outcome, chosen by tested functions so that every outcome reads as
English (the house style: glue a short phrase chosen by a tested function, not a sentence built in a notebook).

Why our own code: the book's own sentences.
"""

from __future__ import annotations

def ranks_and_generates(best_ranker: str, best_generator: str) -> str:
    """Chapter 7's sentence on discrimination against generation, from the arm whose final policy ranks held-out
    pairs best and the arm whose final policy has the highest true win rate: one clause when they are the same
    arm, two when not (tests/test_wording.py reads every outcome)."""
    if not best_ranker or not best_generator:
        raise ValueError("ranks_and_generates needs the names of both arms.")
    if best_ranker == best_generator:
        return f"{best_ranker} both ranks held-out pairs best and has the highest true win rate"
    return f"{best_ranker} ranks held-out pairs best, while {best_generator} has the highest true win rate"
