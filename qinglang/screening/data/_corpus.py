"""The machinery the corpus generators share (gen_train.py, gen_dev.py, gen_heldout.py):
seeded choices and the loop that fills a plan of (label, generator, count) with distinct
texts and writes the .tsv. The sentence frames and vocabularies stay in each generator,
so that the held-out set shares no wording with the training corpus. Deterministic: the
same seed and plan write the same bytes."""

import random
from collections.abc import Callable
from pathlib import Path

HEADER = "label\tpattern\thard\ttext\n"


class Draw:
    """One generator's seeded random choices (``draw(xs)`` picks one of ``xs``)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def __call__(self, xs):
        return self.rng.choice(xs)

    def randint(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def topic(self, topics: dict[str, list[str]]) -> tuple[str, str]:
        """A subject and one of its topics."""
        s = self(list(topics))
        return s, self(topics[s])

    def patterned(self, forms: list[tuple[str, str]], hard: int) -> tuple[str, str, int]:
        """One of the (Art. 18 pattern, text) forms as a row's (text, pattern, hard)."""
        pattern, text = self(forms)
        return text, pattern, hard


def write(
    out: Path,
    plan: list[tuple[str, Callable[[], tuple[str, str, int]], int]],
    *,
    attempts: int,
    context: Callable[[str], str] | None = None,
) -> int:
    """Fill each (label, generator, n) of ``plan`` with n texts not seen before (at most
    ``attempts`` draws per wanted text; ``context`` wraps each text), write ``out``;
    returns the number of rows."""
    rows, seen = [], set()
    for label, fn, n in plan:
        got, tries = 0, 0
        while got < n and tries < n * attempts:
            tries += 1
            text, pattern, hard = fn()
            if context is not None:
                text = context(text)
            if text in seen:
                continue
            seen.add(text)
            rows.append(f"{label}\t{pattern}\t{hard}\t{text}")
            got += 1
    out.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return len(rows)
