"""Problem category of a clue — what the call is *about* — and the text vectors duplicate
detection compares.

Features: character 1–3 grams of the report's core text (the caller's introduction,
closing courtesies and clauses said in passing — 另外…, 顺便… — taken out) and character
2–3 grams of what follows a "main point" marker (主要是…, 最主要的问题是…), TF-IDF with
sublinear tf, then a linear SVM calibrated to probabilities (scikit-learn); the keyword
rules break near ties. jieba words scored lower in grouped cross-validation on the
training corpus (data/README.md).

Training data: ``data/train.tsv`` (the project's own corpus, see data/README.md) plus every
regulator correction (``ClueLabel``, weight 3). The model is trained once per set of
examples and code and persisted under ``DATA_DIR/models`` (a file named by the digest of the
corpus, the corrections, this module's source and the scikit-learn version), at first use or
by ``qinglang clue_model``; every later process loads it. Nothing is downloaded.

The public interface is :func:`classify_many` (and :func:`classify` for one text); another
app may add a category hook with :func:`register_hook` — a function ``(text, prediction)
→ prediction | None`` run after the model (the disguised-training screening uses it)."""

import hashlib
import logging
import os
import pickle
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .models import CategorySource, ClueCategory, ClueLabel

log = logging.getLogger(__name__)
DATA = Path(__file__).parent / "data" / "train.tsv"
CORRECTION_WEIGHT = 3  # a regulator's correction counts as three shipped examples
FEATURE_VERSION = "4"  # bump when features() changes: invalidates the pickled model

# Keyword rules: cues to the model (not verdicts). A rule alone cannot tell a passing
# mention from the main problem; the model weighs the cue with everything else.
RULES: list[tuple[str, str]] = [
    (ClueCategory.RUNAWAY, r"跑路|卷款|人去楼空|联系不上|失联|关门|倒闭|搬空|跑了"),
    (ClueCategory.REFUND_DIFFICULTY, r"退费|退款|退钱|不给退|退还|退课|退剩"),
    (ClueCategory.FIRE_SAFETY, r"消防|灭火器|安全出口|疏散|火灾|逃生|烟感|易燃|液化气|煤气|燃气|充电"),
    (ClueCategory.FOOD_SAFETY, r"食品|午餐|饭菜|食堂|健康证|拉肚子|中毒|过期的|变质|腹泻|馊"),
    (ClueCategory.ILLEGAL_COMPETITION, r"竞赛|杯赛|比赛|排名|名次|选拔|大赛"),
    (ClueCategory.BEYOND_SYLLABUS, r"超纲|超前|提前学|提前教|超出.*课程标准|下学期|年级的"),
    (ClueCategory.ADVERTISING, r"广告|传单|宣传|海报|保过|提分|押题"),
    (ClueCategory.PRICE, r"指导价|一次性|乱收费|收费标准|涨价|明码标价|发票|预收"),
    (ClueCategory.UNLICENSED, r"无证|许可证|营业执照|未经审批|资质|证照|备案|办学证"),
    (ClueCategory.DISGUISED_TRAINING, r"家政|众筹|研学|住家|一对一|私教|隐形变异|名义|打着|其实|实际"),
    (ClueCategory.STAFF_CONDUCT, r"体罚|辱骂|骂|打孩子|教师资格|在职教师|在职老师|有偿补课|动手动脚"),
    (ClueCategory.OTHER, r"咨询|请问|想问|表扬|点赞|噪音|太吵|停车"),
]
_RULES = [(c, re.compile(p)) for c, p in RULES]
_MAIN = re.compile(r"(主要是|主要反映|最主要的|重点是|关键是|今天打电话是因为|打电话是想)(.*)")
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
NO_NAME = frozenset({"不详", "无", "未知", "不清楚", "不知道", "没有", "暂无", "不详细"})


def rule_hits(text: str) -> list[str]:
    return [c for c, rx in _RULES if rx.search(text or "")]


def clean(text: str) -> str:
    """Letters and digits only, lower-cased: what the n-grams are taken from."""
    return "".join(_KEEP.findall(text or "")).lower()


