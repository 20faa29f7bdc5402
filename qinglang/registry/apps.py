from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "qinglang.registry"
    label = "registry"
    verbose_name = "机构登记"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import public_cache
        from .models import Institution

        def changed(**kwargs):
            public_cache.bump()

        post_save.connect(changed, sender=Institution, weak=False, dispatch_uid="registry.public_cache")
        post_delete.connect(changed, sender=Institution, weak=False, dispatch_uid="registry.public_cache.del")
