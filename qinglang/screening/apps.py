from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "qinglang.screening"
    label = "screening"
    verbose_name = "隐形变异排查"

    def ready(self):
        # registry and clues sit below this app and never import it: they expose checker
        # lists, and this app registers its checkers into them (dependency inversion).
        from . import hooks

        hooks.register()
