"""What every portal view shares: who may enter which end, and how service errors become
Chinese messages on the page."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import CONSOLE, INSTITUTION_USERS, REGULATOR_WRITERS, has_role
from qinglang.accounts.scope import actor_for
from qinglang.core.errors import DomainError, NotFound, validation_detail
from qinglang.core.policy import plain_message

# Field names services use in ValidationError dicts, for messages shown outside a form.
FIELD_LABELS = {
    "name": "机构名称",
    "uscc": "统一社会信用代码",
    "contact_phone": "联系电话",
    "division_code": "区划代码",
    "kind": "培训类型",
    "category": "类别",
    "stages": "学段",
    "reason": "理由",
    "number": "证号",
    "valid_until": "有效期至",
    "to_status": "状态",
    "value": "取值",
    "basis": "依据",
    "title": "材料名称",
    "address": "地址",
    "resident_id": "身份证号",
    "unit_price_fen": "课时单价",
}


def role_required(roles: frozenset) -> Callable:
    """Pages for the holders of ``roles`` (reading; the services decide writes)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (actor_for(request.user).roles & roles):
                raise PermissionDenied(_("无权访问此页面"))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


console_required = role_required(CONSOLE)
org_required = role_required(INSTITUTION_USERS)


def can_write(user) -> bool:
    """Regulator leaders and officers (and the platform admin) act on institutions; the
    services check again, this only decides which forms to show."""
    return has_role(user, REGULATOR_WRITERS)


def error_text(exc: Exception, *, official: bool = False) -> str:
    """One Chinese sentence for a service error. A rule's refusal reads in plain words
    with its basis; ``official`` (console users) also names the policy parameter's key."""
    if isinstance(exc, DomainError):
        if exc.code == "policy_violation" and not official:
            return plain_message(exc.message)
        return exc.message
    if isinstance(exc, ValidationError):
        parts = []
        for field, msgs in validation_detail(exc).items():
            label = FIELD_LABELS.get(field, "")
            text = "；".join(map(str, msgs))
            parts.append(f"{label}：{text}" if label and field != "__all__" else text)
        return "；".join(parts)
    raise exc


def run_action(request, fn: Callable, success: str) -> bool:
    """Call a service; on success flash ``success``, on a rule or input error flash the
    Chinese reason. Services are atomic, so a failure leaves nothing half-written."""
    try:
        fn()
    except NotFound:
        raise Http404(_("不存在或无权查看"))
    except (DomainError, ValidationError) as exc:
        # officials and institutions also read the parameter's key; parents the rule in words
        official = request.user.is_authenticated and not actor_for(request.user).is_parent
        messages.error(request, f"操作未完成：{error_text(exc, official=official)}")
        return False
    messages.success(request, success)
    return True


def form_message(form) -> str:
    """A form's errors in one Chinese sentence, each naming its field."""
    msgs = []
    for name, errs in form.errors.items():
        field = form.fields.get(name)
        label = str(field.label) if field is not None and field.label else ""
        # Django's own messages ("确保该值不超过…") do not say which field they mean
        msgs += [m if not label or label in m else f"{label}：{m}" for m in map(str, errs)]
    return "；".join(msgs)


def form_invalid(request, form) -> None:
    """Flash a posted form's errors in one Chinese sentence (nothing was called)."""
    messages.error(request, "操作未完成：" + form_message(form))


def run_form(request, form_class, fn: Callable, success: str | Callable, **form_kwargs):
    """The one way a page action takes input: parse ``request.POST`` (and files) with
    ``form_class``; when it is invalid flash its errors and call nothing, else call
    ``fn(cleaned_data)`` as ``run_action`` does (``success`` may read the cleaned data
    too). Returns the service's result, or None when the form or the service refused."""
    form = form_class(request.POST, request.FILES or None, **form_kwargs)
    if not form.is_valid():
        form_invalid(request, form)
        return None
    d = form.cleaned_data
    box = {}
    ok = run_action(
        request, lambda: box.setdefault("result", fn(d)), success(d) if callable(success) else success
    )
    return box.get("result") if ok else None


def apply_errors(form, exc: Exception, *, official: bool = True) -> None:
    """Attach a service error to the form: field errors where the form has the field; a
    rule's refusal in plain words, with its key unless ``official=False`` (parents, the public)."""
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        for field, msgs in exc.message_dict.items():
            target = field if field in form.fields else None
            for m in msgs:
                form.add_error(target, m if target else f"{FIELD_LABELS.get(field, field)}：{m}")
        return
    form.add_error(None, error_text(exc, official=official))


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(request, default: str, *, value: str | None = None):
    """The one safe redirect: to ``next`` (POST, else GET) when it is a path on this site,
    else to ``default`` (a URL name or path). An absolute URL, ``//host`` or a
    ``javascript:`` target is ignored, so ``next`` cannot send a user elsewhere."""
    from django.shortcuts import redirect
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = value if value is not None else (request.POST.get("next") or request.GET.get("next") or "")
    if (
        nxt
        and nxt.startswith("/")
        and not nxt.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(nxt, allowed_hosts=None, require_https=request.is_secure())
    ):
        return redirect(nxt)
    return redirect(default)
