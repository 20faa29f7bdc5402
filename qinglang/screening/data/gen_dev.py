"""Writes dev.tsv, the first evaluation set of the disguised-training classifier.

Written after the first classifier, its lexicons and train.tsv were frozen, with its own
templates and vocabulary. Its first run (macro-F1 0.739: open subject ads read as disguised)
showed the model had learnt template context words; the classifier was then changed (see
docs/screening.md), so this set is no longer unseen: it is the development set, and the
figures are reported on heldout.tsv (gen_heldout.py), written afterwards.
``python -m qinglang.screening.data.gen_dev`` rewrites the same file."""

from pathlib import Path

from ._corpus import Draw, write

OUT = Path(__file__).with_name("dev.tsv")
R = Draw(7)
p = R

BRAND = ["青禾", "蓝鲸", "知行", "墨香", "卓越", "领航者", "小树苗", "鸿鹄", "追光", "向日葵"]
ROAD = ["东风路", "解放北路", "金穗大道", "湖滨东路", "光明巷"]
LEVEL = ["小学低年级", "小学高年级", "七年级", "八年级", "九年级", "高中", "三四年级", "五六年级"]
COURSE = {
    "数学": ["计算能力", "几何证明", "函数图像", "行程问题", "鸡兔同笼"],
    "语文": ["阅读答题", "记叙文写作", "古文翻译", "字词积累", "课文赏析"],
    "英语": ["词汇语法", "听说训练", "阅读写作", "句型转换", "自然拼读"],
    "物理": ["光学", "力与运动", "电功率", "机械效率"],
    "化学": ["溶液", "氧化还原", "化学计算"],
}
TIME = ["周末全天", "双休日", "每天放学后", "工作日晚间", "假期集中", "每周三次"]
SCALE = ["三五个孩子一起", "单独上课", "十人以内", "二十人左右"]
HOBBY = [
    "尤克里里",
    "拉丁舞",
    "国画",
    "硬笔字",
    "花样滑冰",
    "击剑",
    "攀岩",
    "定向越野",
    "少儿播音",
    "创意黏土",
    "3D打印",
    "天文观测",
]
KIDS = ["3岁以上宝宝", "学龄儿童", "8到14岁青少年", "幼儿园中大班孩子"]


def subject():
    s, t = R.topic(COURSE)
    lv = p(LEVEL)
    forms = [
        f"【{p(BRAND)}学堂】{lv}{s}提优班火热报名，{t}专项训练，{p(TIME)}开课。",
        f"{lv}{s}补课，老师有十年教龄，擅长{t}，成绩不理想的同学抓紧。",
        f"我们是有办学许可证的学科类机构，{lv}{s}课程以{t}为主，收费按课时。",
        f"{s}名师小课：{lv}{t}方法总结，考前押题，{p(SCALE)}。",
        f"想让孩子{s}考高分？{lv}{t}系统课，{p(TIME)}，{p(ROAD)}校区。",
        f"{lv}课业辅导：{s}{t}，每节课后留作业并批改。",
        f"升学考试{s}总复习，{lv}，{t}全覆盖，{p(SCALE)}。",
    ]
    return p(forms), "", 0


def subject_hard():
    s, t = R.topic(COURSE)
    lv = p(LEVEL)
    forms = [
        f"{s}游戏化学习：{lv}在闯关中练习{t}，对照课本章节。",
        f"快乐{s}营地课堂（学科类机构登记），{lv}{t}，工作日授课。",
        f"{lv}{s}动画微课，把{t}讲得像故事一样，配套单元测验。",
        f"{s}思维方法课由学科类机构开设，{lv}{t}，按教材进度。",
    ]
    return p(forms), "", 1


def non_subject():
    h = p(HOBBY)
    forms = [
        f"{p(BRAND)}艺术空间{h}课招生，{p(KIDS)}，{p(TIME)}，小班体验。",
        f"{h}启蒙课程适合{p(KIDS)}，由专业老师带领，重在乐趣。",
        f"{p(ROAD)}新开{h}工作室，{p(KIDS)}可预约体验课一节。",
        f"寒假{h}集训，{p(KIDS)}，结业有汇报演出。",
        f"{h}社团活动：每周一次，孩子们一起练习并参加展示。",
        f"{h}网络直播教学，老师分解示范，{p(KIDS)}跟练。",
    ]
    return p(forms), "", 0


