"""Writes heldout.tsv, the evaluation set the figures are reported on.

Written after the classifier (features, lexicons, C, rule weight) and train.tsv were
frozen and after the development set (dev.tsv) had been used; never trained or tuned on.
Its sentence frames and fill-in vocabulary are its own (none shared with gen_train.py or
gen_dev.py): notices from parents' chat groups, flyers, platform listings, course
descriptions and grid workers' notes. ``python -m qinglang.screening.data.gen_heldout``
rewrites the same file. Columns as train.tsv."""

from pathlib import Path

from ._corpus import Draw, write

OUT = Path(__file__).with_name("heldout.tsv")
R = Draw(53)
q = R

SHOP = ["果果", "书山", "明日之星", "德润", "清源", "思源", "童心", "远航", "嘉禾", "百川", "乐学"]
STREET = ["幸福里", "桃源路", "江南大道", "锦绣街", "梧桐巷", "长安路"]
STAGE = ["小一", "小二", "小三", "小四", "小五", "小六", "初中生", "初二学生", "准初三", "高一新生"]
TOPIC = {
    "数学": ["分数应用", "找规律", "平面几何", "二次函数", "一元一次方程"],
    "语文": ["看图写话", "作文审题", "阅读理解", "古诗默写", "文言实词"],
    "英语": ["自然拼读", "单词听写", "语法填空", "阅读理解", "英语作文"],
    "物理": ["运动和力", "电学计算", "光现象", "简单机械"],
    "化学": ["物质构成", "化学式", "金属与酸"],
}
PERIOD = ["每周二四晚", "周六全天", "暑假七月", "寒假期间", "每个周末", "工作日下午五点到七点"]
HEAD = ["六七个人", "一对一", "四人小组", "十来个学生"]
PURSUIT = [
    "花式篮球",
    "少儿街舞",
    "水墨画",
    "篆刻",
    "马术",
    "皮影戏",
    "昆曲",
    "木工",
    "扎染",
    "围棋",
    "跳水",
    "冰球",
]
WHO = ["5岁以上小朋友", "一到六年级的孩子", "小学生和初中生", "亲子家庭"]


def subject():
    s, t = R.topic(TOPIC)
    g = q(STAGE)
    forms = [
        f"{q(SHOP)}教育{g}{s}秋季班开课，{t}逐个突破，{q(PERIOD)}，{q(HEAD)}。",
        f"{g}{s}一对一，{t}查漏补缺，试听满意再报。",
        f"期末不慌！{g}{s}考点精讲，{t}必考题型。",
        f"{q(STREET)}校区：{g}{s}培优，{t}，老师批改每一份作业。",
        f"{s}强化课程简介：面向{g}，{t}，课后有单元测试。",
        f"学科类培训机构{q(SHOP)}学校，{g}{s}课，{t}，工作日晚上上课。",
        f"{g}想补{s}的私聊，专攻{t}，在我们校区上课。",
    ]
    return q(forms), "", 0


def subject_hard():
    s, t = R.topic(TOPIC)
    g = q(STAGE)
    forms = [
        f"持证学科类机构开设{g}{s}营，工作日在校区上课，讲{t}。",
        f"{g}{s}情景课：用角色扮演学{t}，紧扣课本。",
        f"{s}素养课（学科类，持办学许可证），{g}{t}。",
        f"{g}{s}兴趣提高课，以{t}为主，学期末有测验。",
    ]
    return q(forms), "", 1


def non_subject():
    h = q(PURSUIT)
    forms = [
        f"{q(SHOP)}{h}馆秋季招生，{q(WHO)}，{q(PERIOD)}，先体验后报名。",
        f"{h}公益课进社区，{q(WHO)}都可以来玩。",
        f"{h}比赛集训队选拔，{q(WHO)}，教练团队带队。",
        f"寒假{h}班：{q(HEAD)}，结课有作品展。",
        f"{h}线上课：老师录视频教动作，{q(WHO)}在家练。",
        f"{q(STREET)}{h}工作室，{q(WHO)}，周末两节。",
    ]
    return q(forms), "", 0


