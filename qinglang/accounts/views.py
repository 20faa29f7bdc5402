"""The pages of the accounts app itself: signing in (with the per-address throttle) and
changing one's own password (required after an administrator's reset or an initial
password)."""

import time
from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from qinglang.core.ratelimit import client_ip

from .administration import may_hold_tokens, password_changed
from .forms import LoginForm
from .middleware import LOGIN_AT
from .models import User
from .throttle import login_ip_failed, login_ip_refused
from .two_factor import (
    has_two_factor,
    qr_svg,
    recovery_codes_renew,
    totp_begin,
    totp_confirm,
    two_factor_required,
    verify_code,
)


class LoginView(auth_views.LoginView):
    """Django's login page, with the per-address throttle across usernames: an address
    that failed with too many different usernames is answered 429 before any password
    is checked."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if login_ip_refused(client_ip(request)):
            form = self.get_form_class()(request)
            ctx = self.get_context_data(
                form=form, throttled=True, throttle_minutes=settings.LOGIN_IP_WINDOW_SECONDS // 60
            )
            return self.render_to_response(ctx, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = (form.data.get("username") or "").strip()
        if username:
            login_ip_failed(client_ip(self.request), username)
        return super().form_invalid(form)

    def form_valid(self, form):
        """The password is right. A user with a second factor is not signed in yet: the
        code is asked on the next page (the pending sign-in lasts five minutes)."""
        user = form.get_user()
        if has_two_factor(user):
            self.request.session[PENDING] = {
                "user_id": user.pk,
                "backend": user.backend,
                "at": int(time.time()),
                "next": self.get_success_url(),
            }
            return redirect("accounts:login_code")
        response = super().form_valid(form)
        self.request.session[LOGIN_AT] = int(time.time())
        return response


PENDING = "qinglang_2fa_pending"
PENDING_SECONDS = 300


def login_code(request):
    """The second step of signing in: a code from the authenticator app, or a recovery
    code (each works once)."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, "请重新输入用户名和密码。")
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        return redirect("accounts:login")
    error = ""
    if request.method == "POST":
        device = verify_code(user, request.POST.get("code", ""))
        if device is not None:
            nxt = pending["next"]
            del request.session[PENDING]
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            request.session[LOGIN_AT] = int(time.time())
            return redirect(nxt or resolve_url(settings.LOGIN_REDIRECT_URL))  # checked by LoginView
        error = "验证码不正确或已使用，请重新输入。"
    return render(request, "accounts/login_code.html", {"error": error}, status=200 if not error else 400)


@login_required
def two_factor(request):
    """Enrolment: the QR code of a new secret, confirmed by a code from it; afterwards the
    recovery codes, shown once. With a device already: verify this session (when asked
    to) or renew the recovery codes."""
    user = request.user
    ctx = {"required": two_factor_required(user), "enrolled": has_two_factor(user)}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "confirm":
            codes = totp_confirm(user=user, code=request.POST.get("code", ""))
            if codes is not None:
                otp_login(request, TOTPDevice.objects.get(user=user, confirmed=True))
                return render(request, "accounts/two_factor.html", {**ctx, "enrolled": True, "codes": codes})
            ctx["error"] = "验证码不正确，请按验证器上当前显示的6位数字重新输入。"
        elif action == "verify" and ctx["enrolled"]:
            device = verify_code(user, request.POST.get("code", ""))
            if device is not None:
                otp_login(request, device)
                messages.success(request, "本次登录已通过两步验证。")
                return redirect("portal:home")
            ctx["error"] = "验证码不正确或已使用。"
        elif action == "renew" and ctx["enrolled"] and user.is_verified():
            return render(
                request, "accounts/two_factor.html", {**ctx, "codes": recovery_codes_renew(user=user)}
            )
    if not ctx["enrolled"]:
        device = totp_begin(user=user)
        ctx.update(qr=qr_svg(device), secret=b32encode(device.bin_key).decode())
    ctx["verified"] = user.is_verified()
    return render(request, "accounts/two_factor.html", ctx, status=400 if ctx.get("error") else 200)


@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    form.fields["old_password"].label = _("当前密码(或管理员给出的初始密码)")
    form.fields["new_password1"].label = _("新密码")
    form.fields["new_password2"].label = _("再次输入新密码")
    for f in form.fields.values():
        f.widget.attrs["class"] = "form-control"
    if request.method == "POST" and form.is_valid():
        user = form.save()
        password_changed(user=user)
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。"))
        return redirect("portal:home")
    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "forced": request.user.must_change_password,
            "tokens_link": may_hold_tokens(request.user) and not request.user.must_change_password,
        },
    )
