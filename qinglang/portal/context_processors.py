"""What the page shell (``base.html``) needs on every page: the actor's menu tree,
breadcrumbs and the deploying unit named in the header."""

from django.conf import settings

from .menu import breadcrumbs, menu_for


def shell(request):
    menu = menu_for(request)
    return {
        "menu": menu,
        "breadcrumbs": breadcrumbs(request, menu),
        "host_unit": getattr(settings, "HOST_UNIT", ""),
    }
