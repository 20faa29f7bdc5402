"""Routing (分办): which departments of which county handle a clue. The competent
department comes from the registry's who-supervises function (category and kind of the
institution); the problem category adds the departments that own it (fire safety → fire,
refunds → education and market regulation, …). Unlicensed or unknown operators also go to
the township government (属地管理)."""

from qinglang.core.models import Department, DepartmentKind
from qinglang.registry.supervision import competent_department_kind, territorial_department_for

from .models import Category

COMPETENT = "competent"
TERRITORIAL = "territorial"
D = DepartmentKind

# First entry leads (牵头); COMPETENT is replaced by the who-supervises kind.
BY_CATEGORY: dict[str, list[str]] = {
    Category.DISGUISED_TRAINING: [D.EDUCATION, TERRITORIAL],
    Category.UNLICENSED: [COMPETENT, D.MARKET_REGULATION, TERRITORIAL],
    Category.REFUND_DIFFICULTY: [D.EDUCATION, D.MARKET_REGULATION],
    Category.RUNAWAY: [D.EDUCATION, D.MARKET_REGULATION, D.PUBLIC_SECURITY],
    Category.PRICE: [D.MARKET_REGULATION, COMPETENT],
    Category.FIRE_SAFETY: [D.FIRE],
    Category.FOOD_SAFETY: [D.MARKET_REGULATION],
    Category.ADVERTISING: [D.MARKET_REGULATION, COMPETENT],
    Category.STAFF_CONDUCT: [COMPETENT],
    Category.BEYOND_SYLLABUS: [D.EDUCATION],
    Category.ILLEGAL_COMPETITION: [D.EDUCATION],
    Category.OTHER: [COMPETENT],
}


def department_kinds(category: str, institution_kind: str = "", *, unlicensed: bool = False) -> list[str]:
    competent = competent_department_kind(institution_kind) if institution_kind else D.EDUCATION
    out: list[str] = []
    for k in BY_CATEGORY[category]:
        k = competent if k == COMPETENT else k
        if k not in out:
            out.append(k)
    if unlicensed and TERRITORIAL not in out:
        out.append(TERRITORIAL)
    return out


class DepartmentDirectory:
    """(division, kind) → department, loaded once per batch."""

    def __init__(self):
        self._cache: dict[tuple[str, str], Department | None] = {}
        self._loaded: set[str] = set()

    def preload(self, codes: set[str]) -> None:
        todo = [c for c in codes if c not in self._loaded]
        if not todo:
            return
        for dep in Department.objects.filter(division_id__in=todo):
            self._cache[(dep.division_id, dep.kind)] = dep
        self._loaded.update(todo)

    def resolve(self, division_code: str, kinds: list[str]) -> list[tuple[str, Department | None]]:
        """[(kind, department)] in order; the territorial entry becomes the township
        government of the clue's township (skipped when the township is unknown)."""
        county = division_code[:6]
        township = division_code[:9] if len(division_code) >= 9 else ""
        self.preload({county, township} - {""})
        out = []
        for k in kinds:
            if k == TERRITORIAL:
                if not township:
                    continue
                dep = self._cache.get((township, D.TOWNSHIP_GOVERNMENT))
                if dep is None and township not in self._loaded:
                    dep = territorial_department_for(division_code)
                out.append((D.TOWNSHIP_GOVERNMENT, dep))
            else:
                out.append((k, self._cache.get((county, k))))
        return out
