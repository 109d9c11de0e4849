"""GB/T 4754-2017 industrial classification (国民经济行业分类): sections and divisions.

Validation checks a class code's format (4 digits), that its division (first
two digits) exists, and that an optional section letter matches the division.
The full list of ~1,380 classes is not shipped; classes used by the simulator
are listed in ``SIMULATED_CLASSES``.
"""

from __future__ import annotations

import re

SECTIONS = {
    "A": ("农、林、牧、渔业", range(1, 6)),
    "B": ("采矿业", range(6, 13)),
    "C": ("制造业", range(13, 44)),
    "D": ("电力、热力、燃气及水生产和供应业", range(44, 47)),
    "E": ("建筑业", range(47, 51)),
    "F": ("批发和零售业", range(51, 53)),
    "G": ("交通运输、仓储和邮政业", range(53, 61)),
    "H": ("住宿和餐饮业", range(61, 63)),
    "I": ("信息传输、软件和信息技术服务业", range(63, 66)),
    "J": ("金融业", range(66, 70)),
    "K": ("房地产业", range(70, 71)),
    "L": ("租赁和商务服务业", range(71, 73)),
    "M": ("科学研究和技术服务业", range(73, 76)),
    "N": ("水利、环境和公共设施管理业", range(76, 80)),
    "O": ("居民服务、修理和其他服务业", range(80, 83)),
    "P": ("教育", range(83, 84)),
    "Q": ("卫生和社会工作", range(84, 86)),
    "R": ("文化、体育和娱乐业", range(86, 91)),
    "S": ("公共管理、社会保障和社会组织", range(91, 97)),
    "T": ("国际组织", range(97, 98)),
}

DIVISION_SECTION = {f"{d:02d}": letter for letter, (_, rng) in SECTIONS.items() for d in rng}

_CODE = re.compile(r"^([A-T])?(\d{4})$")

# Real GB/T 4754-2017 classes used by the simulated province: code -> (name, weight in the population).
SIMULATED_CLASSES: dict[str, tuple[str, float]] = {
    "0111": ("稻谷种植", 1.0),
    "0141": ("蔬菜种植", 2.0),
    "0313": ("猪的饲养", 1.5),
    "1431": ("米、面制品制造", 0.8),
    "1512": ("白酒制造", 0.3),
    "1810": ("机织服装制造", 1.0),
    "2110": ("木质家具制造", 0.6),
    "2710": ("化学药品原料药制造", 0.1),
    "3311": ("金属结构制造", 0.8),
    "3670": ("汽车零部件及配件制造", 0.6),
    "4710": ("房屋建筑业", 2.5),
    "4910": ("电气安装", 0.8),
    "5121": ("米、面制品及食用油批发", 1.2),
    "5211": ("百货零售", 3.0),
    "5212": ("超级市场零售", 2.0),
    "5221": ("粮油零售", 2.0),
    "5225": ("果品、蔬菜零售", 3.0),
    "5261": ("汽车新车零售", 0.5),
    "5292": ("互联网零售", 2.5),
    "5431": ("普通货物道路运输", 2.0),
    "5932": ("通用仓储", 0.4),
    "6110": ("旅游饭店", 0.4),
    "6210": ("正餐服务", 4.0),
    "6220": ("快餐服务", 3.0),
    "6291": ("小吃服务", 3.0),
    "6513": ("应用软件开发", 1.2),
    "6531": ("信息系统集成服务", 0.8),
    "7010": ("房地产开发经营", 0.6),
    "7020": ("物业管理", 0.8),
    "7030": ("房地产中介服务", 0.8),
    "7111": ("汽车租赁", 0.4),
    "7241": ("会计、审计及税务服务", 0.4),
    "7251": ("互联网广告服务", 0.6),
    "7320": ("工程和技术研究和试验发展", 0.4),
    "8010": ("家庭服务", 1.0),
    "8051": ("理发及美容服务", 3.0),
    "8111": ("汽车修理与维护", 2.0),
    "8411": ("综合医院", 0.1),
}


def parse(code: str) -> tuple[str, str] | None:
    """``'H6210'`` or ``'6210'`` -> ``('H', '6210')``; None when invalid."""
    m = _CODE.match(code)
    if not m:
        return None
    letter, digits = m.group(1), m.group(2)
    section = DIVISION_SECTION.get(digits[:2])
    if section is None or (letter is not None and letter != section):
        return None
    return section, digits


def section_name(section: str) -> str:
    return SECTIONS.get(section, ("",))[0]
