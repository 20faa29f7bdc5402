"""Writes ``dev_dedupe.tsv``: the development set for duplicate detection — the set on
which :mod:`qinglang.clues.dedupe`'s thresholds are chosen (with ``train_dedupe.tsv``).

Written the way ``heldout_dedupe.tsv`` is (long, colloquial reports by different callers,
days since the first report, institutions and unregistered operators named loosely, a
second issue in passing, several problems per institution, some in one category) but
separately, with its own institutions, problems and wording; the held-out file is never
read to write or tune it. Columns: group, subject, day, text (a subject starting with
"op:" is an unregistered operator, named as the caller named it)."""

from pathlib import Path

HERE = Path(__file__).parent

DEV: list[tuple[str, str, int, str]] = [
    # d-inst1: an art school — refund, a blocked exit, a teacher who shouts; two refund
    # callers about the same refusal are one problem
    ("d1", "dev1", 0, "我给孩子报了四十节美术课，才上了八节，现在想退剩下的钱，前台说老板不在一直推"),
    ("d1", "dev1", 3, "美术班剩下三十二节课的钱申请退了好几次，每次都说老板出差了"),
    ("d1", "dev1", 9, "你好，我也是那个美术班的家长，我们剩的课时费也退不出来，拖了快半个月了"),
    ("d1", "dev1", 16, "美术培训退款的事还是没人管，老板电话也不接，另外他们发票也一直没开"),
    ("d2", "dev1", 2, "美术教室后面的安全出口被画架和纸箱堵死了，万一着火孩子跑不出去"),
    ("d2", "dev1", 12, "上次说的那个画室安全通道堵住的问题，今天去看画架还堆在门口"),
    ("d3", "dev1", 5, "美术班有个男老师上课吼孩子，说孩子笨，孩子回来哭了一晚上"),
    # d-inst2: a math tutoring centre — disguised training, then a price complaint
    ("d4", "dev2", 0, "他们说是思维拓展课，其实就是在讲奥数和五年级下学期的数学"),
    ("d4", "dev2", 6, "那个所谓的思维课，拿的是学校的数学课本在讲新课"),
    ("d4", "dev2", 13, "我孩子在那里上的'思维训练'，作业全是下学期数学课本上的题，这不就是学科类培训吗"),
    ("d5", "dev2", 4, "前台让我们一次性交一年的费用，两万四，不交就不给报名"),
    ("d5", "dev2", 10, "他们要求一次缴清全年学费两万多，说分期不行"),
    # d-inst3: a meal-and-homework centre — food, fire, both from one caller
    ("d6", "dev3", 0, "托管中心给孩子吃的米饭是馊的，好几个孩子下午说肚子疼"),
    ("d6", "dev3", 2, "孩子在托管吃完午饭就拉肚子了，听说别的孩子也是，饭菜有问题"),
    ("d6", "dev3", 7, "上次反映托管中心饭菜变质的事，今天又有孩子吃了吐了"),
    ("d7", "dev3", 1, "托管中心厨房里放着好几个液化气罐，就在孩子午睡的房间隔壁"),
    ("d7", "dev3", 8, "那家托管厨房用煤气罐，离孩子睡觉的地方很近，太危险了"),
    # d-inst4: an English school — a teacher ban question and a contest, both staff/other
    ("d8", "dev4", 0, "英语机构的外教好像没有工作许可，也没有教师资格"),
    ("d8", "dev4", 11, "那个英语班的外籍老师听说没有资格证，是旅游签证过来的"),
    ("d9", "dev4", 3, "英语班组织什么口语大赛，说拿了名次对小升初有用，报名费三百"),
    ("d9", "dev4", 9, "他们搞的英语比赛要交三百块报名费，还说能排名"),
    # same category, other problem: a second staff complaint at dev4
    ("d10", "dev4", 5, "英语班有个中国老师是我们学校的在职老师，周末在那里有偿上课"),
    # d-inst5: a dance studio that closed: runaway and, from the same caller, advertising
    ("d11", "dev5", 0, "舞蹈学校突然关门了，门口贴了装修的纸，老师都联系不上"),
    ("d11", "dev5", 1, "我们交了一年的舞蹈学费，现在店里没人了，电话打不通"),
    ("d11", "dev5", 4, "舞蹈学校老板跑了，我们三十几个家长的钱都在里面"),
    ("d11", "dev5", 20, "舞蹈学校人去楼空的事有进展没有，我们群里家长都在等"),
    ("d12", "dev5", 2, "之前那个舞蹈学校还在发传单说考级包过，人都跑了还在骗人"),
    # d-inst6: a programming class — refund vs price (neighbours, often confused)
    ("d13", "dev6", 0, "编程课上了两次孩子不想学了，要退费，他们说只能退一半"),
    ("d13", "dev6", 6, "编程班退款只给退百分之五十，说合同上写的，我们没见过这个合同"),
    ("d14", "dev6", 3, "编程课价格比备案的高了一倍，问他们就说材料费另算"),
    # unregistered operators named loosely: one flat, the name varies
    ("d15", "op:李老师补习班", 0, "小区三栋有个李老师在家里办补习班，十几个孩子，周末一整天"),
    ("d15", "op:李老师的补习班", 5, "三栋那个李老师家里开补习班，没有证，周末孩子进进出出"),
    ("d15", "op:李老师补习", 12, "还是三栋李老师家的补习，周末还在上，没人管吗"),
    ("d16", "op:李老师补习班", 8, "李老师补习班那边晚上十点多孩子还在楼道里吵，影响休息"),
    ("d17", "op:小太阳托管", 0, "小太阳托管在居民楼二楼，窗户全焊死了，也没有灭火器"),
    ("d17", "op:小太阳午托", 6, "小太阳午托那个地方窗户都封死了，着火了怎么办"),
    # a later report past the window: its own case
    ("d18", "dev2", 40, "那个思维课又开始讲下学期的数学新课了，换了个名字叫逻辑课"),
    # consultations and praise are their own 'problems'
    ("d19", "dev6", 9, "想问一下编程类培训需要什么资质，我们想给孩子找个正规的"),
    ("d20", "dev1", 14, "表扬一下美术班的王老师，很耐心，孩子进步很大"),
    # a misclassified repeat: says refund in passing, main point is the fire exit
    ("d2", "dev1", 18, "我之前退费的事先不说了，主要是安全出口还被画架堵着，孩子们上课的教室就在旁边"),
    # the same caller, another problem of the same institution
    ("d21", "dev3", 10, "还有就是托管中心的老师没有健康证就进厨房做饭"),
]


def write() -> None:
    (HERE / "dev_dedupe.tsv").write_text(
        "".join(f"{g}\t{i}\t{d}\t{t}\n" for g, i, d, t in DEV), encoding="utf-8"
    )
    print(f"{len(DEV)} dedupe rows → dev_dedupe.tsv")


if __name__ == "__main__":
    write()
