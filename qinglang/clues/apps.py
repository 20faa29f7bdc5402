from django.apps import AppConfig


class CluesConfig(AppConfig):
    name = "qinglang.clues"
    label = "clues"
    verbose_name = "线索与吹哨报到"
