"""My API tokens (我的接口令牌): a signed-in user who may hold tokens (staff, institution
admins, bank operators: ``accounts.permissions.TOKEN_HOLDERS``) creates them with a scope
(the token is shown once), lists and revokes their own. Through the audited token
services; another user's token is not found."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qinglang.accounts import administration as adm
from qinglang.accounts.services import api_token_create, api_token_revoke
from qinglang.core.errors import DomainError

from ..forms_admin import TokenCreateForm
from .common import apply_errors, run_action


def _require_holder(request) -> None:
    if not adm.may_hold_tokens(request.user):
        raise PermissionDenied(_("您的角色不能持有接口令牌"))


@login_required
def my_tokens(request):
    _require_holder(request)
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tok, plain = api_token_create(
                actor=request.user,
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            request.session["my_token"] = [tok.name, plain]  # shown once, on the next page
            return redirect("portal:my_tokens")
    return render(
        request,
        "portal/tokens/tokens.html",
        {
            "tokens": adm.tokens_own(request.user),
            "form": form,
            "token_plain": request.session.pop("my_token", None),
        },
    )


@login_required
@require_POST
def my_token_revoke(request, pk: int):
    _require_holder(request)
    tok = adm.tokens_own(request.user).select_related("user").filter(pk=pk).first()
    if tok is None:
        raise Http404(_("接口令牌不存在"))
    run_action(request, lambda: api_token_revoke(actor=request.user, token=tok), _("令牌已吊销"))
    return redirect("portal:my_tokens")
