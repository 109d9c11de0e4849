"""Registration data of the simulated entities beyond the v1 contract: the legal representative's name
(法定代表人姓名), the business scope (经营范围) and the registration authority (登记机关).

Drawn from a random stream of their own (``strings.registration``), so that adding them moved no other
simulated value: every other file of a seed is as it was.  A person has one name wherever they appear
(the name is drawn per person index, not per entity).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..codes import industries, regions
from . import names
from .strings import lookup

# Business scope phrases by GB/T 4754 section (门类): the entity's own activities.
SCOPE_BY_SECTION: dict[str, tuple[str, ...]] = {
    "A": ("谷物种植", "蔬菜种植", "农产品初加工服务", "农业技术推广服务", "农产品销售"),
    "B": ("矿产资源开采", "非金属矿物制品销售", "矿山机械销售"),
    "C": ("食品生产", "食品销售", "纺织品制造", "服装制造", "金属制品加工", "机械设备制造", "塑料制品制造",
          "包装材料销售", "技术进出口", "货物进出口"),
    "D": ("供电业务", "热力生产和供应", "合同能源管理"),
    "E": ("房屋建筑工程施工", "建筑装饰装修工程施工", "市政设施管理", "建筑材料销售", "劳务服务（不含劳务派遣）"),
    "F": ("日用百货销售", "食品销售（仅销售预包装食品）", "五金产品零售", "服装服饰零售", "家用电器销售",
          "化妆品零售", "文具用品零售", "烟草制品零售", "农副产品销售", "电子产品销售", "互联网销售（除销售需要许可的商品）"),
    "G": ("普通货物道路运输", "国内货物运输代理", "装卸搬运", "仓储服务（不含危险化学品）", "快递服务"),
    "H": ("餐饮服务", "小餐饮", "住宿服务", "食品销售", "外卖递送服务", "酒类经营"),
    "I": ("软件开发", "信息技术咨询服务", "信息系统集成服务", "数据处理服务", "网络技术服务", "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广"),
    "J": ("融资咨询服务", "以自有资金从事投资活动", "财务咨询"),
    "K": ("房地产开发经营", "物业管理", "房地产经纪", "住房租赁", "非居住房地产租赁"),
    "L": ("企业管理咨询", "市场营销策划", "会议及展览服务", "广告设计、代理", "人力资源服务（不含职业中介活动、劳务派遣服务）",
          "商务信息咨询", "旅行社服务网点旅游招徕、咨询服务"),
    "M": ("工程和技术研究和试验发展", "检验检测服务", "工程管理服务", "专业设计服务"),
    "N": ("园林绿化工程施工", "环境卫生公共设施安装服务", "城市绿化管理"),
    "O": ("家政服务", "洗染服务", "理发及美容服务", "摩托车修理", "家用电器修理", "汽车修理与维护", "洗浴服务"),
    "P": ("教育咨询服务（不含涉许可审批的教育培训活动）", "体育培训", "艺术培训"),
    "Q": ("诊所服务", "养老服务", "健康咨询服务（不含诊疗服务）"),
    "R": ("组织文化艺术交流活动", "文艺创作", "体育场地设施经营（不含高危险性体育运动）", "娱乐性展览"),
    "S": ("社会团体服务",),
    "T": ("国际组织服务",),
}
SCOPE_TAIL = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
SCOPE_TAIL_PERMIT = "（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以相关部门批准文件或许可证件为准）"
AUTHORITY = "市场监督管理局"


def authority_name(r: regions.Region) -> str:
    """The county's market regulation bureau, as its seal reads: ``济南市历下区市场监督管理局`` (a district or
    county under a prefecture), ``新泰市市场监督管理局`` (a county-level city), ``北京市朝阳区...`` (a
    municipality's district)."""
    p = r.prefecture
    if p in ("市辖区", "县"):  # a municipality's district or county
        prefix = r.province
    elif p is None or p.endswith(("直辖县级行政单位", "直辖县级行政区划")) or r.name.endswith("市"):
        prefix = ""  # a county-level city (or one directly under the province) has its own bureau
    else:
        prefix = p
    return prefix + r.name + AUTHORITY


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit value for each integer."""
    z = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def person_names(person: np.ndarray, key: int) -> pa.Array:
    """The Chinese name of each person index (a surname and one or two given characters, two for three
    people in four): a function of the index and ``key`` alone, so a person has the same name wherever they appear
    (person indexes are sparse: split-off shell clusters' people start at 2**30)."""
    with np.errstate(over="ignore"):
        h = _mix(person.astype(np.int64).astype(np.uint64) + np.uint64(key))
    surname = (h % np.uint64(len(names.SURNAMES))).astype(np.int64)
    g1 = ((h >> np.uint64(16)) % np.uint64(len(names.GIVEN_CHARS))).astype(np.int64)
    g2 = ((h >> np.uint64(32)) % np.uint64(len(names.GIVEN_CHARS))).astype(np.int64)
    two = ((h >> np.uint64(48)) & np.uint64(3)) != 0
    s = np.asarray(names.SURNAMES, dtype=object)[surname]
    a = np.asarray(names.GIVEN_CHARS, dtype=object)[g1]
    b = np.where(two, np.asarray(names.GIVEN_CHARS, dtype=object)[g2], "")
    return pa.array((s + a + b).tolist(), pa.string())


def scopes(industry: np.ndarray, classes: tuple[str, ...], rng: np.random.Generator) -> pa.Array:
    """A business scope per entity from its industry class (``industry``: indexes into ``classes``): two
    to four consecutive activities of its section's list from a random start, then the usual closing
    clause (the permit clause for about a third).  Vectorised through a table of every combination."""
    n = industry.size
    starts, ks = 12, (2, 3, 4)
    table = []
    for c in classes:
        phrases = SCOPE_BY_SECTION.get(industries.DIVISION_SECTION.get(c[:2], "F"), SCOPE_BY_SECTION["F"])
        for s in range(starts):
            for k in ks:
                body = "；".join(phrases[(s + j) % len(phrases)] for j in range(min(k, len(phrases))))
                table += [body + SCOPE_TAIL, body + SCOPE_TAIL_PERMIT]
    start = rng.integers(0, starts, n)
    k = rng.integers(0, len(ks), n)
    permit = (rng.random(n) < 0.35).astype(np.int64)
    idx = ((industry.astype(np.int64) * starts + start) * len(ks) + k) * 2 + permit
    return lookup(table, idx)


def registration_columns(person: np.ndarray, industry: np.ndarray, classes: tuple[str, ...], county: np.ndarray,
                         counties: list[regions.Region], rng: np.random.Generator) -> dict[str, pa.Array]:
    """``legal_rep_name``, ``business_scope``, ``registration_authority`` for every entity."""
    key = int(rng.integers(1, 2**40))
    return {
        "legal_rep_name": person_names(person, key),
        "business_scope": scopes(industry, classes, rng),
        "registration_authority": lookup([authority_name(r) for r in counties], county),
    }


# ---------------------------------------------------------------------- the dirty copy
_DIRTY_STREAM = 0x5247_4E4D  # the dirty rows' own random stream: np.random.default_rng([seed, _DIRTY_STREAM])
DIRTY_ROWS = 2  # rows per reason


def dirty_rows(table: pa.Table, seed: int, taken: set[str]) -> list[tuple[int, dict, str]]:
    """Entity rows the ingest must quarantine for the registration columns: ``bad_name`` (an ID-card or a
    phone number in the name column) and ``text_too_long`` (a registration authority over its limit),
    as ``(clean row to insert before, row, reason)``.  Each is a clean row's copy under a USCC of its own
    (not ``taken``) with the one defect; drawn from a stream of their own, so that no other row or file of
    the dirty delivery changes."""
    from .. import contract
    from ..codes import uscc

    rng = np.random.default_rng([int(seed), _DIRTY_STREAM])
    n = table.num_rows
    if n == 0:
        return []
    k = 2 * DIRTY_ROWS
    rows = table.take(pa.array(rng.integers(0, n, k))).to_pylist()
    pos = rng.integers(0, n + 1, k)
    codes: list[str] = []
    serial = 0
    while len(codes) < k:
        c = uscc.make([f"91{rows[len(codes)]['region_code']}MARG{serial:05d}"])[0]
        serial += 1
        if c not in taken:
            codes.append(c)
    digits = rng.integers(0, 10, (DIRTY_ROWS, 18))
    out = []
    for i in range(DIRTY_ROWS):
        r = {**rows[i], "uscc": codes[i], "status": "active", "closed_on": None}
        number = "".join(map(str, digits[i]))
        r["legal_rep_name"] = number if i % 2 == 0 else f"{r['legal_rep_name']}（电话{number[:11]}）"
        out.append((int(pos[i]), r, "bad_name"))
    for i in range(DIRTY_ROWS):
        j = DIRTY_ROWS + i
        r = {**rows[j], "uscc": codes[j], "status": "active", "closed_on": None}
        r["registration_authority"] = (r["registration_authority"] or AUTHORITY) * (
            contract.REGISTRATION_AUTHORITY_MAX // 8 + 1)
        out.append((int(pos[j]), r, "text_too_long"))
    return out
