"""Build the project's own bilingual (English + Chinese) demo dataset and demo tokenizer.

Everything here is authored from scratch: small vocabulary lists and sentence templates, filled in
by a seeded random generator. Nothing is copied from any public dataset. The output is committed,
so the demo needs no generation step; rerun this script only after changing it:

    python tools/build_demo.py            # rewrite the committed files in place
    python tools/build_demo.py --out DIR  # write the same tree under DIR instead

Output (paths relative to the repository root, or to --out):
    harness/tasks/demo/data/<task>/{train,validation,test}.jsonl   five tasks, one per task kind
    harness/assets/demo-tokenizer/                                 BERT-style WordPiece tokenizer

The build is deterministic (fixed seeds, sorted iteration, no hash-order dependence): two runs give
byte-identical files. Only the standard library and `tokenizers` are used.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Callable

SEED = 20240607
SPLIT_SIZES = {"train": 320, "validation": 80, "test": 160}
LANGS = ("en", "zh")
TASKS = ("demo_sentiment", "demo_paraphrase", "demo_similarity", "demo_ner", "demo_qa")
ENTITY_TYPES = ("person", "location", "organization")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_VOCAB = 3000
QA_MAX_CONTEXT = 119  # characters: contexts are kept under 120

DATA_REL = Path("harness/tasks/demo/data")
TOKENIZER_REL = Path("harness/assets/demo-tokenizer")
REPO_ROOT = Path(__file__).resolve().parents[1]

# Words the seq2seq (T5) formatting may add around the data (task prefixes, label words, entity
# type names); they go into the tokenizer vocabulary so a random-init T5 can read and emit them.
EXTRA_WORDS = ("sentiment paraphrase similarity ner qa question context sentence answer entities "
               "negative positive yes no not_paraphrase none person location organization text "
               "text_a text_b label true false")

# ------------------------------------------------------------------ shared vocabulary (authored)
EN_FIRST = [("Alice", "f"), ("Bob", "m"), ("Carol", "f"), ("David", "m"), ("Emma", "f"), ("Frank", "m"),
            ("Grace", "f"), ("Henry", "m"), ("Irene", "f"), ("Jack", "m"), ("Karen", "f"), ("Leo", "m"),
            ("Mia", "f"), ("Nora", "f"), ("Oscar", "m"), ("Paul", "m"), ("Rosa", "f"), ("Sam", "m"),
            ("Tina", "f"), ("Victor", "m")]
EN_LAST = ["Smith", "Lee", "White", "Brown", "Wilson", "Miller", "Taylor", "Clark", "Lewis", "Walker",
           "Hall", "Young", "King", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter", "Moore"]
EN_CITIES = ["Paris", "London", "Berlin", "Tokyo", "Madrid", "Rome", "Boston", "Chicago", "Sydney",
             "Toronto", "New York", "San Francisco", "Cape Town", "Hong Kong", "Oslo", "Vienna", "Dublin",
             "Seattle", "Lisbon", "Mexico City"]
EN_COUNTRIES = ["France", "Japan", "Brazil", "Kenya", "Canada", "Norway", "Spain", "New Zealand"]
EN_ORGS = ["Acme", "Globex", "Initech", "Umbrella Labs", "Northwind Traders", "Blue River Bank",
           "Contoso", "Fabrikam", "Redwood Labs", "Sunforge", "Kitepoint", "Oakmere Group",
           "City Hospital", "Lakeside University", "Green Energy Group", "Silver Lake Studios"]
EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_NUM = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
          10: "ten", 11: "eleven", 12: "twelve"}

ZH_PERSONS = [("张伟", "m"), ("王芳", "f"), ("李娜", "f"), ("刘洋", "m"), ("陈静", "f"), ("杨磊", "m"),
              ("赵敏", "f"), ("黄丽", "f"), ("周杰", "m"), ("吴刚", "m"), ("徐明", "m"), ("孙悦", "f"),
              ("马超", "m"), ("朱琳", "f"), ("胡军", "m"), ("郭涛", "m"), ("何平", "m"), ("林峰", "m"),
              ("欧阳雪", "f"), ("司马浩", "m")]
ZH_CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "西安", "武汉", "重庆", "天津",
             "苏州", "长沙", "青岛", "厦门", "昆明", "大连", "沈阳", "郑州", "哈尔滨"]
ZH_REGIONS = ["云南", "四川", "日本", "法国", "巴西", "新疆", "海南", "加拿大"]
ZH_ORGS = ["华为公司", "腾讯公司", "阿里巴巴", "中国银行", "清华大学", "复旦大学", "人民医院",
           "小米公司", "联想集团", "招商银行", "浙江大学", "新华书店", "星河科技", "蓝海公司",
           "远航集团", "云帆软件"]
ZH_DAYS = [("星期一", "周一"), ("星期二", "周二"), ("星期三", "周三"), ("星期四", "周四"),
           ("星期五", "周五"), ("星期六", "周六"), ("星期日", "周日")]
ZH_NUM = {2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十"}


def en_person(rng: random.Random) -> tuple[str, str]:
    first, gender = rng.choice(EN_FIRST)
    return f"{first} {rng.choice(EN_LAST)}", gender


def zh_person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(ZH_PERSONS)


def pick_other(rng: random.Random, pool: list, current):
    return rng.choice([x for x in pool if x != current])


def norm_key(*parts: str) -> str:
    """Duplicate key: lowercase, punctuation and spaces removed (so 'The soup.' == 'the soup')."""
    text = "\u0001".join(parts).lower()
    return "".join(ch for ch in text if ch.isalnum() or ch == "\u0001")


# ------------------------------------------------------------------ demo_sentiment (single_cls)
EN_SENT_DOMAINS = {
    "food": {
        "subjects": [("noodles", True), ("soup", False), ("pizza", False), ("dumplings", True), ("coffee", False),
                     ("salad", False), ("steak", False), ("dessert", False), ("fried rice", False), ("fish", False),
                     ("burgers", True), ("tea", False)],
        "pos": ["delicious", "fresh", "tasty"],
        "neg": ["bland", "cold", "greasy"],
        "places": ["this restaurant", "the corner cafe", "the night market", "the hotel bar", "that noodle shop",
                   "the food court"],
        "verb": "ordered", "experience": "the meal"},
    "service": {
        "subjects": [("staff", True), ("waiter", False), ("service", False), ("manager", False), ("cashier", False)],
        "pos": ["friendly", "helpful", "polite"],
        "neg": ["rude", "slow", "careless"],
        "places": ["this restaurant", "the corner cafe", "the hotel", "the electronics store", "the bank"],
        "verb": None, "experience": "the visit"},
    "hotel": {
        "subjects": [("room", False), ("bed", False), ("bathroom", False), ("view", False), ("breakfast", False),
                     ("pool", False)],
        "pos": ["clean", "comfortable", "quiet"],
        "neg": ["dirty", "noisy", "cramped"],
        "places": ["this hotel", "the guesthouse", "the seaside inn", "the airport hotel"],
        "verb": "booked", "experience": "the stay"},
    "product": {
        "subjects": [("phone", False), ("laptop", False), ("headphones", True), ("camera", False),
                     ("battery", False), ("screen", False), ("keyboard", False), ("charger", False)],
        "pos": ["reliable", "fast", "sturdy"],
        "neg": ["slow", "flimsy", "faulty"],
        "places": ["this online shop", "the electronics store", "the mall"],
        "verb": "bought", "experience": "the purchase"},
}
# polarity words shared by every domain: half of the adjectives come from here, so a small model sees
# each of them often enough to learn it from 320 examples
EN_SHARED = {"pos": ["great", "excellent", "good", "wonderful"], "neg": ["terrible", "awful", "bad", "horrible"]}
ZH_SHARED = {"pos": ["好", "棒", "出色", "完美"], "neg": ["差", "糟糕", "烂", "差劲"]}
EN_INTENS = ["very", "really", "quite", "extremely", "incredibly", "so", "truly", "", ""]
EN_GENERAL = {"positive": ["great", "good", "worth it", "a pleasure", "enjoyable"],
              "negative": ["a letdown", "bad", "disappointing", "not worth it", "a waste of money"]}
EN_SUFFIX = {"positive": ["would recommend", "will come back", "five stars"],
             "negative": ["would not recommend", "never again", "one star"]}

ZH_SENT_DOMAINS = {
    "food": {
        "subjects": ["面条", "汤", "饺子", "咖啡", "牛排", "米饭", "鱼", "甜点", "火锅", "包子", "炒饭", "奶茶"],
        "pos": ["好吃", "新鲜", "美味"],
        "neg": ["难吃", "油腻", "咸"],
        "places": ["这家餐厅", "楼下的小店", "夜市", "学校食堂", "这家饭馆", "那家咖啡馆"],
        "verb": "点了", "experience": "这顿饭"},
    "service": {
        "subjects": ["服务员", "服务", "店员", "老板", "收银员"],
        "pos": ["热情", "周到", "友好"],
        "neg": ["冷淡", "粗鲁", "敷衍"],
        "places": ["这家餐厅", "那家咖啡馆", "这家酒店", "电器城", "银行"],
        "verb": None, "experience": "这次体验"},
    "hotel": {
        "subjects": ["房间", "床", "卫生间", "早餐", "泳池", "窗外的风景"],
        "pos": ["干净", "舒服", "安静"],
        "neg": ["脏", "吵", "破旧"],
        "places": ["这家酒店", "那家民宿", "海边的旅馆", "机场酒店"],
        "verb": "订了", "experience": "这次住宿"},
    "product": {
        "subjects": ["手机", "电脑", "耳机", "相机", "电池", "屏幕", "键盘", "充电器"],
        "pos": ["好用", "耐用", "流畅"],
        "neg": ["难用", "卡", "模糊"],
        "places": ["这家网店", "那家电器城", "商场"],
        "verb": "买了", "experience": "这次购物"},
}
ZH_INTENS = {"positive": ["很", "非常", "特别", "真", "相当", "超级"],
             "negative": ["很", "非常", "特别", "真", "有点", "太"]}
ZH_GENERAL = {"positive": ["很不错", "让人满意", "非常愉快", "很值得"],
              "negative": ["让人失望", "很糟糕", "不值得", "非常差"]}
ZH_SUFFIX = {"positive": ["推荐", "还会再来", "五星好评"], "negative": ["不推荐", "不会再来了", "差评"]}

FLIP = {"positive": "negative", "negative": "positive"}
POL = {"positive": "pos", "negative": "neg"}


def pick_adj(rng: random.Random, domain: dict, shared: dict, pol: str) -> str:
    return rng.choice(shared[pol] if rng.random() < 0.5 else domain[pol])


def sentiment_en(rng: random.Random, label: str) -> dict:
    dname = rng.choice(sorted(EN_SENT_DOMAINS))
    d = EN_SENT_DOMAINS[dname]
    (subj, plural) = rng.choice(d["subjects"])
    be = "were" if plural else "was"
    place = rng.choice(d["places"])
    intens = rng.choice(EN_INTENS)
    intens = intens + " " if intens else ""
    form = rng.choices(["simple", "place", "double", "first", "negated", "contrast"],
                       weights=[24, 24, 20, 20, 8, 4])[0]
    if form == "first" and d["verb"] is None:
        form = "place"
    if form == "negated":
        adj = pick_adj(rng, d, EN_SHARED, POL[FLIP[label]])
        neg = rng.choice([f"{be} not", f"{be}n't", f"{be} not at all", f"{be} never"])
        if neg.endswith("at all"):
            text = f"the {subj} at {place} {be} not {adj} at all"
        else:
            text = f"the {subj} {neg} {adj}" + (f" at {place}" if rng.random() < 0.4 else "")
    elif form == "contrast":
        adj = pick_adj(rng, d, EN_SHARED, POL[FLIP[label]])
        text = f"the {subj} {be} {intens}{adj}, but overall {d['experience']} was {rng.choice(EN_GENERAL[label])}"
    else:
        adj = pick_adj(rng, d, EN_SHARED, POL[label])
        if form == "simple":
            text = f"the {subj} {be} {intens}{adj}"
        elif form == "place":
            text = f"the {subj} at {place} {be} {intens}{adj}"
        elif form == "double":
            other = EN_SENT_DOMAINS["service"] if dname != "service" else EN_SENT_DOMAINS["food"]
            subj2, plural2 = rng.choice(other["subjects"])
            adj2 = pick_adj(rng, other, EN_SHARED, POL[label])
            text = f"the {subj} {be} {intens}{adj} and the {subj2} {'were' if plural2 else 'was'} {adj2}"
        else:
            it = "they" if plural else "it"
            text = f"I {d['verb']} the {subj} at {place} and {it} {be} {intens}{adj}"
        if rng.random() < 0.35:
            text += f", {rng.choice(EN_SUFFIX[label])}"
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    text += rng.choice(["", ".", ".", "!"])
    return {"text": text, "label": label}


def sentiment_zh(rng: random.Random, label: str) -> dict:
    dname = rng.choice(sorted(ZH_SENT_DOMAINS))
    d = ZH_SENT_DOMAINS[dname]
    subj = rng.choice(d["subjects"])
    place = rng.choice(d["places"])
    form = rng.choices(["simple", "place", "double", "first", "negated", "contrast"],
                       weights=[24, 24, 20, 20, 8, 4])[0]
    if form == "first" and d["verb"] is None:
        form = "place"
    if form == "negated":
        adj = pick_adj(rng, d, ZH_SHARED, POL[FLIP[label]])
        text = rng.choice([f"{subj}一点也不{adj}", f"{place}的{subj}并不{adj}", f"{place}的{subj}一点都不{adj}"])
    elif form == "contrast":
        opp = FLIP[label]
        adj = pick_adj(rng, d, ZH_SHARED, POL[opp])
        text = f"虽然{subj}{rng.choice(ZH_INTENS[opp])}{adj}，但总体来说{d['experience']}{rng.choice(ZH_GENERAL[label])}"
    else:
        adj = pick_adj(rng, d, ZH_SHARED, POL[label])
        intens = rng.choice(ZH_INTENS[label])
        if form == "simple":
            text = f"{subj}{intens}{adj}"
        elif form == "place":
            text = f"{place}的{subj}{intens}{adj}"
        elif form == "double":
            other = ZH_SENT_DOMAINS["service"] if dname != "service" else ZH_SENT_DOMAINS["food"]
            subj2 = rng.choice(other["subjects"])
            adj2 = pick_adj(rng, other, ZH_SHARED, POL[label])
            text = f"{place}的{subj}{intens}{adj}，{subj2}也{rng.choice(ZH_INTENS[label])}{adj2}"
        else:
            text = f"我在{place}{d['verb']}{subj}，{intens}{adj}"
        if rng.random() < 0.35:
            text += f"，{rng.choice(ZH_SUFFIX[label])}"
    text += rng.choice(["", "。", "。", "！"])
    return {"text": text, "label": label}


def make_sentiment(rng: random.Random, lang: str, label: str) -> tuple[dict, str]:
    rec = sentiment_en(rng, label) if lang == "en" else sentiment_zh(rng, label)
    return rec, norm_key(rec["text"])


# ------------------------------------------------------------------ demo_paraphrase (pair_cls)
EN_BUY_OBJECTS = ["books", "apples", "shirts", "cups", "umbrellas", "chairs", "notebooks", "tickets", "lamps", "plates"]
EN_PRICE_OBJECTS = ["lamp", "kettle", "backpack", "jacket", "watch", "speaker", "blender", "desk"]
EN_SHOPS = ["Acme Market", "Globex Mall", "Sunforge Outlet", "Kitepoint Store", "Oakmere Shop", "Northwind Traders"]
EN_EXAMS = ["math", "driving", "piano", "history", "physics", "chemistry", "French", "swimming"]

ZH_BUY_OBJECTS = [("书", "本"), ("苹果", "个"), ("衬衫", "件"), ("杯子", "个"), ("雨伞", "把"), ("椅子", "把"),
                  ("笔记本", "本"), ("电影票", "张"), ("台灯", "盏"), ("盘子", "个")]
ZH_PRICE_OBJECTS = ["台灯", "水壶", "背包", "夹克", "手表", "音箱", "搅拌机", "书桌"]
ZH_SHOPS = ["星河超市", "蓝海商城", "金桥百货", "云帆电器", "绿野市场", "明月书店"]
ZH_EXAMS = ["数学", "驾照", "钢琴", "历史", "物理", "化学", "英语", "游泳"]

# event -> (slot sampler, positive templates, negated templates, slots that may change, swappable pair)
PARA_EVENTS_EN = {
    "buy": (["{p} bought {n} {obj} in {city} on {day}",
             "on {day}, {p} purchased {n} {obj} in {city}",
             "in {city}, {p} picked up {n} {obj} on {day}",
             "{n} {obj} were bought by {p} in {city} on {day}"],
            ["{p} did not buy {n} {obj} in {city} on {day}",
             "on {day}, {p} never purchased {n} {obj} in {city}"],
            ["p", "n", "obj", "city", "day"], None),
    "meet": (["{p} met {p2} in {city} on {day}",
              "on {day}, {p} and {p2} got together in {city}",
              "{p} had a meeting with {p2} in {city} on {day}",
              "in {city}, {p} sat down with {p2} on {day}"],
             ["{p} did not meet {p2} in {city} on {day}",
              "on {day}, {p} and {p2} did not get together in {city}"],
             ["p", "p2", "city", "day"], None),
    "travel": (["{p} flew from {city} to {city2} on {day}",
                "on {day}, {p} took a flight from {city} to {city2}",
                "{p} traveled by plane to {city2} from {city} on {day}",
                "{p} left {city} for {city2} by air on {day}"],
               ["{p} did not fly from {city} to {city2} on {day}"],
               ["p", "city", "city2", "day"], ("city", "city2")),
    "price": (["the {obj} costs {n} dollars at {shop}",
               "at {shop}, the {obj} is priced at {n} dollars",
               "{shop} sells the {obj} for {n} dollars",
               "you can buy the {obj} at {shop} for {n} dollars"],
              ["{shop} does not sell the {obj} for {n} dollars"],
              ["obj", "n", "shop"], None),
    "exam": (["{p} passed the {exam} exam on {day}",
              "on {day}, {p} succeeded in the {exam} exam",
              "the {exam} exam was passed by {p} on {day}",
              "{p} did not fail the {exam} exam on {day}"],
             ["{p} failed the {exam} exam on {day}",
              "{p} did not pass the {exam} exam on {day}",
              "on {day}, the {exam} exam was failed by {p}"],
             ["p", "exam", "day"], None),
}
PARA_EVENTS_ZH = {
    "buy": (["{p}{day}在{city}买了{n}{cl}{obj}",
             "{day}，{p}在{city}购买了{n}{cl}{obj}",
             "{n}{cl}{obj}是{p}{day}在{city}买的",
             "{p}{day}在{city}入手了{n}{cl}{obj}"],
            ["{p}{day}没有在{city}买{n}{cl}{obj}",
             "{day}{p}并没有在{city}购买{n}{cl}{obj}"],
            ["p", "n", "obj", "city", "day"], None),
    "meet": (["{p}{day}在{city}见了{p2}",
              "{day}，{p}和{p2}在{city}见了面",
              "{p}{day}与{p2}在{city}会面",
              "在{city}，{p}{day}约见了{p2}"],
             ["{p}{day}没有在{city}见到{p2}",
              "{day}，{p}和{p2}没有在{city}见面"],
             ["p", "p2", "city", "day"], None),
    "travel": (["{p}{day}从{city}飞到了{city2}",
                "{day}，{p}坐飞机从{city}去了{city2}",
                "{p}{day}乘航班由{city}前往{city2}",
                "{p}{day}离开{city}，飞往{city2}"],
               ["{p}{day}没有从{city}飞往{city2}"],
               ["p", "city", "city2", "day"], ("city", "city2")),
    "price": (["{shop}的{obj}卖{n}元",
               "在{shop}，{obj}的价格是{n}元",
               "{shop}以{n}元的价格出售{obj}",
               "{obj}在{shop}售价{n}元"],
              ["{shop}的{obj}不卖{n}元"],
              ["obj", "n", "shop"], None),
    "exam": (["{p}{day}通过了{exam}考试",
              "{p}{day}的{exam}考试过了",
              "{day}，{p}顺利通过了{exam}考试",
              "{p}{day}的{exam}考试没有挂"],
             ["{p}{day}没有通过{exam}考试",
              "{p}{day}的{exam}考试没过",
              "{day}，{p}的{exam}考试挂了"],
             ["p", "exam", "day"], None),
}


def para_slots(rng: random.Random, lang: str, event: str) -> dict:
    if lang == "en":
        persons = sorted({f"{f} {l}" for f, _ in EN_FIRST for l in EN_LAST[:6]})
        pools = {"p": persons, "p2": persons, "city": EN_CITIES, "city2": EN_CITIES, "day": EN_DAYS,
                 "obj": EN_PRICE_OBJECTS if event == "price" else EN_BUY_OBJECTS, "shop": EN_SHOPS,
                 "exam": EN_EXAMS, "n": list(range(15, 305, 5)) if event == "price" else list(range(2, 13))}
    else:
        persons = [p for p, _ in ZH_PERSONS]
        pools = {"p": persons, "p2": persons, "city": ZH_CITIES, "city2": ZH_CITIES, "day": list(range(7)),
                 "obj": ZH_PRICE_OBJECTS if event == "price" else ZH_BUY_OBJECTS, "shop": ZH_SHOPS,
                 "exam": ZH_EXAMS, "n": list(range(15, 305, 5)) if event == "price" else list(range(2, 11))}
    slots = {k: rng.choice(v) for k, v in pools.items()}
    while slots["p2"] == slots["p"]:
        slots["p2"] = rng.choice(pools["p2"])
    while slots["city2"] == slots["city"]:
        slots["city2"] = rng.choice(pools["city2"])
    slots["_pools"] = pools
    return slots


def para_render(rng: random.Random, lang: str, event: str, template: str, slots: dict) -> str:
    v = {k: val for k, val in slots.items() if not k.startswith("_")}
    if lang == "en":
        if event != "price" and rng.random() < 0.4:
            v["n"] = EN_NUM[v["n"]]
        text = template.format(**v)
        return text[0].upper() + text[1:] if rng.random() < 0.5 else text
    v["day"] = ZH_DAYS[v["day"]][rng.randrange(2)]
    if event == "buy":
        v["obj"], v["cl"] = slots["obj"]
        if rng.random() < 0.5:
            v["n"] = ZH_NUM[v["n"]]
    return template.format(**v)


def make_paraphrase(rng: random.Random, lang: str, label: str) -> tuple[dict, str]:
    events = PARA_EVENTS_EN if lang == "en" else PARA_EVENTS_ZH
    event = rng.choice(sorted(events))
    pos_t, neg_t, changeable, swap = events[event]
    negated = rng.random() < 0.2
    forms_a = neg_t if negated else pos_t
    ia = rng.randrange(len(forms_a))
    slots = para_slots(rng, lang, event)
    text_a = para_render(rng, lang, event, forms_a[ia], slots)
    if label == "paraphrase":
        ib = rng.choice([i for i in range(len(forms_a)) if i != ia]) if len(forms_a) > 1 else ia
        text_b = para_render(rng, lang, event, forms_a[ib], slots)
    else:
        modes = ["slot"] * 6 + ["polarity"] * 3 + (["swap"] * 2 if swap else [])
        mode = rng.choice(modes)
        slots_b = dict(slots)
        forms_b = forms_a
        if mode == "polarity":
            forms_b = pos_t if negated else neg_t
        elif mode == "swap":
            slots_b[swap[0]], slots_b[swap[1]] = slots[swap[1]], slots[swap[0]]
        else:
            key = rng.choice(changeable)
            other_keys = {"p": "p2", "p2": "p", "city": "city2", "city2": "city"}
            taken = {slots[key]} | ({slots[other_keys[key]]} if key in other_keys else set())
            slots_b[key] = rng.choice([x for x in slots["_pools"][key] if x not in taken])
        if forms_b is forms_a and rng.random() < 0.8 and len(forms_b) > 1:
            ib = rng.choice([i for i in range(len(forms_b)) if i != ia])
        else:
            ib = rng.randrange(len(forms_b)) if forms_b is not forms_a else ia
        text_b = para_render(rng, lang, event, forms_b[ib], slots_b)
    if rng.random() < 0.5:
        text_a, text_b = text_b, text_a
    rec = {"text_a": text_a, "text_b": text_b, "label": label}
    return rec, norm_key(*sorted([text_a, text_b]))


# ------------------------------------------------------------------ demo_similarity (regression)
SIM_SLOTS = ("subj", "manner", "activity", "place", "time")
SIM_WEIGHTS = {"subj": 1.0, "manner": 0.6, "activity": 1.6, "place": 1.0, "time": 0.8}  # sums to 5.0
SIM_EN = {
    "subj": ["the teacher", "my brother", "the old man", "a young girl", "the doctor", "our neighbor",
             "the student", "the chef", "my aunt", "the farmer"],
    "manner": ["happily", "quietly", "slowly", "carefully", "eagerly", "calmly", "proudly", "patiently"],
    "activity": ["read a book", "painted a picture", "played the guitar", "cooked dinner", "wrote a letter",
                 "watered the flowers", "fixed a bicycle", "sang a song", "fed the cat", "washed the car"],
    "place": ["in the park", "at home", "in the garden", "by the river", "in the library", "at school",
              "on the balcony", "in the kitchen"],
    "time": ["this morning", "last night", "on Sunday", "after lunch", "yesterday evening", "at noon",
             "before breakfast", "last weekend"],
}
SIM_EN_TEMPLATES = ["{subj} {manner} {activity} {place} {time}",
                    "{time}, {subj} {manner} {activity} {place}",
                    "{place}, {subj} {activity} {manner} {time}",
                    "{subj} {activity} {manner} {place} {time}"]
SIM_ZH = {
    "subj": ["老师", "我哥哥", "那位老人", "小女孩", "医生", "邻居", "学生", "厨师", "我姑姑", "农民"],
    "manner": ["开心地", "安静地", "慢慢地", "认真地", "热情地", "平静地", "骄傲地", "耐心地"],
    "activity": ["看书", "画画", "弹吉他", "做晚饭", "写信", "浇花", "修自行车", "唱歌", "喂猫", "洗车"],
    "place": ["在公园里", "在家里", "在花园里", "在河边", "在图书馆", "在学校", "在阳台上", "在厨房里"],
    "time": ["今天早上", "昨天晚上", "星期天", "午饭后", "昨天傍晚", "中午", "早饭前", "上个周末"],
}
SIM_ZH_TEMPLATES = ["{time}{subj}{place}{manner}{activity}",
                    "{subj}{time}{place}{manner}{activity}",
                    "{time}，{subj}{manner}{place}{activity}",
                    "{subj}{time}{manner}{place}{activity}"]


def make_similarity(rng: random.Random, lang: str, shared_n: int) -> tuple[dict, str]:
    pools, templates = (SIM_EN, SIM_EN_TEMPLATES) if lang == "en" else (SIM_ZH, SIM_ZH_TEMPLATES)
    a = {k: rng.choice(pools[k]) for k in SIM_SLOTS}
    shared = set(rng.sample(SIM_SLOTS, shared_n))
    b = {k: a[k] if k in shared else pick_other(rng, pools[k], a[k]) for k in SIM_SLOTS}
    ta = rng.randrange(len(templates))
    tb = rng.choice([i for i in range(len(templates)) if i != ta]) if shared_n == 5 else rng.randrange(len(templates))

    def render(t: int, v: dict) -> str:
        text = templates[t].format(**v)
        return text[0].upper() + text[1:] if lang == "en" else text

    score = round(sum(SIM_WEIGHTS[k] for k in shared), 1)
    text_a, text_b = render(ta, a), render(tb, b)
    rec = {"text_a": text_a, "text_b": text_b, "label": float(score)}
    return rec, norm_key(*sorted([text_a, text_b]))


# ------------------------------------------------------------------ demo_ner (ner)
NER_EN_TEMPLATES = [
    "{PER} works for {ORG} in {LOC}",
    "{PER} met {PER2} at the {ORG} office in {LOC}",
    "{ORG} opened a new office in {LOC} last year",
    "{PER} moved from {LOC} to {LOC2} to join {ORG}",
    "yesterday {PER} gave a talk at {ORG}",
    "{PER} and {PER2} visited {LOC} in {MONTH}",
    "the mayor of {LOC} thanked {ORG} for its support",
    "{ORG} hired {PER} as its new director",
    "{PER} was born in {LOC} in {YEAR}",
    "according to {PER} , {ORG} will expand to {LOC}",
    "{PER} studied at {ORG} before moving to {LOC}",
    "we flew to {LOC} on {DAY}",
    "{LOC} is famous for its museums",
    "the weather in {LOC} was sunny on {DAY}",
    "{PER} called {PER2} on {DAY} morning",
    "{ORG} and {ORG2} signed a deal in {LOC}",
    "the meeting was moved to {DAY} afternoon",
    "{PER} sent the report to {ORG} on {DAY}",
]
NER_ZH_TEMPLATES = [
    "{PER}在{LOC}的{ORG}工作",
    "{PER}昨天在{LOC}见到了{PER2}",
    "{ORG}去年在{LOC}开设了新的办公室",
    "{PER}从{LOC}搬到了{LOC2}，加入了{ORG}",
    "{PER}在{ORG}做了一场报告",
    "{PER}和{PER2}{MONTH}去了{LOC}",
    "{LOC}市长感谢{ORG}的支持",
    "{ORG}聘请{PER}担任新的负责人",
    "{PER}{YEAR}年出生在{LOC}",
    "据{PER}介绍，{ORG}将在{LOC}扩大业务",
    "{PER}曾在{ORG}读书，后来去了{LOC}",
    "我们{DAY}飞往{LOC}",
    "{LOC}以博物馆闻名",
    "{DAY}{LOC}的天气很晴朗",
    "{PER}{DAY}早上给{PER2}打了电话",
    "{ORG}和{ORG2}在{LOC}签署了协议",
    "会议改到了{DAY}下午",
    "{PER}{DAY}把报告交给了{ORG}",
]
EN_MONTHS = ["January", "March", "May", "July", "September", "November"]
ZH_MONTHS = ["一月", "三月", "五月", "七月", "九月", "十一月"]
NER_TYPE = {"PER": "person", "PER2": "person", "LOC": "location", "LOC2": "location",
            "ORG": "organization", "ORG2": "organization"}


def make_ner(rng: random.Random, lang: str, _label) -> tuple[dict, str]:
    templates = NER_EN_TEMPLATES if lang == "en" else NER_ZH_TEMPLATES
    template = rng.choice(templates)
    if lang == "en":
        people = [f"{f} {l}" for f, _ in EN_FIRST for l in EN_LAST] + [f for f, _ in EN_FIRST]
        locs = EN_CITIES + EN_COUNTRIES
        fill = {"PER": people, "LOC": locs, "ORG": EN_ORGS, "DAY": EN_DAYS, "MONTH": EN_MONTHS,
                "YEAR": [str(y) for y in range(1960, 2005)]}
    else:
        people = [p for p, _ in ZH_PERSONS]
        fill = {"PER": people, "LOC": ZH_CITIES + ZH_REGIONS, "ORG": ZH_ORGS,
                "DAY": [d for pair in ZH_DAYS for d in pair], "MONTH": ZH_MONTHS,
                "YEAR": [str(y) for y in range(1960, 2005)]}
    values: dict[str, str] = {}
    for slot in re.findall(r"\{(\w+)\}", template):
        pool = fill[slot.rstrip("2")]
        choice = rng.choice(pool)
        while slot.endswith("2") and choice == values.get(slot[:-1]):
            choice = rng.choice(pool)
        values[slot] = choice
    tokens: list[str] = []
    tags: list[str] = []
    for piece in re.split(r"(\{\w+\})", template):
        if not piece:
            continue
        m = re.fullmatch(r"\{(\w+)\}", piece)
        text = values[m.group(1)] if m else piece
        toks = text.split() if lang == "en" else list(text)
        etype = NER_TYPE.get(m.group(1)) if m else None
        for i, tok in enumerate(toks):
            tokens.append(tok)
            tags.append("O" if etype is None else f"{'B' if i == 0 else 'I'}-{etype}")
    if lang == "en" and tags[0] == "O":
        tokens[0] = tokens[0][0].upper() + tokens[0][1:]
    if rng.random() < 0.5:
        tokens.append("." if lang == "en" else "。")
        tags.append("O")
    rec = {"tokens": tokens, "tags": tags}
    return rec, norm_key(" ".join(tokens))


# ------------------------------------------------------------------ demo_qa (extractive_qa)
EN_JOBS = ["nurse", "teacher", "pilot", "chef", "lawyer", "designer", "engineer", "farmer", "librarian", "dentist"]
EN_HOBBIES = ["playing chess", "swimming", "painting", "hiking", "baking bread", "reading poems",
              "playing tennis", "fishing"]
EN_PETS = ["dog", "cat", "parrot", "rabbit", "turtle"]
EN_PET_NAMES = ["Max", "Luna", "Coco", "Milo", "Bella", "Pepper", "Rocky", "Daisy", "Oreo", "Ziggy"]
EN_PRODUCTS = ["solar panels", "bicycles", "coffee machines", "board games", "sports shoes", "smart watches",
               "garden tools", "kitchen knives"]
EN_QA_COMPANIES = ["Acme", "Globex", "Initech", "Northwind", "Brightline", "Bluepeak", "Redwood Labs", "Sunforge",
                   "Kitepoint", "Oakmere", "Cedarfield", "Moonrise"]

ZH_JOBS = ["护士", "老师", "飞行员", "厨师", "律师", "设计师", "工程师", "农民", "图书管理员", "牙医"]
ZH_HOBBIES = ["下象棋", "游泳", "画画", "爬山", "做面包", "读诗", "打网球", "钓鱼"]
ZH_PETS = ["狗", "猫", "鹦鹉", "兔子", "乌龟"]
ZH_PET_NAMES = ["豆豆", "球球", "小白", "旺财", "咪咪", "花花", "毛毛", "点点", "乐乐", "团团"]
ZH_PRODUCTS = ["太阳能板", "自行车", "咖啡机", "桌游", "运动鞋", "智能手表", "园艺工具", "厨房刀具"]
ZH_QA_COMPANIES = ["星河科技", "蓝海公司", "远航集团", "青松食品", "金桥电子", "云帆软件", "绿野农业",
                   "长风汽车", "明月文化", "天河医药", "白鹭电器", "晨光纺织"]


def qa_facts_en(rng: random.Random) -> tuple[str, list[tuple[str, list[tuple[str, str]]]]]:
    """Return (subject kind, facts); each fact is (sentence, [(question, answer), ...])."""
    if rng.random() < 0.5:
        name, gender = en_person(rng)
        pron, poss = ("He", "his") if gender == "m" else ("She", "her")
        city, year = rng.choice(EN_CITIES), str(rng.randrange(1950, 2005))
        job, org = rng.choice(EN_JOBS), rng.choice(EN_QA_COMPANIES)
        hobby = rng.choice(EN_HOBBIES)
        pet, pet_name = rng.choice(EN_PETS), rng.choice(EN_PET_NAMES)
        facts = [
            (f"{name} was born in {city} in {year}.",
             [(f"Where was {name} born?", city), (f"In which year was {name} born?", year)]),
            (f"{pron} works as a {job} at {org}.",
             [(f"What is {name}'s job?", job), (f"Which company does {name} work for?", org)]),
            (f"{pron} likes {hobby}.", [(f"What does {name} like doing?", hobby)]),
            (f"{pron} has a {pet} named {pet_name}.", [(f"What is the name of {name}'s {pet}?", pet_name)]),
        ]
        return "person", facts
    org = rng.choice(EN_QA_COMPANIES)
    founder, _ = en_person(rng)
    year, city = str(rng.randrange(1950, 2021)), rng.choice(EN_CITIES)
    staff, product = str(rng.randrange(12, 990)), rng.choice(EN_PRODUCTS)
    facts = [
        (f"{org} was founded in {year} by {founder}.",
         [(f"When was {org} founded?", year), (f"Who founded {org}?", founder)]),
        (f"It is based in {city}.", [(f"Where is {org} based?", city)]),
        (f"It has {staff} employees.", [(f"How many employees does {org} have?", staff)]),
        (f"It makes {product}.", [(f"What does {org} make?", product)]),
    ]
    return "company", facts


def qa_facts_zh(rng: random.Random) -> tuple[str, list[tuple[str, list[tuple[str, str]]]]]:
    if rng.random() < 0.5:
        name, gender = zh_person(rng)
        pron = "他" if gender == "m" else "她"
        city, year = rng.choice(ZH_CITIES), str(rng.randrange(1950, 2005))
        job, org = rng.choice(ZH_JOBS), rng.choice(ZH_QA_COMPANIES)
        hobby = rng.choice(ZH_HOBBIES)
        pet, pet_name = rng.choice(ZH_PETS), rng.choice(ZH_PET_NAMES)
        facts = [
            (f"{name}{year}年出生于{city}。",
             [(f"{name}出生于哪个城市？", city), (f"{name}是哪一年出生的？", f"{year}年")]),
            (f"{pron}是{org}的{job}。",
             [(f"{name}在哪家公司工作？", org), (f"{name}的职业是什么？", job)]),
            (f"{pron}喜欢{hobby}。", [(f"{name}喜欢做什么？", hobby)]),
            (f"{pron}养了一只{pet}，名叫{pet_name}。", [(f"{name}的{pet}叫什么名字？", pet_name)]),
        ]
        return "person", facts
    org = rng.choice(ZH_QA_COMPANIES)
    founder, _ = zh_person(rng)
    year, city = str(rng.randrange(1950, 2021)), rng.choice(ZH_CITIES)
    staff, product = str(rng.randrange(12, 990)), rng.choice(ZH_PRODUCTS)
    facts = [
        (f"{org}由{founder}于{year}年创立。",
         [(f"{org}是谁创立的？", founder), (f"{org}是哪一年创立的？", f"{year}年")]),
        (f"公司总部位于{city}。", [(f"{org}的总部在哪里？", city)]),
        (f"公司有{staff}名员工。", [(f"{org}有多少名员工？", f"{staff}名")]),
        (f"公司主要生产{product}。", [(f"{org}主要生产什么？", product)]),
    ]
    return "company", facts


def make_qa(rng: random.Random, lang: str, _label) -> tuple[dict, str]:
    sep = " " if lang == "en" else ""
    while True:
        _, facts = qa_facts_en(rng) if lang == "en" else qa_facts_zh(rng)
        n = rng.choice([2, 3, 4])
        chosen = [facts[0]] + rng.sample(facts[1:], n - 1)  # the first fact names the subject
        chosen = [facts[0]] + [f for f in facts[1:] if f in chosen]  # keep a natural order
        while len(sep.join(f[0] for f in chosen)) > QA_MAX_CONTEXT and len(chosen) > 2:
            chosen.pop()
        context = sep.join(f[0] for f in chosen)
        if len(context) > QA_MAX_CONTEXT:
            continue
        question, answer = rng.choice([qa for f in chosen for qa in f[1]])
        if context.count(answer) != 1:  # the answer span must be unambiguous
            continue
        start = context.index(answer)
        rec = {"context": context, "question": question, "answers": {"text": [answer], "answer_start": [start]}}
        return rec, norm_key(context)


# ------------------------------------------------------------------ split assembly
def build_task(task: str, maker: Callable, labels: list, seed: int) -> dict[str, list[dict]]:
    """Fill each split with equal shares per (language, label); no input appears twice anywhere."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for split, size in SPLIT_SIZES.items():
        cells = [(lang, label) for label in labels for lang in LANGS]  # remainders alternate languages
        quota = [size // len(cells) + (1 if i < size % len(cells) else 0) for i in range(len(cells))]
        records = []
        for (lang, label), q in zip(cells, quota):
            got, attempts = 0, 0
            while got < q:
                attempts += 1
                if attempts > 200 * q + 1000:
                    raise RuntimeError(f"{task}/{split}: cannot draw {q} unique {lang}/{label} examples")
                rec, key = maker(rng, lang, label)
                if key in seen:
                    continue
                seen.add(key)
                records.append((lang, rec))
                got += 1
        rng.shuffle(records)
        out[split] = [{"id": f"{split}-{lang}-{i:04d}", **rec} for i, (lang, rec) in enumerate(records)]
    return out


def input_key(task: str, rec: dict) -> str:
    if task == "demo_sentiment":
        return norm_key(rec["text"])
    if task in ("demo_paraphrase", "demo_similarity"):
        return norm_key(*sorted([rec["text_a"], rec["text_b"]]))
    if task == "demo_ner":
        return norm_key(" ".join(rec["tokens"]))
    return norm_key(rec["context"])


def check_task(task: str, splits: dict[str, list[dict]]) -> None:
    owner: dict[str, str] = {}
    for split, records in splits.items():
        assert len(records) == SPLIT_SIZES[split], (task, split, len(records))
        for rec in records:
            key = input_key(task, rec)
            assert key not in owner, f"{task}: input duplicated in {owner[key]} and {split}: {rec}"
            owner[key] = split
            if task == "demo_qa":
                for text, start in zip(rec["answers"]["text"], rec["answers"]["answer_start"]):
                    assert rec["context"][start:start + len(text)] == text, rec
                assert len(rec["context"]) < 120, rec
            if task == "demo_ner":
                assert len(rec["tokens"]) == len(rec["tags"]), rec
                prev = "O"
                for tag in rec["tags"]:
                    assert tag == "O" or tag[2:] in ENTITY_TYPES, rec
                    if tag.startswith("I-"):
                        assert prev != "O" and prev[2:] == tag[2:], rec
                    prev = tag


def generate() -> dict[str, dict[str, list[dict]]]:
    makers = {
        "demo_sentiment": (make_sentiment, ["negative", "positive"]),
        "demo_paraphrase": (make_paraphrase, ["not_paraphrase", "paraphrase"]),
        "demo_similarity": (make_similarity, [0, 1, 2, 3, 4, 5]),  # number of shared slots
        "demo_ner": (make_ner, [None]),
        "demo_qa": (make_qa, [None]),
    }
    data = {}
    for i, task in enumerate(TASKS):
        maker, labels = makers[task]
        data[task] = build_task(task, maker, labels, SEED + i)
        check_task(task, data[task])
    return data


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------ tokenizer
def record_texts(rec: dict) -> list[str]:
    if "tokens" in rec:
        return list(rec["tokens"])
    texts = [rec[k] for k in ("text", "text_a", "text_b", "context", "question") if k in rec]
    if "answers" in rec:
        texts += rec["answers"]["text"]
    return texts


def build_tokenizer(data: dict[str, dict[str, list[dict]]], out_dir: Path) -> dict:
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for task in TASKS:
        for split in SPLIT_SIZES:
            for rec in data[task][split]:
                for text in record_texts(rec):
                    counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    counts.update(EXTRA_WORDS.split())
    singles = {w for w in counts if len(w) == 1}
    # a full alphabet plus continuation pieces, so unseen English words never become [UNK]
    ascii_chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    base = sorted(set(ascii_chars) | singles, key=lambda w: (w.isascii() is False, w))
    cont = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    words = sorted((w for w in counts if len(w) > 1), key=lambda w: (-counts[w], w))
    room = MAX_VOCAB - len(SPECIALS) - len(base) - len(cont)
    vocab_list = SPECIALS + base + cont + words[:max(room, 0)]
    assert len(vocab_list) == len(set(vocab_list)) and len(vocab_list) <= MAX_VOCAB
    vocab = {tok: i for i, tok in enumerate(vocab_list)}

    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(SPECIALS)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tokenizer.json").write_text(tok.to_str(pretty=True) + "\n", encoding="utf-8", newline="\n")
    (out_dir / "vocab.txt").write_text("".join(t + "\n" for t in vocab_list), encoding="utf-8", newline="\n")
    special_map = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                   "mask_token": "[MASK]"}
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": True,
              "strip_accents": None, "model_max_length": 512, "clean_up_tokenization_spaces": True,
              "padding_side": "right", "truncation_side": "right", **special_map}
    for name, obj in (("tokenizer_config.json", config), ("special_tokens_map.json", special_map)):
        (out_dir / name).write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8",
                                    newline="\n")
    n_cjk = sum(1 for t in vocab_list if len(t) == 1 and unicodedata.name(t, "").startswith("CJK"))
    readme = (
        "# demo-tokenizer\n\n"
        "A small BERT-style WordPiece tokenizer for the randomly initialised baseline models of the demo "
        "leaderboard (`--tasks demo`); it loads with `transformers.AutoTokenizer.from_pretrained` as a fast "
        "BERT tokenizer (with offset mapping). It was built by `tools/build_demo.py` with the "
        "`tokenizers` library from the project's own generated demo data (all five demo tasks, all splits): "
        "BERT normalisation (lowercasing, no accent stripping, a space around every CJK character) and the "
        "BERT pre-tokenizer, then a vocabulary of the special tokens [PAD]=0, [UNK], [CLS], [SEP], [MASK], "
        "every single character seen in the data (each Chinese character is its own token) plus the "
        "printable ASCII characters, `##` continuation pieces for letters and digits, and every lowercase "
        f"English word of the data as a whole token ({len(vocab_list)} tokens in all, {n_cjk} of them CJK "
        "characters). Rerun the script to rebuild it; it is deterministic. Apache-2.0, like the data.\n")
    (out_dir / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    return {"vocab_size": len(vocab_list), "cjk_chars": n_cjk, "tokenizer": tok}


def unk_rate(tok, data: dict[str, dict[str, list[dict]]], split: str = "test") -> float:
    unk = tok.token_to_id("[UNK]")
    total = bad = 0
    for task in TASKS:
        for rec in data[task][split]:
            for text in record_texts(rec):
                ids = tok.encode(text, add_special_tokens=False).ids
                total += len(ids)
                bad += sum(1 for i in ids if i == unk)
    return bad / max(total, 1)


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT,
                        help="root to write under (default: the repository); files go to "
                             f"<out>/{DATA_REL} and <out>/{TOKENIZER_REL}")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    data = generate()
    for task in TASKS:
        for split, records in data[task].items():
            write_jsonl(args.out / DATA_REL / task / f"{split}.jsonl", records)
    info = build_tokenizer(data, args.out / TOKENIZER_REL)
    rate = unk_rate(info["tokenizer"], data)
    assert rate < 0.01, f"[UNK] rate {rate:.4f} on the test splits"
    if not args.quiet:
        print(f"wrote {len(TASKS)} tasks x {len(SPLIT_SIZES)} splits under {args.out / DATA_REL}")
        print(f"wrote tokenizer ({info['vocab_size']} tokens, {info['cjk_chars']} CJK chars, "
              f"[UNK] rate on test {rate:.4%}) to {args.out / TOKENIZER_REL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
