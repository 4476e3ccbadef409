#!/usr/bin/env python3
"""A `xuncha tiles export` archive opens in an independent reader (the Python `pmtiles`
package) and its tiles equal the ones the server serves.

    target/pyenv/bin/python tests/py/pmtiles_vs_served.py XUNCHA_BINARY

Imports the Baishan demo zones into a temporary data folder, exports z0–14, starts the real
server on a free loopback port, and compares every archived tile byte for byte with
`/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap` (the zones layer brings its
`zone_labels` points). Also checks the header and metadata,
and that tiles the server has but the archive lacks are only empty ones. Prints
"N passed, M failed".
"""
import gzip, json, os, socket, subprocess, sys, tempfile, time, urllib.request

from pmtiles.reader import MmapSource, Reader, all_tiles

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "xuncha")
MAXZOOM = 14


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    checks = []
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        run = lambda *a: subprocess.run([BIN, "--data", data, *a], capture_output=True, text=True, check=True, cwd=ROOT)
        run("import", os.path.join(ROOT, "geodata", "baishan", "zones.geojson"))
        token = run("user", "add", "reader", "--role", "office", "--password", "tile-check-2026").stdout.strip().splitlines()[-1]
        archive = os.path.join(d, "demo.pmtiles")
        out = run("tiles", "export", archive, "--maxzoom", str(MAXZOOM)).stdout
        print(out.strip())
        port = free_port()
        server = subprocess.Popen([BIN, "--data", data, "serve", "--addr", f"127.0.0.1:{port}"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)

            def served(z, x, y):
                req = urllib.request.Request(f"http://127.0.0.1:{port}/tiles/{z}/{x}/{y}.mvt?layers=zones,routes,basemap",
                                             headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"})
                with urllib.request.urlopen(req) as r:
                    body = r.read()
                    return gzip.decompress(body) if r.headers.get("Content-Encoding") == "gzip" else body

            with open(archive, "rb") as f:
                src = MmapSource(f)
                reader = Reader(src)
                h = reader.header()
                meta = reader.metadata()
                checks.append(("header: MVT, z0–14, uncompressed tiles",
                               h["tile_type"].value == 1 and h["min_zoom"] == 0 and h["max_zoom"] == MAXZOOM
                               and h["tile_compression"].value == 1))
                layers = sorted(l["id"] for l in meta.get("vector_layers", []))
                checks.append((f"metadata vector_layers {layers}", layers == ["basemap", "routes", "zone_labels", "zones"]))
                tiles = list(all_tiles(src))
                by_zoom = {}
                mismatches = []
                for (z, x, y), data in tiles:
                    by_zoom[z] = by_zoom.get(z, 0) + 1
                    if served(z, x, y) != data:
                        mismatches.append((z, x, y))
                checks.append((f"{len(tiles)} archived tiles equal the served ones (per zoom {by_zoom})",
                               not mismatches and len(tiles) > 1000))
                # Spot check: tiles around the city centre at every zoom are in the archive when not empty.
                import math
                missing = []
                for z in range(0, MAXZOOM + 1):
                    n = 2 ** z
                    x = int((126.42 + 180) / 360 * n)
                    lat = math.radians(41.94)
                    y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)
                    body = served(z, x, y)
                    got = reader.get(z, x, y)
                    if body and got != body:
                        missing.append((z, x, y))
                checks.append(("the city-centre tile of every zoom is archived", not missing))
        finally:
            server.terminate()
            server.wait(10)
    for name, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    passed = sum(ok for _, ok in checks)
    print(f"{passed} passed, {len(checks) - passed} failed")
    sys.exit(0 if passed == len(checks) else 1)


if __name__ == "__main__":
    main()
