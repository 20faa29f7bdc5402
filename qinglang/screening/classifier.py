"""The disguised-training text classifier: subject / non_subject / disguised_subject.

Features per text: jieba words, character uni- and bigrams, and the rule layer's cue kinds
and their co-occurrences (``rules.py``). A multinomial logistic regression (scikit-learn)
is trained on the project's corpus (``data/train.tsv``) the first time it is needed and
cached on disk under ``QINGLANG_DATA_DIR/screening/``, keyed by the corpus and this code's
feature version, so a process loads it in milliseconds and nothing is fetched from
anywhere. The prediction path is a sparse matrix product over the vocabulary (no
per-text scikit-learn call): ``classify_many`` is the batch path, ``classify`` one text.

For a disguised text the Art. 18 pattern (moved online / underground / relabelled) and the
cover are named from the cues; the evidence is the cue spans (character offsets), or, when
the text carries no cue, the words that weighed most towards the label."""

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import rules

DATA = Path(__file__).parent / "data"
TRAIN = DATA / "train.tsv"
HELDOUT = DATA / "heldout.tsv"
FEATURE_VERSION = "3"
RULE_WEIGHT = 0.3  # a cue feature's value; the n-gram part of a row has unit length
LABELS = ("subject", "non_subject", "disguised_subject")
LABEL_NAMES = {"subject": "学科类培训", "non_subject": "非学科类", "disguised_subject": "隐形变异学科培训"}
C = 4.0  # with RULE_WEIGHT, chosen on the development set dev.tsv (docs/screening.md)
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")

log = logging.getLogger(__name__)


def read_tsv(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t", len(head) - 1), strict=True)) for ln in lines[1:] if ln]


_tk = None
_tk_lock = threading.Lock()
WORD_LENGTHS = range(3, 6)  # two-character words are already the character bigrams


def tokenizer():
    """A private jieba tokenizer (the global one is left alone), dictionary loaded once."""
    global _tk
    if _tk is None:
        with _tk_lock:
            if _tk is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                _tk = tk
    return _tk


def tokens(text: str) -> list[str]:
    """jieba's segmentation (precise mode, no HMM)."""
    return tokenizer().lcut(text, HMM=False)


def lexicon_of(texts: list[str]) -> frozenset[str]:
    """The words of 3–5 characters jieba finds in the training texts."""
    out = set()
    for t in texts:
        s = _clean(t)
        out.update(w for w in tokens(s) if len(w) in WORD_LENGTHS)
    return frozenset(out)


def _clean(text: str) -> str:
    return "".join(_KEEP.findall(text)).lower()


def features(text: str, lexicon: frozenset[str], spans: list[rules.Span] | None = None) -> list[str]:
    """Character uni- and bigrams, the lexicon words the text contains (as ``w:`` features)
    and the rule layer's cue features. A lexicon lookup per 3–5-character window costs a
    tenth of segmenting the text again with jieba, and is the same in training and use."""
    spans = rules.find(text) if spans is None else spans
    s = _clean(text)
    n = len(s)
    out = list(s)
    out += [s[i : i + 2] for i in range(n - 1)]
    for k in WORD_LENGTHS:
        out += ["w:" + w for w in (s[i : i + k] for i in range(n - k + 1)) if w in lexicon]
    out += rules.rule_features(spans)
    return out


def _is_rule(f: str) -> bool:
    return f[:2] in ("R:", "X:") or f[:4] == "NEG:"


@dataclass
class Result:
    label: str
    confidence: float
    probabilities: dict
    pattern: str = ""
    cover: str = ""
    evidence: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "label_name": LABEL_NAMES[self.label],
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "pattern": self.pattern,
            "pattern_name": rules.PATTERN_LABELS.get(self.pattern, ""),
            "cover": self.cover,
            "cover_name": rules.COVER_LABELS.get(self.cover, ""),
            "evidence": self.evidence,
        }


