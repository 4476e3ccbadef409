#!/usr/bin/env python3
"""Full export of the Baishan demo city z0-16: `xuncha tiles export` vs tippecanoe, same run.

    python3 bench/export_vs_tippecanoe.py [--rounds 3] [--maxzoom 16]

Sets up (not timed): a virtualenv target/bench-venv with cubao-tippecanoe (tippecanoe 2.31 as a
bundled binary) and pmtiles (reader); a release build of `xuncha`; a data folder
target/bench-export/data with geodata/baishan/zones.geojson imported through `xuncha import`;
three GeoJSON files for tippecanoe with exactly the layers and properties our tiles carry
(zones: id kind name owner_name sector level; routes: id name width_m owner_name; basemap: class
name), written from the same source files.

Timed, alternating (ours, tippecanoe) for --rounds rounds, whole processes (start-up, reading
input, tiling, writing the archive), wall and CPU (user+sys of the child):
  ours:       xuncha --data DIR tiles export OUT.pmtiles --minzoom 0 --maxzoom 16 --bbox B --geodata geodata/baishan
  tippecanoe: python -m cubao_tippecanoe tippecanoe -Z0 -z16 --no-tile-compression --no-feature-limit
              --no-tile-size-limit --buffer=4 --clip-bounding-box=B --quiet --force -o OUT.pmtiles
              -L zones:zones.geojson -L routes:routes.geojson -L basemap:basemap.geojson
B is the same extent for both: the bounds of the basemap and the zones (our export's default).
--buffer=4 is 4/256 of a tile = 64/4096, our buffer. Both write PMTiles v3 with uncompressed
tiles; both use every core. Then both archives are read back with the `pmtiles` Python reader:
tile count, per-zoom counts, sum of tile bytes, archive bytes. Prints a markdown table with
medians, the ratio ours/tippecanoe, and `uptime` load before/after.
"""
import argparse, json, os, resource, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "bench-venv")
WORK = os.path.join(ROOT, "target", "bench-export")
GEO = os.path.join(ROOT, "geodata", "baishan")
XUNCHA = os.path.join(ROOT, "target", "release", "xuncha")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", VENV])
    sh([py, "-m", "pip", "install", "-q", "cubao-tippecanoe", "pmtiles"])
    return py


def load(name):
    with open(os.path.join(GEO, name), encoding="utf-8") as f:
        return json.load(f)["features"]


def bounds_of(features, b=None):
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for x in c:
                yield from walk(x)

    for f in features:
        for x, y in (p[:2] for p in walk(f["geometry"]["coordinates"])):
            b = [x, y, x, y] if b is None else [min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)]
    return b


def write_tippecanoe_inputs():
    """The same features and properties as src/tileset/mod.rs and basemap.rs put in the tiles."""
    os.makedirs(WORK, exist_ok=True)
    zones, routes, base = [], [], []
    for f in load("zones.geojson"):
        p = f["properties"]
        owner = p.get("owner") or {}
        extra = p.get("properties") or {}
        g = f["geometry"]
        if g["type"] in ("Polygon", "MultiPolygon"):
            props = {"id": f.get("id", ""), "kind": p.get("kind", ""), "name": p.get("name", ""),
                     "owner_name": owner.get("name", ""), "sector": owner.get("sector", ""),
                     "level": extra.get("level", "") if isinstance(extra.get("level"), str) else ""}
            zones.append({"type": "Feature", "properties": props, "geometry": g})
        elif g["type"] in ("LineString", "MultiLineString"):
            props = {"id": f.get("id", ""), "name": p.get("name", ""),
                     "width_m": float(extra.get("width_m", 0) or 0), "owner_name": owner.get("name", "")}
            routes.append({"type": "Feature", "properties": props, "geometry": g})
    for file, default in (("districts.geojson", "district"), ("river.geojson", "river"), ("roads.geojson", "road")):
        for f in load(file):
            p = f["properties"]
            cls = p.get("class") or p.get("layer") or default
            if file == "roads.geojson":
                cls = "road_" + cls
            if f["geometry"]["type"] in ("LineString", "MultiLineString") and cls == "river":
                cls = "river_centerline"
            base.append({"type": "Feature", "properties": {"class": cls, "name": p.get("name", "")},
                         "geometry": f["geometry"]})
    paths = {}
    for name, feats in (("zones", zones), ("routes", routes), ("basemap", base)):
        paths[name] = os.path.join(WORK, f"{name}.geojson")
        with open(paths[name], "w", encoding="utf-8") as out:
            json.dump({"type": "FeatureCollection", "features": feats}, out, ensure_ascii=False)
    bbox = bounds_of(load("zones.geojson"), bounds_of(base))
    return paths, bbox, {k: len(v) for k, v in (("zones", zones), ("routes", routes), ("basemap", base))}