def non_subject_hard():
    forms = [
        f"数学游戏馆：孩子们玩{q(['数字棋', '华容道', '七巧板比赛'])}，纯玩耍，没有讲题和作业。",
        f"英文歌曲与绘本故事时间，{q(WHO)}听外教读绘本，不考核。",
        "英语戏剧兴趣社：排练英文短剧、做道具，不学教材内容。",
        f"{q(SHOP)}学生托管：接送、晚饭、看着写作业，托管老师不讲题不补课。",
        "小饭桌供应午饭，提供午休床位，饭后自由活动，没有学习内容。",
        f"{q(['湿地', '古村落', '航天基地', '海洋馆'])}研学一日行，参观讲解加手工体验，全程不上课。",
        f"{q(['足球', '篮球', '游泳'])}夏令营招募，每天训练四小时，晚上看电影，没有文化课。",
        "家政公司提供月嫂、保洁、做饭和接送孩子，不提供家教。",
        "青少年心理咨询：情绪困扰、亲子冲突，专业咨询师面谈。",
        f"趣味科学秀：{q(['大象牙膏', '彩色火焰', '纸杯电话'])}，孩子们看得哇哇叫。",
        "幼小衔接体验营：参观小学课堂、练习整理书包和认识时间，不教拼音不教算术。",
        "桌游思维社：策略桌游对战，锻炼规划能力，不涉及课本。",
        f"机器人编程营，用积木块编程让小车走迷宫，{q(WHO)}。",
        f"{q(STREET)}社区四点半驿站，志愿者看护孩子写作业，不讲授任何课程。",
    ]
    return q(forms), "", 1


def disguised():
    s, t = R.topic(TOPIC)
    g = q(STAGE)
    forms = [
        ("relabelled", f"家政公司推出“学习型保姆”，{g}{s}{t}都能教。"),
        ("relabelled", f"招住家老师，照顾{g}起居并教{s}，要会讲{t}。"),
        ("relabelled", f"五个家庭众筹请{s}老师，{g}{t}，轮流在各家上课。"),
        ("relabelled", f"{q(['军事', '国学', '英才'])}夏令营，课程表写着每天{s}三节，讲{t}。"),
        ("relabelled", f"研学游名义收费，实际是{g}{s}{t}集中授课。"),
        ("relabelled", f"{q(SHOP)}托管部：作业写完统一讲{s}{t}，提前学下学期。"),
        ("relabelled", f"小饭桌晚托，老板娘请了老师给{g}讲{s}。"),
        ("relabelled", f"{g}思维训练营，每节课都是{s}{t}专题。"),
        ("relabelled", f"升学咨询服务包：含{g}{s}{t}课时二十节。"),
        ("relabelled", f"{s}竞赛班报名，{g}{t}拔高训练。"),
        ("online", f"钉钉群里上{g}{s}，老师直播讲{t}，作业拍照上传。"),
        ("online", f"晚上八点线上{s}小课，{g}{t}，链接在群公告。"),
        ("online", f"{g}{s}网课群，每天视频会议讲{t}。"),
        ("underground", f"{q(STREET)}一户居民家里摆了黑板，{g}{s}{t}，{q(HEAD)}。"),
        ("underground", f"在{q(['连锁酒店', '宾馆套房'])}开{g}{s}小班，{t}，周末上课。"),
        ("underground", f"{q(['咖啡厅', '茶馆'])}包间里老师一对一给{g}讲{s}{t}。"),
        ("underground", f"车库改成的教室，{g}{s}{t}，门口不挂牌。"),
    ]
    return R.patterned(forms, 0)


def disguised_hard():
    forms = [
        ("relabelled", f"暑期S学、Y语、W理提前学，{q(HEAD)}，私信。"),
        ("relabelled", f"sx yy 课后小班，{q(PERIOD)}。"),
        ("relabelled", "数*学衔接课，新学期内容先学一遍。"),
        ("relabelled", f"{q(SHOP)}午托晚托，同步拔高，讲练结合。"),
        ("relabelled", "托管 + 同步拔高，每天一个知识点。"),
        (
            "relabelled",
            f"科学实验工作坊：{q(['欧姆定律', '浮力原理', '压强计算', '凸透镜成像'])}，提前学初中物理。",
        ),
        ("relabelled", f"幼小衔接：{q(['拼音', '口算', '识字', '20以内加减'])}全掌握，开学就领先。"),
        ("relabelled", "幼儿园大班拼音口算集训，幼小衔接。"),
        ("relabelled", "思维课：每周两道奥数压轴题。"),
        ("online", "进群后每天直播带孩子刷题。"),
        ("underground", "小区里退休教师家里，孩子们放学去补课。"),
    ]
    return R.patterned(forms, 1)


def main():
    plan = [
        ("subject", subject, 170),
        ("subject", subject_hard, 50),
        ("non_subject", non_subject, 140),
        ("non_subject", non_subject_hard, 80),
        ("disguised_subject", disguised, 170),
        ("disguised_subject", disguised_hard, 50),
    ]
    return write(OUT, plan, attempts=80)


if __name__ == "__main__":
    print(main())