class Model:
    def __init__(
        self,
        vocab: dict[str, int],
        lexicon: frozenset,
        coef: np.ndarray,
        intercept: np.ndarray,
        trained_on: int,
    ):
        self.vocab = vocab
        self.lexicon = lexicon
        self.coef = coef  # (n_features, n_labels), float32
        self.intercept = intercept
        self.trained_on = trained_on

    @classmethod
    def train(cls, rows: list[dict], *, c: float = C) -> "Model":
        from sklearn.linear_model import LogisticRegression

        lexicon = lexicon_of([r["text"] for r in rows])
        docs = [features(r["text"], lexicon) for r in rows]
        vocab: dict[str, int] = {}
        for d in docs:
            for f in d:
                vocab.setdefault(f, len(vocab))
        x = _matrix(docs, vocab)
        y = np.array([LABELS.index(r["label"]) for r in rows])
        lr = LogisticRegression(C=c, max_iter=2000)
        lr.fit(x, y)
        return cls(
            vocab, lexicon, lr.coef_.T.astype(np.float32).copy(), lr.intercept_.astype(np.float32), len(rows)
        )

    def save(self, path: Path) -> None:
        """Arrays only (no pickle): the vocabulary in index order, the lexicon, the weights."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            vocab=np.array(sorted(self.vocab, key=self.vocab.__getitem__)),
            lexicon=np.array(sorted(self.lexicon)),
            coef=self.coef,
            intercept=self.intercept,
            trained_on=np.array(self.trained_on),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Model":
        with np.load(path, allow_pickle=False) as z:
            vocab = {str(f): i for i, f in enumerate(z["vocab"])}
            return cls(
                vocab, frozenset(map(str, z["lexicon"])), z["coef"], z["intercept"], int(z["trained_on"])
            )

    def features(self, text: str, spans=None) -> list[str]:
        return features(text, self.lexicon, spans)

    def probabilities(self, docs: list[list[str]]) -> np.ndarray:
        x = _matrix(docs, self.vocab)
        z = x @ self.coef + self.intercept
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def top_words(self, text: str, label: int, n: int = 3) -> list[rules.Span]:
        """The lexicon words and character pairs of ``text`` that weighed most towards
        ``label`` (the evidence when no cue matched)."""
        scored = {}
        for k in (*WORD_LENGTHS, 2):
            for i in range(len(text) - k + 1):
                w = text[i : i + k]
                j = self.vocab.get(("w:" + w.lower()) if k > 2 else w.lower())
                if j is None or w in scored:
                    continue
                row = self.coef[j]
                margin = float(row[label] - np.delete(row, label).max())
                if margin > 0:
                    scored[w] = (margin, rules.Span(i, i + k, w, "model"))
        best = sorted(scored.values(), key=lambda t: -t[0])
        out: list[rules.Span] = []
        for _, sp in best:
            if all(sp.end <= o.start or sp.start >= o.end for o in out):
                out.append(sp)
            if len(out) == n:
                break
        return sorted(out, key=lambda sp: sp.start)


def _matrix(docs: list[list[str]], vocab: dict[str, int]):
    """Binary document-feature matrix, each row scaled to unit length."""
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    get = vocab.get
    for d in docs:
        n_rule = 0
        while n_rule < len(d) and _is_rule(d[-1 - n_rule]):
            n_rule += 1
        grams = {i for i in map(get, d[: len(d) - n_rule]) if i is not None}
        cues = {i for i in map(get, d[len(d) - n_rule :]) if i is not None} - grams
        indices.extend(grams)
        indices.extend(cues)
        data.extend([1.0 / max(len(grams), 1) ** 0.5] * len(grams))
        data.extend([RULE_WEIGHT] * len(cues))
        indptr.append(len(indices))
    indptr_a = np.asarray(indptr, dtype=np.int64)
    data = np.asarray(data, dtype=np.float32)
    return csr_matrix((data, np.asarray(indices, dtype=np.int64), indptr_a), shape=(len(docs), len(vocab)))


# --- the cached model --------------------------------------------------------------------------
_model: Model | None = None
_lock = threading.Lock()


def cache_dir() -> Path:
    try:
        from django.conf import settings

        base = Path(settings.DATA_DIR)
    except Exception:
        base = Path(os.environ.get("QINGLANG_DATA_DIR", Path(__file__).resolve().parents[2] / "var"))
    return base / "screening"


def _cache_key() -> str:
    h = hashlib.sha256(TRAIN.read_bytes())
    h.update(FEATURE_VERSION.encode())
    h.update(Path(rules.__file__).read_bytes())
    h.update(str(C).encode())
    return h.hexdigest()[:16]


def model() -> Model:
    """The trained model: from memory, else the disk cache, else trained and cached."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            path = cache_dir() / f"model-{_cache_key()}.npz"
            m = None
            if path.exists():
                try:
                    m = Model.load(path)
                except Exception:
                    log.warning("screening model cache unreadable, retraining", exc_info=True)
            if m is None:
                m = Model.train(read_tsv(TRAIN))
                try:
                    m.save(path)
                except OSError:
                    log.warning("screening model not cached (data directory not writable)")
            _model = m
    return _model


def _result(text: str, spans: list[rules.Span], probs, m: Model, *, explain: bool) -> Result:
    k = int(probs.argmax())
    label = LABELS[k]
    pattern = cover = ""
    if label == "disguised_subject":
        pattern, cover = rules.pattern_of(spans)
    evidence = []
    if explain:
        if label == "non_subject":
            keep = [s for s in spans if s.kind == "genuine" or s.negated or s.kind.startswith("cover_")]
        else:
            keep = [s for s in spans if s.kind != "genuine" and not s.negated]
        if not keep:
            keep = m.top_words(text, k)
        evidence = [s.as_dict() for s in keep]
    return Result(
        label, float(probs[k]), dict(zip(LABELS, map(float, probs), strict=True)), pattern, cover, evidence
    )


def classify_many(texts: list[str], *, explain: bool = True) -> list[Result]:
    """The batch path: one sparse product for all texts."""
    m = model()
    spans = [rules.find(t) for t in texts]
    docs = [m.features(t, s) for t, s in zip(texts, spans, strict=True)]
    probs = m.probabilities(docs)
    return [_result(t, s, p, m, explain=explain) for t, s, p in zip(texts, spans, probs, strict=True)]


def classify(text: str) -> Result:
    return classify_many([text])[0]
