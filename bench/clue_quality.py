"""``qinglang bench clue-quality``: clue triage judged on the held-out set
(qinglang/clues/data/heldout*.tsv, never trained or tuned on; see data/README.md).

- Category: accuracy, precision / recall / F1 per category, macro-F1, confusion matrix.
  Reference measured in the same run: the keyword rules alone (first rule that fires,
  else ``other``).
- Duplicates: reports placed by the intake's own code (``dedupe.place``, with the text
  vectors and category probabilities the intake gives it) in time order; pairwise
  precision and recall of "same case" against the written groups. ``--dev`` scores the
  development sets instead (train_dedupe.tsv, dev_dedupe.tsv: where the thresholds are
  chosen) and never reads the held-out files.
- Matching: reports against a small registry (``matching.CountyIndex``): correct / wrong
  / missed, and look-alike names matched (must be 0).

Goals: macro-F1 ≥ 0.92, recall(other) ≥ 0.85, merge precision 1.0, merge recall ≥ 0.90,
no look-alike matched. ``RESULT clue-quality <macro-F1> ratio=<model / rules>``."""

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "qinglang" / "clues" / "data"


def _prf(truth: list[str], pred: list[str], labels: list[str]) -> dict[str, tuple[float, float, float, int]]:
    out = {}
    for c in labels:
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == p == c)
        fp = sum(1 for t, p in zip(truth, pred, strict=True) if p == c and t != c)
        fn = sum(1 for t, p in zip(truth, pred, strict=True) if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = (prec, rec, f1, tp + fn)
    return out


def categories(model) -> tuple[float, float, float]:
    from qinglang.clues.classify import read_tsv, rule_hits
    from qinglang.clues.models import ClueCategory

    rows = read_tsv(DATA / "heldout.tsv")
    truth = [c for c, _ in rows]
    texts = [t for _, t in rows]
    t = time.perf_counter()
    pred = [p.category for p in model.predict(texts)]
    took = time.perf_counter() - t
    labels = list(ClueCategory.values)
    prf = _prf(truth, pred, labels)
    macro = sum(v[2] for v in prf.values()) / len(labels)
    acc = sum(1 for a, b in zip(truth, pred, strict=True) if a == b) / len(rows)
    rules = [(rule_hits(t) or ["other"])[0] for t in texts]
    rules_macro = sum(v[2] for v in _prf(truth, rules, labels).values()) / len(labels)
    print(f"\n== category: {len(rows)} held-out reports, {len(labels)} categories ({took * 1000:.0f} ms)")
    print(f"{'category':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'n':>5}")
    for c in labels:
        p, r, f, n = prf[c]
        print(f"{c:<22}{p:>10.3f}{r:>8.3f}{f:>7.3f}{n:>5}")
    print(f"accuracy {acc:.3f}; macro-F1 {macro:.3f}; recall(other) {prf['other'][1]:.3f}")
    print(f"reference, keyword rules alone: macro-F1 {rules_macro:.3f}")
    short = {c: c[:6] for c in labels}
    print("confusion (rows: truth, columns: predicted)")
    print(" " * 22 + "".join(f"{short[c]:>7}" for c in labels))
    for a in labels:
        counts = [sum(1 for t, p in zip(truth, pred, strict=True) if t == a and p == b) for b in labels]
        print(f"{a:<22}" + "".join(f"{n:>7}" for n in counts))
    return macro, prf["other"][1], rules_macro


def dedupe_rows(name: str) -> list[tuple[str, str, int, str]]:
    """(group, subject, day, text) rows of a duplicates file (train rows have no day: 0)."""
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        r = line.split("\t")
        g, subject, day, text = (r[0], r[1], "0", r[2]) if len(r) == 3 else r
        out.append(
            (f"{name}:{g}", subject if subject.startswith("op:") else f"{name}:{subject}", int(day), text)
        )
    return out


def duplicates(model, names: list[str], *, show: bool = True) -> tuple[float, float]:
    from qinglang.clues import dedupe

    rows = [r for n in names for r in dedupe_rows(n)]
    start = datetime(2026, 9, 1, 9, 0)
    items, groups = [], []
    texts = [r[3] for r in rows]
    vectors = model.vectors(texts)
    topics = model.proba(vectors, texts)
    for i, (group, subject, day, _text) in enumerate(rows):
        op = subject.startswith("op:")
        keys = dedupe.subject_keys(None, subject[3:], "") if op else (f"i:{subject}",)
        items.append(dedupe.Item(keys, "510107", start + timedelta(days=day, minutes=i), i))
        groups.append(group)
    placed = dedupe.place([], items, vectors, {"510107": 30}, topics)
    case_of = [id(p.case) for p in placed]
    tp = fp = fn = 0
    for i in range(len(rows)):
        for j in range(i):
            same_truth, same_pred = groups[i] == groups[j], case_of[i] == case_of[j]
            tp += same_truth and same_pred
            fp += same_pred and not same_truth
            fn += same_truth and not same_pred
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    cases = len(set(case_of))
    print(
        f"\n== duplicates ({', '.join(names)}): {len(rows)} reports in {len(set(groups))} problems → {cases} cases"
    )
    print(f"merge pairs: correct {tp}, wrong {fp}, missed {fn}; precision {prec:.3f}, recall {rec:.3f}")
    if show:
        for (g, _s, d, text), p in zip(rows, placed, strict=True):
            if p.similarity is not None:
                print(f"  {g:<24} day {d:>2} joined (similarity {p.similarity:.2f}): {text[:30]}")
    return prec, rec


def matching() -> tuple[int, int, int, int]:
    from qinglang.clues.matching import CountyIndex

    idx = CountyIndex()
    correct = wrong = missed = lookalike = 0
    lines = (DATA / "heldout_matching.tsv").read_text(encoding="utf-8").splitlines()
    reports = 0
    for line in lines:
        kind, key, name, address = line.split("\t")
        if kind == "site":
            idx.add(key, name, address)
            continue
        reports += 1
        got = idx.match(name, address).institution_id or ""
        if got == key:
            correct += 1
        elif not got:
            missed += 1
        else:
            wrong += 1
            lookalike += not key
        if got != key:
            print(f"  expected {key or '—'} got {got or '—'}: {name} / {address}")
    print(f"\n== matching: {reports} reports against {len(idx.ids)} registered sites")
    print(f"correct {correct}, wrong {wrong}, missed {missed}; look-alike names matched {lookalike}")
    return correct, wrong, missed, lookalike


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="qinglang bench clue-quality")
    ap.add_argument(
        "--dev",
        action="store_true",
        help="duplicates on the development sets only (train_dedupe.tsv, dev_dedupe.tsv; what thresholds are chosen on)",
    )
    a = ap.parse_args(argv)
    from qinglang.clues.classify import TextModel, shipped_examples

    t = time.perf_counter()
    model = TextModel(shipped_examples())  # the shipped corpus only (no corrections)
    print(
        f"trained on {len(shipped_examples())} examples (data/train.tsv) in {time.perf_counter() - t:.1f} s"
    )
    if a.dev:
        duplicates(model, ["train_dedupe.tsv", "dev_dedupe.tsv"])
        return 0
    macro, rec_other, rules_macro = categories(model)
    prec, rec = duplicates(model, ["heldout_dedupe.tsv"])
    _, wrong, _missed, lookalike = matching()
    goals = {
        "macro-F1 ≥ 0.92": macro >= 0.92,
        "recall(other) ≥ 0.85": rec_other >= 0.85,
        "merge precision 1.0": prec == 1.0,
        "merge recall ≥ 0.90": rec >= 0.90,
        "no look-alike matched": lookalike == 0,
        "no wrong match": wrong == 0,
    }
    print("\ngoals: " + "; ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items()))
    print(
        f"RESULT clue-quality {macro:.3f} macro-F1 ratio={macro / rules_macro:.2f} ref=keyword-rules:{rules_macro:.3f}"
    )
    return 0