# Hotline text carries the caller's introduction and closing courtesies and often a second
# issue "in passing": clauses the category should not hang on.
_CLAUSE = re.compile(r"[，,；;\s]+|(?=[。！!？?])|(?<=[。！!？?])")
_PREFIX = re.compile(r"^(来电人称|市民来电反映|群众反映|诉求人表示|家长反映|邻居打电话说|来电反映)[：:，,]?")
_PREAMBLE = re.compile(
    r"^(喂|你好|您好|打扰|麻烦|我实在|我要反映|我想反映|我想投诉|想投诉|我是|我姓|我在.{0,12}(住|上班|工作|做过)|"
    r"我之前在)|这边$"
)
_CLOSING = re.compile(
    r"谢谢|盼回复|请核查|拜托|配合调查|希望.{0,8}(管|处理|说法|回)|请.{0,6}处理|麻烦.{0,6}查|不要透露|不止一次|要求.{0,6}核实"
)
_PASSING = re.compile(r"^(另外|顺便|顺带|对了|还有就是)")


def core_text(text: str) -> str:
    """The text without the caller's introduction, closing courtesies and clauses that
    start as a passing mention (另外…, 顺便说一下…); from the main-point marker on when
    there is one (主要是…) — unless nothing else is left."""
    text = _PREFIX.sub("", (text or "").strip())
    m = _MAIN.search(text)
    if m:
        text = m.group(2)
    clauses = [("。" if c in "。！!？?" else c) for c in _CLAUSE.split(text) if c]
    i = 0
    while (
        i < len(clauses) - 1
        and len(clauses[i]) <= 16
        and _PREAMBLE.search(clauses[i])
        and not rule_hits(clauses[i])
    ):
        i += 1
    kept, passing = [], False
    for c in clauses[i:]:
        if c == "。":
            passing = False
            continue
        passing = passing or bool(_PASSING.match(c))
        if not passing and not (len(c) <= 14 and _CLOSING.search(c)):
            kept.append(c)
    return clean("".join(kept or clauses[i:]))


def main_clause(text: str) -> str:
    """What the caller says they are calling about (after 主要是…), else ""."""
    m = _MAIN.search(text or "")
    return clean(m.group(2)) if m else ""


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float  # the model's probability of that category, 0–1
    source: str  # CategorySource


class TextModel:
    """Vectorisers + linear classifier, trained on (text, category, weight) examples:
    character 1–3 grams of the whole text and 2–3 grams of the main clause, TF-IDF with
    sublinear tf, a linear SVM calibrated to probabilities (sigmoid, 3 folds)."""

    def __init__(self, examples: list[tuple[str, str, int]]):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import LinearSVC

        texts = [t for t, _, _ in examples]
        self.whole, self.main = _vectorizers()
        x = self._stack(self.whole.fit_transform(texts), self.main.fit_transform(texts))
        self.clf = CalibratedClassifierCV(LinearSVC(C=0.5), cv=3, method="sigmoid")
        self.clf.fit(x, [c for _, c, _ in examples], sample_weight=[w for _, _, w in examples])
        self.classes = list(self.clf.classes_)

    @staticmethod
    def _stack(a, b):
        from scipy.sparse import hstack

        return hstack([a, b], format="csr")

    def vectors(self, texts: list[str]):
        """l2-normalised character n-gram vectors of the whole texts (for similarity)."""
        return self.whole.transform(texts)

    def predict(self, texts: list[str]) -> list[Prediction]:
        return self.predict_vectors(self.vectors(texts), texts) if texts else []

    def proba(self, whole, texts: list[str]):
        """Category probabilities (rows: texts, columns: :attr:`classes`) of texts whose
        :meth:`vectors` are ``whole``."""
        x = self._stack(whole, self.main.transform(texts))
        return self.clf.predict_proba(x)

    def predict_vectors(self, whole, texts: list[str], probs=None) -> list[Prediction]:
        """Predictions for texts whose :meth:`vectors` are ``whole`` (computed once), or
        whose :meth:`proba` is ``probs``."""
        if not texts:
            return []
        if probs is None:
            probs = self.proba(whole, texts)
        out = []
        for text, row in zip(texts, probs, strict=True):
            order = row.argsort()[::-1]
            i = int(order[0])
            cat = self.classes[i]
            hits = rule_hits(main_clause(text) or text)
            # rules break a near tie between the model's first two categories
            second = self.classes[int(order[1])]
            if row[i] - row[int(order[1])] < TIE and second in hits and cat not in hits:
                i, cat = int(order[1]), second
            source = CategorySource.RULE if cat in hits else CategorySource.MODEL
            out.append(Prediction(cat, round(float(row[i]), 3), source))
        return out


TIE = 0.05


