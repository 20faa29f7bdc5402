"""The classifier on the kinds the issue names; evidence spans point into the text."""

import pytest

from qinglang.screening import classifier, rules

CASES = [
    ("暑期S学Y语小班，新学期内容提前讲，私信报名。", "disguised_subject"),
    ("托管中心：同步拔高，讲练结合，每天一个知识点。", "disguised_subject"),
    ("科学实验课：五年级孩子学习浮力和欧姆定律，提前学初中物理。", "disguised_subject"),
    ("幼小衔接班：拼音和口算全掌握，开学就领先。", "disguised_subject"),
    ("高端家政，住家老师可辅导孩子数学，讲解方程。", "disguised_subject"),
    ("扫码进微信群，每晚腾讯会议直播讲初二物理。", "disguised_subject"),
    ("思维游戏俱乐部：玩桌游和魔方锻炼逻辑思维，不涉及课本知识，不布置作业。", "non_subject"),
    ("英语绘本俱乐部：孩子们听英文故事、唱英文儿歌、表演绘本剧，不教语法，不考试。", "non_subject"),
    (
        "托管中心：放学后接孩子、提供晚餐，看护孩子独立完成当天作业，不讲授新课，不进行学科辅导。",
        "non_subject",
    ),
    ("研学旅行：参观科技馆和博物馆，体验非遗，开展野外考察，不安排课堂授课。", "non_subject"),
    ("初二数学同步辅导班，重点讲解方程与几何，每周六上午上课。", "subject"),
]


@pytest.mark.parametrize(("text", "label"), CASES)
def test_labels_the_kinds_the_issue_names(text, label):
    r = classifier.classify(text)
    assert r.label == label, (text, r.label, r.probabilities)
    assert 0.34 < r.confidence <= 1.0
    for e in r.evidence:
        assert text[e["start"] : e["end"]] == e["text"]


def test_disguised_text_names_the_art18_pattern_and_cover():
    r = classifier.classify("高端家政，住家老师可辅导孩子数学，讲解方程。")
    assert (r.pattern, r.cover) == ("relabelled", "housekeeping")
    kinds = {e["kind"] for e in r.evidence}
    assert "cover_housekeeping" in kinds and "subject" in kinds
    assert classifier.classify("扫码进微信群，每晚腾讯会议直播讲初二物理。").pattern == "online"
    assert classifier.classify("小区3栋502室家中开班，初二数学小班。").pattern == "underground"


def test_negated_subject_words_are_marked_and_not_evidence_of_tutoring():
    spans = rules.find("晚托班只看护，不讲授新课")
    assert [(s.text, s.negated) for s in spans if s.kind == "subject"] == [("新课", True)]


def test_batch_path_matches_single_path():
    texts = [t for t, _ in CASES]
    batch = classifier.classify_many(texts)
    assert [r.label for r in batch] == [classifier.classify(t).label for t in texts]


def test_model_is_cached_on_disk_and_reloads_identically(tmp_path, monkeypatch):
    m = classifier.model()
    path = tmp_path / "m.npz"
    m.save(path)
    again = classifier.Model.load(path)
    assert again.vocab == m.vocab and again.lexicon == m.lexicon
    docs = [m.features(t) for t, _ in CASES]
    assert (again.probabilities(docs).argmax(1) == m.probabilities(docs).argmax(1)).all()


def test_heldout_set_shares_no_text_with_training():
    train = {r["text"] for r in classifier.read_tsv(classifier.TRAIN)}
    held = classifier.read_tsv(classifier.HELDOUT)
    assert len(held) >= 600 and not train & {r["text"] for r in held}
    counts = {}
    for r in classifier.read_tsv(classifier.TRAIN):
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    assert min(counts.values()) >= 300
