#!/usr/bin/env python3
"""Optional independent self-check of the generated files with shapely 2 (not needed to generate).

    python3 -m venv /tmp/gvenv && /tmp/gvenv/bin/pip install shapely
    /tmp/gvenv/bin/python geodata/check_shapely.py
"""
import json
import os
import sys
from itertools import combinations

from shapely import STRtree
from shapely.geometry import shape, Point
from shapely.validation import explain_validity

HERE = os.path.dirname(os.path.abspath(__file__))
B = os.path.join(HERE, "baishan")
bad = 0


def load(n):
    with open(os.path.join(B, n), encoding="utf-8") as f:
        return json.load(f)


def err(msg):
    global bad
    bad += 1
    print("FAIL:", msg)


zones = load("zones.geojson")["features"]
byid = {f["id"]: f for f in zones}
geoms = {f["id"]: shape(f["geometry"]) for f in zones}
for f in zones + load("river.geojson")["features"] + load("districts.geojson")["features"]:
    g = shape(f["geometry"])
    if not g.is_valid:
        err(f"{f.get('id')}: {explain_validity(g)}")
    if f["geometry"]["type"] == "Polygon":
        ext = f["geometry"]["coordinates"][0]
        if not g.exterior.is_ccw:
            err(f"{f.get('id')}: exterior not CCW")

# same-level overlaps (area in squared degrees -> ~m² factor 111320*82800)
M2 = 111072 * 82929
groups = {}
for f in zones:
    p = f["properties"]
    if f["geometry"]["type"] != "Polygon":
        continue
    key = p["kind"] + (":" + p["properties"]["level"] if p["kind"] == "grid" else "")
    groups.setdefault(key, []).append(f["id"])
touching = []
for key, ids in groups.items():
    gs = [geoms[i] for i in ids]
    tree = STRtree(gs)
    for a, b in zip(*tree.query(gs, predicate="intersects")):
        if a >= b:
            continue
        inter = gs[a].intersection(gs[b])
        if inter.area * M2 > 0.01:
            err(f"{key}: {ids[a]} overlaps {ids[b]} by {inter.area * M2:.2f} m²")
        elif key == "responsibility":
            touching.append((ids[a], ids[b], inter.geom_type, round(inter.length * 90000, 1)))
print("touching responsibility pairs:", touching)
# children tile parents
for key in ("grid:community", "grid:cell"):
    kids = {}
    for i in groups[key]:
        kids.setdefault(byid[i]["properties"]["parent"], []).append(geoms[i])
    for pid, gs in kids.items():
        from shapely import union_all
        u = union_all(gs)
        if abs(u.area - geoms[pid].area) * M2 > 0.01 or u.symmetric_difference(geoms[pid]).area * M2 > 0.01:
            err(f"{key} children of {pid} do not tile it")
# parents contain the centroid of children
for f in zones:
    par = f["properties"].get("parent")
    if par and not geoms[par].covers(geoms[f["id"]].centroid):
        err(f"{f['id']}: centroid not in parent {par}")
# planted clusters
reports = load("reports.json")
for c in load("planted_hotspots.json")["clusters"]:
    n = sum(1 for r in reports
            if ((r["lon"] - c["lon"]) * 82929) ** 2 + ((r["lat"] - c["lat"]) * 111072) ** 2 <= (c["radius_m"] + 0.5) ** 2)
    if n < c["count"]:
        err(f"cluster {c['id']}: {n} reports within radius, expected >= {c['count']}")
    print(c["id"], "reports within radius:", n)
print("OK" if not bad else f"{bad} failures")
sys.exit(1 if bad else 0)
