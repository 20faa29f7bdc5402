from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from qinglang.registry import selectors as registry


def public_home(request):
    q = request.GET.get("q", "")
    items = list(registry.public_whitelist_search(q=q)[:20])
    return render(request, "portal/public_home.html", {"items": items, "q": q})


@login_required
def home(request):
    counts = registry.institution_counts(actor=request.user)
    return render(request, "portal/home.html", {"counts": counts})
