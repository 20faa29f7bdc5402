from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "qinglang.screening"
    label = "screening"
    verbose_name = _("隐形变异排查")

    def ready(self):
        # registry and clues sit below this app and never import it: they expose checker
        # lists, and this app registers its checkers into them (dependency inversion).
        from . import hooks

        hooks.register()
