"""Problem category of a clue: keyword rules first, then a small multinomial naive Bayes
over character uni- and bigrams trained on the labelled examples the project ships
(data/labelled.tsv) plus every regulator correction (``ClueLabel``). Written with the
standard library: the model is a few thousand counts and retrains in milliseconds."""

import math
import re
import threading
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

from .models import Category, CategorySource, ClueLabel

DATA = Path(__file__).parent / "data" / "labelled.tsv"
CORRECTION_WEIGHT = 3  # a regulator's correction counts as three shipped examples

# Strong phrases decide by themselves; order matters (the first match wins).
RULES: list[tuple[str, str]] = [
    (Category.RUNAWAY, r"跑路|卷款|人去楼空|联系不上(老板|校长|负责人)|突然关门|倒闭"),
    (Category.REFUND_DIFFICULTY, r"退费|退款|退钱|不给退|退还"),
    (Category.FIRE_SAFETY, r"消防|灭火器|安全出口|疏散|火灾|逃生通道"),
    (Category.FOOD_SAFETY, r"食品|午餐|饭菜|食堂|健康证|拉肚子|食物中毒"),
    (Category.ILLEGAL_COMPETITION, r"竞赛|杯赛|排名榜|成绩榜"),
    (Category.BEYOND_SYLLABUS, r"超纲|超前|提前教授|超出.*课程标准"),
    (Category.ADVERTISING, r"广告|传单|宣传.*(保过|提分|押题)|包过"),
    (Category.PRICE, r"指导价|一次性收取|超过三个月|乱收费|收费标准"),
    (Category.UNLICENSED, r"无证|没有办学许可|没有营业执照|未经审批|没有资质"),
    (Category.DISGUISED_TRAINING, r"家政|众筹|研学营|住家|一对一|私教|隐形变异"),
    (Category.STAFF_CONDUCT, r"体罚|辱骂|教师资格|在职教师|有偿补课"),
]
_RULES = [(c, re.compile(p)) for c, p in RULES]

# Category checkers that apps above clues register (from their AppConfig.ready): each is
# ``checker(text) -> category | None``, asked after the keyword rules and before the model.
CATEGORY_CHECKERS: list = []

_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")


def features(text: str) -> list[str]:
    s = "".join(_KEEP.findall(text or "")).lower()
    return [*s, *(s[i : i + 2] for i in range(len(s) - 1))]


def rule_category(text: str) -> str | None:
    for cat, rx in _RULES:
        if rx.search(text or ""):
            return cat
    return None


class NaiveBayes:
    """Multinomial naive Bayes with Laplace smoothing."""

    def __init__(self, examples: list[tuple[str, str, int]]):
        self.classes = list(Category.values)
        idx = {c: i for i, c in enumerate(self.classes)}
        counts: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(self.classes))
        totals = [0.0] * len(self.classes)
        docs = [0.0] * len(self.classes)
        for text, cat, weight in examples:
            i = idx[cat]
            docs[i] += weight
            for f, n in Counter(features(text)).items():
                counts[f][i] += n * weight
                totals[i] += n * weight
        vocab = max(len(counts), 1)
        ndocs = sum(docs) or 1.0
        self.prior = [math.log((d + 1) / (ndocs + len(self.classes))) for d in docs]
        self.unseen = [math.log(1 / (t + vocab)) for t in totals]
        # per feature: the log-likelihood minus the unseen baseline, so unknown features add 0
        self.weights = {
            f: tuple(math.log((v[i] + 1) / (totals[i] + vocab)) - self.unseen[i] for i in range(len(v)))
            for f, v in counts.items()
        }

    def predict(self, text: str) -> tuple[str, float]:
        feats = features(text)
        n = len(feats)
        scores = [p + n * u for p, u in zip(self.prior, self.unseen, strict=True)]
        w = self.weights
        for f in feats:
            v = w.get(f)
            if v is not None:
                scores = [a + b for a, b in zip(scores, v, strict=True)]
        best = max(range(len(scores)), key=scores.__getitem__)
        top = scores[best]
        z = sum(math.exp(s - top) for s in scores)
        return self.classes[best], 1 / z


def shipped_examples() -> list[tuple[str, str, int]]:
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            cat, text = line.split("\t", 1)
            out.append((text, cat, 1))
    return out


_lock = threading.Lock()
_model: tuple[int, NaiveBayes] | None = None


def model() -> NaiveBayes:
    """The model trained on shipped examples + corrections; retrained when a correction
    is added (keyed on the newest label id)."""
    global _model
    version = ClueLabel.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with _lock:
        if _model is None or _model[0] != version:
            corrections = [
                (t, c, CORRECTION_WEIGHT) for t, c in ClueLabel.objects.values_list("text", "category")
            ]
            _model = (version, NaiveBayes(shipped_examples() + corrections))
            _cached_classify.cache_clear()
        return _model[1]


@lru_cache(maxsize=50_000)
def _cached_classify(text: str, nb_id: int) -> tuple[str, str]:
    nb = _model[1]
    cat, _p = nb.predict(text)
    return cat, CategorySource.MODEL


def classify(text: str, *, nb: NaiveBayes | None = None) -> tuple[str, str]:
    """(category, source): a rule hit, else the model's best class."""
    nb = nb or model()
    hit = rule_category(text)
    if hit:
        return hit, CategorySource.RULE
    for checker in CATEGORY_CHECKERS:
        found = checker(text)
        if found:
            return found, CategorySource.MODEL
    return _cached_classify(text, id(nb))
