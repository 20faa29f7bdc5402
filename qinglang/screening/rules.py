"""The rule layer of the disguised-training classifier: lexicons of cues, found with one
compiled regular expression per text, each match an evidence span.

Cue kinds:
- ``subject``: school-subject content (subjects, syllabus words, exam words, 同步/预习/提分 …);
- ``obfuscated``: subject names hidden by 谐音 or letters ("S学", "Y语", "数-学", "shu学");
- ``ahead``: junior-school physics and chemistry topics (a "科学实验" that teaches them);
- ``preschool_subject``: 拼音 / 口算 / 识字 content named in a 幼小衔接 or preschool text;
- ``cover_*``: the relabelled covers of Order No. 53 Art. 18 (housekeeping and live-in tutors,
  crowd-funding, study tours and camps, care and meal centres, "thinking"/literacy classes,
  consulting and planning, competitions, school readiness);
- ``venue``: moved underground (flats, hotels, cafés, basements, garages);
- ``online``: moved online (chat groups, online meetings, live streams);
- ``genuine``: non-subject activity content (sports, arts, making, visits, play);
- ``negation``: "不讲授新课", "不涉及学科": a subject cue just after it is negated.

The lexicons were written with the training corpus (data/train.tsv) and frozen before the
held-out set (data/heldout.tsv) was written."""

import re
from dataclasses import dataclass

SUBJECT = (
    r"数学|语文|英语|物理|化学|生物|历史|地理|政治|道德与法治|奥数|奥赛|"
    r"作文|阅读理解|古诗词?|文言文|病句|修辞|现代文|默写|背诵课文|"
    r"应用题|计算题|方程|几何|函数|分数乘除|因式分解|勾股|三角形面积|"
    r"单词|语法|时态|听力|完形填空|音标|词汇量|"
    r"错题|刷题|真题|押题|试卷|习题|练习册|课本|教材|课内|知识点|考点|题型|讲题|解题|"
    r"同步|预习|复习|新课|提分|成绩|考试|期中|期末|单元测|月考|"
    r"中考|高考|小升初|初升高|升学|名校|重点中学|分数线|满分|拔高|培优|补差|补习|"
    r"辅导班|家教|精讲|超前|提前学|上册|下册|人教版|北师大版|苏教版|部编版|"
    r"[一二三四五六七八九]+年级|初[一二三]|高[一二三]|补课|课业|提优|学业"
)
OBFUSCATED = (
    r"(?<![A-Za-z])[SsWwHhYy]学|(?<![A-Za-z])[Yy][语文]|语[Ww文]?[Ww](?![A-Za-z])|英[Yy](?![A-Za-z])|"
    r"数[Xx](?![A-Za-z])|[Ss][Xx](?![A-Za-z])|"
    r"(?:数|语|英|物|化)[\s\-_·.*/、~]+(?:学|文|语|理)|"
    r"shu学|yu文|wu理|hua学|ying语|shuxue|yuwen|yingyu|"
    r"(?<![A-Za-z])(?:math|Math|MATH)(?![A-Za-z])"
)
AHEAD = (
    r"浮力|压强|欧姆定律|电路|串联|并联|杠杆原理|滑轮组|密度公式|凸透镜成像|光的折射|"
    r"牛顿第[一二三]定律|力学|电学|化学方程式|元素周期表|酸碱中和|摩尔|电流|电压|电阻"
)
PRESCHOOL_SUBJECT = r"拼音|声母|韵母|口算|20以内|100以内|加减法|识字|书写笔画|田字格|认读|算术"
# an institution that says it is licensed for subject training (open, not disguised)
LICENSED = r"学科类(?:培训)?机构|办学许可证|学科类培训|已审批|白名单"

