from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "qinglang.inspections"
    label = "inspections"
    verbose_name = "联合检查与整改"
