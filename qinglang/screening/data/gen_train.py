"""Writes train.tsv, the training corpus of the disguised-training classifier.

Hand-written sentence templates and fill-in vocabularies (this file only; the held-out set
is written by gen_heldout.py with its own templates and vocabulary). Deterministic:
``python -m qinglang.screening.data.gen_train`` rewrites the same file.
Columns: label, pattern (disguised only), hard (1 = carries words usually seen in another
label), text."""

from pathlib import Path

from ._corpus import Draw, write

OUT = Path(__file__).with_name("train.tsv")
R = Draw(20261203)
pick = R

INST = ["阳光", "启航", "博雅", "晨曦", "星辰", "智慧树", "小橙子", "金话筒", "未来", "彩虹", "朗朗", "育才"]
PLACE = ["滨河路", "人民路", "建设大街", "文化路", "新华街", "中山路", "胜利路"]
GRADE = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "初一", "初二", "初三", "高一", "高二"]
SUBJ_TOPIC = {
    "数学": ["应用题", "计算题", "方程", "几何", "分数乘除"],
    "语文": ["作文", "阅读理解", "古诗词", "文言文", "病句"],
    "英语": ["单词", "语法", "听力", "完形填空", "时态"],
    "物理": ["力学", "电学", "浮力", "压强", "电路"],
    "化学": ["化学方程式", "元素周期表", "酸碱中和", "实验题", "计算题"],
}
WHEN = ["每周六上午", "每周日下午", "周一至周五晚上", "暑假期间每天", "寒假期间", "每晚七点"]
SIZE = ["小班授课，每班不超过8人", "一对一授课", "6人精品小班", "15人班", "大班授课"]
CONTACT = ["名额有限，欢迎报名", "详情请咨询前台", "报名从速", "可预约试听", "欢迎家长来电"]
ACT = {
    "sports": ["篮球", "足球", "游泳", "跆拳道", "轮滑", "乒乓球", "羽毛球", "武术", "跳绳"],
    "arts": ["舞蹈", "钢琴", "美术", "书法", "古筝", "声乐", "素描", "陶艺", "街舞"],
    "science_tech": ["编程", "机器人", "航模", "乐高搭建", "无人机"],
}
AGE = ["4至6岁儿童", "6至12岁孩子", "小学生", "7岁以上儿童", "青少年"]
GOAL = ["培养兴趣", "锻炼体能", "提高协调性", "感受艺术之美", "激发创造力", "培养团队合作精神"]


# Context shared by every label (who is addressed, when, where, how to sign up), put around
# a text at random so that the model cannot learn a label from the words of its templates.
LEAD = [
    "",
    "",
    "",
    "家长朋友们注意：",
    "好消息！",
    "【{b}】",
    "{b}：",
    "推荐给大家，",
    "有需要的家长看过来，",
    "本周新开，",
]
TAIL = [
    "",
    "",
    "",
    "地址：{p}。",
    "报名电话138{n}。",
    "孩子放学后即可参加。",
    "老师经验丰富，家长可旁听。",
    "名额有限，抓紧报名。",
    "{p}校区开课。",
    "欢迎转发给有需要的家长。",
    "首节课免费体验。",
    "随到随学。",
]


def context(text):
    lead = pick(LEAD).format(b=pick(INST))
    tail = pick(TAIL).format(p=pick(PLACE), n=R.randint(10000000, 99999999))
    return lead + text + tail


# --- subject: subject training stated openly ------------------------------------------------
def subject():
    s, t = R.topic(SUBJ_TOPIC)
    g = pick(GRADE)
    forms = [
        f"{pick(INST)}教育{g}{s}同步辅导班，重点讲解{t}，{pick(WHEN)}上课，{pick(SIZE)}。",
        f"{g}{s}培优课程：系统梳理{t}等知识点，配套练习册，{pick(CONTACT)}。",
        f"{s}提分班招生，针对{g}学生，精讲{t}与历年真题，{pick(WHEN)}。",
        f"中考{s}冲刺班，{pick(WHEN)}授课，专题突破{t}，{pick(SIZE)}。",
        f"{g}{s}期末复习课，梳理{t}，讲解错题，{pick(CONTACT)}。",
        f"本机构为学科类培训机构，开设{g}{s}课程，内容为{t}，按课时收费。",
        f"{s}一对一辅导，适合{g}成绩薄弱学生，查漏补缺，主攻{t}。",
        f"小升初{s}衔接课程，讲授{t}，{pick(WHEN)}开课。",
        f"{g}{s}新课预习班，提前学习下册{t}，{pick(SIZE)}。",
        f"孩子{s}跟不上？{g}{t}专项补习，{pick(WHEN)}，{pick(SIZE)}。",
        f"{pick(INST)}学校{g}{s}课后辅导，老师讲解{t}并批改作业。",
        f"{s}名师课堂，{g}{t}，考前冲刺押题。",
        f"{g}学生{s}成绩提升计划：{t}专题课，{pick(WHEN)}。",
        f"寒暑假{g}{s}提高班，主讲{t}，{pick(CONTACT)}。",
    ]
    return pick(forms), "", 0


