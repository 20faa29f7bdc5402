"""``qinglang demo_logins [--url URL]``: where to go and whom to log in as."""

import unicodedata

from django.core.management.base import BaseCommand

from qinglang.portal import demo


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    return s + " " * (w - _width(s))


class Command(BaseCommand):
    help = "Print the demo URL and the demo users (one per role) with their password."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url, **opts):
        rows = demo.demo_login_rows()
        out = self.stdout
        out.write("")
        out.write(f"清朗 Qinglang demo: {url}")
        if not rows:
            out.write("no demo users yet: run `qinglang seed-demo` first")
            return
        header = ("用户名 username", "角色 role", "姓名 name", "范围 scope")
        table = [header, *rows]
        widths = [max(_width(r[i]) for r in table) for i in range(4)]
        for n, r in enumerate(table):
            out.write("  " + "  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)))
            if n == 0:
                out.write("  " + "  ".join("-" * w for w in widths))
        out.write(f"password for every demo user: {demo.DEMO_PASSWORD}")
        out.write("")
