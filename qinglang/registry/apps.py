from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "qinglang.registry"
    label = "registry"
    verbose_name = _("机构登记")

    def ready(self):
        from qinglang.core.policy import VALUE_LABELS

        from .models import DisclosureItem

        VALUE_LABELS.update(DisclosureItem.choices)  # disclosure.required_items read by name