def subject_hard():
    # subject training whose text carries words of the other labels (interest, activity)
    s, t = R.topic(SUBJ_TOPIC)
    g = pick(GRADE)
    forms = [
        f"{g}{s}阅读与写作课，用故事和游戏的方式讲解{t}，提高考试成绩。",
        f"{s}趣味课堂：{g}学生在互动游戏中掌握{t}，课后布置练习。",
        f"英语口语与语法课，{g}同步教材，讲解{pick(SUBJ_TOPIC['英语'])}，每周测验。",
        f"数学兴趣班（{g}），通过动手操作理解{pick(SUBJ_TOPIC['数学'])}，配合课本进度。",
        f"语文绘本精读课：{g}课内阅读理解答题技巧与作文训练。",
        f"{pick(INST)}培训学校（学科类培训机构，持办学许可证）开设{g}{s}思维拓展课，讲{t}。",
        f"已审批的学科类机构{pick(INST)}教育：{g}{s}暑期营课程，内容{t}，在校区上课。",
        f"本校为白名单内学科类机构，{g}{s}素养提升班，{t}，{pick(WHEN)}。",
        f"{s}逻辑训练（学科类，已取得办学许可证），{g}{t}。",
    ]
    return pick(forms), "", 1


# --- non_subject: genuine non-subject activities --------------------------------------------
def non_subject():
    kind = pick(list(ACT))
    a = pick(ACT[kind])
    forms = [
        f"{pick(INST)}{a}馆开设{a}课程，面向{pick(AGE)}，{pick(GOAL)}，{pick(WHEN)}上课。",
        f"{a}兴趣班招生，{pick(AGE)}均可报名，专业教练带领，{pick(GOAL)}。",
        f"{pick(PLACE)}{a}培训中心：{a}基础与进阶课程，{pick(SIZE)}，{pick(CONTACT)}。",
        f"{a}考级辅导，面向{pick(AGE)}，循序渐进，{pick(GOAL)}。",
        f"周末{a}体验课，{pick(AGE)}，{pick(GOAL)}，{pick(CONTACT)}。",
        f"{a}夏令营：每天上午{a}训练，下午户外拓展，{pick(GOAL)}。",
        f"线上{a}直播课，老师示范讲解动作要领，{pick(AGE)}在家即可学习。",
        f"{a}网课：录播视频加老师连麦点评，{pick(AGE)}。",
        f"扫码进群，每周{a}线上打卡，老师点评作品，{pick(GOAL)}。",
        f"{a}老师在小区会所开班，{pick(AGE)}，{pick(GOAL)}。",
    ]
    return pick(forms), "", 0


