"""The one page of the accounts app itself: changing one's own password (required after
an administrator's reset or an initial password)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render

from .administration import password_changed


@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    form.fields["old_password"].label = "当前密码(或管理员给出的初始密码)"
    form.fields["new_password1"].label = "新密码"
    form.fields["new_password2"].label = "再次输入新密码"
    for f in form.fields.values():
        f.widget.attrs["class"] = "form-control"
    if request.method == "POST" and form.is_valid():
        user = form.save()
        password_changed(user=user)
        update_session_auth_hash(request, user)
        messages.success(request, "密码已修改。")
        return redirect("portal:home")
    return render(
        request, "accounts/password_change.html", {"form": form, "forced": request.user.must_change_password}
    )
