"""``qinglang clue_model``: build (once) the clue category model of the shipped corpus and
the regulators' corrections, and say where it is kept. Imports load that file; they train
only when the examples or the code changed since it was built."""

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Build the clue category model (kept under DATA_DIR/models) unless it is current"

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only say whether it is built")

    def handle(self, *args, check=False, **opts):
        from qinglang.clues import classify

        path = classify.model_path()
        if check:
            built = path is not None and path.exists()
            self.stdout.write(f"{'built' if built else 'not built'}: {path}")
            return
        t = time.perf_counter()
        was = path is not None and path.exists()
        classify.persisted_model(classify.current_examples())
        how = "already built" if was else f"trained in {time.perf_counter() - t:.1f} s"
        self.stdout.write(f"clue category model {how}: {path}")