def non_subject_hard():
    forms = [
        # genuine thinking games
        f"思维游戏俱乐部：通过{pick(['桌游', '魔方', '数独', '积木', '拼图'])}和{pick(['策略棋', '迷宫', '七巧板'])}锻炼逻辑思维，不涉及课本知识，不布置作业。",
        f"{pick(INST)}逻辑思维游戏课，孩子们玩{pick(['桌游', '魔方', '数独'])}，培养专注力，没有试卷和考试。",
        # English picture-book hobby club
        f"英语绘本俱乐部：{pick(AGE)}一起听英文故事、唱英文儿歌、表演绘本剧，不教语法，不考试。",
        f"亲子英语绘本阅读会，家长和孩子共读绘本、做手工，感受阅读乐趣，{pick(CONTACT)}。",
        # care with homework supervision only
        f"{pick(INST)}托管中心：放学后接孩子、提供晚餐，看护孩子独立完成当天作业，不讲授新课，不进行学科辅导。",
        f"小饭桌午托服务：提供午餐和午休，老师只负责看管，不辅导功课，{pick(CONTACT)}。",
        "晚托班提供安全看护和晚餐，孩子自主完成作业，工作人员不讲题、不补课。",
        # real study tours and camps
        f"研学旅行：参观{pick(['科技馆', '博物馆', '美术馆'])}，体验{pick(['非遗', '农耕', '陶艺'])}，开展野外考察和徒步，不安排课堂授课。",
        f"{pick(['自然探索', '红色文化', '非遗传承'])}研学营，{pick(['露营', '采摘', '观鸟', '写生'])}与参观相结合，培养实践能力。",
        f"夏令营{pick(['户外', '足球', '游泳', '艺术'])}主题，每天活动包括{pick(['徒步', '露营', '游戏', '表演'])}，没有文化课。",
        # genuine housekeeping, consulting, science, readiness
        f"家政服务：{pick(['保洁', '做饭', '接送孩子上下学'])}和照看老人，{pick(CONTACT)}。",
        "住家保姆，负责做饭、保洁和接送孩子，不提供辅导功课服务。",
        "家庭教育咨询：亲子沟通、情绪管理与习惯养成，由心理咨询师一对一面谈。",
        f"趣味科学实验课：{pick(['火山喷发', '彩虹雨', '会跳舞的葡萄干', '自制泡泡'])}，动手体验，激发好奇心。",
        f"幼小衔接习惯养成营：{pick(['整理书包', '时间管理', '自理能力', '参观小学'])}，帮助孩子适应小学生活，不教拼音和算术。",
        f"少儿编程思维课，用图形化积木搭建小游戏和动画，{pick(GOAL)}。",
        f"围棋思维训练，{pick(AGE)}学习吃子、死活和对局礼仪。",
        f"素质拓展营：{pick(['攀岩', '定向越野', '团队游戏', '户外'])}，{pick(GOAL)}。",
        "心理咨询室：孩子考试焦虑、厌学情绪的疏导，不做学科辅导。",
        f"{pick(['摄影', '烘焙', '国画', '黏土'])}网络课，老师直播示范，孩子跟着做。",
        "学习压力疏导工作坊，帮助孩子调节情绪，和成绩无关。",
    ]
    return pick(forms), "", 1


# --- disguised_subject ----------------------------------------------------------------------
def disguised():
    s, t = R.topic(SUBJ_TOPIC)
    g = pick(GRADE)
    forms = [
        ("relabelled", f"高端家政服务，住家老师均为名校毕业，可辅导孩子{s}，讲解{t}，提前学习下学期课程。"),
        ("relabelled", f"{pick(INST)}家政：育儿嫂兼家庭教师，{g}{s}同步辅导，按月结算。"),
        ("relabelled", f"众筹私教，{g}家长拼课，{s}老师每周上门讲{t}，人均费用低。"),
        (
            "relabelled",
            f"{pick(['学霸', '精英', '状元'])}夏令营：上午集中学习{s}{t}，下午户外活动，封闭管理二十天。",
        ),
        ("relabelled", f"研学营名义开班，实际每天安排{g}{s}课程，讲{t}，配套试卷。"),
        ("relabelled", f"{pick(INST)}托管中心放学后同步拔高，老师讲解{s}{t}，每周小测。"),
        ("relabelled", f"晚托班除看护外提供{g}{s}作业讲解与新课预习，{pick(SIZE)}。"),
        ("relabelled", f"小饭桌午托，饭后老师带孩子复习{s}，讲{t}。"),
        ("relabelled", f"思维训练课（{g}），内容为{s}{t}，配套练习册，{pick(WHEN)}。"),
        (
            "relabelled",
            f"{pick(['大语文', '核心素养', '学习力'])}课程，讲授{g}{pick(SUBJ_TOPIC['语文'])}与课内阅读答题技巧。",
        ),
        ("relabelled", f"一对一学业规划咨询，老师针对{g}{s}薄弱点每周两次讲题。"),
        ("relabelled", f"学习方法诊断与测评，随后安排{s}{t}专项辅导课。"),
        ("relabelled", f"{s}竞赛集训营，{g}学生报名，专题讲授{t}。"),
        ("online", f"扫码进微信群，每晚腾讯会议直播讲{g}{s}{t}，{pick(WHEN)}。"),
        ("online", f"{s}网课，{g}在钉钉上课，老师连麦讲{t}。"),
        ("online", f"QQ群里每天发布{g}{s}录播课和{t}练习，老师私信答疑。"),
        (
            "underground",
            f"{pick(PLACE)}某小区{R.randint(1, 30)}栋{R.randint(1, 30)}0{R.randint(1, 4)}室家中开班，{g}{s}，{pick(SIZE)}。",
        ),
        ("underground", f"周末在{pick(['酒店', '宾馆', '民宿'])}房间里上{g}{s}课，讲{t}。"),
        ("underground", f"老师在{pick(['咖啡馆', '茶室', '书吧'])}给{g}学生讲{s}{t}，按次收费。"),
        ("underground", f"居民楼地下室改成教室，{g}{s}{t}课程{pick(WHEN)}上课。"),
        ("underground", f"有位老师在自己家里开班，{g}{s}，主讲{t}，{pick(WHEN)}。"),
        ("underground", f"楼上邻居每晚给几个{g}学生补{s}，讲{t}。"),
        ("relabelled", f"家长们凑钱请了个{s}老师，{g}{t}，费用AA。"),
        ("relabelled", f"{pick(['冲刺', '学霸', '名校'])}训练营：{g}{s}{t}，封闭学习。"),
    ]
    return R.patterned(forms, 0)


