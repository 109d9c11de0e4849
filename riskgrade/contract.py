"""The public input contract (v1): tables, columns, Chinese header aliases, vocabularies.

Everything a delivery may contain is declared here once; readers, validation,
the simulator and the docs all read these declarations.  See
``../shared/CONTRACT.md`` and ``docs/contract.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Grade letters, least risky first: A..D on the four-grade scale, A..E on the five-grade one.
GRADES = ("A", "B", "C", "D", "E")
GRADE_SETS = {"four": GRADES[:4], "five": GRADES}

# Column kinds drive normalisation and validation.
TEXT = "text"
USCC = "uscc"  # 18-char Unified Social Credit Code, upper-cased, check char verified
DATE = "date"  # parsed from ISO, 2025/3/1, 2025年3月1日, 20250301, Excel serial
DATE_PAST = "date_past"  # a date that may not lie after the load date
NUMBER = "number"
REGION = "region"  # GB/T 2260 6-digit code
INDUSTRY = "industry"  # GB/T 4754-2017 class, optional section letter
ENUM = "enum"  # mapped through a vocabulary (English code or Chinese word)
PERSON_NAME = "person_name"  # a natural person's name (personal information): no digits, at most max_length

# What happens to a text cell longer than its column's ``max_length`` (counted after cleaning).
REJECT = "reject"  # the row is quarantined (``text_too_long``)
TRUNCATE = "truncate"  # the value is cut to max_length characters and the cut counted (report ``truncated``)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    vocabulary: str | None = None  # key into VOCABULARIES for ENUM columns
    max_length: int | None = None  # longest value, in characters after cleaning (free-text columns)
    overflow: str = REJECT  # REJECT or TRUNCATE a longer value
    extension: bool = False  # added after v1: left out of a row's content hash while empty (see ingest.triage)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # identity of a row across deliveries
    description: str = ""
    attributed: bool = True  # rows must name a held entity (uscc)
    versioned: bool = field(default=True)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


# --------------------------------------------------------------------------- vocabularies
ENTITY_TYPES = {
    "enterprise": ("enterprise", "企业", "公司", "企业法人"),
    "individual": ("individual", "个体工商户", "个体", "个体户"),
    "cooperative": ("cooperative", "农民专业合作社", "合作社", "专业合作社"),
}
STATUSES = {
    "active": ("active", "存续", "在营", "开业", "在业", "存续(在营、开业、在册)"),
    "deregistered": ("deregistered", "注销", "已注销"),
    "revoked": ("revoked", "吊销", "已吊销", "吊销未注销"),
}
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "annual_report": ("annual_report", "年报公示", "年度报告"),
    "abnormal_list_in": ("abnormal_list_in", "列入经营异常名录"),
    "abnormal_list_out": ("abnormal_list_out", "移出经营异常名录"),
    "serious_dishonest_in": ("serious_dishonest_in", "列入严重违法失信名单"),
    "serious_dishonest_out": ("serious_dishonest_out", "移出严重违法失信名单"),
    "admin_penalty": ("admin_penalty", "行政处罚"),
    "admin_license": ("admin_license", "行政许可"),
    "inspection": ("inspection", "抽查检查结果", "抽查检查"),
    "complaint": ("complaint", "投诉举报"),
    "tax_abnormal_in": ("tax_abnormal_in", "列入纳税非正常户"),
    "tax_abnormal_out": ("tax_abnormal_out", "解除纳税非正常户"),
    "judgment_debtor_in": ("judgment_debtor_in", "列入失信被执行人"),
    "judgment_debtor_out": ("judgment_debtor_out", "移出失信被执行人"),
    "social_insurance": ("social_insurance", "社保参保"),
    "registration_change": ("registration_change", "变更登记"),
    "credit_repair": ("credit_repair", "信用修复完成", "信用修复"),
    "honor": ("honor", "荣誉"),
    "online_store": ("online_store", "线上经营"),
    "party_building": ("party_building", "非公党建组织建立", "党建"),
    "type_classification": ("type_classification", "分型分类"),
    "tax_credit_grade": ("tax_credit_grade", "纳税信用等级"),
    "platform_rating": ("platform_rating", "平台信誉"),
}
EVENT_TYPE_NAMES_ZH = {k: v[1] for k, v in EVENT_TYPES.items()}
PARTY_KINDS = {"person": ("person", "自然人", "个人"), "entity": ("entity", "企业", "法人", "单位")}
ROLES = {
    "legal_rep": ("legal_rep", "法定代表人"),
    "shareholder": ("shareholder", "股东"),
    "operator": ("operator", "经营者"),
    "executive": ("executive", "高管", "高级管理人员"),
}

VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "entity_type": ENTITY_TYPES,
    "status": STATUSES,
    "event_type": EVENT_TYPES,
    "party_kind": PARTY_KINDS,
    "role": ROLES,
}

# Codes used in ``detail`` (documented; free text is accepted too).
DETAIL_CODES = {
    "abnormal_list_in": ("no_annual_report", "unreachable_address", "false_disclosure", "other"),
    "admin_penalty": ("warning", "fine", "confiscation", "suspension", "revocation"),
    "admin_license": ("granted", "revoked", "expired"),
    "inspection": ("pass", "corrected", "problem", "unreachable", "refused", "not_operating"),
    "registration_change": ("legal_rep", "address", "name", "capital", "scope", "shareholder"),
    "type_classification": ("survival", "growth", "development"),
    "tax_credit_grade": ("A", "B", "M", "C", "D"),
}

# Words of the detail codes that outputs print: an inspection's result (as in the public results export
# 一公开), in Chinese and English, and the reason of an abnormal-list entry (经营异常名录).
INSPECTION_RESULT_ZH = {
    "pass": "未发现问题", "corrected": "发现问题已责令改正", "problem": "发现问题待后续处理",
    "unreachable": "通过登记的住所（经营场所）无法联系", "refused": "不配合检查情节严重",
    "not_operating": "未发现开展本次抽查涉及的经营活动",
}
INSPECTION_RESULT_EN = {
    "pass": "no problem found", "corrected": "problem found, corrected", "problem": "problem found",
    "unreachable": "unreachable at its address", "refused": "refused the inspection", "not_operating": "not operating",
}
ABNORMAL_REASON_ZH = {
    "no_annual_report": "未按规定期限公示年度报告",
    "unreachable_address": "通过登记的住所或者经营场所无法联系",
    "false_disclosure": "公示信息隐瞒真实情况、弄虚作假",
    "other": "其他情形",
}


def vocabulary_map(vocab: str) -> dict[str, str]:
    """Every accepted spelling (lower-cased) -> canonical code."""
    out: dict[str, str] = {}
    for code, spellings in VOCABULARIES[vocab].items():
        for s in spellings:
            out[s.lower()] = code
    return out


# --------------------------------------------------------------------------- tables
# Lengths of the registration columns (characters): a name (Chinese names are 2-4, transliterated foreign
# names longer), a business scope (cut beyond), an authority's name or "code name".
LEGAL_REP_NAME_MAX = 64
BUSINESS_SCOPE_MAX = 2000
REGISTRATION_AUTHORITY_MAX = 128

ENTITIES = Table(
    "entities",
    (
        Column("uscc", USCC, True, ("统一社会信用代码", "信用代码", "社会信用代码")),
        Column("name", TEXT, True, ("名称", "字号名称", "企业名称", "主体名称")),
        Column("entity_type", ENUM, True, ("主体类型", "市场主体类型"), "entity_type"),
        Column("region_code", REGION, True, ("行政区划代码", "行政区划", "区划代码")),
        Column("industry_code", INDUSTRY, False, ("行业代码", "国民经济行业代码")),
        Column("established_on", DATE_PAST, True, ("成立日期", "注册日期")),
        Column("status", ENUM, False, ("登记状态", "经营状态"), "status"),
        Column("closed_on", DATE_PAST, False, ("注销吊销日期", "注销日期", "吊销日期")),
        Column("registered_capital", NUMBER, False, ("注册资本", "注册资本(万元)", "注册资本（万元）")),
        Column("address", TEXT, False, ("住所", "地址", "经营场所")),
        Column("legal_rep_id", TEXT, False, ("法定代表人标识", "经营者标识")),
        Column("phone_id", TEXT, False, ("联系电话标识",)),
        # registration data beyond v1 (docs/contract.md): shown on the company file, not used in scoring.
        # The legal representative's name is personal information: the console shows it to roles that may
        # read names and a masked form (张*) to the others.
        Column("legal_rep_name", PERSON_NAME, False,
               ("法定代表人姓名", "法定代表人（负责人）姓名", "负责人姓名", "经营者姓名", "法人姓名"),
               max_length=LEGAL_REP_NAME_MAX, extension=True),
        Column("business_scope", TEXT, False, ("经营范围", "许可经营范围", "一般经营范围"),
               max_length=BUSINESS_SCOPE_MAX, overflow=TRUNCATE, extension=True),
        Column("registration_authority", TEXT, False, ("登记机关", "登记机关名称", "登记机关（代码）"),
               max_length=REGISTRATION_AUTHORITY_MAX, extension=True),
    ),
    key=("uscc",),
    description="One row per market entity (市场主体).",
    attributed=False,
)

EVENTS = Table(
    "events",
    (
        Column("record_id", TEXT, True, ("记录编号", "记录ID")),
        Column("uscc", USCC, True, ("统一社会信用代码", "信用代码", "社会信用代码")),
        Column("event_type", ENUM, True, ("事件类型",), "event_type"),
        Column("event_date", DATE_PAST, True, ("发生日期", "事件日期")),
        Column("reported_on", DATE_PAST, False, ("归集日期", "报送日期")),
        Column("source", TEXT, False, ("来源部门", "来源")),
        Column("detail", TEXT, False, ("详情", "明细")),
        Column("amount", NUMBER, False, ("金额/数量", "金额", "数量")),
        Column("end_date", DATE, False, ("截止日期", "有效期至")),
    ),
    key=("source", "record_id"),
    description="One row per record from any source (涉企信息).",
)

RELATIONS = Table(
    "relations",
    (
        Column("uscc", USCC, True, ("统一社会信用代码",)),
        Column("party_id", TEXT, True, ("关联方标识",)),
        Column("party_kind", ENUM, True, ("关联方类型",), "party_kind"),
        Column("role", ENUM, True, ("角色", "关联角色"), "role"),
    ),
    key=("uscc", "party_id", "role"),
    description="Who is related to an entity (legal representative, shareholder, ...).",
)

INSPECTORS = Table(
    "inspectors",
    (
        Column("inspector_id", TEXT, True, ("执法人员标识", "人员编号")),
        Column("name", TEXT, True, ("姓名",)),
        Column("unit_region_code", REGION, True, ("所属单位行政区划代码", "单位区划代码")),
        Column("domains", TEXT, False, ("执法领域", "领域")),
    ),
    key=("inspector_id",),
    description="Inspectors directory (执法检查人员名录库).",
    attributed=False,
)

DOMAIN_GRADES = Table(
    "domain_grades",
    (
        Column("uscc", USCC, True, ("统一社会信用代码",)),
        Column("domain", TEXT, True, ("领域", "专业领域")),
        Column("grade", TEXT, True, ("等级", "分类等级")),
        Column("as_of", DATE_PAST, True, ("评定日期", "截至日期")),
    ),
    key=("uscc", "domain", "as_of"),
    description="Professional-domain grades (food, drug, special equipment, ...).",
)

TABLES: dict[str, Table] = {t.name: t for t in (ENTITIES, EVENTS, RELATIONS, INSPECTORS, DOMAIN_GRADES)}
# Load order: entities first so that every other table can be attributed.
LOAD_ORDER = ("entities", "inspectors", "events", "relations", "domain_grades")

# Quarantine reason codes, in the order checks are applied (the first failure wins).
REASONS = {
    "malformed_row": "row does not have the file's number of columns / cannot be parsed as CSV",
    "bad_encoding": "a CSV row does not decode under the file's detected encoding (a mix of encodings in one file)",
    "missing_required": "a required field is empty",
    "bad_uscc": "USCC is not 18 characters of the GB 32100 alphabet or its check character is wrong",
    "bad_enum": "value not in the vocabulary (entity type, status, party kind, role)",
    "unknown_event_type": "event type is not in the contract's vocabulary",
    "bad_region": "region code is not a GB/T 2260 code",
    "bad_industry": "industry code is not a GB/T 4754-2017 class (4 digits, optional matching section letter)",
    "bad_date": "a date cannot be parsed",
    "future_date": "a date lies after the load date",
    "bad_number": "a number cannot be parsed",
    "bad_amount": "a number is not finite (1e309, inf, -inf, NaN)",
    "bad_name": "a legal representative's name holds a digit (an ID-card or phone number is never a name)",
    "text_too_long": "a text longer than its column allows (legal_rep_name 64, registration_authority 128 characters)",
    "unattributed": "valid USCC but no such entity is held (counts against the attribution rate 记名率)",
    "conflicting_duplicate": "the same key appears again in this delivery with different content",
}

# Codes of a whole file refused as unreadable (the reason in the report starts with the code; other
# unreadable files are described in words: binary, broken Parquet, a required column missing, ...).
FILE_REASONS = {
    "duplicate_header": "two columns have the same header after header normalisation",
    "xlsx_too_large": "an .xlsx declares more decompressed bytes, rows or columns than the ingest limits allow "
                      "(settings xlsx_max_bytes, xlsx_max_rows, xlsx_max_columns)",
}
