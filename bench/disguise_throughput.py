"""``qinglang bench disguise-throughput``: texts classified per second on one core through
the batch path the API uses (``screening.classifier.classify_many``, with the pattern and
the evidence spans), for 100-character texts. Goal ≥ 2,000 texts/s.

Reference in the same run: tokenising the same texts with jieba alone (the classifier's
floor). Also prints the peak memory of loading the model (traced Python allocations of
reading the cached model and jieba's dictionary) and the process's maximum resident size.
RESULT = texts per second."""

import argparse
import random
import resource
import time
import tracemalloc


def texts_of(n: int, length: int) -> list[str]:
    from qinglang.screening import classifier as c

    pool = [r["text"] for r in c.read_tsv(c.HELDOUT)]
    rnd = random.Random(1)
    out = []
    for _ in range(n):
        s = ""
        while len(s) < length:
            s += rnd.choice(pool)
        out.append(s[:length])
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="qinglang bench disguise-throughput")
    ap.add_argument("--texts", type=int, default=20_000)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1000, help="texts per call (the API's limit)")
    ap.add_argument("--rounds", type=int, default=3, help="best of N")
    a = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from qinglang.screening import classifier as c

    threadpool_limits(1)
    c.model()  # make sure the disk cache exists, then measure a cold load from it
    c._model = None
    c._tk = None
    tracemalloc.start()
    t0 = time.perf_counter()
    c.model()
    load_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    texts = texts_of(a.texts, a.length)
    batches = [texts[i : i + a.batch] for i in range(0, len(texts), a.batch)]
    c.classify_many(batches[0])  # warm

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(a.rounds):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    tok = timed(lambda: [c.tokens(t) for t in texts])
    full = timed(lambda: [c.classify_many(b) for b in batches])
    bare = timed(lambda: [c.classify_many(b, explain=False) for b in batches])
    rate, tok_rate = len(texts) / full, len(texts) / tok
    labels = {}
    for r in c.classify_many(texts[: a.batch]):
        labels[r.label] = labels.get(r.label, 0) + 1
    print(
        f"{len(texts):,} texts of {a.length} characters, batches of {a.batch}, one thread, best of {a.rounds}"
    )
    print(
        f"model load from cache: {load_s:.2f} s, peak traced memory {peak / 2**20:.1f} MiB; "
        f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(f"features: {len(c.model().vocab):,}; labels of the first batch: {labels}")
    print(f"jieba tokenising alone: {tok_rate:,.0f} texts/s")
    print(
        f"classify (label, confidence, pattern, evidence): {rate:,.0f} texts/s "
        f"({rate / tok_rate:.2f} of tokenising alone); without evidence {len(texts) / bare:,.0f} texts/s"
    )
    print(f"goal ≥ 2,000 texts/s: {'met' if rate >= 2000 else 'NOT met'}")
    print(
        f"RESULT disguise-throughput {rate:.0f} texts/s ratio={rate / tok_rate:.2f} ref=jieba-tokenise-only"
    )
    return 0
