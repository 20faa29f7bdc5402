from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "qinglang.registry"
    label = "registry"
    verbose_name = "机构登记"
