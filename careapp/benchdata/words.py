"""Words the generated district is named with: surnames and given names, places, roads, dishes, notes.

Surnames are the commonest ones, weighted roughly by how common they are (the 2020 census order);
given names follow the fashion of each generation (elders born in the 1930s-1960s, parents in the
1980s-1990s, children after 2019).
"""
from __future__ import annotations

# (surname, weight): the first twenty cover about half the population.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 74), ("李", 73), ("张", 69), ("刘", 55), ("陈", 46), ("杨", 32), ("黄", 25), ("赵", 22),
    ("吴", 21), ("周", 21), ("徐", 16), ("孙", 15), ("马", 15), ("朱", 14), ("胡", 13), ("郭", 12),
    ("何", 12), ("林", 11), ("高", 11), ("罗", 11), ("郑", 10), ("梁", 10), ("谢", 8), ("宋", 7),
    ("唐", 7), ("许", 7), ("韩", 7), ("邓", 7), ("冯", 7), ("曹", 6), ("彭", 6), ("曾", 6), ("肖", 6),
    ("田", 5), ("董", 5), ("潘", 5), ("袁", 5), ("蔡", 5), ("蒋", 5), ("余", 5), ("于", 5), ("杜", 4),
    ("叶", 4), ("程", 4), ("魏", 4), ("苏", 4), ("吕", 4), ("丁", 4), ("任", 4), ("卢", 3), ("姚", 3),
    ("沈", 3), ("钟", 3), ("姜", 3), ("崔", 3), ("谭", 3), ("陆", 3), ("范", 3), ("汪", 3), ("方", 3),
)

ELDER_MEN = ("德明", "长林", "建国", "国强", "志刚", "永福", "保国", "文华", "振华", "家和", "庆生", "金宝",
             "树林", "春生", "洪涛", "德胜", "宝山", "正义", "立新", "有才", "松林", "福海", "成功", "广才")
ELDER_WOMEN = ("秀英", "桂兰", "玉珍", "凤英", "淑珍", "秀兰", "桂英", "玉兰", "素芬", "翠华", "月娥", "美兰",
               "淑芬", "金凤", "兰英", "秀珍", "玉梅", "雪梅", "爱华", "丽华", "冬梅", "巧云", "慧芳", "春兰")
ADULT_MEN = ("磊", "强", "伟", "军", "鹏", "涛", "浩", "斌", "亮", "超", "俊杰", "志强", "海波", "晓东",
             "建华", "文斌", "子豪", "宇航", "明辉", "国栋")
ADULT_WOMEN = ("芳", "静", "丽", "敏", "娟", "艳", "婷", "雪", "琳", "倩", "晓燕", "丽娜", "慧敏", "雅琴",
               "佳怡", "梦瑶", "欣怡", "思雨", "海燕", "玉洁")
CHILDREN = ("朵朵", "乐乐", "安安", "子涵", "梓萱", "浩然", "一诺", "沐宸", "若汐", "依依", "宇轩", "梓涵",
            "可馨", "睿泽", "欣妍", "奕辰", "语桐", "思远", "诗涵", "子墨", "雨桐", "俊熙", "星辰", "悦悦")

# Places in and around 镜湖区, 芜湖, for communities, compounds and partners.
PLACES = ("赭山", "镜湖", "汀棠", "九华", "康园", "梅莲", "旭日", "华联", "范罗山", "吉和", "弋江", "青山",
          "雨耕", "北门", "大砻坊", "天门", "鸠江", "神山", "双岗", "新芜", "官山", "陶塘", "狮子山", "凤凰",
          "利民", "工人", "长街", "团结", "花津", "银湖", "方村", "荆山", "石城", "左岸", "滨江", "九华山",
          "香樟", "翠竹", "紫云", "银杏", "清水", "荷塘", "春晖", "和平", "光明", "幸福", "文化", "黄山")
COMPOUND_KINDS = ("新村", "小区", "花园", "家园", "苑", "公寓", "里", "雅居", "佳园", "名邸")
ROADS = ("九华中路", "北京东路", "北京西路", "赭山东路", "赭山西路", "梅莲路", "汀棠路", "中山北路", "长江路",
         "黄山西路", "文化路", "银湖北路", "绿影路", "新时代路", "人民路", "环城北路")
NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")

# (relation to the child, is a man)
PARENT_RELATIONS = (("父亲", True), ("母亲", False))
GRANDPARENT_RELATIONS = (("爷爷", True), ("奶奶", False), ("外公", True), ("外婆", False))

# Dishes a kitchen cooks: name -> (diet tags it meets, allergens it holds).
DISHES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "清蒸鲈鱼": (("low_salt", "soft"), ("鱼",)),
    "番茄炒蛋": (("soft", "vegetarian"), ("鸡蛋",)),
    "冬瓜排骨汤": (("low_salt",), ()),
    "清炒时蔬": (("vegetarian", "low_salt", "low_sugar"), ()),
    "红烧狮子头": (("soft",), ()),
    "土豆烧牛肉": (("halal",), ()),
    "南瓜小米粥": (("soft", "vegetarian", "low_sugar"), ()),
    "香菇青菜": (("vegetarian", "low_salt"), ()),
    "虾仁豆腐羹": (("soft",), ("虾",)),
    "白切鸡": (("low_salt", "low_sugar"), ()),
    "芜湖虾籽面": ((), ("虾", "小麦")),
    "肉末蒸蛋": (("soft",), ("鸡蛋",)),
    "山药炖鸡汤": (("low_salt", "soft"), ()),
    "凉拌黄瓜": (("vegetarian", "low_sugar"), ()),
}

# Diet tags (careapp.households.models.DietTag values) with the note a family writes, and how common each is.
DIETS = (("low_salt", "低盐", 0.22), ("low_sugar", "低糖", 0.14), ("soft", "软食", 0.10),
         ("vegetarian", "素食", 0.03), ("halal", "清真", 0.01))
ALLERGIES = ("青霉素", "海鲜", "花生", "虾", "芒果", "牛奶", "鸡蛋")
MOBILITY = ("助行器", "轮椅", "拐杖")
MEDICATION = ("每日早晚降压药", "降糖药(早餐前)", "阿司匹林(晚饭后)", "胰岛素(午餐前)", "护心药(随身)")
HEALTH_NOTES = ("轻微咳嗽", "流鼻涕", "精神稍差", "家长说昨晚睡得晚")
