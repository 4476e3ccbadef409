#!/usr/bin/env python3
"""Optional: draw geodata/overview.png (needs matplotlib; not used at generation time).

    python3 -m venv /tmp/gvenv && /tmp/gvenv/bin/pip install matplotlib shapely
    /tmp/gvenv/bin/python geodata/render_overview.py
"""
import json
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon, Circle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
B = os.path.join(HERE, "baishan")


def load(n):
    with open(os.path.join(B, n), encoding="utf-8") as f:
        return json.load(f)


zones = load("zones.geojson")["features"]
river = load("river.geojson")["features"]
roads = load("roads.geojson")["features"]
reports = load("reports.json")
planted = load("planted_hotspots.json")["clusters"]

fig, ax = plt.subplots(figsize=(11, 7), dpi=90)
for f in river:
    g = f["geometry"]
    if g["type"] == "Polygon":
        ax.add_patch(MplPolygon(g["coordinates"][0], closed=True, fc="#9cc8f0", ec="#4a8fd0", lw=0.6))
for f in zones:
    p = f["properties"]
    g = f["geometry"]
    k = p["kind"]
    if k == "grid":
        lvl = p["properties"]["level"]
        lw, col = {"street": (1.6, "#444"), "community": (0.9, "#888"), "cell": (0.3, "#bbb")}[lvl]
        ax.add_patch(MplPolygon(g["coordinates"][0], closed=True, fill=False, ec=col, lw=lw, zorder=2))
for f in roads:
    xs, ys = zip(*f["geometry"]["coordinates"])
    ax.plot(xs, ys, color="#e0a040" if f["properties"]["class"] == "main" else "#d8c890",
            lw=2.2 if f["properties"]["class"] == "main" else 1.2, zorder=3)
sector_col = {"community": "#2a9d8f", "village": "#8ab17d", "agency": "#e63946", "enterprise": "#7b2cbf",
              "school": "#f4a261", "hospital": "#0077b6"}
for f in zones:
    p = f["properties"]
    g = f["geometry"]
    k = p["kind"]
    if k == "responsibility":
        ax.add_patch(MplPolygon(g["coordinates"][0], closed=True, fc=sector_col[p["owner"]["sector"]],
                                ec="none", zorder=4))
    elif k == "green_adoption":
        ax.add_patch(MplPolygon(g["coordinates"][0], closed=True, fc="#52b788", ec="#2d6a4f", lw=0.6, zorder=4))
    elif k == "hotspot":
        ax.add_patch(MplPolygon(g["coordinates"][0], closed=True, fc="#ff000055", ec="red", lw=0.8, zorder=5))
    elif k == "patrol_route":
        xs, ys = zip(*g["coordinates"])
        ax.plot(xs, ys, color="#2d6a4f", lw=1.0, ls="--", zorder=4)
ax.scatter([r["lon"] for r in reports], [r["lat"] for r in reports], s=3, c="black", zorder=6)
for c in planted:
    ax.add_patch(Circle((c["lon"], c["lat"]), c["radius_m"] / 82929, fill=False, ec="red", lw=1, zorder=7))
ax.set_aspect(1 / 0.744)  # cos(41.94°)
ax.autoscale_view()
ax.set_title("Baishan demo (synthetic town in real Hunjiang district)")
fig.tight_layout()
out = os.path.join(HERE, "overview.png")
fig.savefig(out, dpi=90)
print("wrote", out, os.path.getsize(out), "bytes")