COVERS = {
    "housekeeping": r"高端家政|家政|住家(?:老师|教师|阿姨)?|育儿嫂|保姆|陪读|伴读|家庭教师",
    "crowdfunding": r"众筹|拼课|拼团私教|凑钱|平摊|AA制",
    "study_tour": r"研学|游学|夏令营|冬令营|营地|集训营|封闭营|实验营|训练营|特训营|(?<![经运国民露阵])营(?=[：:，。\s]|$)",
    "care": r"托管|晚托|午托|小饭桌|四点半|看护|日托|全托",
    "thinking": r"思维|素养|素质|逻辑|脑力|学习力|潜能|能力提升|大语文|启蒙",
    "consulting": r"咨询|规划|诊断|测评|学习方法|家庭教育指导",
    "competition": r"竞赛|杯赛|集训|考级",
    "readiness": r"幼小衔接|学前班|学前准备|入学准备|大班孩子|幼儿园",
    "science": r"科学实验|科学课|STEM|stem|科创",
}
VENUE = (
    r"小区|住宅|居民楼|家中|家里|自家|客厅|邻居|民宅|楼栋|\d+栋|\d+号楼|\d{3,4}室|单元房|出租屋|"
    r"酒店|宾馆|民宿|咖啡馆|咖啡厅|茶馆|茶室|书吧|地下室|车库|农家院|别墅"
)
ONLINE = (
    r"微信群|QQ群|qq群|钉钉|腾讯会议|视频会议|直播|网课|线上|云课堂|小程序|私信|进群|"
    r"扫码|连麦|录播|屏幕共享|飞书|ZOOM|zoom"
)
GENUINE = (
    r"篮球|足球|排球|乒乓球|羽毛球|网球|游泳|跆拳道|武术|轮滑|跳绳|田径|体能|击剑|攀岩|"
    r"舞蹈|芭蕾|街舞|钢琴|小提琴|古筝|吉他|架子鼓|声乐|合唱|美术|绘画|素描|水彩|书法|陶艺|"
    r"围棋|象棋|国际象棋|桌游|魔方|数独|积木|乐高|拼图|编程|机器人|航模|无人机|手工|剪纸|"
    r"戏剧|表演|主持|口才|绘本|儿歌|故事|动画|博物馆|科技馆|美术馆|非遗|徒步|露营|农耕|"
    r"采摘|观鸟|天文观测|写生|国画|硬笔|黏土|播音|滑冰|3D打印|尤克里里|拉丁舞|摄影|烘焙|保洁|做饭|接送|午睡|午休|晚餐|午餐|游戏|亲子|沟通|情绪|"
    r"习惯养成|自理|整理书包|时间管理|安全教育|户外|参观|考察"
)
NEGATION = r"不讲授|不讲|不教|不涉及|不含|不进行|不提供|不开展|不做|不布置|无|没有|严禁|禁止|绝不|并非|不是"

KINDS = {
    "subject": SUBJECT,
    "obfuscated": OBFUSCATED,
    "ahead": AHEAD,
    "preschool_subject": PRESCHOOL_SUBJECT,
    **{f"cover_{k}": v for k, v in COVERS.items()},
    "licensed": LICENSED,
    "venue": VENUE,
    "online": ONLINE,
    "genuine": GENUINE,
    "negation": NEGATION,
}
_META = set("\\[](){}?*+.^$")


def _alternatives(pattern: str) -> list[str]:
    """Top-level alternatives of a lexicon pattern (``|`` outside groups and classes)."""
    out, depth, cur = [], 0, ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            cur += pattern[i : i + 2]
            i += 2
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "|" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    out.append(cur)
    return out


# Literal cue words are found by dictionary lookups (longest first at each position where a
# cue word can start); the few cues that are patterns by one small regular expression.
LITERALS: dict[str, str] = {}
_PATTERNS: list[tuple[str, str]] = []
for _kind, _p in KINDS.items():
    for _alt in _alternatives(_p):
        if _META.isdisjoint(_alt):
            LITERALS.setdefault(_alt, _kind)
        else:
            _PATTERNS.append((_kind, _alt))
_LENGTHS = sorted({len(w) for w in LITERALS}, reverse=True)
_STARTS = frozenset(w[0] for w in LITERALS)
RX = re.compile("|".join(f"({p})" for _, p in _PATTERNS))
_BY_INDEX = [None, *(k for k, _ in _PATTERNS)]  # group number → cue kind