def timed(cmd):
    """Runs cmd; returns (wall s, cpu s of the child, max RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out, err = p.stdout.read().decode(), p.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out}\n{err}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out


def inspect(path):
    from pmtiles.reader import Reader, MmapSource, all_tiles
    per_zoom, n, tile_bytes = {}, 0, 0
    with open(path, "rb") as f:
        get = MmapSource(f)
        header = Reader(get).header()
        for (z, _x, _y), data in all_tiles(get):
            per_zoom[z] = per_zoom.get(z, 0) + 1
            n += 1
            tile_bytes += len(data)
    return {"tiles": n, "per_zoom": per_zoom, "tile_bytes": tile_bytes, "archive": os.path.getsize(path),
            "contents": header.get("tile_contents_count"), "compression": str(header["tile_compression"])}


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--maxzoom", type=int, default=16)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.inner:
        py = ensure_venv()
        sh(["cargo", "build", "--release", "--quiet", "--bin", "xuncha"], cwd=ROOT)
        os.execv(py, [py, os.path.abspath(__file__), "--inner", "--rounds", str(args.rounds),
                      "--maxzoom", str(args.maxzoom)])
    paths, bbox, counts = write_tippecanoe_inputs()
    data = os.path.join(WORK, "data")
    marker = os.path.join(WORK, "data.imported")
    if not os.path.exists(marker):
        subprocess.run(["rm", "-rf", data])
        os.makedirs(data)
        sh([XUNCHA, "--data", data, "import", os.path.join(GEO, "zones.geojson")], cwd=ROOT,
           stdout=subprocess.DEVNULL)
        open(marker, "w").close()
    b = ",".join(f"{v:.6f}" for v in bbox)
    ours_out = os.path.join(WORK, "xuncha.pmtiles")
    tip_out = os.path.join(WORK, "tippecanoe.pmtiles")
    mz = str(args.maxzoom)
    ours = [XUNCHA, "--data", data, "tiles", "export", ours_out, "--minzoom", "0", "--maxzoom", mz,
            "--bbox", b, "--geodata", GEO]
    tip = [sys.executable, "-m", "cubao_tippecanoe", "tippecanoe", "-Z0", f"-z{mz}", "--no-tile-compression",
           "--no-feature-limit", "--no-tile-size-limit", "--buffer=4", f"--clip-bounding-box={b}",
           "--quiet", "--force", "-o", tip_out,
           "-L", f"zones:{paths['zones']}", "-L", f"routes:{paths['routes']}", "-L", f"basemap:{paths['basemap']}"]
    print(f"features: {counts}; extent (bounds of basemap and zones): [{b}]", flush=True)
    loads = [uptime()]
    res = {"ours": [], "tippecanoe": []}
    for r in range(args.rounds):
        for name, cmd in (("ours", ours), ("tippecanoe", tip)):
            w, c, rss, out = timed(cmd)
            res[name].append((w, c, rss))
            print(f"round {r + 1} {name}: wall {w:.2f} s, cpu {c:.2f} s, max RSS {rss:.0f} MiB"
                  + (f" | {out.strip().splitlines()[-1]}" if out.strip() else ""), flush=True)
    loads.append(uptime())
    info = {"ours": inspect(ours_out), "tippecanoe": inspect(tip_out)}
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
    o, t = med["ours"], med["tippecanoe"]
    io, it = info["ours"], info["tippecanoe"]
    print()
    print(f"Demo city z0–{mz}, extent [{b}], {args.rounds} alternating rounds, medians; 2 cores shared.")
    print()
    print("| | xuncha tiles export | tippecanoe 2.31 | ours / tippecanoe |")
    print("|---|---:|---:|---:|")
    print(f"| wall time, s | {o[0]:.2f} | {t[0]:.2f} | **{o[0] / t[0]:.2f}** |")
    print(f"| CPU time (user+sys), s | {o[1]:.2f} | {t[1]:.2f} | {o[1] / t[1]:.2f} |")
    print(f"| max RSS, MiB | {o[2]:.0f} | {t[2]:.0f} | {o[2] / t[2]:.2f} |")
    print(f"| tiles in archive | {io['tiles']} | {it['tiles']} | {io['tiles'] / it['tiles']:.2f} |")
    print(f"| distinct tile contents (header) | {io['contents']} | {it['contents']} | {io['contents'] / it['contents']:.2f} |")
    print(f"| tile compression (header) | {io['compression']} | {it['compression']} | |")
    print(f"| sum of tile bytes (uncompressed MVT), MiB | {io['tile_bytes'] / 2**20:.2f} | {it['tile_bytes'] / 2**20:.2f} | {io['tile_bytes'] / it['tile_bytes']:.2f} |")
    print(f"| archive size, MiB | {io['archive'] / 2**20:.2f} | {it['archive'] / 2**20:.2f} | {io['archive'] / it['archive']:.2f} |")
    print()
    print("| zoom | tiles (ours) | tiles (tippecanoe) |")
    print("|---:|---:|---:|")
    for z in range(0, args.maxzoom + 1):
        print(f"| {z} | {io['per_zoom'].get(z, 0)} | {it['per_zoom'].get(z, 0)} |")
    print()
    print("all rounds (wall s / cpu s):",
          {k: [f"{w:.2f}/{c:.2f}" for w, c, _ in v] for k, v in res.items()})
    print("load before:", loads[0])
    print("load after: ", loads[1])


if __name__ == "__main__":
    main()