def _vectorizers():
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    whole = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=core_text, dtype=np.float32
    )
    main = TfidfVectorizer(
        analyzer="char", ngram_range=(2, 3), sublinear_tf=True, preprocessor=main_clause, dtype=np.float32
    )
    return whole, main


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """(category, text) rows of a corpus file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            cat, text = line.split("\t", 1)
            out.append((cat, text))
    return out


def shipped_examples() -> list[tuple[str, str, int]]:
    return [(t, c, 1) for c, t in read_tsv(DATA)]


def _code_version() -> bytes:
    """What invalidates a persisted model besides its examples: this module's source (the
    features and the model), FEATURE_VERSION and the scikit-learn version."""
    import sklearn

    return Path(__file__).read_bytes() + FEATURE_VERSION.encode() + sklearn.__version__.encode()


def _cache_path(examples_digest: bytes) -> Path | None:
    """``DATA_DIR/models/clue-category-<digest>.pkl``: keyed by the examples and the code."""
    try:
        from django.conf import settings

        digest = hashlib.sha256(examples_digest + _code_version()).hexdigest()[:16]
        return Path(settings.DATA_DIR) / "models" / f"clue-category-{digest}.pkl"
    except Exception:  # no settings (a plain script): no disk cache
        return None


def _examples_digest(examples: list[tuple[str, str, int]]) -> bytes:
    h = hashlib.sha256(DATA.read_bytes())
    for t, c, w in examples[len(read_tsv(DATA)) :]:  # the corrections after the shipped corpus
        h.update(f"{w}\t{c}\t{t}\n".encode())
    return h.digest()


def persisted_model(examples: list[tuple[str, str, int]], *, build: bool = True) -> TextModel | None:
    """The model of ``examples``: loaded from its file under DATA_DIR/models when one was
    built for the same examples and code, else trained once and written there (atomically)
    — so an import never trains unless the corpus, a correction or the code changed."""
    path = _cache_path(_examples_digest(examples))
    if path is not None and path.exists():
        try:
            with path.open("rb") as f:
                return pickle.load(f)  # noqa: S301 (a file this module wrote under DATA_DIR)
        except Exception:
            log.warning("clue model file unreadable, retraining", exc_info=True)
    if not build:
        return None
    m = TextModel(examples)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(m, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
        except OSError:
            log.warning("clue model file not written", exc_info=True)
    return m


def model_path() -> Path | None:
    """The file of the model :func:`model` uses now (built or not)."""
    return _cache_path(_examples_digest(current_examples()))


def base_model() -> TextModel:
    """The model of the shipped corpus (persisted)."""
    return persisted_model(shipped_examples())


def current_examples() -> list[tuple[str, str, int]]:
    """The shipped corpus, then every regulator correction (by id) at CORRECTION_WEIGHT."""
    corrections = [
        (t, c, CORRECTION_WEIGHT) for t, c in ClueLabel.objects.order_by("id").values_list("text", "category")
    ]
    return shipped_examples() + corrections


_lock = threading.Lock()
_models: dict[str, object] = {}


def model() -> TextModel:
    """Shipped corpus + regulator corrections, from its persisted file (trained and written
    at first use when the examples or the code changed); kept in memory keyed on the newest
    correction's id."""
    version = ClueLabel.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with _lock:
        if _models.get("version") != version or "model" not in _models:
            _models["model"] = base_model() if version == 0 else persisted_model(current_examples())
            _models["version"] = version
        return _models["model"]


Hook = Callable[[str, Prediction], Prediction | None]
_hooks: list[Hook] = []


def register_hook(fn: Hook) -> None:
    """Add a category hook (idempotent): it sees each text with the model's prediction
    and may return another prediction (e.g. disguised_training from a screening model)."""
    if fn not in _hooks:
        _hooks.append(fn)


def apply_hooks(texts: list[str], preds: list[Prediction]) -> list[Prediction]:
    if not _hooks:
        return preds
    out = []
    for t, p in zip(texts, preds, strict=True):
        for fn in _hooks:
            p = fn(t, p) or p
        out.append(p)
    return out


def classify_many(texts: list[str], *, m: TextModel | None = None) -> list[Prediction]:
    """Category, confidence and source of each text (one vectorisation for the batch)."""
    m = m or model()
    return apply_hooks(texts, m.predict(texts))


def classify(text: str, *, m: TextModel | None = None) -> Prediction:
    return classify_many([text], m=m)[0]
