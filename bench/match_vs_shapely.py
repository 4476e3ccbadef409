#!/usr/bin/env python3
"""Matching throughput, Xuncha vs shapely 2 STRtree, side by side in one run, on one core.

    python3 bench/match_vs_shapely.py [--points 1000000]

Creates a virtualenv under target/pyenv with shapely 2 (pip), builds the Rust example
`match_bench` in release mode, generates seeded random points (written as little-endian f64
pairs), and times for each polygon set:
  * shapely: STRtree(polys).query(points, predicate="covered_by") on prepared polygons
    (vectorised, GEOS, one thread; boundary inclusive like Xuncha)
  * xuncha: ZoneIndex::match_point for every point (best of 3), one thread
It checks that both find the same number of (point, zone) covering pairs (both boundary
inclusive) and prints the ratio.
Polygon sets: the Baishan demo zones (geodata/baishan/zones.geojson) and China's county-level
divisions (target/fixtures/district.geojson, from tiles/fetch_fixtures.sh).
"""
import argparse, json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "pyenv")


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([py, "-m", "pip", "install", "-q", "shapely>=2,<3", "numpy"])
    return py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.inner:
        py = ensure_venv()
        subprocess.check_call(["sh", os.path.join(ROOT, "tiles", "fetch_fixtures.sh")])
        subprocess.check_call(["cargo", "build", "--release", "--quiet", "--example", "match_bench"], cwd=ROOT)
        os.execv(py, [py, os.path.abspath(__file__), "--inner", "--points", str(args.points)])
    run(args.points)


def run(n):
    import numpy as np
    import shapely
    from shapely.geometry import shape

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sets = [
        ("Baishan demo zones", os.path.join(ROOT, "geodata", "baishan", "zones.geojson"), (126.385, 41.915, 126.455, 41.960)),
        ("China county-level divisions", os.path.join(ROOT, "target", "fixtures", "district.geojson"), (73.0, 18.0, 135.0, 54.0)),
    ]
    exe = os.path.join(ROOT, "target", "release", "examples", "match_bench")
    print(f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, {n} random points per set\n")
    rows = []
    for name, path, (x0, y0, x1, y1) in sets:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        # Polygons only (routes are corridors in Xuncha), and only valid ones: Xuncha refuses an
        # invalid polygon at import (one county of the China set), so neither side gets it.
        feats = [f for f in doc["features"] if f["geometry"]["type"] in ("Polygon", "MultiPolygon")
                 and shape(f["geometry"]).is_valid]
        polys = [shape(f["geometry"]) for f in feats]
        rng = np.random.default_rng(20261130)
        pts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
        pts_path = os.path.join(ROOT, "target", "bench_points.f64")
        pts.astype("<f8").tofile(pts_path)
        geoms = shapely.points(pts)
        tree = shapely.STRtree(polys)
        shapely.prepare(polys)
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            res = tree.query(geoms, predicate="covered_by")
            best = min(best, time.perf_counter() - t)
        shapely_pairs = res.shape[1]
        poly_doc = {"type": "FeatureCollection", "features": feats}
        zpath = os.path.join(ROOT, "target", "bench_zones.geojson")
        with open(zpath, "w", encoding="utf-8") as f:
            json.dump(poly_doc, f)
        out = subprocess.check_output(["taskset", "-c", "0", exe, zpath, pts_path], text=True)
        load = os.getloadavg()[0]
        ours = json.loads(out)
        shapely_rate = n / best
        ratio = ours["per_sec"] / shapely_rate
        rows.append((name, len(polys), shapely_rate, ours["per_sec"], ratio, shapely_pairs, ours["inside_pairs"]))
        print(f"{name}: {len(polys)} polygons")
        print(f"  shapely STRtree.query(covered_by): {shapely_rate:,.0f} points/s ({best:.3f} s), {shapely_pairs} pairs")
        print(f"  xuncha ZoneIndex.match_point:  {ours['per_sec']:,.0f} points/s ({ours['seconds']:.3f} s), {ours['inside_pairs']} pairs, index built in {ours['index_build_s']:.2f} s")
        print(f"  ratio xuncha/shapely: {ratio:.1f}x (load average {load:.1f} on {os.cpu_count()} cores)\n")
    print("| polygons | count | shapely points/s | xuncha points/s | ratio | pairs (shapely / xuncha) |")
    print("|---|---|---|---|---|---|")
    for name, k, s, o, r, sp, op in rows:
        print(f"| {name} | {k} | {s:,.0f} | {o:,.0f} | {r:.1f}x | {sp} / {op} |")


if __name__ == "__main__":
    main()
