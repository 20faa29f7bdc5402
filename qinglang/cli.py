"""The ``qinglang`` command-line entry point.

qinglang setup --county CODE [--name 名称] [--divisions FILE.xlsx] [--township CODE=名称 …]
                                                      set up (or update) a county's deployment
qinglang serve [--host H] [--port P] [--workers N]   web server (gunicorn)
qinglang worker                                       Huey worker (periodic jobs too)
qinglang seed-demo [--scale district|city|province|national]
qinglang audit verify                                 check the audit hash chain
qinglang ledger verify                                check the funds ledger
qinglang backup DIR                                   back up the database (with row counts and an audit checkpoint)
qinglang restore DIR --to FILE|postgres://…/NAME      restore into a new database, then check rows, audit and ledger
qinglang bench NAME [args]                            run bench/NAME.py on its own scratch database
qinglang help [COMMAND]                               this list, or one command's options
qinglang migrate | check | shell | …                  any Django management command (listed below)
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


def _bench_names() -> list[str]:
    return sorted(
        p.stem.replace("_", "-") for p in (REPO / "bench").glob("*.py") if not p.stem.startswith("_")
    )


def _bench(args: list[str]) -> None:
    """Run bench/NAME.py on its own scratch database (``bench._common.use_scratch_database``)
    unless the module sets ``OWN_DATABASE = True`` (it manages its databases itself);
    ``NEEDS_POSTGRES = True`` falls back to the local server when none is configured."""
    if not args or args[0] in ("-h", "--help"):
        print("usage: qinglang bench NAME [args]\navailable:", ", ".join(_bench_names()))
        sys.exit(0 if args else 2)
    name = args[0].replace("-", "_")
    if not (REPO / "bench" / f"{name}.py").is_file() or name.startswith("_"):
        print(f"unknown benchmark: {args[0]}\navailable: {', '.join(_bench_names())}")
        sys.exit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
    sys.path.insert(0, str(REPO))
    import ast
    import importlib

    flags = {
        t.id: getattr(node.value, "value", None)
        for node in ast.parse((REPO / "bench" / f"{name}.py").read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and t.id in ("OWN_DATABASE", "NEEDS_POSTGRES")
    }  # read before importing: the module may import Django models
    from bench._common import use_scratch_database

    if flags.get("OWN_DATABASE") is True:
        os.environ.setdefault("QINGLANG_DEMO", "true")
    else:
        print(
            f"database: {use_scratch_database(name, needs_postgres=flags.get('NEEDS_POSTGRES') is True)}",
            flush=True,
        )
    import django

    django.setup()
    if flags.get("OWN_DATABASE") is not True:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # a new scratch database starts empty
    mod = importlib.import_module(f"bench.{name}")
    sys.exit(mod.main(args[1:]) or 0)


def _help(args: list[str]) -> None:
    """Without an argument: Qinglang's commands, then every Django management command by
    app; with one: that command's own help."""
    os.environ.setdefault("QINGLANG_DEMO", "true")  # reading help needs no secrets
    if args:
        cmd = args[0]
        if cmd == "bench":
            _bench(["--help"])
        elif cmd in ("audit", "ledger"):
            _django([f"{cmd}_verify", "--help"])
        elif cmd == "serve":
            _serve(["--help"])
        elif cmd in ("seed-demo", "worker"):
            _django([{"seed-demo": "seed_demo", "worker": "run_huey"}[cmd], "--help"])
        else:
            _django([cmd, "--help"])
        return
    print(__doc__)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
    import django
    from django.core.management import get_commands

    django.setup()
    by_app: dict[str, list[str]] = {}
    for name, app in get_commands().items():
        by_app.setdefault(app.rpartition(".")[2] if app.startswith("django.") else app, []).append(name)
    print("Management commands (qinglang NAME, or qinglang help NAME):")
    for app in sorted(by_app, key=lambda a: (not a.startswith("qinglang"), a)):
        print(f"  [{app}]")
        print("    " + "  ".join(sorted(by_app[app])))
    print("Benchmarks (qinglang bench NAME):\n    " + "  ".join(_bench_names()))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        _help(argv[1:] if argv else [])
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
