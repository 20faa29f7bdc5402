"""The ``qinglang`` command-line entry point.

qinglang serve [--host H] [--port P] [--workers N]   web server (gunicorn)
qinglang worker                                       Huey worker (periodic jobs too)
qinglang seed-demo [--scale district|city|province|national]
qinglang audit verify                                 check the audit hash chain
qinglang bench NAME [args]                            run bench/NAME.py
qinglang migrate | check | shell | …                  any Django management command
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["qinglang", *argv])


def _serve(args: list[str]) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="qinglang serve")
    p.add_argument("--host", default=os.environ.get("QINGLANG_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("QINGLANG_PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("QINGLANG_WEB_WORKERS", "2")))
    p.add_argument("--threads", type=int, default=int(os.environ.get("QINGLANG_WEB_THREADS", "4")))
    a = p.parse_args(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(
        str(gunicorn),
        [
            str(gunicorn),
            "qinglang.config.wsgi:application",
            "--bind",
            f"{a.host}:{a.port}",
            "--workers",
            str(a.workers),
            "--threads",
            str(a.threads),
            "--access-logfile",
            "-",
            "--logger-class",
            "qinglang.config.access_log.RedactingLogger",
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else "/tmp",
        ],
    )


def _bench(args: list[str]) -> None:
    if not args:
        names = sorted(p.stem for p in (REPO / "bench").glob("*.py") if not p.stem.startswith("_"))
        print("usage: qinglang bench NAME [args]\navailable:", ", ".join(names))
        sys.exit(2)
    name = args[0].replace("-", "_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
    sys.path.insert(0, str(REPO))
    import importlib

    import django

    django.setup()
    try:
        mod = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError:
        print(f"unknown benchmark: {args[0]}")
        sys.exit(2)
    sys.exit(mod.main(args[1:]) or 0)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    cmd, rest = argv[0], argv[1:]
    if cmd == "serve":
        _serve(rest)
    elif cmd == "worker":
        _django(["run_huey", *rest])
    elif cmd == "seed-demo":
        _django(["seed_demo", *rest])
    elif cmd in ("audit", "ledger"):
        if rest[:1] != ["verify"]:
            print(f"usage: qinglang {cmd} verify")
            sys.exit(2)
        _django([f"{cmd}_verify", *rest[1:]])
    elif cmd == "bench":
        _bench(rest)
    else:
        _django(argv)


if __name__ == "__main__":
    main()
