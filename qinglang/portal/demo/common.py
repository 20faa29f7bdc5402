"""Where the demo is and who signs in to it: the demo county and township, the scales,
the demo users and their password."""

from __future__ import annotations

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import system

ACTOR = system("seed_demo")
DEMO_COUNTY = "510107"  # 四川省成都市武侯区
DEMO_TOWNSHIP = "510107001"  # 浆洗街街道
DEMO_PASSWORD = "Qinglang-demo-2026"

# scale → (where, about how many institutions)
SCALES: dict[str, tuple[str, int]] = {
    "district": (DEMO_COUNTY, 300),
    "city": ("5101", 6_000),
    "province": ("51", 50_000),
    "national": ("", 500_000),
}
# At these scales only every DETAIL_EVERY-th institution gets staff, courses and materials,
# and the audit trail gets one event per chunk instead of one per institution.
LARGE_SCALES = {"province", "national"}
DETAIL_EVERY = 25
GENERATED_TOWNSHIPS = 10

# (username, role, display name, scope description) — see ``ensure_demo_users``
DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin", Role.PLATFORM_ADMIN, "平台管理员"),
    ("leader", Role.REGULATOR_LEADER, "武侯区教育局 监管领导"),
    ("officer", Role.REGULATOR_OFFICER, "武侯区教育局 监管人员"),
    ("inspector", Role.INSPECTOR, "武侯区教育局 执法检查人员"),
    ("township", Role.REGULATOR_OFFICER, "浆洗街街道办事处 监管人员"),
    ("grid", Role.GRID_WORKER, "浆洗街街道 网格员"),
    ("inst-admin", Role.INSTITUTION_ADMIN, "机构管理员"),
    ("inst-staff", Role.INSTITUTION_STAFF, "机构工作人员"),
    ("bank", Role.BANK_OPERATOR, "托管银行操作员"),
    ("parent", Role.PARENT, "家长"),
]