def non_subject_hard():
    forms = [
        f"数字华容道、鲁班锁、24点扑克，{p(BRAND)}益智游戏社每周聚会，只玩不讲题。",
        f"逻辑推理桌游之夜：{p(KIDS)}组队破解谜题，没有任何功课内容。",
        f"英文童谣和绘本故事会，{p(KIDS)}跟着外教唱唱跳跳，不测评不考级。",
        "周末英语绘本剧社：孩子们排演英文小剧，纯兴趣，不涉及课内教材。",
        f"{p(BRAND)}四点半课堂：接孩子放学，提供点心，孩子自己写作业，托管老师只管纪律和安全，不讲课。",
        "社区晚托服务，看护到晚上七点，孩子写作业时老师不辅导、不讲新内容。",
        "午间小饭桌：营养午餐、午睡看护，没有任何补习。",
        f"亲子研学：走进{p(['湿地公园', '古镇', '茶园', '天文台'])}，听讲解员介绍，写自然笔记，全程户外。",
        f"{p(['草原', '海边', '森林'])}营地七日：骑马、搭帐篷、篝火晚会，不上文化课。",
        "育儿嫂住家服务，照顾婴幼儿饮食起居，不承担任何辅导功课的工作。",
        "学业压力大怎么办？心理老师提供情绪疏导和亲子关系咨询，不讲学科知识。",
        f"厨房里的科学：用醋和小苏打做气球、用牛奶作画，{p(KIDS)}动手玩。",
        "入学准备营：认识校园、练习自己穿衣吃饭、学会排队和举手，不教写字算数。",
        f"图形化编程与逻辑思维：做一个会跑的小猫游戏，{p(KIDS)}。",
        f"少儿口才与主持，练习站姿、讲故事、即兴表达，{p(TIME)}。",
    ]
    return p(forms), "", 1


def disguised():
    s, t = R.topic(COURSE)
    lv = p(LEVEL)
    forms = [
        ("relabelled", f"诚聘住家育儿师，要求能带{lv}孩子学{s}，重点是{t}，包吃住。"),
        ("relabelled", f"金牌保姆兼{s}辅导，{lv}课程全陪，提前学新学期{t}。"),
        ("relabelled", f"几位家长凑钱请老师，{lv}{s}{t}，每周两次，费用平摊。"),
        ("relabelled", f"{p(['精英', '百日', '冲刺'])}营地：白天{s}{t}集训，晚上自习，全封闭管理。"),
        ("relabelled", f"名校游学团，行程里每天上午安排{lv}{s}课，讲{t}。"),
        ("relabelled", f"{p(BRAND)}课后托管：写完作业后老师再讲{s}{t}，巩固提高。"),
        ("relabelled", f"午托加辅导，中午吃完饭老师给{lv}讲{s}，{t}。"),
        ("relabelled", f"素养提升课，实为{lv}{s}{t}讲授，按学期收费。"),
        ("relabelled", f"学习规划师一对一，诊断后给{lv}孩子上{s}{t}课。"),
        ("relabelled", f"以杯赛培训为名，{lv}{s}{t}专题强化。"),
        ("online", f"加老师微信拉群，晚上在群里视频讲{lv}{s}{t}。"),
        ("online", f"{lv}{s}直播间每晚开播，主讲{t}，评论区答疑。"),
        ("online", f"用腾讯会议给{lv}上{s}课，{t}，屏幕共享课件。"),
        ("underground", f"{p(ROAD)}某住宅楼里有人办{lv}{s}班，讲{t}，{p(SCALE)}。"),
        ("underground", f"邻居在家里给{lv}孩子补{s}，{t}，{p(TIME)}。"),
        ("underground", f"{p(['快捷酒店', '商务宾馆'])}会议室里办{lv}{s}{t}课。"),
        ("underground", f"别墅地下室里{p(SCALE)}上{s}课，{lv}{t}。"),
    ]
    return R.patterned(forms, 0)


def disguised_hard():
    lv = p(LEVEL[:2])
    forms = [
        ("relabelled", f"暑假Y语S学衔接班，{lv}，新学期内容提前讲。"),
        ("relabelled", f"sx和yw课后班，{p(TIME)}，家长群里报名。"),
        ("relabelled", f"英Y口语提升，其实是{lv}课本单元过关。"),
        ("relabelled", f"{p(BRAND)}晚托：同步拔高，每天讲练结合。"),
        ("relabelled", "托管班提供作业辅导和同步拔高两种套餐。"),
        (
            "relabelled",
            f"小小科学家实验营：研究{p(['电阻', '电流与电压', '浮力', '光的折射'])}，提前接触八年级物理。",
        ),
        ("relabelled", f"科学实验班，{lv}孩子做{p(['串联并联', '杠杆原理', '密度公式'])}实验并做练习题。"),
        ("relabelled", f"幼小衔接：{p(['拼音', '口算', '100以内加减', '声母韵母'])}过关，上一年级不吃力。"),
        ("relabelled", f"大班孩子暑期{p(['拼音', '口算', '识字'])}特训，幼小衔接一步到位。"),
        ("relabelled", f"思维课每周讲鸡兔同笼和行程问题，{lv}。"),
        ("online", "群里每天推送讲题视频，孩子看完打卡交作业。"),
        ("underground", "老教师在自家客厅带几个孩子写作业并讲课本上的题。"),
    ]
    return R.patterned(forms, 1)


def main():
    plan = [
        ("subject", subject, 160),
        ("subject", subject_hard, 40),
        ("non_subject", non_subject, 120),
        ("non_subject", non_subject_hard, 80),
        ("disguised_subject", disguised, 150),
        ("disguised_subject", disguised_hard, 50),
    ]
    return write(OUT, plan, attempts=60)


if __name__ == "__main__":
    print(main())
