from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "qinglang.registry"
    label = "registry"
    verbose_name = "机构登记"

    def ready(self):
        from qinglang.core.policy import VALUE_LABELS

        from .models import DisclosureItem

        VALUE_LABELS.update(DisclosureItem.choices)  # disclosure.required_items read by name
