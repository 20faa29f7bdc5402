"""What the screening services share: the limits and confidence floors, who may do what,
a division code checked, and a file with bad rows refused whole."""

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import INSPECTORS, REGULATOR_WRITERS, REGULATORS
from qinglang.core.errors import DomainError
from qinglang.core.models import Division

MAX_TEXTS = 1000
MAX_TEXT_CHARS = 10_000
HOLD_CONFIDENCE = 0.6  # a non-subject text is held when it reads as subject training at least this surely
PATROL_HIT_CONFIDENCE = 0.5
REVIEW_ROLES = REGULATOR_WRITERS  # review holds, start sweeps, close findings
PATROL_ROLES = INSPECTORS  # record posts and takedowns
VISIT_ROLES = REGULATORS  # visit places (grid workers included), call the classifier


def _division(code: str, field: str = "division_code") -> str:
    code = (code or "").strip()
    if not code or not Division.objects.filter(code=code).exists():
        raise ValidationError({field: format_lazy(_("所属区域无效：{code}"), code=code or _("未填写"))})
    return code


def _refuse_rows(problems: list[dict]) -> None:
    """A file with any bad row is refused whole, naming the first and counting the rest."""
    if problems:
        first = problems[0]
        msg = "；".join(f"{k}：{'，'.join(v)}" for k, v in first["errors"].items())
        raise DomainError(
            "bad_rows",
            format_lazy(
                _("第{row}行：{errors}(共{count}行有误，未导入)"),
                row=first["row"],
                errors=msg,
                count=len(problems),
            ),
            problems[:100],
            status=422,
        )
