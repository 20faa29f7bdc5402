"""``qinglang bench ledger-confirm``: 100,000 pending releases (prepared by batch
consumption, not timed) posted by the deemed-confirm job (``lessons_deem_confirmed``:
set-based, 20,000 lessons per transaction, each with its posting, lesson update and
transition row), on PostgreSQL against pgbench's TPC-B-like rate in the same run, and on
SQLite. Goals: ratio ≥ 10; SQLite ≥ 20,000 releases/s. Scratch databases only."""

import sys

from bench.ledger import run

OWN_DATABASE = True  # makes and drops its own scratch databases (see qinglang.cli._bench)


def main(argv: list[str]) -> int:
    return run(argv, "confirm", 2000)  # 2,000 orders × 50 lessons


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
