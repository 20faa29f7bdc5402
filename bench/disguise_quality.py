"""``qinglang bench disguise-quality``: the disguised-training classifier on its held-out
set (qinglang/screening/data/heldout.tsv, never trained or tuned on).

Prints macro-F1, precision / recall / F1 per label, accuracy on the hard items (texts that
carry words usually seen in another label) reported separately, the Art. 18 pattern
accuracy on disguised texts found, and the confusion matrix. Reference in the same run:
the rule layer alone (``rules.rule_label``). Goals: macro-F1 ≥ 0.92, disguised_subject
recall ≥ 0.90, hard-item accuracy ≥ 0.85. RESULT = macro-F1."""

import argparse
import time


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="qinglang bench disguise-quality")
    ap.add_argument("--errors", type=int, default=0, help="print up to N misclassified texts")
    a = ap.parse_args(argv)

    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    from qinglang.screening import classifier as c
    from qinglang.screening import rules

    t0 = time.perf_counter()
    m = c.model()
    load = time.perf_counter() - t0
    rows = c.read_tsv(c.HELDOUT)
    train = c.read_tsv(c.TRAIN)
    texts = [r["text"] for r in rows]
    gold = [r["label"] for r in rows]
    res = c.classify_many(texts)
    pred = [r.label for r in res]
    base = [rules.rule_label(rules.find(t)) for t in texts]

    labels = list(c.LABELS)
    macro = f1_score(gold, pred, labels=labels, average="macro")
    macro_ref = f1_score(gold, base, labels=labels, average="macro")
    p, r, f, n = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    hard = [i for i, row in enumerate(rows) if row["hard"] == "1"]
    hard_acc = sum(pred[i] == gold[i] for i in hard) / len(hard)
    hard_ref = sum(base[i] == gold[i] for i in hard) / len(hard)
    found = [i for i in range(len(rows)) if gold[i] == pred[i] == "disguised_subject"]
    pat_acc = sum(res[i].pattern == rows[i]["pattern"] for i in found) / max(len(found), 1)

    print(f"model: trained on {m.trained_on} texts ({len(m.vocab):,} features), loaded in {load:.2f} s")
    print(f"held-out: {len(rows)} texts, {len(hard)} hard items; training texts: {len(train)}")
    print(f"\n{'label':<20}{'precision':>10}{'recall':>10}{'F1':>8}{'n':>6}")
    for i, lab in enumerate(labels):
        print(f"{lab:<20}{p[i]:>10.3f}{r[i]:>10.3f}{f[i]:>8.3f}{n[i]:>6}")
    print(f"\nmacro-F1 {macro:.3f} (goal ≥ 0.92); rules alone {macro_ref:.3f}")
    print(f"disguised_subject recall {r[2]:.3f} (goal ≥ 0.90)")
    print(f"hard-item accuracy {hard_acc:.3f} on {len(hard)} (goal ≥ 0.85); rules alone {hard_ref:.3f}")
    print(f"Art. 18 pattern right on {pat_acc:.3f} of the {len(found)} disguised texts found")
    cm = confusion_matrix(gold, pred, labels=labels)
    print("\nconfusion matrix (rows = truth, columns = prediction)")
    print(" " * 20 + "".join(f"{lab[:12]:>14}" for lab in labels))
    for i, lab in enumerate(labels):
        print(f"{lab:<20}" + "".join(f"{v:>14}" for v in cm[i]))
    if a.errors:
        print()
        shown = 0
        for i in range(len(rows)):
            if pred[i] != gold[i] and shown < a.errors:
                shown += 1
                print(f"[{gold[i]} → {pred[i]} {res[i].confidence:.2f}] {texts[i]}")
    ok = macro >= 0.92 and r[2] >= 0.90 and hard_acc >= 0.85
    print(f"\ngoals {'met' if ok else 'NOT met'}")
    print(
        f"RESULT disguise-quality {macro:.4f} macro-F1 ratio={macro / macro_ref:.2f} ref=rules-only-macro-F1"
    )
    return 0
