"""``qinglang seed-demo --scale district|city|province|national [--if-empty]``."""

from django.core.management.base import BaseCommand

from qinglang.portal import demo
from qinglang.registry.models import Institution


class Command(BaseCommand):
    help = "Load demo data: a real county (district) up to ~500,000 institutions (national)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(demo.SCALES), default="district")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if institutions exist")
        parser.add_argument("--institutions", type=int, default=None, help="override the scale's count")
        parser.add_argument("--chunk", type=int, default=5000, help="institutions per transaction")
        parser.add_argument("--seed", type=int, default=20260101, help="random seed")

    def handle(self, *args, scale, if_empty, institutions, chunk, seed, **opts):
        if if_empty and Institution.objects.exists():
            self.stdout.write("demo data: institutions already exist, nothing to do (--if-empty)")
            demo.ensure_demo_users()
            return
        where, n = demo.SCALES[scale]
        self.stdout.write(
            f"seeding demo data, scale={scale} ({where or '全国'}, ~{institutions or n:,} institutions)"
        )
        stats = demo.seed(
            scale=scale,
            total=institutions,
            chunk=chunk,
            seed_value=seed,
            progress=lambda m: self.stdout.write(m),
        )
        if scale == "district":
            self._seed_apps(seed)
        self.stdout.write(
            "done: "
            + ", ".join(f"{k} {v:,}" for k, v in stats.counts.items())
            + f"; {stats.rows:,} rows in {stats.seconds:.1f} s"
            + f" ({stats.institutions / max(stats.seconds, 1e-9):,.0f} institutions/s),"
            + f" peak RSS {stats.peak_rss_mb:.0f} MB"
        )

    def _seed_apps(self, seed: int) -> None:
        """Each app above the registry may add its own demo data for the demo county in
        ``qinglang/<app>/demo.py``: ``seed_district(*, county, rng, log) -> dict[str, int]``."""
        import importlib
        import random

        from django.conf import settings

        for app in settings.INSTALLED_APPS:
            if not app.startswith("qinglang.") or app in ("qinglang.portal", "qinglang.registry"):
                continue
            try:
                mod = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            counts = mod.seed_district(
                county=demo.DEMO_COUNTY, rng=random.Random(seed), log=self.stdout.write
            )
            self.stdout.write(f"{app}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
