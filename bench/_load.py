"""A small closed-loop HTTP load generator (stdlib only), run as its own process so it
does not share the benchmark's interpreter: ``python bench/_load.py URL [options]``.

Each of ``--concurrency`` threads sends a request, waits for the full response, and sends
the next, until ``--duration`` seconds or ``--max-requests`` have passed. Prints one JSON
object: requests, errors, seconds, throughput (req/s) and latency percentiles (ms)."""

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def run(
    url: str, *, concurrency: int, duration: float, max_requests: int, headers: dict, warmup: int
) -> dict:
    u = urlsplit(url)
    path = u.path + (f"?{u.query}" if u.query else "")
    host, port = u.hostname, u.port or 80

    def one() -> tuple[float, int, int]:
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            status = resp.status
        finally:
            conn.close()
        return time.perf_counter() - t0, status, len(body)

    for _ in range(warmup):
        one()

    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    sizes = 0
    count = 0
    stop_at = time.perf_counter() + duration

    def worker():
        nonlocal errors, sizes, count
        local: list[float] = []
        while time.perf_counter() < stop_at:
            with lock:
                if count >= max_requests:
                    break
                count += 1
            try:
                dt, status, size = one()
            except OSError:
                with lock:
                    errors += 1
                continue
            local.append(dt)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                sizes += size
                if status != 200:
                    errors += 1
        with lock:
            latencies.extend(local)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lat = sorted(latencies)
    ok = len(lat) - sum(v for s, v in statuses.items() if s != 200)
    return {
        "url": url,
        "concurrency": concurrency,
        "requests": len(lat),
        "ok": ok,
        "errors": errors,
        "statuses": statuses,
        "seconds": elapsed,
        "throughput": ok / elapsed if elapsed else 0.0,
        "mean_bytes": sizes / len(lat) if lat else 0,
        "p50_ms": percentile(lat, 50) * 1000,
        "p90_ms": percentile(lat, 90) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "max_ms": (lat[-1] * 1000) if lat else float("nan"),
        "_latencies": lat,
        "_bytes": sizes,
    }


def alternate(urls: list[str], *, slice_s: float, duration: float, **kw) -> list[dict]:
    """Load each URL in turn for ``slice_s`` seconds until each has had ``duration``
    seconds, so that a change in the machine's background load hits every URL alike (the
    ratio between them is what the benchmarks report)."""
    acc = {u: {"lat": [], "ok": 0, "errors": 0, "seconds": 0.0, "bytes": 0, "statuses": {}} for u in urls}
    first = True
    spent = 0.0
    while spent < duration - 1e-9:
        step = min(slice_s, duration - spent)
        for u in urls:
            r = run(
                u,
                duration=step,
                warmup=kw["warmup"] if first else 0,
                **{k: v for k, v in kw.items() if k != "warmup"},
            )
            a = acc[u]
            a["lat"] += r["_latencies"]
            a["ok"] += r["ok"]
            a["errors"] += r["errors"]
            a["seconds"] += r["seconds"]
            a["bytes"] += r["_bytes"]
            for st, n in r["statuses"].items():
                a["statuses"][st] = a["statuses"].get(st, 0) + n
        first = False
        spent += step
    out = []
    for u in urls:
        a = acc[u]
        lat = sorted(a["lat"])
        out.append(
            {
                "url": u,
                "concurrency": kw["concurrency"],
                "requests": len(lat),
                "ok": a["ok"],
                "errors": a["errors"],
                "statuses": a["statuses"],
                "seconds": a["seconds"],
                "throughput": a["ok"] / a["seconds"] if a["seconds"] else 0.0,
                "mean_bytes": a["bytes"] / len(lat) if lat else 0,
                "p50_ms": percentile(lat, 50) * 1000,
                "p90_ms": percentile(lat, 90) * 1000,
                "p99_ms": percentile(lat, 99) * 1000,
                "max_ms": (lat[-1] * 1000) if lat else float("nan"),
            }
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url", nargs="+", help="one URL, or several to load in alternating slices")
    p.add_argument("--slice", type=float, default=1.0, help="seconds per slice when alternating")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--max-requests", type=int, default=100_000)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--header", action="append", default=[], help="Name: value")
    a = p.parse_args()
    headers = dict(h.split(": ", 1) for h in a.header)
    kw = {
        "concurrency": a.concurrency,
        "max_requests": a.max_requests,
        "headers": headers,
        "warmup": a.warmup,
    }
    results = alternate(a.url, slice_s=a.slice, duration=a.duration, **kw)
    print(json.dumps(results if len(a.url) > 1 else results[0]))


if __name__ == "__main__":
    main()
