#!/usr/bin/env python3
"""China's county polygons through /ogc: `ogr2ogr` to GeoPackage from the server vs from the same
GeoJSON on disk (the floor), and items paging throughput at limit=10000.

    python3 bench/ogc_vs_file.py [--rounds 3]

Set-up (not timed): a release build of `xuncha` (cargo build --release); a data folder
target/bench-ogc/data with target/fixtures/district.geojson (sh tiles/fetch_fixtures.sh)
imported as `grid` zones through `xuncha import --kind grid` (counties GEOS calls invalid are
refused, as at any import); the live zones written back with `xuncha export --kind grid` to
target/bench-ogc/grid.geojson, so both sides read the same features; a planner and its API
token; `xuncha serve` on a free loopback port.

Timed, alternating, --rounds rounds, wall clock of whole processes:
  file:            ogr2ogr -f GPKG out.gpkg grid.geojson
  ogc PAGE_SIZE=N: GDAL_HTTP_USERPWD=bench:TOKEN ogr2ogr -f GPKG out.gpkg OAPIF:http://127.0.0.1:PORT/ogc grid -oo PAGE_SIZE=N
                   for N = 10000 (one request per 10 000 features) and 1000
Then every output is checked to hold as many features as the file.
Paging: GET /ogc/collections/grid/items?limit=10000 and every `next`, in Python (urllib + json),
features/s and MB/s, against json.load of grid.geojson (the same features parsed from disk); and
the same request with curl discarding the body (what the server alone costs).
Prints a markdown table with medians and ratios, and `uptime` before and after.
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench-ogc")
XUNCHA = os.path.join(ROOT, "target", "release", "xuncha")
DISTRICTS = os.environ.get("XUNCHA_CHINA_DISTRICTS", os.path.join(ROOT, "target", "fixtures", "district.geojson"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def count(gpkg):
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", gpkg], check=True, capture_output=True, text=True).stdout
    return int(next(l for l in out.splitlines() if l.startswith("Feature Count:")).split(":")[1])


def vertices(geom):
    c = geom["coordinates"]
    depth = {"Polygon": 2, "MultiPolygon": 3}[geom["type"]]

    def walk(x, d):
        return len(x) if d == 1 else sum(walk(y, d - 1) for y in x)

    return walk(c, depth)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(DISTRICTS):
        sys.exit(f"{DISTRICTS} is missing: run sh tiles/fetch_fixtures.sh")
    subprocess.run(["cargo", "build", "--release", "--bin", "xuncha"], check=True, cwd=ROOT)
    os.makedirs(WORK, exist_ok=True)
    data = os.path.join(WORK, "data")
    subprocess.run(["rm", "-rf", data], check=True)
    x = lambda *a, **kw: subprocess.run([XUNCHA, "--data", data, *a], check=False, capture_output=True, text=True, cwd=ROOT, **kw)
    imported = x("import", DISTRICTS, "--kind", "grid").stdout.strip().splitlines()[-1]
    geojson = os.path.join(WORK, "grid.geojson")
    with open(geojson, "w") as f:
        subprocess.run([XUNCHA, "--data", data, "export", "--kind", "grid"], check=True, stdout=f, stderr=subprocess.DEVNULL)
    with open(geojson) as f:
        doc = json.load(f)
    n = len(doc["features"])
    nv = sum(vertices(f["geometry"]) for f in doc["features"])
    token = x("user", "add", "bench", "--role", "planner", "--password", "bench-pw-1").stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([XUNCHA, "--data", data, "serve", "--addr", f"127.0.0.1:{port}"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        env = dict(os.environ, GDAL_HTTP_USERPWD=f"bench:{token}", CPL_DEBUG="OFF")
        url = f"OAPIF:http://127.0.0.1:{port}/ogc"
        times = {"file": [], "ogc PAGE_SIZE=10000": [], "ogc PAGE_SIZE=1000": []}
        counts = {}
        with tempfile.TemporaryDirectory() as d:
            for r in range(args.rounds):
                for name in times:
                    out = os.path.join(d, f"{name.replace(' ', '_')}_{r}.gpkg")
                    if name == "file":
                        cmd = ["ogr2ogr", "-f", "GPKG", out, geojson]
                    else:
                        size = name.split("=")[1]
                        cmd = ["ogr2ogr", "-f", "GPKG", out, url, "grid", "-oo", f"PAGE_SIZE={size}"]
                    times[name].append(timed(cmd, env))
                    counts[name] = count(out)
        # Paging throughput through the API, and the same features parsed from disk.
        page_s, file_s, curl_s, nbytes = [], [], [], 0
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(args.rounds):
            t = time.perf_counter()
            nxt, got, nbytes = f"http://127.0.0.1:{port}/ogc/collections/grid/items?limit=10000", 0, 0
            while nxt:
                with urllib.request.urlopen(urllib.request.Request(nxt, headers=auth)) as resp:
                    body = resp.read()
                nbytes += len(body)
                page = json.loads(body)
                got += len(page["features"])
                nxt = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
            page_s.append(time.perf_counter() - t)
            # The server alone: one curl of the whole collection in one page, body discarded.
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}", "-H", f"Authorization: Bearer {token}",
                                  f"http://127.0.0.1:{port}/ogc/collections/grid/items?limit=10000"],
                                 check=True, capture_output=True, text=True).stdout
            curl_s.append(float(out))
            assert got == n, (got, n)
            t = time.perf_counter()
            with open(geojson) as f:
                json.load(f)
            file_s.append(time.perf_counter() - t)
    finally:
        server.terminate()
        server.wait(timeout=10)
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{imported}; {n} zones, {nv} vertices; {gdal}; {args.rounds} rounds, medians\n")
    print("| ogr2ogr -f GPKG from | wall s | × file | features in the GeoPackage |")
    print("|---|---|---|---|")
    base = statistics.median(times["file"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"| {name} | {m:.2f} | {m / base:.2f} | {counts[name]} |")
    pm, fm = statistics.median(page_s), statistics.median(file_s)
    print(f"\n| items paging at limit=10000 | s | features/s | MB/s |")
    print("|---|---|---|---|")
    print(f"| GET /ogc/collections/grid/items (Python urllib + json) | {pm:.2f} | {n / pm:,.0f} | {nbytes / pm / 1e6:.1f} |")
    cm = statistics.median(curl_s)
    print(f"| GET …/items?limit=10000 with curl, body discarded (the server alone) | {cm:.2f} | {n / cm:,.0f} | {nbytes / cm / 1e6:.1f} |")
    print(f"| json.load(grid.geojson) (the floor) | {fm:.2f} | {n / fm:,.0f} | {os.path.getsize(geojson) / fm / 1e6:.1f} |")
    print(f"\nthrough the API / from disk: {pm / fm:.2f}×; response bytes {nbytes:,}, file bytes {os.path.getsize(geojson):,}")
    print(f"\nload before: {load_before}\nload after:  {load_after}")
    bad = {k: v for k, v in counts.items() if v != n}
    if bad:
        sys.exit(f"feature counts differ from the file's {n}: {bad}")


if __name__ == "__main__":
    main()