# Art. 18 patterns: which cue kinds point to which
ONLINE_PATTERN, UNDERGROUND_PATTERN, RELABELLED_PATTERN = "online", "underground", "relabelled"
PATTERN_LABELS = {
    ONLINE_PATTERN: "转至线上(即时通讯、网络会议、直播)",
    UNDERGROUND_PATTERN: "转入地下(居民楼、酒店、咖啡馆等)",
    RELABELLED_PATTERN: "改头换面(咨询、竞赛、家政、住家教师、研学、营地、托管等)",
}
COVER_LABELS = {
    "housekeeping": "家政、住家教师",
    "crowdfunding": "众筹私教",
    "study_tour": "研学、营地",
    "care": "托管、小饭桌",
    "thinking": "思维、素养课",
    "consulting": "咨询、规划",
    "competition": "竞赛、集训",
    "readiness": "幼小衔接",
    "science": "科学实验",
    "homophone": "谐音隐写学科名",
}
KIND_LABELS = {
    "subject": "学科内容",
    "obfuscated": "谐音/隐写学科名",
    "ahead": "初中理化内容",
    "preschool_subject": "学前学科内容",
    "venue": "隐蔽场所",
    "online": "线上渠道",
    "genuine": "非学科活动",
    "licensed": "已取得学科类许可",
    **{f"cover_{k}": f"名义：{v}" for k, v in COVER_LABELS.items()},
}
SUBJECTISH = ("subject", "obfuscated", "ahead", "preschool_subject")
NEGATION_REACH = 6  # characters after a negation that it covers


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str
    kind: str
    negated: bool = False

    def as_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "kind": self.kind,
            "kind_label": KIND_LABELS.get(self.kind, self.kind),
            "negated": self.negated,
        }


def find(text: str) -> list[Span]:
    """Every cue in ``text``, left to right, the longest where two overlap (negation
    markers consumed, not returned)."""
    hits = []
    lit, lengths = LITERALS, _LENGTHS
    for i in [i for i, ch in enumerate(text) if ch in _STARTS]:
        for n in lengths:
            kind = lit.get(text[i : i + n])
            if kind is not None:
                hits.append((i, i + n, kind))
                break
    hits.extend((m.start(), m.end(), _BY_INDEX[m.lastindex]) for m in RX.finditer(text))
    hits.sort(key=lambda h: (h[0], h[0] - h[1]))
    out: list[Span] = []
    end = neg_until = -1
    for start, stop, kind in hits:
        if start < end:
            continue
        end = stop
        if kind == "negation":
            neg_until = stop + NEGATION_REACH
            continue
        negated = kind in SUBJECTISH and start <= neg_until
        out.append(Span(start, stop, text[start:stop], kind, negated))
    return out


def rule_features(spans: list[Span]) -> list[str]:
    """Feature names the linear model sees for the cues (kinds and their co-occurrence)."""
    kinds = set()
    for s in spans:
        kinds.add(("NEG:" if s.negated else "R:") + s.kind)
    has_subject = any(s.kind in SUBJECTISH and not s.negated for s in spans)
    has_cover = any(s.kind.startswith("cover_") for s in spans)
    feats = sorted(kinds)
    if any(s.kind == "ahead" and not s.negated for s in spans):
        feats.append("X:ahead")
    if has_subject:
        if "R:licensed" in kinds:
            feats.append("X:subject+licensed")
        if has_cover:
            feats.append("X:subject+cover")
        if "R:venue" in kinds:
            feats.append("X:subject+venue")
        if "R:online" in kinds:
            feats.append("X:subject+online")
        if "R:genuine" in kinds:
            feats.append("X:subject+genuine")
    return feats


def pattern_of(spans: list[Span]) -> tuple[str, str]:
    """(Art. 18 pattern, cover) for a text judged disguised: a relabelling cover first, then
    moved online, then moved underground; subject names hidden by 谐音 count as relabelled."""
    live = [s for s in spans if not s.negated]
    covers = [s.kind[6:] for s in live if s.kind.startswith("cover_")]
    if covers:
        # the cover that most often hides tutoring, when a text names several
        order = list(COVER_LABELS)
        return RELABELLED_PATTERN, min(covers, key=order.index)
    if any(s.kind == "online" for s in live):
        return ONLINE_PATTERN, ""
    if any(s.kind == "venue" for s in live):
        return UNDERGROUND_PATTERN, ""
    if any(s.kind == "obfuscated" for s in live):
        return RELABELLED_PATTERN, "homophone"
    return RELABELLED_PATTERN, ""


def rule_label(spans: list[Span]) -> str:
    """The rules alone (the reference the benchmark compares the model with): subject
    content with a cover, a hidden venue or an online channel is disguised, subject content
    alone is subject, anything else non-subject."""
    live = [s for s in spans if not s.negated]
    if not any(s.kind in SUBJECTISH for s in live):
        return "non_subject"
    if any(s.kind in ("obfuscated", "venue", "online") or s.kind.startswith("cover_") for s in live):
        return "disguised_subject"
    return "subject"
