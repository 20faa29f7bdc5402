"""Routing (分办): which departments of which county handle a clue, by the policy matrix
``clue.routing`` (POLICY.md "Clues and whistles"; a division may override any row). A row
lists department kinds, the first leads (牵头); ``sector`` is the competent department of
the institution's kind when that is not education (sports → sports, arts → culture_tourism,
…), ``township`` the government of the township where the problem happens — added for the
rows that name it and for every clue about an operator that is not in the registry
(属地管理). A department kind whose department row is missing is kept on the clue (so the
department sees it once it exists) and reported: the import result lists it."""

from qinglang.core.models import Department, DepartmentKind
from qinglang.core.policy_defaults import BY_KEY
from qinglang.registry.supervision import competent_department_kind

SECTOR = "sector"
TOWNSHIP = "township"
D = DepartmentKind
DEFAULT_MATRIX: dict[str, list[str]] = BY_KEY["clue.routing"].value


def department_kinds(
    category: str, institution_kind: str = "", *, unregistered: bool = False, matrix: dict | None = None
) -> list[str]:
    """Department kinds for a clue, lead first (``township`` stays symbolic)."""
    row = (matrix or DEFAULT_MATRIX).get(category) or DEFAULT_MATRIX.get(category) or [D.EDUCATION]
    competent = competent_department_kind(institution_kind) if institution_kind else D.EDUCATION
    out: list[str] = []
    for k in row:
        if k == SECTOR:
            k = competent
        if k not in out:
            out.append(k)
    if unregistered and TOWNSHIP not in out:
        out.append(TOWNSHIP)
    return out


class DepartmentDirectory:
    """(division, kind) → department, loaded once per batch."""

    def __init__(self):
        self._cache: dict[tuple[str, str], Department | None] = {}
        self._loaded: set[str] = set()

    def preload(self, codes: set[str]) -> None:
        todo = [c for c in codes if c and c not in self._loaded]
        if not todo:
            return
        for dep in Department.objects.filter(division_id__in=todo):
            self._cache[(dep.division_id, dep.kind)] = dep
        self._loaded.update(todo)

    def resolve(self, division_code: str, kinds: list[str]) -> list[tuple[str, str, Department | None]]:
        """[(kind, division of the department, department or None when its row is missing)]
        in order; ``township`` becomes the township government of the clue's township
        (left out when the township is unknown)."""
        county = division_code[:6]
        township = division_code[:9] if len(division_code) >= 9 else ""
        self.preload({county, township})
        out = []
        for k in kinds:
            if k == TOWNSHIP:
                if township:
                    out.append(
                        (D.TOWNSHIP_GOVERNMENT, township, self._cache.get((township, D.TOWNSHIP_GOVERNMENT)))
                    )
            else:
                out.append((k, county, self._cache.get((county, k))))
        return out