def disguised_hard():
    g = pick(GRADE[:6])
    forms = [
        # 谐音 and letter-hidden subject names
        ("relabelled", f"暑期S学Y语小班，{g}同步预习，{pick(SIZE)}。"),
        ("relabelled", f"{pick(INST)}Y语提高班，{pick(WHEN)}，老师带读课文。"),
        ("relabelled", f"数-学思维营，{g}暑期提前学下学期内容。"),
        ("relabelled", f"shu学和yu文辅导，{pick(WHEN)}，私信报名。"),
        ("relabelled", f"W学H学暑期提前班，初二升初三，{pick(SIZE)}。"),
        # 同步拔高 in care
        ("relabelled", f"{pick(INST)}托管：同步拔高，课后巩固，{pick(CONTACT)}。"),
        ("relabelled", "午托晚托，作业辅导加同步拔高，每天一小时。"),
        # 科学实验 teaching junior physics ahead
        (
            "relabelled",
            f"科学实验课：{g}孩子学习{pick(['浮力', '压强', '欧姆定律', '串联并联电路'])}，提前掌握初二物理。",
        ),
        (
            "relabelled",
            f"STEM科学课，动手实验理解{pick(['杠杆原理', '凸透镜成像', '密度公式'])}，衔接初中物理考点。",
        ),
        # 幼小衔接 拼音 / 口算
        (
            "relabelled",
            f"幼小衔接班：{pick(['拼音', '声母韵母', '20以内加减法', '口算'])}和识字，入学前打好基础。",
        ),
        ("relabelled", f"学前班开设拼音认读与口算练习，{pick(WHEN)}。"),
        ("relabelled", f"幼儿园大班孩子暑期{pick(['识字', '算术', '拼读'])}集训，上小学提前领先。"),
        (
            "relabelled",
            f"{pick(['小实验家', '少年科学', '探索'])}营：{pick(['电流', '电压', '电阻', '光的折射', '密度'])}专题，提前学初中物理。",
        ),
        (
            "relabelled",
            f"动手做实验，弄懂{pick(['浮力', '压强', '串联并联电路'])}，为八年级物理打基础，{g}即可报名。",
        ),
        ("relabelled", f"Y文S学暑期班，{g}，下学期课本提前过。"),
        ("relabelled", f"英Y拼读过关营，其实是{g}单词和语法。"),
        ("relabelled", f"语W阅读课（{g}），课内文章逐篇讲。"),
        # relabelled without obvious subject keywords
        ("relabelled", f"思维拓展营，每天讲两道奥数题，{pick(SIZE)}。"),
        ("online", "进群领取资料，每晚直播带孩子过知识点。"),
        ("underground", "小区里的家庭课堂，老师退休前是重点中学教师，周末辅导功课。"),
    ]
    return R.patterned(forms, 1)


def main():
    plan = [
        ("subject", subject, 420),
        ("subject", subject_hard, 80),
        ("non_subject", non_subject, 330),
        ("non_subject", non_subject_hard, 220),
        ("disguised_subject", disguised, 420),
        ("disguised_subject", disguised_hard, 140),
    ]
    return write(OUT, plan, attempts=40, context=context)


if __name__ == "__main__":
    print(main())
