"""``qinglang bench ledger-stream``: peak memory of streaming a lesson batch file through
the parser (``funds.parsing.lesson_rows``) and the consumer's per-row parse
(``services.consumption._parse_row``), for a 100,000-event and a 1,000,000-event JSON-lines
file, each in its own process (peak RSS = VmHWM). Flat means the larger file costs no
more memory than the smaller one. Writes its files under /tmp; touches no database."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.utils import timezone
from qinglang.funds.parsing import lesson_rows
from qinglang.funds.services.consumption import EventResult, _parse_row
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = hwm()
now = timezone.now()
ok = bad = 0
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    for n, row in enumerate(lesson_rows(f, filename=sys.argv[1]), start=1):
        if isinstance(_parse_row(n, row, now), EventResult):
            bad += 1
        else:
            ok += 1
print("JSON" + __import__("json").dumps({"rows": ok, "bad": bad, "seconds": time.perf_counter() - t0, "base_mb": base, "peak_mb": hwm()}))
"""


def _file(n: int) -> Path:
    path = Path(f"/tmp/qinglang_bench_lessons_{n}.jsonl")
    if not path.exists() or path.stat().st_size == 0:
        with path.open("w") as f:
            for i in range(n):
                f.write(
                    json.dumps(
                        {
                            "event_id": f"E{i:08d}",
                            "order_id": 1 + i % 5000,
                            "given_at": "2026-03-02T18:30:00+08:00",
                        }
                    )
                    + "\n"
                )
    return path


def _run(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("JSON")][-1][4:])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench ledger-stream")
    p.add_argument("--small", type=int, default=100_000)
    p.add_argument("--large", type=int, default=1_000_000)
    a = p.parse_args(argv)
    res = {}
    for n in (a.small, a.large):
        path = _file(n)
        r = _run(path)
        res[n] = r
        print(
            f"{n:>9,} events ({path.stat().st_size / 1e6:.0f} MB): parsed {r['rows']:,} in {r['seconds']:.1f} s "
            f"({r['rows'] / r['seconds']:,.0f}/s), peak RSS {r['peak_mb']:.1f} MB (after start-up {r['base_mb']:.1f} MB)"
        )
    small, large = res[a.small]["peak_mb"], res[a.large]["peak_mb"]
    ratio = large / small if small else float("nan")
    print(f"peak RSS {a.large:,} / {a.small:,} events: {ratio:.2f} (flat = 1.00)")
    print(
        f"RESULT ledger-stream {large:.1f} MB ratio={ratio:.2f} ref=peak_rss_{a.small}_events:{small:.1f}MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
