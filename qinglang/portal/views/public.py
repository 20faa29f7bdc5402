"""Public site (公众端, no login): whitelist search, an institution's disclosure board
(办学信息公示) and the blacklist. Only what is meant for the public is rendered: no
resident ID numbers, no phone numbers, teachers' names masked."""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from qinglang.core.money import format_yuan
from qinglang.core.selectors import division_list
from qinglang.core.validators import mask_name
from qinglang.funds import selectors_parent as funds_public
from qinglang.portal.paging import paginate
from qinglang.registry import selectors as registry
from qinglang.registry import services as registry_services
from qinglang.registry.models import LicenceKind

from ..forms import PublicSearchForm

# The county whose townships the public search offers (the demo county by default).
PUBLIC_COUNTY = settings.PUBLIC_DIVISION


def mask_number(value: str) -> str:
    """Keep the first 4 and last 2 characters of a certificate number."""
    if not value:
        return ""
    if len(value) <= 6:
        return value[:1] + "*" * (len(value) - 1)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


@require_GET
def public_home(request):
    form = PublicSearchForm(request.GET or None)
    params = form.params() if form.is_bound else {"q": "", "division": "", "category": ""}
    qs = registry.public_whitelist_search(**params).order_by("id")
    page = paginate(request, qs, 20)
    townships = division_list(parent=PUBLIC_COUNTY)
    names = {d.code: d.name for d in townships}
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/public/home.html",
        {
            "form": form,
            "params": params,
            "page": page,
            "townships": townships,
            "division_names": names,
            "query": query.urlencode(),
        },
    )


def _disclosure(inst) -> dict:
    """The board's sections, from the registry's public disclosure selector."""
    today = timezone.localdate()
    board = registry.public_disclosure(institution_id=inst.pk)
    licences = board.licences
    teachers = [
        {
            "name": mask_name(s.name),
            "subjects": s.subjects,
            "qualification": mask_number(s.teacher_qualification_no),
            "lacks": s.lacks_qualification,
        }
        for s in board.teachers
    ]
    courses = [
        {
            "course": c,
            "price": format_yuan(c.unit_price_fen),
            "total": format_yuan(c.unit_price_fen * c.lessons),
        }
        for c in board.courses
    ]
    fire = licences.get(LicenceKind.FIRE_ACCEPTANCE)
    return {
        "permit": licences.get(LicenceKind.SCHOOL_PERMIT),
        "registration": licences.get(LicenceKind.BUSINESS_LICENSE)
        or licences.get(LicenceKind.NONPROFIT_REGISTRATION),
        "fire": fire,
        "fire_valid": bool(fire and fire.is_valid_on(today)),
        "teachers": teachers,
        "courses": courses,
        "materials": board.materials,
        "sites": board.sites,
        "today": today,
        "required": registry_services.disclosure_board(inst, today),
    }


@require_GET
def public_institution(request, pk: int):
    inst = registry.public_institution_get(institution_id=pk)
    ctx = {"inst": inst}
    if inst.whitelisted:
        ctx.update(_disclosure(inst))
        ctx["custody"] = funds_public.public_custody(institution_id=inst.pk)
    else:
        ctx["black_entry"] = registry.public_blacklist().filter(institution_id=inst.pk).first()
    return render(request, "portal/public/institution.html", ctx)


@require_GET
def public_blacklist(request):
    page = paginate(request, registry.public_blacklist(), 50)
    return render(request, "portal/public/blacklist.html", {"page": page})
