"""Who supervises (谁审批、谁监管 / 谁主管、谁监管): the competent department of an
institution follows from its category and kind, at the county of its site. Clue routing
and inspection findings use the same function."""

from qinglang.core.models import Department, DepartmentKind

from .models import Kind

KIND_TO_DEPARTMENT = {
    Kind.SUBJECT: DepartmentKind.EDUCATION,
    Kind.SPORTS: DepartmentKind.SPORTS,
    Kind.ARTS: DepartmentKind.CULTURE_TOURISM,
    Kind.SCIENCE_TECH: DepartmentKind.SCIENCE_TECH,
    Kind.PRACTICE: DepartmentKind.EDUCATION,
    Kind.MEAL_CARE: DepartmentKind.EDUCATION,
}


def competent_department_kind(kind: str) -> str:
    return KIND_TO_DEPARTMENT[kind]


def competent_department_for(kind: str, division_code: str) -> Department | None:
    """The county department of the competent kind for a place (None if the county has no
    departments yet)."""
    return Department.objects.filter(
        division_id=division_code[:6], kind=competent_department_kind(kind)
    ).first()
